import { test } from "node:test";
import assert from "node:assert/strict";
import * as gl from "../../src/index.js";

const arr = (t: gl.Tensor) => Array.from(t.toArray());

test("tensor() infers shape from nested arrays; numbers and booleans become values", () => {
  const t = gl.tensor([[1, 2, 3], [4, 5, 6]]);
  assert.deepEqual([...t.shape], [2, 3]);
  assert.equal(t.dtype, "float32");
  assert.deepEqual(arr(t), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual([...gl.tensor(3.5).shape], []);
  assert.equal(gl.tensor(3.5).item(), 3.5);
  assert.deepEqual([...gl.tensor([]).shape], [0]);
  assert.deepEqual([...gl.tensor([[], []]).shape], [2, 0]);
  assert.deepEqual(arr(gl.tensor([true, false], { dtype: "int32" })), [1, 0]);
  assert.deepEqual([...gl.tensor([1, 2, 3, 4], { shape: [2, 2] }).shape], [2, 2]);
});

test("tensor() rejects ragged arrays and non-numbers, naming the dim", () => {
  assert.throws(() => gl.tensor([[1, 2], [3]]), (e: Error) => e instanceof gl.ShapeError && /tensor: ragged nested array: expected 2 items at dim 1, got 1/.test(e.message));
  assert.throws(() => gl.tensor([[1], 2] as gl.NestedArray), /ragged nested array: expected 1 items at dim 1, got a number/);
  assert.throws(() => gl.tensor([1, [2]] as gl.NestedArray), /ragged nested array \(too deep at dim 1\)/);
  assert.throws(() => gl.tensor(["a"] as unknown as number[]), /tensor: values must be numbers, got string/);
  assert.throws(() => gl.tensor([1, 2, 3], { shape: [2, 2] }), /tensor: 3 values cannot have shape \[2, 2\]/);
  assert.throws(() => gl.tensor([1], { dtype: "float16" as gl.DType }), (e: Error) => e instanceof gl.DTypeError && /unknown dtype float16/.test(e.message));
});

test("tensor() copies typed arrays, keeps their dtype, and copies tensors", () => {
  const src = Float64Array.from([1, 2, 3, 4]);
  const t = gl.tensor(src, { shape: [2, 2] });
  assert.equal(t.dtype, "float64");
  src[0] = 100;
  assert.equal(t.toArray()[0], 1);
  assert.equal(gl.tensor(Int32Array.from([1])).dtype, "int32");
  assert.equal(gl.tensor(Float32Array.from([1.5]), { dtype: "float64" }).dtype, "float64");
  assert.throws(() => gl.tensor(new Uint8Array(2) as unknown as Float32Array), /typed arrays must be Float32Array, Float64Array or Int32Array/);
  const v = gl.tensor([[1, 2], [3, 4]]).t();
  const c = gl.tensor(v);
  assert.deepEqual(c.tolist(), [[1, 3], [2, 4]]);
  assert.notEqual(c.data, v.data);
});

test("zeros, ones, full, eye and the *Like functions", () => {
  assert.deepEqual(arr(gl.zeros([2, 2])), [0, 0, 0, 0]);
  assert.deepEqual(arr(gl.ones([3], { dtype: "int32" })), [1, 1, 1]);
  assert.equal(gl.ones([3], { dtype: "int32" }).dtype, "int32");
  assert.deepEqual(arr(gl.full([2], 2.5, { dtype: "float64" })), [2.5, 2.5]);
  assert.deepEqual([...gl.zeros([0, 4]).shape], [0, 4]);
  assert.deepEqual(gl.eye(2, 3).tolist(), [[1, 0, 0], [0, 1, 0]]);
  assert.deepEqual(gl.eye(2).tolist(), [[1, 0], [0, 1]]);
  const x = gl.zeros([2, 3], { dtype: "float64" });
  for (const t of [gl.zerosLike(x), gl.onesLike(x), gl.fullLike(x, 7)]) {
    assert.deepEqual([...t.shape], [2, 3]);
    assert.equal(t.dtype, "float64");
  }
  assert.deepEqual(arr(gl.fullLike(x, 7)), [7, 7, 7, 7, 7, 7]);
  assert.equal(gl.onesLike(x, { dtype: "int32" }).dtype, "int32");
  const p = gl.zeros([2], { requiresGrad: true });
  assert.equal(p.requiresGrad, true);
  assert.equal(p.isLeaf, true);
  assert.throws(() => gl.zeros([2, -1]), /zeros|full: invalid shape \[2, -1\]/);
  assert.throws(() => gl.zeros([1.5]), /invalid shape/);
});

test("arange: integer arguments give int32, fractional ones float32, PyTorch's count", () => {
  const a = gl.arange(5);
  assert.equal(a.dtype, "int32");
  assert.deepEqual(arr(a), [0, 1, 2, 3, 4]);
  assert.deepEqual(arr(gl.arange(2, 11, 3)), [2, 5, 8]);
  assert.deepEqual(arr(gl.arange(5, 0, -2)), [5, 3, 1]);
  assert.deepEqual(arr(gl.arange(3, 3)), []);
  assert.deepEqual(arr(gl.arange(3, 0)), []);
  const f = gl.arange(0, 1, 0.25);
  assert.equal(f.dtype, "float32");
  assert.deepEqual(arr(f), [0, 0.25, 0.5, 0.75]);
  // ceil((end − start) / step) values: 0.1-steps up to 1 are 10 values, 0 .. 0.9.
  assert.equal(gl.arange(0, 1, 0.1, { dtype: "float64" }).numel(), 10);
  assert.equal(gl.arange(0, 5, 1, { dtype: "float64" }).dtype, "float64");
  assert.throws(() => gl.arange(0, 5, 0), /arange: step must be nonzero/);
});

test("linspace hits both ends exactly and fills from both sides, as PyTorch", () => {
  const l = gl.linspace(0, 1, 5, { dtype: "float64" });
  assert.deepEqual(arr(l), [0, 0.25, 0.5, 0.75, 1]);
  const m = gl.linspace(-1, 0.3, 7, { dtype: "float64" }).toArray();
  assert.equal(m[0], -1);
  assert.equal(m[6], 0.3);
  for (let i = 0; i < 7; i++) assert.ok(Math.abs(m[i] - (-1 + (i * 1.3) / 6)) < 1e-15);
  assert.deepEqual(arr(gl.linspace(2, 3, 1)), [2]);
  assert.deepEqual(arr(gl.linspace(2, 3, 0)), []);
  assert.throws(() => gl.linspace(0, 1, -1), /linspace: steps must be a non-negative integer, got -1/);
});

test("toArray is a flat row-major copy; tolist nests; item reads one element of any view", () => {
  const base = gl.arange(12).reshape(3, 4);
  const v = base.t().slice(0, 1, 4, 2); // rows 1 and 3 of the transpose
  assert.deepEqual(arr(v), [1, 5, 9, 3, 7, 11]);
  const copy = v.toArray();
  copy[0] = 99;
  assert.equal(base.toArray()[1], 1);
  assert.deepEqual(v.tolist(), [[1, 5, 9], [3, 7, 11]]);
  assert.deepEqual(gl.tensor(2.5).tolist(), 2.5);
  assert.deepEqual(gl.zeros([2, 0]).tolist(), [[], []]);
  assert.equal(v.select(1, 2).select(0, 1).item(), 11);
  assert.equal(gl.tensor([[4]]).item(), 4);
  assert.throws(() => v.item(), /item\(\): only a tensor with one element can be converted to a number, got shape \[2, 3\]/);
});

test("copy_ and fill_ write in place through views, broadcasting the source", () => {
  const x = gl.zeros([2, 3], { dtype: "float64" });
  x.select(0, 1).copy_(gl.tensor([1, 2, 3]));
  x.slice(1, 0, 3, 2).fill_(-1);
  assert.deepEqual(x.tolist(), [[-1, 0, -1], [-1, 2, -1]]);
  x.t().copy_(gl.tensor([[5], [6], [7]]));
  assert.deepEqual(x.tolist(), [[5, 6, 7], [5, 6, 7]]);
});

test("to() converts dtype; float to int truncates toward zero; the gradient flows back in the source dtype", () => {
  assert.deepEqual(arr(gl.tensor([1.7, -1.7, 2.5]).to("int32")), [1, -1, 2]);
  const x = gl.tensor([1, 2], { requiresGrad: true });
  const y = x.double();
  assert.equal(y.dtype, "float64");
  y.mul(y).sum().backward();
  assert.equal(x.grad!.dtype, "float32");
  assert.deepEqual(arr(x.grad!), [2, 4]);
  assert.equal(x.to("float32"), x);
});
