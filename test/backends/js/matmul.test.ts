import { test } from "node:test";
import assert from "node:assert/strict";
import * as gl from "../../../src/index.js";
import { matmul } from "../../../src/backends/js/matmul.js";
import type { View } from "../../../src/backend/kernels.js";

type Arr = Float32Array | Float64Array | Int32Array;

function filled<T extends Arr>(a: T, gen: gl.Generator, ints = false): T {
  for (let i = 0; i < a.length; i++) a[i] = ints ? gen.randint(-9, 10) : gen.normal();
  return a;
}

/** A [B, R, C] view on `data` at `offset`, either row-major or with rows and columns swapped. */
function view(data: Arr, offset: number, [B, R, C]: number[], transposed: boolean, batchStride?: number): View {
  const strides = transposed ? [R * C, 1, R] : [R * C, C, 1];
  if (batchStride !== undefined) strides[0] = batchStride;
  return { data, shape: [B, R, C], strides, offset };
}

/** Naive triple loop in float64, and the bound Σ|a||b| that scales its rounding error. */
function naive(a: View, b: View): { c: Float64Array; mag: Float64Array } {
  const [B, M, K] = a.shape;
  const N = b.shape[2];
  const c = new Float64Array(B * M * N);
  const mag = new Float64Array(B * M * N);
  for (let bi = 0; bi < B; bi++) {
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        let m = 0;
        for (let k = 0; k < K; k++) {
          const x = a.data[a.offset + bi * a.strides[0] + i * a.strides[1] + k * a.strides[2]];
          const y = b.data[b.offset + bi * b.strides[0] + k * b.strides[1] + j * b.strides[2]];
          s += x * y;
          m += Math.abs(x * y);
        }
        c[(bi * M + i) * N + j] = s;
        mag[(bi * M + i) * N + j] = m;
      }
    }
  }
  return { c, mag };
}

// Odd sizes hit every edge path: leftover rows (M % 4), leftover columns (N % 4), the narrow-C
// swap (N < 4), several k-blocks (K > 256), row blocks (M > 64) and column blocks (N > 2048).
const SHAPES = [
  [1, 1, 7, 13], [1, 17, 1, 5], [1, 1, 1, 1], [1, 3, 2, 1], [2, 5, 300, 3], [3, 9, 37, 10],
  [1, 70, 260, 9], [2, 4, 4, 4], [1, 130, 520, 7], [1, 1, 600, 1], [1, 6, 5, 2], [1, 5, 270, 2053],
];

test("float64: equal to a naive triple loop within 1e-12 of Σ|a·b|, for every operand layout", () => {
  const gen = new gl.Generator(1);
  for (const [B, M, K, N] of SHAPES) {
    for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]]) {
      const a = view(filled(new Float64Array(B * M * K + 3), gen), 3, [B, M, K], tA);
      const b = view(filled(new Float64Array(B * K * N + 1), gen), 1, [B, K, N], tB);
      const out = new Float64Array(B * M * N).fill(NaN);
      matmul(a, b, out);
      const { c, mag } = naive(a, b);
      for (let i = 0; i < out.length; i++) {
        assert.ok(
          Math.abs(out[i] - c[i]) <= 1e-12 * mag[i],
          `[${B}, ${M}, ${K}, ${N}] tA=${tA} tB=${tB} at ${i}: ${out[i]} vs ${c[i]}`,
        );
      }
    }
  }
});

test("float32 output is the float64 sum rounded once", () => {
  const gen = new gl.Generator(2);
  for (const [B, M, K, N] of SHAPES) {
    const a = view(filled(new Float32Array(B * M * K), gen), 0, [B, M, K], false);
    const b = view(filled(new Float32Array(B * K * N), gen), 0, [B, K, N], true);
    const out = new Float32Array(B * M * N);
    matmul(a, b, out);
    const { c, mag } = naive(a, b);
    for (let i = 0; i < out.length; i++) {
      // One rounding to float32 of a sum accurate to 1e-12: within half an ulp plus that.
      const tol = Math.abs(c[i]) * 2 ** -24 + 1e-12 * mag[i];
      assert.ok(Math.abs(out[i] - c[i]) <= tol, `[${B}, ${M}, ${K}, ${N}] at ${i}: ${out[i]} vs ${c[i]}`);
    }
  }
});

test("int32 products are exact", () => {
  const gen = new gl.Generator(3);
  const a = view(filled(new Int32Array(2 * 5 * 7), gen, true), 0, [2, 5, 7], false);
  const b = view(filled(new Int32Array(2 * 7 * 3), gen, true), 0, [2, 7, 3], true);
  const out = new Int32Array(2 * 5 * 3);
  matmul(a, b, out);
  assert.deepEqual(Array.from(out), Array.from(naive(a, b).c));
});

test("a batch-broadcast operand (batch stride 0) is read for every batch", () => {
  const gen = new gl.Generator(4);
  const a = view(filled(new Float64Array(3 * 6 * 5), gen), 0, [3, 6, 5], false);
  const b = view(filled(new Float64Array(5 * 4), gen), 0, [3, 5, 4], false, 0);
  const out = new Float64Array(3 * 6 * 4);
  matmul(a, b, out);
  const { c, mag } = naive(a, b);
  out.forEach((v, i) => assert.ok(Math.abs(v - c[i]) <= 1e-12 * mag[i]));
});

test("size 0: nothing to write when M or N is 0; zeros when K is 0", () => {
  const out = new Float64Array(6).fill(7);
  matmul(view(new Float64Array(0), 0, [1, 2, 0], false), view(new Float64Array(0), 0, [1, 0, 3], false), out);
  assert.deepEqual(Array.from(out), [0, 0, 0, 0, 0, 0]);
  const none = new Float64Array(0);
  matmul(view(new Float64Array(0), 0, [1, 0, 4], false), view(new Float64Array(12), 0, [1, 4, 3], false), none);
  matmul(view(new Float64Array(8), 0, [1, 2, 4], false), view(new Float64Array(0), 0, [1, 4, 0], false), none);
});

test("NaN and Inf propagate as in a plain sum of products", () => {
  const a = view(Float64Array.from([1, NaN, 2, 3, Infinity, 0, 1, 1]), 0, [1, 2, 4], false);
  const b = view(Float64Array.from([1, 0, 1, 1, 1, 0, 1, 2]), 0, [1, 4, 2], false);
  const out = new Float64Array(4);
  matmul(a, b, out);
  // Row 0 meets NaN everywhere; row 1 has Inf·0 = NaN in column 1 and Inf in column 0.
  assert.deepEqual(Array.from(out), [NaN, NaN, Infinity, NaN]);
});
