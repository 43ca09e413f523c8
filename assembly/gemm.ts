// float32 GEMM with packed panels and a register tile sized for V8's ~15 usable SIMD registers.
// Compiled twice. Plain SIMD128: a 2×16 tile (8 accumulators + 4 B vectors + 1 A broadcast + a
// temporary for the separate mul and add). Relaxed SIMD: a 3×12 tile with fused multiply-add
// (9 + 3 + 1). Measured on Node 20 (512³, one thread): 2×16 plain ≈ 32 GFLOP/s; with FMA 3×12 ≈ 45,
// 2×16 ≈ 43, while 6×8 and 4×12 fall to 15–24 because V8 then spills registers in the loop.
//
// All pointers are byte addresses in this module's memory; strides are in elements, so a caller can
// hand over any strided view (transposed, sliced, broadcast) and packing reads it as it lies.

export const MR: i32 = ASC_FEATURE_RELAXED_SIMD ? 3 : 2;
export const NR: i32 = ASC_FEATURE_RELAXED_SIMD ? 12 : 16;
// Cache blocking: a KC×NR micro-panel of B stays in L1 while MR-row panels of an MC×KC block of A
// stream from L2. KC×NC floats of packed B sit in L2/L3.
export const KC: i32 = 256;
export const MC: i32 = 96;
export const NC: i32 = 2048;


@inline function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/**
 * Packs rows×cols of a strided matrix into MR-row panels: panel p holds, for each column k, MR values.
 * Row-major A (every per-step product, the input projection) goes four columns at a time through
 * a register transpose: scalar packing cost as much as the multiply when N is small (S's 32×128
 * steps, N = 64..128), since packing is O(M·K) against the product's O(M·K·N).
 */
function packA(src: usize, rs: i32, cs: i32, rows: i32, cols: i32, dst: usize): void {
  for (let i0 = 0; i0 < rows; i0 += MR) {
    const r = min(MR, rows - i0);
    let k = 0;
    if (cs == 1 && r == MR) {
      const rb = <usize>rs << 2;
      for (; k + 4 <= cols; k += 4) {
        const p = src + (<usize>(i0 * rs + k) << 2);
        if (MR == 3) {
          // Rows a, b, c → [a0 b0 c0 a1] [b1 c1 a2 b2] [c2 a3 b3 c3].
          const a = v128.load(p), b = v128.load(p + rb), c = v128.load(p + 2 * rb);
          v128.store(dst, v128.shuffle<f32>(v128.shuffle<f32>(a, b, 0, 4, 1, 5), c, 0, 1, 4, 2));
          v128.store(dst, v128.shuffle<f32>(v128.shuffle<f32>(b, c, 1, 5, 2, 6), a, 0, 1, 6, 2), 16);
          v128.store(dst, v128.shuffle<f32>(c, v128.shuffle<f32>(a, b, 3, 7, 3, 7), 2, 4, 5, 3), 32);
        } else {
          // MR = 2: rows a, b → [a0 b0 a1 b1] [a2 b2 a3 b3].
          const a = v128.load(p), b = v128.load(p + rb);
          v128.store(dst, v128.shuffle<f32>(a, b, 0, 4, 1, 5));
          v128.store(dst, v128.shuffle<f32>(a, b, 2, 6, 3, 7), 16);
        }
        dst += <usize>(4 * MR) << 2;
      }
    } else if (rs == 1 && r == MR) {
      // Transposed A (the weight-gradient products dGᵀ·X): a panel's MR values of one column lie
      // side by side, so each column is one 8-byte copy (and one float for MR = 3).
      const cb = <usize>cs << 2;
      let s = src + (<usize>i0 << 2);
      for (; k < cols; k++) {
        store<u64>(dst, load<u64>(s));
        if (MR == 3) store<f32>(dst, load<f32>(s, 8), 8);
        s += cb;
        dst += <usize>MR << 2;
      }
    }
    for (; k < cols; k++) {
      const s = src + (<usize>(i0 * rs + k * cs) << 2);
      let i = 0;
      for (; i < r; i++) store<f32>(dst + (<usize>i << 2), load<f32>(s + (<usize>(i * rs) << 2)));
      for (; i < MR; i++) store<f32>(dst + (<usize>i << 2), 0);
      dst += <usize>MR << 2;
    }
  }
}

/** Packs rows×cols of a strided matrix into NR-column panels: panel p holds, for each row k, NR values. */
function packB(src: usize, rs: i32, cs: i32, rows: i32, cols: i32, dst: usize): void {
  for (let j0 = 0; j0 < cols; j0 += NR) {
    const c = min(NR, cols - j0);
    if (cs == 1 && c == NR) {
      for (let k = 0; k < rows; k++) {
        const s = src + (<usize>(k * rs + j0) << 2);
        for (let j = 0; j < NR; j += 4) v128.store(dst + (<usize>j << 2), v128.load(s + (<usize>j << 2)));
        dst += <usize>NR << 2;
      }
      continue;
    }
    for (let k = 0; k < rows; k++) {
      const s = src + (<usize>(k * rs + j0 * cs) << 2);
      let j = 0;
      for (; j < c; j++) store<f32>(dst + (<usize>j << 2), load<f32>(s + (<usize>(j * cs) << 2)));
      for (; j < NR; j++) store<f32>(dst + (<usize>j << 2), 0);
      dst += <usize>NR << 2;
    }
  }
}

/** Floats of a fully packed K×N matrix (see packBFull). */
export function packedBSize(K: i32, N: i32): i32 {
  return ((N + NR - 1) / NR) * NR * K;
}

/**
 * Packs a whole K×N matrix once, in the block order gemm walks (column blocks of NC, then row
 * blocks of KC), so products against it skip packing. Block (jc, pc) starts at jc·K + pc·ncPad.
 */
export function packBFull(src: usize, rs: i32, cs: i32, K: i32, N: i32, dst: usize): void {
  for (let jc = 0; jc < N; jc += NC) {
    const nc = min(NC, N - jc);
    const ncPad = ((nc + NR - 1) / NR) * NR;
    for (let pc = 0; pc < K; pc += KC) {
      const kc = min(KC, K - pc);
      const s = src + (<usize>(pc * rs + jc * cs) << 2);
      packB(s, rs, cs, kc, nc, dst + (<usize>(jc * K + pc * ncPad) << 2));
    }
  }
}

/**
 * C[M×N] (row stride ldc) = A·B, or += when `accumulate`. With `prepacked`, B is the result of
 * packBFull and rsB/csB are ignored; otherwise B is packed block by block into `bp`.
 * `ap` needs MC·KC floats (rounded up to MR rows); `bp` needs KC·NC floats (rounded up to NR cols);
 * `edge` holds one MR×NR tile for partial tiles at the borders. Each thread passes its own three
 * buffers, so calls on disjoint rows of C can run at once over a shared memory.
 */
export function gemm(
  M: i32, N: i32, K: i32,
  A: usize, rsA: i32, csA: i32,
  B: usize, rsB: i32, csB: i32, prepacked: bool,
  C: usize, ldc: i32, accumulate: bool,
  ap: usize, bp: usize, edge: usize,
): void {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!accumulate) for (let i = 0; i < M; i++) memory.fill(C + (<usize>(i * ldc) << 2), 0, <usize>N << 2);
    return;
  }
  for (let jc = 0; jc < N; jc += NC) {
    const nc = min(NC, N - jc);
    const ncPad = ((nc + NR - 1) / NR) * NR;
    for (let pc = 0; pc < K; pc += KC) {
      const kc = min(KC, K - pc);
      let bBlock: usize;
      if (prepacked) {
        bBlock = B + (<usize>(jc * K + pc * ncPad) << 2);
      } else {
        packB(B + (<usize>(pc * rsB + jc * csB) << 2), rsB, csB, kc, nc, bp);
        bBlock = bp;
      }
      const acc = accumulate || pc > 0;
      for (let ic = 0; ic < M; ic += MC) {
        const mc = min(MC, M - ic);
        packA(A + (<usize>(ic * rsA + pc * csA) << 2), rsA, csA, mc, kc, ap);
        macro(mc, nc, kc, ap, bBlock, C + (<usize>(ic * ldc + jc) << 2), ldc, acc, edge);
      }
    }
  }
}

function macro(mc: i32, nc: i32, kc: i32, ap: usize, bp: usize, C: usize, ldc: i32, acc: bool, edge: usize): void {
  for (let j0 = 0; j0 < nc; j0 += NR) {
    const nr = min(NR, nc - j0);
    const bPanel = bp + (<usize>(j0 * kc) << 2);
    for (let i0 = 0; i0 < mc; i0 += MR) {
      const mr = min(MR, mc - i0);
      const aPanel = ap + (<usize>(i0 * kc) << 2);
      const c = C + (<usize>(i0 * ldc + j0) << 2);
      if (nr == NR) {
        tile(kc, aPanel, bPanel, c, ldc, acc, mr);
      } else if ((nr & 3) == 0) {
        // Border columns in whole vectors (S's N = 64, 128, 512 leave 4 or 8): a narrower tile
        // that skips the zero-padded columns and writes C directly.
        narrowTile(kc, aPanel, bPanel, c, ldc, acc, mr, nr);
      } else {
        // Edge: compute a whole tile into scratch, then add or copy only the valid part.
        tile(kc, aPanel, bPanel, edge, NR, false, MR);
        for (let i = 0; i < mr; i++) {
          const dst = c + (<usize>(i * ldc) << 2);
          const src = edge + (<usize>(i * NR) << 2);
          for (let j = 0; j < nr; j++) {
            const v = load<f32>(src + (<usize>j << 2));
            const d = dst + (<usize>j << 2);
            store<f32>(d, acc ? load<f32>(d) + v : v);
          }
        }
      }
    }
  }
}

/** The full-width tile; only the first mr rows of C are written (the packed A is zero-padded). */
@inline function tile(kc: i32, a: usize, b: usize, c: usize, ldc: i32, acc: bool, mr: i32): void {
  if (ASC_FEATURE_RELAXED_SIMD) tile3x12(kc, a, b, c, ldc, acc, mr);
  else tile2x16(kc, a, b, c, ldc, acc, mr);
}

/** nr = 4, 8 (or 12 in the plain build) of the NR columns, first mr rows. */
function narrowTile(kc: i32, a: usize, b: usize, c: usize, ldc: i32, acc: bool, mr: i32, nr: i32): void {
  if (ASC_FEATURE_RELAXED_SIMD) {
    if (nr == 8) tile3x8(kc, a, b, c, ldc, acc, mr);
    else tile3x4(kc, a, b, c, ldc, acc, mr);
  } else {
    if (nr == 12) tile2x12(kc, a, b, c, ldc, acc, mr);
    else if (nr == 8) tile2x8(kc, a, b, c, ldc, acc, mr);
    else tile2x4(kc, a, b, c, ldc, acc, mr);
  }
}

@inline function storeVec(p: usize, v: v128, acc: bool): void {
  v128.store(p, acc ? f32x4.add(v, v128.load(p)) : v);
}

function tile2x16(kc: i32, a: usize, b: usize, c: usize, ldc: i32, acc: bool, mr: i32): void {
  let c00 = f32x4.splat(0), c01 = c00, c02 = c00, c03 = c00;
  let c10 = c00, c11 = c00, c12 = c00, c13 = c00;
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(b), b1 = v128.load(b, 16), b2 = v128.load(b, 32), b3 = v128.load(b, 48);
    const a0 = v128.load32_splat(a);
    c00 = madd(a0, b0, c00); c01 = madd(a0, b1, c01); c02 = madd(a0, b2, c02); c03 = madd(a0, b3, c03);
    const a1 = v128.load32_splat(a, 4);
    c10 = madd(a1, b0, c10); c11 = madd(a1, b1, c11); c12 = madd(a1, b2, c12); c13 = madd(a1, b3, c13);
    a += 8;
    b += 64;
  }
  storeVec(c, c00, acc); storeVec(c + 16, c01, acc); storeVec(c + 32, c02, acc); storeVec(c + 48, c03, acc);
  if (mr < 2) return;
  const r1 = c + (<usize>ldc << 2);
  storeVec(r1, c10, acc); storeVec(r1 + 16, c11, acc); storeVec(r1 + 32, c12, acc); storeVec(r1 + 48, c13, acc);
}

function tile2x12(kc: i32, a: usize, b: usize, c: usize, ldc: i32, acc: bool, mr: i32): void {
  let c00 = f32x4.splat(0), c01 = c00, c02 = c00;
  let c10 = c00, c11 = c00, c12 = c00;
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(b), b1 = v128.load(b, 16), b2 = v128.load(b, 32);
    const a0 = v128.load32_splat(a);
    c00 = madd(a0, b0, c00); c01 = madd(a0, b1, c01); c02 = madd(a0, b2, c02);
    const a1 = v128.load32_splat(a, 4);
    c10 = madd(a1, b0, c10); c11 = madd(a1, b1, c11); c12 = madd(a1, b2, c12);
    a += 8;
    b += 64;
  }
  storeVec(c, c00, acc); storeVec(c + 16, c01, acc); storeVec(c + 32, c02, acc);
  if (mr < 2) return;
  const r1 = c + (<usize>ldc << 2);
  storeVec(r1, c10, acc); storeVec(r1 + 16, c11, acc); storeVec(r1 + 32, c12, acc);
}

function tile2x8(kc: i32, a: usize, b: usize, c: usize, ldc: i32, acc: bool, mr: i32): void {
  let c00 = f32x4.splat(0), c01 = c00, c10 = c00, c11 = c00;
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(b), b1 = v128.load(b, 16);
    const a0 = v128.load32_splat(a);
    c00 = madd(a0, b0, c00); c01 = madd(a0, b1, c01);
    const a1 = v128.load32_splat(a, 4);
    c10 = madd(a1, b0, c10); c11 = madd(a1, b1, c11);
    a += 8;
    b += 64;
  }
  storeVec(c, c00, acc); storeVec(c + 16, c01, acc);
  if (mr < 2) return;
  const r1 = c + (<usize>ldc << 2);
  storeVec(r1, c10, acc); storeVec(r1 + 16, c11, acc);
}

function tile2x4(kc: i32, a: usize, b: usize, c: usize, ldc: i32, acc: bool, mr: i32): void {
  let c00 = f32x4.splat(0), c10 = c00;
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(b);
    c00 = madd(v128.load32_splat(a), b0, c00);
    c10 = madd(v128.load32_splat(a, 4), b0, c10);
    a += 8;
    b += 64;
  }
  storeVec(c, c00, acc);
  if (mr < 2) return;
  storeVec(c + (<usize>ldc << 2), c10, acc);
}

function tile3x12(kc: i32, a: usize, b: usize, c: usize, ldc: i32, acc: bool, mr: i32): void {
  let c00 = f32x4.splat(0), c01 = c00, c02 = c00;
  let c10 = c00, c11 = c00, c12 = c00;
  let c20 = c00, c21 = c00, c22 = c00;
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(b), b1 = v128.load(b, 16), b2 = v128.load(b, 32);
    let x = v128.load32_splat(a);
    c00 = madd(x, b0, c00); c01 = madd(x, b1, c01); c02 = madd(x, b2, c02);
    x = v128.load32_splat(a, 4);
    c10 = madd(x, b0, c10); c11 = madd(x, b1, c11); c12 = madd(x, b2, c12);
    x = v128.load32_splat(a, 8);
    c20 = madd(x, b0, c20); c21 = madd(x, b1, c21); c22 = madd(x, b2, c22);
    a += 12;
    b += 48;
  }
  const row = <usize>ldc << 2;
  storeRow3(c, c00, c01, c02, acc);
  if (mr > 1) storeRow3(c + row, c10, c11, c12, acc);
  if (mr > 2) storeRow3(c + 2 * row, c20, c21, c22, acc);
}

function tile3x8(kc: i32, a: usize, b: usize, c: usize, ldc: i32, acc: bool, mr: i32): void {
  let c00 = f32x4.splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(b), b1 = v128.load(b, 16);
    let x = v128.load32_splat(a);
    c00 = madd(x, b0, c00); c01 = madd(x, b1, c01);
    x = v128.load32_splat(a, 4);
    c10 = madd(x, b0, c10); c11 = madd(x, b1, c11);
    x = v128.load32_splat(a, 8);
    c20 = madd(x, b0, c20); c21 = madd(x, b1, c21);
    a += 12;
    b += 48;
  }
  const row = <usize>ldc << 2;
  storeVec(c, c00, acc); storeVec(c + 16, c01, acc);
  if (mr > 1) { storeVec(c + row, c10, acc); storeVec(c + row + 16, c11, acc); }
  if (mr > 2) { storeVec(c + 2 * row, c20, acc); storeVec(c + 2 * row + 16, c21, acc); }
}

function tile3x4(kc: i32, a: usize, b: usize, c: usize, ldc: i32, acc: bool, mr: i32): void {
  let c00 = f32x4.splat(0), c10 = c00, c20 = c00;
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(b);
    c00 = madd(v128.load32_splat(a), b0, c00);
    c10 = madd(v128.load32_splat(a, 4), b0, c10);
    c20 = madd(v128.load32_splat(a, 8), b0, c20);
    a += 12;
    b += 48;
  }
  const row = <usize>ldc << 2;
  storeVec(c, c00, acc);
  if (mr > 1) storeVec(c + row, c10, acc);
  if (mr > 2) storeVec(c + 2 * row, c20, acc);
}

@inline function storeRow3(p: usize, v0: v128, v1: v128, v2: v128, acc: bool): void {
  if (acc) {
    v0 = f32x4.add(v0, v128.load(p));
    v1 = f32x4.add(v1, v128.load(p, 16));
    v2 = f32x4.add(v2, v128.load(p, 32));
  }
  v128.store(p, v0);
  v128.store(p, v1, 16);
  v128.store(p, v2, 32);
}
