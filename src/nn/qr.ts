/**
 * Blocked Householder QR (LAPACK's geqrf/orgqr scheme) for orthogonal_. Matrices are Float64Array
 * in column-major order, so every reflector and every column is a contiguous run. Reflectors are
 * applied NB at a time in compact WY form, X ← (I − V T Vᵀ) X, which turns the work into two
 * matrix products with small register tiles: 4–5× faster in plain TypeScript than applying one
 * reflector at a time (2048×512: ≈0.5 s against ≈2.5 s on one core).
 */

// Small blocks keep the packed reflectors (NB × m doubles) in L2 while columns stream past them.
const NB = 16;

/**
 * Q (m×n, column-major, m ≥ n) of the QR factorisation of `a` (overwritten), with each column
 * multiplied by the sign of R's diagonal so that R's diagonal is positive: the unique such Q,
 * which is Haar-distributed when `a` is Gaussian.
 */
export function householderQ(a: Float64Array, m: number, n: number): Float64Array {
  if (m < n) throw new Error(`householderQ: expects m >= n, got ${m}x${n}`);
  const tau = new Float64Array(n);
  const sign = new Float64Array(n);
  const vp = new Float64Array(NB * m);
  const t = new Float64Array(NB * NB);
  const w = new Float64Array(NB * n);
  for (let k0 = 0; k0 < n; k0 += NB) {
    const kb = Math.min(NB, n - k0);
    for (let k = k0; k < k0 + kb; k++) {
      makeReflector(a, m, k, tau, sign);
      for (let j = k + 1; j < k0 + kb; j++) reflect(a, k * m, a, j * m, k, m, tau[k]);
    }
    if (k0 + kb < n) {
      packV(a, m, k0, kb, vp);
      buildT(vp, m - k0, kb, tau, k0, t);
      applyBlock(vp, t, kb, true, a, m, k0, k0 + kb, n, w);
    }
  }
  // Q = H_0 H_1 … H_{n−1} [I; 0], accumulated from the last block backwards (orgqr).
  const q = new Float64Array(m * n);
  for (let j = 0; j < n; j++) q[j * m + j] = 1;
  for (let k0 = Math.floor((n - 1) / NB) * NB; k0 >= 0; k0 -= NB) {
    const kb = Math.min(NB, n - k0);
    packV(a, m, k0, kb, vp);
    buildT(vp, m - k0, kb, tau, k0, t);
    applyBlock(vp, t, kb, false, q, m, k0, k0, n, w);
  }
  for (let j = 0; j < n; j++) {
    if (sign[j] < 0) for (let i = j * m; i < (j + 1) * m; i++) q[i] = -q[i];
  }
  return q;
}

/**
 * Turns column k (rows k..m−1) into a reflector H = I − τ v vᵀ with v[k] = 1 that maps it to
 * β e_k (LAPACK dlarfg): v below the diagonal is stored in place, β on the diagonal.
 */
function makeReflector(a: Float64Array, m: number, k: number, tau: Float64Array, sign: Float64Array): void {
  const ck = k * m;
  let s = 0;
  for (let i = ck + k + 1; i < ck + m; i++) s += a[i] * a[i];
  const alpha = a[ck + k];
  if (s === 0) {
    tau[k] = 0;
    sign[k] = alpha < 0 ? -1 : 1;
    return;
  }
  const norm = Math.sqrt(alpha * alpha + s);
  const beta = alpha >= 0 ? -norm : norm;
  tau[k] = (beta - alpha) / beta;
  const scale = 1 / (alpha - beta);
  for (let i = ck + k + 1; i < ck + m; i++) a[i] *= scale;
  a[ck + k] = beta;
  sign[k] = beta > 0 ? 1 : -1;
}

/** Applies reflector k (stored at v[cv + k + 1 ...]) to column x[cx ...], rows k..m−1. */
function reflect(v: Float64Array, cv: number, x: Float64Array, cx: number, k: number, m: number, tau: number): void {
  const vo = cv + k + 1;
  const xo = cx + k + 1;
  const len = m - k - 1;
  let s = x[cx + k];
  for (let i = 0; i < len; i++) s += v[vo + i] * x[xo + i];
  s *= tau;
  x[cx + k] -= s;
  for (let i = 0; i < len; i++) x[xo + i] -= s * v[vo + i];
}

/** vp[i·len + r] = reflector k0+i at row k0+r, with its implicit 1 and leading zeros written out. */
function packV(a: Float64Array, m: number, k0: number, kb: number, vp: Float64Array): void {
  const len = m - k0;
  for (let i = 0; i < kb; i++) {
    const o = i * len;
    const src = (k0 + i) * m + k0;
    for (let r = 0; r < i; r++) vp[o + r] = 0;
    vp[o + i] = 1;
    for (let r = i + 1; r < len; r++) vp[o + r] = a[src + r];
  }
}

/** Upper-triangular T (kb×kb, row-major) with H_0 … H_{kb−1} = I − V T Vᵀ (LAPACK dlarft). */
function buildT(vp: Float64Array, len: number, kb: number, tau: Float64Array, k0: number, t: Float64Array): void {
  t.fill(0);
  const z = new Float64Array(kb);
  for (let i = 0; i < kb; i++) {
    const ti = tau[k0 + i];
    for (let p = 0; p < i; p++) {
      let s = 0;
      for (let r = i, po = p * len, io = i * len; r < len; r++) s += vp[po + r] * vp[io + r];
      z[p] = s;
    }
    for (let p = 0; p < i; p++) {
      let s = 0;
      for (let c = p; c < i; c++) s += t[p * kb + c] * z[c];
      t[p * kb + i] = -ti * s;
    }
    t[i * kb + i] = ti;
  }
}

/**
 * X[k0:, c0:c1] ← (I − V T' Vᵀ) X with T' = Tᵀ (trans: applies Hᵀ, for the factorisation) or T
 * (for forming Q). X is column-major with leading dimension m; w is scratch of kb·(c1−c0).
 */
function applyBlock(
  vp: Float64Array, t: Float64Array, kb: number, trans: boolean,
  x: Float64Array, m: number, k0: number, c0: number, c1: number, w: Float64Array,
): void {
  const len = m - k0;
  const nc = c1 - c0;
  // W = Vᵀ X, two columns by four reflectors at a time.
  for (let j = c0; j < c1; j += 2) {
    const jj = j - c0;
    const x0 = j * m + k0;
    const two = j + 1 < c1;
    const x1 = two ? x0 + m : x0;
    let i = 0;
    for (; i + 4 <= kb; i += 4) {
      const v0 = i * len, v1 = v0 + len, v2 = v1 + len, v3 = v2 + len;
      let s00 = 0, s01 = 0, s10 = 0, s11 = 0, s20 = 0, s21 = 0, s30 = 0, s31 = 0;
      for (let r = 0; r < len; r++) {
        const a0 = x[x0 + r], a1 = x[x1 + r];
        const b0 = vp[v0 + r], b1 = vp[v1 + r], b2 = vp[v2 + r], b3 = vp[v3 + r];
        s00 += b0 * a0; s01 += b0 * a1;
        s10 += b1 * a0; s11 += b1 * a1;
        s20 += b2 * a0; s21 += b2 * a1;
        s30 += b3 * a0; s31 += b3 * a1;
      }
      w[i * nc + jj] = s00; w[(i + 1) * nc + jj] = s10; w[(i + 2) * nc + jj] = s20; w[(i + 3) * nc + jj] = s30;
      if (two) {
        w[i * nc + jj + 1] = s01; w[(i + 1) * nc + jj + 1] = s11; w[(i + 2) * nc + jj + 1] = s21; w[(i + 3) * nc + jj + 1] = s31;
      }
    }
    for (; i < kb; i++) {
      const v0 = i * len;
      let s0 = 0, s1 = 0;
      for (let r = 0; r < len; r++) {
        s0 += vp[v0 + r] * x[x0 + r];
        s1 += vp[v0 + r] * x[x1 + r];
      }
      w[i * nc + jj] = s0;
      if (two) w[i * nc + jj + 1] = s1;
    }
  }
  // W ← T' W, column by column.
  const col = new Float64Array(kb);
  for (let j = 0; j < nc; j++) {
    for (let i = 0; i < kb; i++) col[i] = w[i * nc + j];
    for (let i = 0; i < kb; i++) {
      let s = 0;
      if (trans) for (let p = 0; p <= i; p++) s += t[p * kb + i] * col[p];
      else for (let p = i; p < kb; p++) s += t[i * kb + p] * col[p];
      w[i * nc + j] = s;
    }
  }
  // X −= V W, two columns by four reflectors at a time.
  for (let j = c0; j < c1; j += 2) {
    const jj = j - c0;
    const x0 = j * m + k0;
    const two = j + 1 < c1;
    const x1 = x0 + m;
    let i = 0;
    for (; i + 4 <= kb; i += 4) {
      const v0 = i * len, v1 = v0 + len, v2 = v1 + len, v3 = v2 + len;
      const w00 = w[i * nc + jj], w10 = w[(i + 1) * nc + jj], w20 = w[(i + 2) * nc + jj], w30 = w[(i + 3) * nc + jj];
      if (two) {
        const w01 = w[i * nc + jj + 1], w11 = w[(i + 1) * nc + jj + 1], w21 = w[(i + 2) * nc + jj + 1], w31 = w[(i + 3) * nc + jj + 1];
        for (let r = 0; r < len; r++) {
          const b0 = vp[v0 + r], b1 = vp[v1 + r], b2 = vp[v2 + r], b3 = vp[v3 + r];
          x[x0 + r] -= b0 * w00 + b1 * w10 + b2 * w20 + b3 * w30;
          x[x1 + r] -= b0 * w01 + b1 * w11 + b2 * w21 + b3 * w31;
        }
      } else {
        for (let r = 0; r < len; r++) {
          x[x0 + r] -= vp[v0 + r] * w00 + vp[v1 + r] * w10 + vp[v2 + r] * w20 + vp[v3 + r] * w30;
        }
      }
    }
    for (; i < kb; i++) {
      const v0 = i * len;
      const wa = w[i * nc + jj];
      for (let r = 0; r < len; r++) x[x0 + r] -= vp[v0 + r] * wa;
      if (two) {
        const wb = w[i * nc + jj + 1];
        for (let r = 0; r < len; r++) x[x1 + r] -= vp[v0 + r] * wb;
      }
    }
  }
}
