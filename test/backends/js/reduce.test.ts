import { test } from "node:test";
import assert from "node:assert/strict";
import * as gl from "../../../src/index.js";
import { argReduce, reduce } from "../../../src/backends/js/reduce.js";
import type { ReduceOp } from "../../../src/backend/kernels.js";
import { indices, randomView } from "./views.js";

const SHAPES = [[], [1], [6], [0, 3], [3, 0], [3, 1, 4], [2, 3, 4], [37, 2], [2, 37], [4, 1, 3, 2]];

/** Every subset of the dims, as sorted axis lists. */
function subsets(rank: number): number[][] {
  const out: number[][] = [];
  for (let m = 0; m < 1 << rank; m++) out.push(Array.from({ length: rank }, (_, i) => i).filter((i) => m & (1 << i)));
  return out;
}

const combine: Record<ReduceOp, [number, (a: number, v: number) => number]> = {
  sum: [0, (a, v) => a + v],
  prod: [1, (a, v) => a * v],
  max: [-Infinity, (a, v) => (Number.isNaN(a) || Number.isNaN(v) ? NaN : Math.max(a, v))],
  min: [Infinity, (a, v) => (Number.isNaN(a) || Number.isNaN(v) ? NaN : Math.min(a, v))],
};

test("reduce over every subset of axes of random views equals the definition", () => {
  const gen = new gl.Generator(3);
  for (const shape of SHAPES) {
    for (const axes of subsets(shape.length)) {
      const x = randomView(shape, gen, (n) => new Float64Array(n));
      const keep = shape.map((d, i) => (axes.includes(i) ? 1 : d));
      const size = keep.reduce((a, b) => a * b, 1);
      for (const op of ["sum", "prod", "max", "min"] as ReduceOp[]) {
        const [init, f] = combine[op];
        const want = new Float64Array(size).fill(init);
        const mag = new Float64Array(size);
        for (const idx of indices(shape)) {
          const o = idx.reduce((a, v, d) => a * keep[d] + (axes.includes(d) ? 0 : v), 0);
          want[o] = f(want[o], x.get(idx));
          mag[o] += Math.abs(x.get(idx));
        }
        const out = new Float64Array(size);
        reduce(op, x.v, axes, out);
        // Summation order may follow the memory layout: agree to rounding, relative to Σ|x|.
        const tol = (i: number) => (op === "sum" ? 1e-14 * mag[i] : op === "prod" ? 1e-14 * Math.abs(want[i]) : 0);
        out.forEach((v, i) => assert.ok(Math.abs(v - want[i]) <= tol(i) || v === want[i], `${op} ${JSON.stringify(shape)} axes ${axes} at ${i}: ${v} vs ${want[i]}`));
      }
    }
  }
});

test("float32 sums are accumulated in float64 and rounded once", () => {
  // 2^24 + 1 + 1 + ... : a float32 accumulator would stay at 2^24.
  const data = new Float32Array(9).fill(1);
  data[0] = 2 ** 24;
  const out = new Float32Array(1);
  reduce("sum", { data, shape: [9], strides: [1], offset: 0 }, [0], out);
  assert.equal(out[0], 2 ** 24 + 8);
});

test("NaN wins in max and min wherever it appears in the row", () => {
  for (const at of [0, 1, 3]) {
    const data = Float64Array.from([1, 5, -2, 4]);
    data[at] = NaN;
    for (const op of ["max", "min"] as ReduceOp[]) {
      const out = new Float64Array(1);
      reduce(op, { data, shape: [4], strides: [1], offset: 0 }, [0], out);
      assert.ok(Number.isNaN(out[0]), `${op} with NaN at ${at}`);
    }
  }
});

test("argReduce on random views returns the first extreme index, NaN first", () => {
  const gen = new gl.Generator(4);
  for (const shape of [[5], [3, 4], [2, 3, 4], [4, 1, 3]]) {
    for (let axis = 0; axis < shape.length; axis++) {
      const x = randomView(shape, gen, (n) => new Int32Array(n)); // small ints: many ties
      for (const op of ["argmax", "argmin"] as const) {
        const keep = shape.map((d, i) => (i === axis ? 1 : d));
        const out = new Int32Array(keep.reduce((a, b) => a * b, 1));
        argReduce(op, x.v, axis, out);
        for (const idx of indices(keep)) {
          const vals = Array.from({ length: shape[axis] }, (_, k) => x.get(idx.map((v, d) => (d === axis ? k : v))));
          const best = op === "argmax" ? Math.max(...vals) : Math.min(...vals);
          const o = idx.reduce((a, v, d) => a * keep[d] + v, 0);
          assert.equal(out[o], vals.indexOf(best), `${op} ${JSON.stringify(shape)} axis ${axis}`);
        }
      }
    }
  }
  const out = new Int32Array(1);
  argReduce("argmax", { data: Float64Array.from([1, NaN, 9, NaN]), shape: [4], strides: [1], offset: 0 }, 0, out);
  assert.equal(out[0], 1);
});
