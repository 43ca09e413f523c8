import { test } from "node:test";
import assert from "node:assert/strict";
import * as gl from "../../src/index.js";
import { type OpSpec, checkSpecs } from "./opspec.js";
import { type Nd, at, build, catNd, map, matmulNd, nd, permuteNd, sliceNd } from "./reference.js";

const reshaped = (x: Nd, shape: number[]): Nd => nd(shape, x.data);
/** Weights each piece differently, so a gradient routed to the wrong piece shows. */
const weighted = (pieces: gl.Tensor[], dim: number): gl.Tensor => gl.cat(pieces.map((p, i) => p.mul(i + 1)), dim);
const weightedNd = (pieces: Nd[], dim: number): Nd => catNd(pieces.map((p, i) => map(p, (v) => v * (i + 1))), dim);

checkSpecs([
  { name: "reshape", cases: [[[2, 3, 4]], [[6, 4]]], f: (x) => x.reshape(4, -1, 2), ref: (x) => reshaped(x, [4, 3, 2]) },
  { name: "reshape to 0-d", cases: [[[1, 1]]], f: (x) => x.reshape([]), ref: (x) => reshaped(x, []) },
  { name: "reshape size 0", cases: [[[0, 4]]], f: (x) => x.reshape(-1, 2, 2), ref: (x) => reshaped(x, [0, 2, 2]) },
  { name: "view", cases: [[[2, 3, 4]]], f: (x) => x.contiguous().view(6, 4), ref: (x) => reshaped(x, [6, 4]) },
  { name: "permute", cases: [[[2, 3, 4]]], f: (x) => x.permute(2, 0, 1), ref: (x) => permuteNd(x, [2, 0, 1]) },
  { name: "permute negative dims", cases: [[[2, 3, 4]]], f: (x) => x.permute([-1, 1, 0]), ref: (x) => permuteNd(x, [2, 1, 0]) },
  { name: "transpose", cases: [[[2, 3, 4]], [[3, 5]]], f: (x) => x.transpose(0, -1), ref: (x) => permuteNd(x, x.shape.map((_, i, a) => (i === 0 ? a.length - 1 : i === a.length - 1 ? 0 : i))) },
  { name: "t()", cases: [[[3, 5]]], f: (x) => x.t(), ref: (x) => permuteNd(x, [1, 0]) },
  { name: "narrow", cases: [[[4, 5]]], f: (x) => x.narrow(1, 1, 3), ref: (x) => sliceNd(x, 1, 1, 4) },
  { name: "narrow negative start", cases: [[[4, 5]]], f: (x) => x.narrow(0, -3, 2), ref: (x) => sliceNd(x, 0, 1, 3) },
  { name: "slice with step", cases: [[[7, 3]]], f: (x) => x.slice(0, 1, 6, 2), ref: (x) => sliceNd(x, 0, 1, 6, 2) },
  { name: "slice negative bounds", cases: [[[3, 7]]], f: (x) => x.slice(-1, -5, -1, 3), ref: (x) => sliceNd(x, 1, 2, 6, 3) },
  { name: "slice clamps bounds", cases: [[[3, 4]]], f: (x) => x.slice(1, -100, 100), ref: (x) => x },
  { name: "slice empty", cases: [[[3, 4]]], f: (x) => x.slice(1, 3, 1), ref: (x) => sliceNd(x, 1, 3, 3) },
  { name: "select", cases: [[[3, 4, 2]]], f: (x) => x.select(1, 2), ref: (x) => build([3, 2], ([i, k]) => at(x, [i, 2, k])) },
  { name: "select negative", cases: [[[3, 4]]], f: (x) => x.select(0, -1), ref: (x) => sliceNd(reshaped(sliceNd(x, 0, 2, 3), [4]), 0, 0, 4) },
  { name: "expand", cases: [[[3, 1]]], f: (x) => x.expand(2, 3, 4), ref: (x) => build([2, 3, 4], ([, i]) => at(x, [i, 0])) },
  { name: "expand -1 keeps a size", cases: [[[1, 4]]], f: (x) => x.expand(3, -1), ref: (x) => build([3, 4], ([, j]) => at(x, [0, j])) },
  { name: "expand 0-d", cases: [[[]]], f: (x) => x.expand(2, 2), ref: (x) => build([2, 2], () => x.data[0]) },
  { name: "squeeze all", cases: [[[1, 3, 1, 2]]], f: (x) => x.squeeze(), ref: (x) => reshaped(x, [3, 2]) },
  { name: "squeeze dim", cases: [[[1, 3, 1]]], f: (x) => x.squeeze(-1), ref: (x) => reshaped(x, [1, 3]) },
  { name: "squeeze a non-1 dim is a no-op", cases: [[[2, 3]]], f: (x) => x.squeeze(0), ref: (x) => x },
  { name: "unsqueeze", cases: [[[2, 3]], [[]]], f: (x) => x.unsqueeze(-1), ref: (x) => reshaped(x, [...x.shape, 1]) },
  { name: "unsqueeze front", cases: [[[2, 3]]], f: (x) => x.unsqueeze(0), ref: (x) => reshaped(x, [1, 2, 3]) },
  { name: "flatten", cases: [[[2, 3, 4]]], f: (x) => x.flatten(), ref: (x) => reshaped(x, [24]) },
  { name: "flatten middle", cases: [[[2, 3, 4, 2]]], f: (x) => x.flatten(1, 2), ref: (x) => reshaped(x, [2, 12, 2]) },
  { name: "flatten 0-d", cases: [[[]]], f: (x) => x.flatten(), ref: (x) => reshaped(x, [1]) },
  { name: "contiguous", cases: [[[3, 4]], [[]]], f: (x) => x.contiguous(), ref: (x) => x },
  { name: "clone", cases: [[[3, 4]]], f: (x) => x.clone(), ref: (x) => x },
  {
    name: "cat dim 0",
    cases: [[[2, 3], [1, 3], [0, 3]]],
    f: (a, b, c) => gl.cat([a, b, c], 0),
    ref: (a, b, c) => catNd([a, b, c], 0),
  },
  { name: "cat dim -1", cases: [[[2, 3], [2, 1]]], f: (a, b) => gl.cat([a, b], -1), ref: (a, b) => catNd([a, b], 1) },
  { name: "stack dim 0", cases: [[[2, 3], [2, 3]]], f: (a, b) => gl.stack([a, b]), ref: (a, b) => catNd([reshaped(a, [1, 2, 3]), reshaped(b, [1, 2, 3])], 0) },
  { name: "stack dim -1", cases: [[[2, 3], [2, 3]]], f: (a, b) => gl.stack([a, b], -1), ref: (a, b) => catNd([reshaped(a, [2, 3, 1]), reshaped(b, [2, 3, 1])], 2) },
  {
    name: "split by size",
    cases: [[[5, 3]]],
    f: (x) => weighted(x.split(2, 0), 0),
    ref: (x) => weightedNd([sliceNd(x, 0, 0, 2), sliceNd(x, 0, 2, 4), sliceNd(x, 0, 4, 5)], 0),
  },
  {
    name: "split by sizes",
    cases: [[[2, 6]]],
    f: (x) => weighted(x.split([1, 3, 2], 1), 1),
    ref: (x) => weightedNd([sliceNd(x, 1, 0, 1), sliceNd(x, 1, 1, 4), sliceNd(x, 1, 4, 6)], 1),
  },
  {
    name: "chunk",
    cases: [[[7, 2]]],
    f: (x) => weighted(x.chunk(3, 0), 0),
    ref: (x) => weightedNd([sliceNd(x, 0, 0, 3), sliceNd(x, 0, 3, 6), sliceNd(x, 0, 6, 7)], 0),
  },
  {
    name: "bmm",
    cases: [[[2, 3, 4], [2, 4, 5]], [[1, 1, 3], [1, 3, 1]], [[3, 0, 2], [3, 2, 2]]],
    f: (a, b) => gl.bmm(a, b),
    ref: (a, b) => matmulNd(a, b),
  },
  {
    name: "sumToShape",
    cases: [[[2, 3, 4]], [[3, 1]]],
    f: (g) => gl.sumToShape(g, g.ndim === 3 ? [3, 1] : [1]),
    ref: (g) =>
      g.shape.length === 3
        ? build([3, 1], ([i]) => [0, 1].reduce((a, b) => a + [0, 1, 2, 3].reduce((c, k) => c + at(g, [b, i, k]), 0), 0))
        : build([1], () => at(g, [0, 0]) + at(g, [1, 0]) + at(g, [2, 0])),
  },
  {
    name: "matmul",
    cases: [
      [[3, 4], [4, 5]],
      [[1, 7], [7, 13]],
      [[17, 1], [1, 5]],
      [[4], [4, 3]], // 1-d left operand
      [[3, 4], [4]], // 1-d right operand
      [[4], [4]], // dot product, 0-d result
      [[2, 3, 4], [4, 2]], // batch folded into rows
      [[2, 1, 3, 4], [3, 4, 2]], // batch broadcasting on both sides
      [[5], [2, 5, 3]], // 1-d with a batch
      [[0, 4], [4, 3]],
      [[3, 0], [0, 2]], // K = 0: zeros
    ],
    f: (a, b) => a.matmul(b),
    ref: (a, b) => matmulNd(a, b),
  },
]);

test("views share memory with their base; reshape of a non-viewable layout copies", () => {
  const base = gl.arange(12).reshape(3, 4).to("float64");
  const t = base.t();
  assert.equal(t.data, base.data);
  assert.equal(t.isContiguous(), false);
  assert.equal(base.slice(1, 0, 4, 2).data, base.data);
  assert.equal(base.reshape(2, 6).data, base.data);
  const r = t.reshape(12);
  assert.notEqual(r.data, base.data);
  assert.deepEqual(Array.from(r.toArray()), [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
  assert.throws(() => t.view(12), /view: a tensor of shape \[4, 3\] with strides \[1, 4\] cannot be viewed as \[12\]; use reshape\(\)/);
});

test("shape ops name the op and the shapes in their errors", () => {
  const x = gl.zeros([2, 3]);
  const cases: [() => unknown, RegExp][] = [
    [() => x.reshape(4, 2), /reshape: shape \[4, 2\] is invalid for input of shape \[2, 3\]/],
    [() => x.reshape(-1, -1), /reshape: only one dimension can be -1/],
    [() => x.permute(1), /permute: got 1 dims \[1\] for a tensor of shape \[2, 3\]/],
    [() => x.permute(0, 0), /permute: repeated dim/],
    [() => x.expand(4, 3), /expand: shape \[2, 3\] cannot be expanded to \[4, 3\]/],
    [() => x.expand(3), /expand: cannot expand shape \[2, 3\] to fewer dims \[3\]/],
    [() => x.narrow(1, 2, 2), /narrow: start 2 \+ length 2 exceeds dim 1 of size 3/],
    [() => x.select(0, 2), /select: index 2 is out of range for dim 0 of size 2/],
    [() => x.slice(0, 0, 2, 0), /slice: step must be a positive integer/],
    [() => x.flatten(1, 0), /flatten: startDim 1 comes after endDim 0/],
    [() => x.split([1, 1], 1), /split: sizes \[1, 1\] sum to 2, but dim 1 has size 3/],
    [() => x.chunk(0), /chunk: chunks must be a positive integer/],
    [() => gl.cat([x, gl.zeros([3, 2])], 0), /cat: sizes must match except in dim 0: \[2, 3\] and \[3, 2\]/],
    [() => gl.cat([]), /cat: expected a non-empty list/],
    [() => gl.stack([x, gl.zeros([3, 2])]), /stack: all tensors must have the same shape, got \[2, 3\] and \[3, 2\]/],
    [() => x.matmul(gl.zeros([2, 3])), /matmul: shapes \[2, 3\] and \[2, 3\] cannot be multiplied/],
    [() => x.matmul(gl.zeros([])), /matmul: both operands need at least 1 dim, got \[2, 3\] and \[\]/],
    [() => gl.zeros([2, 2, 3]).matmul(gl.zeros([3, 3, 1])), /matmul: shapes \[2\] and \[3\] cannot be broadcast/],
    [() => x.transpose(0, 2), /transpose: dim 2 is out of range for a tensor of rank 2/],
    [() => x.t().t().unsqueeze(3), /unsqueeze: dim 3 is out of range/],
  ];
  for (const [f, re] of cases) assert.throws(f, (e: Error) => e instanceof gl.ShapeError && re.test(e.message), String(re));
});

test("matmul of different dtypes names both dtypes", () => {
  assert.throws(
    () => gl.zeros([2, 3]).matmul(gl.zeros([3, 2], { dtype: "float64" })),
    (e: Error) => e instanceof gl.DTypeError && /matmul: .*float32 and float64/.test(e.message),
  );
});

test("cat skips 1-d empty tensors and promotes dtypes", () => {
  const a = gl.tensor([[1, 2]]);
  const out = gl.cat([gl.zeros([0]), a, gl.tensor([[3, 4]], { dtype: "float64" })]);
  assert.equal(out.dtype, "float64");
  assert.deepEqual(out.tolist(), [[1, 2], [3, 4]]);
});

test("split and chunk follow PyTorch's piece sizes", () => {
  const x = gl.arange(10);
  assert.deepEqual(x.split(4).map((p) => p.shape[0]), [4, 4, 2]);
  assert.deepEqual(x.chunk(3).map((p) => p.shape[0]), [4, 4, 2]);
  assert.deepEqual(x.chunk(4).map((p) => p.shape[0]), [3, 3, 3, 1]);
  assert.deepEqual(gl.arange(6).chunk(4).map((p) => p.shape[0]), [2, 2, 2]);
  assert.deepEqual(gl.zeros([0]).split(2).map((p) => p.shape[0]), [0]);
});
