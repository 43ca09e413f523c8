import type { TypedArray } from "../../core/dtype.js";
import type { View } from "../../backend/kernels.js";

/*
 * Reference batched GEMM, blocked the GotoBLAS way. Operands are packed into float64 panels
 * (4 rows of A or 4 columns of B, k-major), so every access in the inner loop is sequential
 * whatever the operands' strides (transposed inputs cost nothing extra), and the 4×4 block of
 * C lives in 16 local doubles. A block of B panels (KC deep, NC wide) is reused by MC rows of A
 * from L2.
 *
 * Every output element is accumulated in float64, in increasing k, starting from 0: exactly the
 * sums of a naive triple loop, bit for bit, then rounded once to the output's dtype.
 */
const MR = 4;
const NR = 4;
/** k-depth of one block: a 4×KC panel is 8 KiB, so one panel of A and one of B fit in L1. */
const KC = 256;
/** Rows of A per block: MC×KC doubles (128 KiB) stay in L2 while every B panel passes by. */
const MC = 64;
/** Columns of B per block: bounds the packed B (NC×KC doubles, 4 MiB) for wide outputs (vocabularies). */
const NC = 2048;

/** One operand as the kernel walks it: element (r, c) is data[off + r·rs + c·cs]. */
interface Operand {
  data: TypedArray;
  off: number;
  rs: number;
  cs: number;
}

export function matmul(a: View, b: View, out: TypedArray): void {
  const [B, M, K] = a.shape;
  const N = b.shape[2];
  if (B * M * N === 0) return;
  if (K === 0) {
    out.fill(0, 0, B * M * N);
    return;
  }
  // With a narrow C (N < 4), compute Cᵀ = Bᵀ·Aᵀ instead, so the 4-wide B panels are not mostly padding.
  const swap = N < NR && M > N;
  const rows = swap ? N : M;
  const cols = swap ? M : N;
  const c64 = out instanceof Float64Array ? out : new Float64Array(B * M * N);
  const Ap = scratch(0, Math.min(MC, roundUp(rows, MR)) * Math.min(KC, K));
  const Bp = scratch(1, Math.min(NC, roundUp(cols, NR)) * Math.min(KC, K));
  for (let bi = 0; bi < B; bi++) {
    const ao: Operand = { data: a.data, off: a.offset + bi * a.strides[0], rs: a.strides[1], cs: a.strides[2] };
    const bo: Operand = { data: b.data, off: b.offset + bi * b.strides[0], rs: b.strides[1], cs: b.strides[2] };
    const cOff = bi * M * N;
    if (swap) {
      // Cᵀ[j][i] lives at c[i·N + j]: rows of Cᵀ step by 1, its columns by N.
      gemm(transposed(bo), transposed(ao), rows, K, cols, c64, cOff, 1, N, Ap, Bp);
    } else {
      gemm(ao, bo, rows, K, cols, c64, cOff, N, 1, Ap, Bp);
    }
  }
  if (c64 !== out) for (let i = 0; i < c64.length; i++) out[i] = c64[i];
}

// Packing buffers, reused across calls: blocking bounds them (≤ MC·KC and NC·KC doubles, 4.1 MiB
// together), and packing rewrites every entry it uses, padding included, so nothing stale is read.
const scratchBuffers = [new Float64Array(0), new Float64Array(0)];

function scratch(which: 0 | 1, n: number): Float64Array {
  if (scratchBuffers[which].length < n) scratchBuffers[which] = new Float64Array(n);
  return scratchBuffers[which];
}

function roundUp(n: number, m: number): number {
  return Math.ceil(n / m) * m;
}

function transposed(o: Operand): Operand {
  return { data: o.data, off: o.off, rs: o.cs, cs: o.rs };
}

/** C[M×N] (at c, strides crs/ccs) = A[M×K]·B[K×N]. */
function gemm(
  a: Operand, b: Operand, M: number, K: number, N: number,
  c: Float64Array, cOff: number, crs: number, ccs: number,
  Ap: Float64Array, Bp: Float64Array,
): void {
  for (let n0 = 0; n0 < N; n0 += NC) {
    const nc = Math.min(NC, N - n0);
    for (let p0 = 0; p0 < K; p0 += KC) {
      const kc = Math.min(KC, K - p0);
      const first = p0 === 0;
      packB(b, p0, kc, n0, nc, Bp);
      for (let i0 = 0; i0 < M; i0 += MC) {
        const mc = Math.min(MC, M - i0);
        packA(a, i0, mc, p0, kc, Ap);
        for (let j0 = 0; j0 < nc; j0 += NR) {
          const w = Math.min(NR, nc - j0);
          const pb = j0 * kc;
          for (let ii = 0; ii < mc; ii += MR) {
            const h = Math.min(MR, mc - ii);
            const co = cOff + (i0 + ii) * crs + (n0 + j0) * ccs;
            if (h === MR) micro4x4(Ap, ii * kc, Bp, pb, kc, c, co, crs, ccs, first, w);
            else for (let r = 0; r < h; r++) micro1x4(Ap, ii * kc + r, Bp, pb, kc, c, co + r * crs, ccs, first, w);
          }
        }
      }
    }
  }
}

/** Rows [i0, i0+mc) × k [p0, p0+kc) of A as panels of 4 rows: Ap[(panel·kc + k)·4 + r], zero-padded. */
function packA(a: Operand, i0: number, mc: number, p0: number, kc: number, Ap: Float64Array): void {
  const d = a.data;
  const rs = a.rs;
  const cs = a.cs;
  for (let ii = 0; ii < mc; ii += MR) {
    const h = Math.min(MR, mc - ii);
    let o = ii * kc;
    const base = a.off + (i0 + ii) * rs + p0 * cs;
    if (h === MR) {
      for (let k = 0, s = base; k < kc; k++, s += cs, o += MR) {
        Ap[o] = d[s];
        Ap[o + 1] = d[s + rs];
        Ap[o + 2] = d[s + 2 * rs];
        Ap[o + 3] = d[s + 3 * rs];
      }
    } else {
      for (let k = 0, s = base; k < kc; k++, s += cs, o += MR) {
        for (let r = 0; r < MR; r++) Ap[o + r] = r < h ? d[s + r * rs] : 0;
      }
    }
  }
}

/** k [p0, p0+kc) × columns [n0, n0+nc) of B as panels of 4 columns: Bp[(j0/4·kc + k)·4 + c], zero-padded. */
function packB(b: Operand, p0: number, kc: number, n0: number, nc: number, Bp: Float64Array): void {
  const d = b.data;
  const rs = b.rs;
  const cs = b.cs;
  for (let j0 = 0; j0 < nc; j0 += NR) {
    const w = Math.min(NR, nc - j0);
    let o = j0 * kc;
    const base = b.off + p0 * rs + (n0 + j0) * cs;
    if (w === NR) {
      for (let k = 0, s = base; k < kc; k++, s += rs, o += NR) {
        Bp[o] = d[s];
        Bp[o + 1] = d[s + cs];
        Bp[o + 2] = d[s + 2 * cs];
        Bp[o + 3] = d[s + 3 * cs];
      }
    } else {
      for (let k = 0, s = base; k < kc; k++, s += rs, o += NR) {
        for (let j = 0; j < NR; j++) Bp[o + j] = j < w ? d[s + j * cs] : 0;
      }
    }
  }
}

/** C[4×w] (+)= A panel · B panel over kc; `first` starts the sums at 0 instead of at C. */
function micro4x4(
  Ap: Float64Array, pa: number, Bp: Float64Array, pb: number, kc: number,
  c: Float64Array, co: number, rs: number, cs: number, first: boolean, w: number,
): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  if (!first) {
    const r1 = co + rs, r2 = co + 2 * rs, r3 = co + 3 * rs;
    c00 = c[co]; c10 = c[r1]; c20 = c[r2]; c30 = c[r3];
    if (w > 1) { c01 = c[co + cs]; c11 = c[r1 + cs]; c21 = c[r2 + cs]; c31 = c[r3 + cs]; }
    if (w > 2) { c02 = c[co + 2 * cs]; c12 = c[r1 + 2 * cs]; c22 = c[r2 + 2 * cs]; c32 = c[r3 + 2 * cs]; }
    if (w > 3) { c03 = c[co + 3 * cs]; c13 = c[r1 + 3 * cs]; c23 = c[r2 + 3 * cs]; c33 = c[r3 + 3 * cs]; }
  }
  for (let k = 0; k < kc; k++, pa += 4, pb += 4) {
    const b0 = Bp[pb], b1 = Bp[pb + 1], b2 = Bp[pb + 2], b3 = Bp[pb + 3];
    let x = Ap[pa];
    c00 += x * b0; c01 += x * b1; c02 += x * b2; c03 += x * b3;
    x = Ap[pa + 1];
    c10 += x * b0; c11 += x * b1; c12 += x * b2; c13 += x * b3;
    x = Ap[pa + 2];
    c20 += x * b0; c21 += x * b1; c22 += x * b2; c23 += x * b3;
    x = Ap[pa + 3];
    c30 += x * b0; c31 += x * b1; c32 += x * b2; c33 += x * b3;
  }
  const r1 = co + rs, r2 = co + 2 * rs, r3 = co + 3 * rs;
  c[co] = c00; c[r1] = c10; c[r2] = c20; c[r3] = c30;
  if (w > 1) { c[co + cs] = c01; c[r1 + cs] = c11; c[r2 + cs] = c21; c[r3 + cs] = c31; }
  if (w > 2) { c[co + 2 * cs] = c02; c[r1 + 2 * cs] = c12; c[r2 + 2 * cs] = c22; c[r3 + 2 * cs] = c32; }
  if (w > 3) { c[co + 3 * cs] = c03; c[r1 + 3 * cs] = c13; c[r2 + 3 * cs] = c23; c[r3 + 3 * cs] = c33; }
}

/** One leftover row of A (a panel with fewer than 4 rows) against a B panel. */
function micro1x4(
  Ap: Float64Array, pa: number, Bp: Float64Array, pb: number, kc: number,
  c: Float64Array, co: number, cs: number, first: boolean, w: number,
): void {
  let c0 = 0, c1 = 0, c2 = 0, c3 = 0;
  if (!first) {
    c0 = c[co];
    if (w > 1) c1 = c[co + cs];
    if (w > 2) c2 = c[co + 2 * cs];
    if (w > 3) c3 = c[co + 3 * cs];
  }
  for (let k = 0; k < kc; k++, pa += 4, pb += 4) {
    const x = Ap[pa];
    c0 += x * Bp[pb]; c1 += x * Bp[pb + 1]; c2 += x * Bp[pb + 2]; c3 += x * Bp[pb + 3];
  }
  c[co] = c0;
  if (w > 1) c[co + cs] = c1;
  if (w > 2) c[co + 2 * cs] = c2;
  if (w > 3) c[co + 3 * cs] = c3;
}
