import { test } from "node:test";
import assert from "node:assert/strict";
import * as gl from "../../src/index.js";
import { type OpSpec, checkSpecs } from "./opspec.js";
import { type Nd, map, maxOf, minOf, reduce, softmaxNd, sumOf } from "./reference.js";

/** A reduction spec for every (dims, keepDim) combination, on shapes that include 0-d and size 1. */
function reductions(
  name: string,
  f: (x: gl.Tensor, dims: number[] | undefined, keepDim: boolean) => gl.Tensor,
  ref: (values: number[]) => number,
  extra: Partial<OpSpec> = {},
  dimsList: (number[] | undefined)[] = [undefined, [0], [-1], [0, 2], [1]],
): OpSpec[] {
  const specs: OpSpec[] = [];
  for (const dims of dimsList) {
    for (const keepDim of [false, true]) {
      const cases = dims === undefined ? [[[2, 3, 4]], [[]], [[1]], [[3, 1]]] : [[[2, 3, 4]], [[1, 3, 1]], [[2, 1, 5]]];
      specs.push({
        name: `${name} dims=${JSON.stringify(dims ?? "all")} keepDim=${keepDim}`,
        cases,
        f: (x) => f(x, dims, keepDim),
        ref: (x: Nd) => reduce(x, dims, keepDim, ref),
        ...extra,
      });
    }
  }
  return specs;
}

const mean = (v: number[]): number => sumOf(v) / v.length;
const variance = (correction: number) => (v: number[]): number => {
  const m = mean(v);
  return sumOf(v.map((x) => (x - m) ** 2)) / (v.length - correction);
};
/** Bessel's correction needs two or more elements per group, or the value is NaN (tested apart). */
const varCases = { cases: [[[2, 3, 4]], [[2, 1, 5]]] };
const logsumexp = (v: number[]): number => {
  const m = Math.max(...v);
  return m + Math.log(sumOf(v.map((x) => Math.exp(x - m))));
};

checkSpecs([
  ...reductions("sum", (x, d, k) => x.sum(d, k), sumOf),
  ...reductions("mean", (x, d, k) => x.mean(d, k), mean),
  ...reductions("max", (x, d, k) => x.max(d, k), maxOf),
  ...reductions("min", (x, d, k) => x.min(d, k), minOf),
  ...reductions("logsumexp", (x, d, k) => x.logsumexp(d ?? [0], k), logsumexp, {}, [[0], [-1], [0, 2]]),
  ...reductions("var", (x, d, k) => x.var(d, { keepDim: k }), variance(1), varCases, [undefined, [-1], [0, 2]]),
  ...reductions("var correction=0", (x, d, k) => x.var(d, { keepDim: k, correction: 0 }), variance(0), {}, [[1]]),
  ...reductions("std", (x, d, k) => x.std(d, { keepDim: k }), (v) => Math.sqrt(variance(1)(v)), varCases, [[-1]]),
  ...reductions("norm 2", (x, d, k) => x.norm(2, d, k), (v) => Math.sqrt(sumOf(v.map((a) => a * a))), {}, [undefined, [1]]),
  ...reductions("norm 1", (x, d, k) => x.norm(1, d, k), (v) => sumOf(v.map(Math.abs)), {}, [[1]]),
  ...reductions("norm 3", (x, d, k) => x.norm(3, d, k), (v) => sumOf(v.map((a) => Math.abs(a) ** 3)) ** (1 / 3), {}, [[-1]]),
  ...reductions("norm inf", (x, d, k) => x.norm(Infinity, d, k), (v) => Math.max(...v.map(Math.abs)), {}, [[0]]),
  ...[0, 1, -1].map(
    (dim): OpSpec => ({
      name: `softmax dim=${dim}`,
      cases: [[[3, 4, 2]], [[1, 5, 1]], [[2, 3, 4]]],
      f: (x) => x.softmax(dim),
      ref: (x) => softmaxNd(x, dim),
    }),
  ),
  ...[0, -1].map(
    (dim): OpSpec => ({
      name: `logSoftmax dim=${dim}`,
      cases: [[[3, 4, 2]], [[1, 5]]],
      f: (x) => x.logSoftmax(dim),
      ref: (x) => map(softmaxNd(x, dim), Math.log),
    }),
  ),
  {
    name: "argmax dim=1",
    cases: [[[3, 4]], [[2, 5, 3]]],
    f: (x) => x.argmax(1),
    outDtype: "int32",
    ref: (x) => reduce(x, [1], false, (v) => v.indexOf(Math.max(...v))),
    grad: false,
  },
  {
    name: "argmin dim=-1 keepDim",
    cases: [[[3, 4]], [[2, 5, 3]]],
    f: (x) => x.argmin(-1, true),
    outDtype: "int32",
    ref: (x) => reduce(x, [-1], true, (v) => v.indexOf(Math.min(...v))),
    grad: false,
  },
]);

test("empty reductions: sum is 0, mean is NaN, max names the empty dim", () => {
  const e = gl.zeros([0, 3]);
  assert.deepEqual(Array.from(e.sum(0).toArray()), [0, 0, 0]);
  assert.deepEqual([...e.sum(1).shape], [0]);
  assert.ok(Number.isNaN(e.mean().item()));
  assert.throws(() => e.max(0), /max: cannot reduce over dim 0 of size 0 \(shape \[0, 3\]\)/);
  assert.deepEqual([...e.max(1).shape], [0]);
  assert.throws(() => e.argmax(), /argmax/);
});

test("reductions propagate NaN; max/min return NaN when a NaN is present, as PyTorch", () => {
  const x = gl.tensor([[1, NaN, 3], [Infinity, 2, -Infinity]], { dtype: "float64" });
  const r = (t: gl.Tensor) => Array.from(t.toArray());
  assert.deepEqual(r(x.sum(1)), [NaN, NaN]);
  assert.deepEqual(r(x.max(1)), [NaN, Infinity]);
  assert.deepEqual(r(x.min(1)), [NaN, -Infinity]);
  assert.deepEqual(r(x.argmax(1)), [1, 0]);
  assert.deepEqual(r(x.logsumexp(1)), [NaN, Infinity]);
  // Rows of -inf: logsumexp is -inf and softmax is NaN (0/0), as in PyTorch.
  const ninf = gl.tensor([[-Infinity, -Infinity], [0, -Infinity]], { dtype: "float64" });
  assert.deepEqual(r(ninf.logsumexp(1)), [-Infinity, 0]);
  assert.deepEqual(r(ninf.softmax(1)), [NaN, NaN, 1, 0]);
  // Large logits stay finite: the max is subtracted first.
  assert.deepEqual(r(gl.tensor([1000, 1000], { dtype: "float64" }).softmax(0)), [0.5, 0.5]);
});

test("max/min split the gradient evenly among tied maxima (torch.amax)", () => {
  const x = gl.tensor([[1, 3, 3], [2, 0, -1]], { dtype: "float64", requiresGrad: true });
  x.max(1).sum().backward();
  assert.deepEqual(Array.from(x.grad!.toArray()), [0, 0.5, 0.5, 1, 0, 0]);
});

test("var of a single element is NaN (correction 1), as PyTorch", () => {
  assert.ok(Number.isNaN(gl.tensor([2.5]).var().item()));
  assert.equal(gl.tensor([2.5]).var(null, { correction: 0 }).item(), 0);
});

test("reductions reject out-of-range dims with the op's name", () => {
  const x = gl.zeros([2, 3]);
  assert.throws(() => x.sum(2), /sum: dim 2 is out of range for a tensor of rank 2/);
  assert.throws(() => x.mean(-3), /mean: dim -3 is out of range/);
  assert.throws(() => x.softmax(5), /softmax: dim 5 is out of range/);
  assert.throws(() => gl.tensor([1, 2], { dtype: "int32" }).mean(), /mean: expected a floating-point tensor, got int32/);
});

test("sum over repeated and unsorted dims is the same reduction", () => {
  const x = gl.arange(24).reshape(2, 3, 4).to("float64");
  assert.deepEqual(Array.from(x.sum([2, 0]).toArray()), Array.from(x.sum([0, 2]).toArray()));
  assert.deepEqual(Array.from(x.sum([1, -2]).toArray()), Array.from(x.sum(1).toArray()));
});
