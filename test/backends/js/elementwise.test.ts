import { test } from "node:test";
import assert from "node:assert/strict";
import * as gl from "../../../src/index.js";
import { binary, binaryFns, clamp, copy, unary, unaryFns, where } from "../../../src/backends/js/elementwise.js";
import { plan } from "../../../src/backends/js/strided.js";
import type { BinaryOp, UnaryOp, View } from "../../../src/backend/kernels.js";
import { indices, randomView } from "./views.js";

const SHAPES = [[], [1], [5], [0, 3], [3, 1, 4], [2, 3, 4], [7, 2], [2, 17], [1, 1, 1], [4, 1, 3, 2], [33, 3]];
const f64 = (n: number) => new Float64Array(n);

test("plan drops size-1 dims, merges contiguous neighbours and puts a long dim innermost", () => {
  assert.deepEqual(plan([2, 3, 4], [[12, 4, 1], [12, 4, 1]]), { shape: [24], strides: [[1], [1]], rows: 1 });
  assert.deepEqual(plan([], [[], []]), { shape: [1], strides: [[0], [0]], rows: 1 });
  assert.deepEqual(plan([1, 5, 1], [[9, 2, 7], [5, 1, 1]]), { shape: [5], strides: [[2], [1]], rows: 1 });
  // A transposed operand stops the merge; the short inner dim (3) swaps with the long one.
  const p = plan([100, 3], [[1, 100], [3, 1]]);
  assert.deepEqual(p.shape, [3, 100]);
  assert.deepEqual(p.strides, [[100, 1], [1, 3]]);
  assert.equal(p.rows, 3);
});

test("copy between random views of every layout, with dtype conversion", () => {
  const gen = new gl.Generator(1);
  for (const shape of SHAPES) {
    for (const [mk, mkDst] of [[f64, f64], [(n: number) => new Float32Array(n), f64], [f64, (n: number) => new Int32Array(n)]] as const) {
      const src = randomView(shape, gen, mk);
      // A destination never has broadcast dims: each element is written once.
      const dst = randomView(shape, gen, mkDst, false);
      const before = Array.from(dst.v.data);
      copy(src.v, dst.v);
      const touched = new Set<number>();
      for (const idx of indices(shape)) {
        const at = dst.v.offset + idx.reduce((a, x, d) => a + x * dst.v.strides[d], 0);
        touched.add(at);
        const want = dst.v.data instanceof Int32Array ? Math.trunc(src.get(idx)) | 0 : dst.v.data instanceof Float32Array ? Math.fround(src.get(idx)) : src.get(idx);
        assert.equal(dst.v.data[at], want, `shape ${JSON.stringify(shape)} at ${idx}`);
      }
      // Nothing outside the view changes.
      for (let i = 0; i < before.length; i++) if (!touched.has(i)) assert.equal(dst.v.data[i], before[i]);
    }
  }
});

test("unary, binary, clamp and where on random views equal the per-element definition", () => {
  const gen = new gl.Generator(2);
  const unaries: UnaryOp[] = ["neg", "exp", "tanh", "sigmoid", "relu", "square", "abs", "erf", "round"];
  const binaries: BinaryOp[] = ["add", "sub", "mul", "div", "maximum", "minimum", "pow", "eq", "gt", "le"];
  for (const shape of SHAPES) {
    const n = shape.reduce((a, b) => a * b, 1);
    const x = randomView(shape, gen, f64);
    const y = randomView(shape, gen, f64);
    const c = randomView(shape, gen, (k) => new Int32Array(k));
    const all = [...indices(shape)];
    for (const op of unaries) {
      const out = new Float64Array(n);
      unary(op, x.v, out);
      all.forEach((idx, i) => assert.equal(out[i], unaryFns[op](x.get(idx)), `${op} ${JSON.stringify(shape)}`));
    }
    for (const op of binaries) {
      const out = new Float64Array(n);
      binary(op, x.v, y.v, out);
      all.forEach((idx, i) => assert.equal(out[i], binaryFns[op](x.get(idx), y.get(idx)), `${op} ${JSON.stringify(shape)}`));
    }
    const cl = new Float64Array(n);
    clamp(x.v, -0.3, 0.4, cl);
    all.forEach((idx, i) => assert.equal(cl[i], Math.min(Math.max(x.get(idx), -0.3), 0.4)));
    const w = new Float64Array(n);
    where(c.v, x.v, y.v, w);
    all.forEach((idx, i) => assert.equal(w[i], c.get(idx) !== 0 ? x.get(idx) : y.get(idx)));
  }
});

test("the hot loops keep the reference semantics for NaN, ±Inf and ±0", () => {
  const vals = [NaN, Infinity, -Infinity, 0, -0, 2, -3];
  const v: View = { data: Float64Array.from(vals), shape: [7], strides: [1], offset: 0 };
  for (const op of ["neg", "exp", "log", "sqrt", "tanh", "sigmoid", "relu", "square"] as UnaryOp[]) {
    const out = new Float64Array(7);
    unary(op, v, out);
    vals.forEach((x, i) => assert.ok(Object.is(out[i], unaryFns[op](x)), `${op}(${x}) = ${out[i]}`));
  }
  const a: View = { data: Float64Array.from(vals.flatMap((x) => vals.map(() => x))), shape: [49], strides: [1], offset: 0 };
  const b: View = { data: Float64Array.from(vals.flatMap(() => vals)), shape: [49], strides: [1], offset: 0 };
  for (const op of ["add", "sub", "mul", "div", "maximum", "minimum", "eq", "gt"] as BinaryOp[]) {
    const out = new Float64Array(49);
    binary(op, a, b, out);
    for (let i = 0; i < 49; i++) assert.ok(Object.is(out[i], binaryFns[op](a.data[i], b.data[i])), `${op}(${a.data[i]}, ${b.data[i]})`);
  }
});
