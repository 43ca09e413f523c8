import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as wg from "../../../src/backends/webgpu/index.js";
import { GpuTensor } from "../../../src/backends/webgpu/index.js";
import { ShapeError } from "../../../src/core/errors.js";
import { assertNear, rand, randInts, skip, useGpu } from "./helpers.js";

const gpuOf = useGpu();

/** float64 C = op(A)·op(B) for A stored [M,K] (or [K,M]) and B stored [K,N] (or [N,K]). */
function refMatmul(a: Float32Array, b: Float32Array, M: number, N: number, K: number, tA: boolean, tB: boolean): Float64Array {
  const c = new Float64Array(M * N);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += (tA ? a[k * M + i] : a[i * K + k]) * (tB ? b[j * K + k] : b[k * N + j]);
      c[i * N + j] = s;
    }
  return c;
}

describe("webgpu kernels", { skip }, () => {
  test("matmul: every transpose, odd sizes and sizes past each tile, against float64 loops", async () => {
    const gpu = gpuOf();
    const sizes: [number, number, number][] = [[1, 1, 1], [3, 17, 5], [17, 3, 65], [65, 66, 17], [33, 130, 7], [520, 515, 24], [20, 30, 2100]];
    let seed = 1;
    for (const [M, N, K] of sizes) {
      for (const tA of [false, true]) {
        for (const tB of [false, true]) {
          const a = rand(M * K, seed++);
          const b = rand(K * N, seed++);
          const A = GpuTensor.fromArray(gpu, a, tA ? [K, M] : [M, K]);
          const B = GpuTensor.fromArray(gpu, b, tB ? [N, K] : [K, N]);
          const C = GpuTensor.empty(gpu, [M, N]);
          wg.matmul(gpu, A, B, C, { transA: tA, transB: tB });
          assertNear(await C.read(), refMatmul(a, b, M, N, K, tA, tB), 3e-6 * Math.sqrt(K), 1e-5, `matmul ${M}×${N}×${K} tA=${tA} tB=${tB}`);
          for (const t of [A, B, C]) t.release();
        }
      }
    }
  });

  // The last case has sizes and offsets that are multiples of 4: vec4 loads at an offset.
  for (const [splitK, M, N, K] of [[1, 5, 7, 3], [3, 5, 7, 70], [2, 8, 12, 64]]) test(`matmul: accumulate, bias and sub-matrix offsets (${M}×${N}×${K}, splitK ${splitK})`, async () => {
    const gpu = gpuOf();
    const a = rand(2 * M * K, 11);
    const b = rand(N * K, 12);
    const c0 = rand(3 * M * N, 13);
    const bias = rand(N, 14);
    const C = GpuTensor.fromArray(gpu, c0);
    // The second [M, K] block of A, times Bᵀ, added into the middle block of C, plus the bias.
    wg.matmul(gpu, GpuTensor.fromArray(gpu, a), GpuTensor.fromArray(gpu, b), C, {
      transB: true, accumulate: true, bias: GpuTensor.fromArray(gpu, bias), M, N, K, offsetA: M * K, offsetC: M * N, splitK,
    });
    const prod = refMatmul(a.subarray(M * K), b, M, N, K, false, true);
    const want = Float64Array.from(c0);
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) want[M * N + i * N + j] += prod[i * N + j] + bias[j];
    assertNear(await C.read(), want, 1e-5, 1e-5, "matmul accumulate+bias+offsets");
  });

  test("matmul: every named tile, with transposes and split-K, at odd sizes past the tile", async () => {
    const gpu = gpuOf();
    let seed = 100;
    // One case per tile, cycling through the four transpose cases and the two alignments (each
    // shader takes ~1 s to compile on llvmpipe, cached after); the four planner tiles are covered
    // in every transpose case by the test above.
    const cases = [[false, false, 1], [true, false, 2], [false, true, 3], [true, true, 1]] as const;
    for (const [n, tile] of wg.MATMUL_TILES.entries()) {
      const [BM, BN] = tile.split("x").map(Number);
      // Odd sizes (scalar loads) and multiples of 4 (vec4 loads of both operands), ragged against
      // the tile and, for K, against every depth BK.
      const [M, N, K] = n % 8 < 4 ? [BM + 3, BN + 5, 37] : [BM + 4, BN + 12, 36];
      const [tA, tB, splitK] = cases[n % 4];
      {
        const a = rand(M * K, seed++);
        const b = rand(K * N, seed++);
        const C = GpuTensor.empty(gpu, [M, N]);
        wg.matmul(gpu, GpuTensor.fromArray(gpu, a, tA ? [K, M] : [M, K]), GpuTensor.fromArray(gpu, b, tB ? [N, K] : [K, N]), C, { transA: tA, transB: tB, tile, splitK });
        assertNear(await C.read(), refMatmul(a, b, M, N, K, tA, tB), 3e-6 * Math.sqrt(K), 1e-5, `matmul tile ${tile} ${M}×${N}×${K} tA=${tA} tB=${tB} splitK=${splitK}`);
      }
    }
  });

  test("matmul: a batch in one dispatch, with transposes, offsets, a shared (stride 0) operand and vec4 or scalar loads", async () => {
    const gpu = gpuOf();
    for (const [M, N, K, tA, tB, shareB] of [[5, 7, 3, false, false, false], [8, 12, 16, true, false, true], [9, 4, 20, false, true, false], [16, 16, 8, true, true, true]] as const) {
      const batch = 3;
      const sA = M * K + 4;
      const sB = shareB ? 0 : K * N + 8;
      const a = rand(4 + (batch - 1) * sA + M * K, M + 1);
      const b = rand(8 + (batch - 1) * sB + K * N, N + 2);
      const C = GpuTensor.zeros(gpu, [1 + batch * M * N]);
      const before = gpu.dispatches;
      wg.matmul(gpu, GpuTensor.fromArray(gpu, a), GpuTensor.fromArray(gpu, b), C, {
        transA: tA, transB: tB, M, N, K, offsetA: 4, offsetB: 8, offsetC: 1, batch, strideA: sA, strideB: sB, strideC: M * N,
      });
      assert.equal(gpu.dispatches - before, 1, "one dispatch for the batch");
      const got = await C.read();
      for (let i = 0; i < batch; i++) {
        const want = refMatmul(a.subarray(4 + i * sA), b.subarray(8 + i * sB), M, N, K, tA, tB);
        assertNear(got.subarray(1 + i * M * N, 1 + (i + 1) * M * N), want, 3e-6 * Math.sqrt(K), 1e-5, `batch ${i} of ${M}×${N}×${K} tA=${tA} tB=${tB}`);
      }
    }
    assert.throws(() => wg.matmul(gpu, GpuTensor.empty(gpu, [12]), GpuTensor.empty(gpu, [12]), GpuTensor.empty(gpu, [12]), { M: 2, N: 2, K: 3, batch: 3, strideA: 6 }), /overrun/);
  });

  test("matmul: a malformed or oversized tile is a ShapeError naming it", () => {
    const gpu = gpuOf();
    const A = GpuTensor.empty(gpu, [2, 2]);
    assert.throws(() => wg.matmul(gpu, A, A, GpuTensor.empty(gpu, [2, 2]), { tile: "64x64x16/4x3" }), (e: Error) => e instanceof ShapeError && /64x64x16\/4x3/.test(e.message));
    assert.throws(() => wg.matmul(gpu, A, A, GpuTensor.empty(gpu, [2, 2]), { tile: "1024x1024x16/1x4" }), (e: Error) => e instanceof ShapeError && /1024x1024x16\/1x4/.test(e.message));
  });

  test("matmul: mismatched shapes and overruns are ShapeErrors naming the shapes", () => {
    const gpu = gpuOf();
    const A = GpuTensor.empty(gpu, [2, 3]);
    assert.throws(() => wg.matmul(gpu, A, GpuTensor.empty(gpu, [4, 5]), GpuTensor.empty(gpu, [2, 5])), (e: Error) => e instanceof ShapeError && /\[2, 3\]/.test(e.message));
    assert.throws(() => wg.matmul(gpu, A, A, A, { M: 2, N: 3, K: 3, offsetA: 1 }), ShapeError);
  });

  test("unary ops against Math on values that include 0 and negatives", async () => {
    const gpu = gpuOf();
    const x = rand(1000, 3, 4);
    x[0] = 0;
    const pos = Float32Array.from(x, Math.abs);
    const ref: Record<wg.GpuUnaryOp, (v: number) => number> = {
      neg: (v) => -v, exp: Math.exp, log: Math.log, tanh: Math.tanh, sigmoid: (v) => 1 / (1 + Math.exp(-v)),
      relu: (v) => Math.max(v, 0), sqrt: Math.sqrt, square: (v) => v * v, abs: Math.abs,
    };
    for (const op of Object.keys(ref) as wg.GpuUnaryOp[]) {
      const input = op === "log" || op === "sqrt" ? pos : x;
      const out = GpuTensor.empty(gpu, [1000]);
      wg.unary(gpu, op, GpuTensor.fromArray(gpu, input), out);
      const got = await out.read();
      const want = Array.from(input, ref[op]);
      if (op === "log") assert.equal(got[0], -Infinity, "log(0) = -inf");
      assertNear(got.subarray(op === "log" ? 1 : 0), want.slice(op === "log" ? 1 : 0), 1e-6, 2e-6, `unary ${op}`);
    }
  });

  test("binary ops with broadcasting: same shape, row, column, scalar, 4-D", async () => {
    const gpu = gpuOf();
    const cases: [number[], number[], number[]][] = [
      [[3, 17], [3, 17], [3, 17]], [[5, 7], [7], [5, 7]], [[5, 7], [5, 1], [5, 7]], [[65], [1], [65]], [[2, 1, 3, 4], [5, 1, 4], [2, 5, 3, 4]],
    ];
    const fns = { add: (a: number, b: number) => a + b, sub: (a: number, b: number) => a - b, mul: (a: number, b: number) => a * b,
      div: (a: number, b: number) => a / b, maximum: Math.max, minimum: Math.min };
    let seed = 40;
    for (const [sa, sb, so] of cases) {
      const n = (s: number[]) => s.reduce((p, q) => p * q, 1);
      const a = rand(n(sa), seed++);
      const b = rand(n(sb), seed++);
      for (const [op, f] of Object.entries(fns) as [wg.GpuBinaryOp, (a: number, b: number) => number][]) {
        const out = GpuTensor.empty(gpu, so);
        wg.binary(gpu, op, GpuTensor.fromArray(gpu, a, sa), GpuTensor.fromArray(gpu, b, sb), out);
        const want = new Float64Array(n(so));
        // Reference broadcasting through padded indices.
        const pad = (s: number[]) => [...Array(so.length - s.length).fill(1), ...s];
        const [pa, pb] = [pad(sa), pad(sb)];
        for (let i = 0; i < want.length; i++) {
          let r = i; let ia = 0; let ib = 0; let stA = 1; let stB = 1;
          for (let d = so.length - 1; d >= 0; d--) {
            const c = r % so[d]; r = Math.floor(r / so[d]);
            ia += (pa[d] === 1 ? 0 : c) * stA; ib += (pb[d] === 1 ? 0 : c) * stB;
            stA *= pa[d]; stB *= pb[d];
          }
          want[i] = f(a[ia], b[ib]);
        }
        assertNear(await out.read(), want, 1e-6, 1e-6, `binary ${op} ${sa}⊕${sb}`);
      }
    }
    assert.throws(() => wg.binary(gpu, "add", GpuTensor.empty(gpu, [3]), GpuTensor.empty(gpu, [4]), GpuTensor.empty(gpu, [3])), ShapeError);
  });

  test("fill and sum over rows and columns, with scale and accumulate", async () => {
    const gpu = gpuOf();
    for (const [M, N] of [[1, 1], [3, 17], [65, 3], [300, 70], [3000, 5]]) {
      const x = rand(M * N, M + N);
      const X = GpuTensor.fromArray(gpu, x, [M, N]);
      const rows = GpuTensor.empty(gpu, [N]);
      wg.fill(gpu, rows, 2);
      wg.sum(gpu, X, 0, rows, { accumulate: true });
      const cols = GpuTensor.empty(gpu, [M]);
      wg.sum(gpu, X, 1, cols, { scale: 0.5 });
      const wr = new Float64Array(N).fill(2);
      const wc = new Float64Array(M);
      for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) { wr[j] += x[i * N + j]; wc[i] += 0.5 * x[i * N + j]; }
      assertNear(await rows.read(), wr, 1e-6 * Math.sqrt(M), 1e-5, `sum dim 0 of ${M}×${N}`);
      assertNear(await cols.read(), wc, 1e-5, 1e-5, `sum dim 1 of ${M}×${N}`);
    }
  });

  test("copyWithin moves a range inside one buffer and refuses overlapping ranges", async () => {
    const gpu = gpuOf();
    const t = GpuTensor.fromArray(gpu, Float32Array.from({ length: 10 }, (_, i) => i));
    wg.copyWithin(gpu, t, 6, 1, 3);
    assert.deepEqual(Array.from(await t.read()), [0, 6, 7, 8, 4, 5, 6, 7, 8, 9]);
    assert.throws(() => wg.copyWithin(gpu, t, 0, 2, 3), /overlap/);
    assert.throws(() => wg.copyWithin(gpu, t, 8, 0, 3), /overlap or leave/);
  });

  test("fused cross-entropy: mean loss and gradient, ignoreIndex, forward-only", async () => {
    const gpu = gpuOf();
    for (const [N, V] of [[1, 3], [17, 5], [9, 300]]) {
      const x = rand(N * V, N * V, 5);
      const t = randInts(N, V, N);
      if (N > 1) t[0] = -100;
      const first = N > 1 ? 1 : 0;
      const count = N - first;
      const L = GpuTensor.fromArray(gpu, x, [N, V]);
      const rowLoss = GpuTensor.empty(gpu, [N]);
      const loss = GpuTensor.empty(gpu, [1]);
      const dL = GpuTensor.empty(gpu, [N, V]);
      wg.crossEntropy(gpu, L, GpuTensor.fromArray(gpu, t), rowLoss, loss, dL, { count });
      let total = 0;
      const dref = new Float64Array(N * V);
      for (let n = first; n < N; n++) {
        let m = -Infinity;
        for (let v = 0; v < V; v++) m = Math.max(m, x[n * V + v]);
        let s = 0;
        for (let v = 0; v < V; v++) s += Math.exp(x[n * V + v] - m);
        total += Math.log(s) + m - x[n * V + t[n]];
        for (let v = 0; v < V; v++) dref[n * V + v] = (Math.exp(x[n * V + v] - m) / s - (v === t[n] ? 1 : 0)) / count;
      }
      assertNear(await loss.read(), [total / count], 1e-5, 1e-5, `CE loss ${N}×${V}`);
      assertNear(await dL.read(), dref, 1e-6, 1e-5, `CE grad ${N}×${V}`);
      const loss2 = GpuTensor.empty(gpu, [1]);
      wg.crossEntropy(gpu, L, GpuTensor.fromArray(gpu, t), rowLoss, loss2, null, { count, reduction: "sum" });
      assertNear(await loss2.read(), [total], 1e-5, 1e-5, "CE forward-only sum");
      assert.throws(() => wg.crossEntropy(gpu, L, GpuTensor.fromArray(gpu, t), rowLoss, loss2, null, { count: 0 }), /at least one counted target/);
    }
  });

  test("embedding gather and its exact, deterministic gradient", async () => {
    const gpu = gpuOf();
    const [V, E, n] = [7, 5, 40];
    const w = rand(V * E, 21);
    const ids = randInts(n, V, 22);
    ids[3] = ids[4] = ids[9] = 2; // repeated ids add up
    const out = GpuTensor.empty(gpu, [n, E]);
    wg.embedding(gpu, GpuTensor.fromArray(gpu, w, [V, E]), GpuTensor.fromArray(gpu, ids), out);
    const got = await out.read();
    for (let i = 0; i < n; i++) assertNear(got.subarray(i * E, i * E + E), w.subarray(ids[i] * E, ids[i] * E + E), 0, 0, `row ${i}`);
    const dy = rand(n * E, 23);
    const { offsets, order } = wg.embeddingIndex(ids, V);
    const dW = GpuTensor.fromArray(gpu, new Float32Array(V * E).fill(1), [V, E]);
    wg.embeddingBackward(gpu, GpuTensor.fromArray(gpu, dy, [n, E]), GpuTensor.fromArray(gpu, offsets), GpuTensor.fromArray(gpu, order), dW, { accumulate: true });
    // Sequential float32 scatter-add, the order the CPU uses: the GPU must match it bit for bit.
    const want = new Float32Array(V * E);
    for (let i = 0; i < n; i++) for (let e = 0; e < E; e++) want[ids[i] * E + e] += dy[i * E + e];
    for (let i = 0; i < want.length; i++) want[i] = Math.fround(want[i] + 1);
    assertNear(await dW.read(), want, 0, 0, "embedding gradient");
    assert.throws(() => wg.embeddingIndex(Int32Array.of(0, 7), V), /index 7 at position 1 is out of range for 7 embeddings/);
  });
});
