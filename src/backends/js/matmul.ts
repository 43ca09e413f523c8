import type { TypedArray } from "../../core/dtype.js";
import type { View } from "../../backend/kernels.js";

/**
 * Reference batched GEMM. Operands are packed into contiguous row-major panels (a few percent of
 * the work), then four output rows at a time share each loaded row of B; sums are kept in float64.
 */
export function matmul(a: View, b: View, out: TypedArray): void {
  const [B, M, K] = a.shape;
  const N = b.shape[2];
  const A = new Float64Array(M * K);
  const Bp = new Float64Array(K * N);
  const c0 = new Float64Array(N);
  const c1 = new Float64Array(N);
  const c2 = new Float64Array(N);
  const c3 = new Float64Array(N);
  let lastB = -1;
  for (let bi = 0; bi < B; bi++) {
    pack(a, bi, M, K, A);
    // A batch-broadcast B (stride 0) is packed once.
    const bOff = b.offset + bi * b.strides[0];
    if (bOff !== lastB || b.strides[0] !== 0) pack(b, bi, K, N, Bp);
    lastB = bOff;
    const oBase = bi * M * N;
    let i = 0;
    for (; i + 4 <= M; i += 4) {
      c0.fill(0);
      c1.fill(0);
      c2.fill(0);
      c3.fill(0);
      const r0 = i * K;
      for (let k = 0; k < K; k++) {
        const a0 = A[r0 + k];
        const a1 = A[r0 + K + k];
        const a2 = A[r0 + 2 * K + k];
        const a3 = A[r0 + 3 * K + k];
        const bk = k * N;
        for (let j = 0; j < N; j++) {
          const bv = Bp[bk + j];
          c0[j] += a0 * bv;
          c1[j] += a1 * bv;
          c2[j] += a2 * bv;
          c3[j] += a3 * bv;
        }
      }
      const o = oBase + i * N;
      for (let j = 0; j < N; j++) {
        out[o + j] = c0[j];
        out[o + N + j] = c1[j];
        out[o + 2 * N + j] = c2[j];
        out[o + 3 * N + j] = c3[j];
      }
    }
    for (; i < M; i++) {
      c0.fill(0);
      for (let k = 0; k < K; k++) {
        const av = A[i * K + k];
        const bk = k * N;
        for (let j = 0; j < N; j++) c0[j] += av * Bp[bk + j];
      }
      const o = oBase + i * N;
      for (let j = 0; j < N; j++) out[o + j] = c0[j];
    }
  }
}

function pack(v: View, batch: number, rows: number, cols: number, dst: Float64Array): void {
  const d = v.data;
  const base = v.offset + batch * v.strides[0];
  const rs = v.strides[1];
  const cs = v.strides[2];
  for (let r = 0; r < rows; r++) {
    const ro = base + r * rs;
    const dro = r * cols;
    for (let c = 0; c < cols; c++) dst[dro + c] = d[ro + c * cs];
  }
}
