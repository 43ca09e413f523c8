import { test } from "node:test";
import assert from "node:assert/strict";
import { inspect } from "node:util";
import * as gl from "../../src/index.js";

test("toString shows values in aligned columns, one row per line", () => {
  assert.equal(String(gl.tensor([[1, 2.5], [-3, 4]])), "tensor([[ 1.0000,  2.5000],\n        [-3.0000,  4.0000]])");
  assert.equal(String(gl.tensor(3.25)), "tensor(3.2500)");
  assert.equal(String(gl.tensor([1, 2])), "tensor([1., 2.])");
});

test("the dtype is shown unless it is float32", () => {
  assert.equal(String(gl.tensor([1, 2, 3], { dtype: "int32" })), "tensor([1, 2, 3], dtype=int32)");
  assert.equal(String(gl.tensor([1, 2], { dtype: "float64" })), "tensor([1., 2.], dtype=float64)");
  assert.ok(!String(gl.tensor([1.5])).includes("dtype"));
});

test("non-finite values, scientific notation, empty tensors and autograd state", () => {
  assert.equal(String(gl.tensor([NaN, Infinity, -Infinity, 1.5])), "tensor([   nan,    inf,   -inf, 1.5000])");
  assert.match(String(gl.tensor([1e-6, 1])), /tensor\(\[1\.0000e-6, 1\.0000e\+0\]\)/);
  assert.equal(String(gl.zeros([2, 0])), "tensor([], size=[2, 0])");
  assert.equal(String(gl.tensor([1, 2], { requiresGrad: true })), "tensor([1., 2.], requiresGrad=true)");
  assert.equal(String(gl.tensor([1, 2], { requiresGrad: true }).mul(2)), "tensor([2., 4.], gradFn=<mul>)");
});

test("large tensors are summarised with '...' in every long dim", () => {
  const s = String(gl.arange(2000).reshape(40, 50));
  const lines = s.split("\n");
  assert.equal(lines.length, 7); // 3 rows, "...", 3 rows
  assert.equal(lines[0], "tensor([[   0,    1,    2, ...,   47,   48,   49],");
  assert.equal(lines[3].trim(), "...,");
  assert.ok(lines[6].endsWith("[1950, 1951, 1952, ..., 1997, 1998, 1999]], dtype=int32)"));
  // Up to 1000 elements everything is shown.
  assert.ok(!String(gl.arange(1000)).includes("..."));
});

test("values of a non-contiguous view are printed in its own order; util.inspect uses the same text", () => {
  const t = gl.tensor([[1, 2], [3, 4]]).t();
  assert.equal(String(t), "tensor([[1., 3.],\n        [2., 4.]])");
  assert.equal(inspect(t), String(t));
});

test("3-d tensors separate blocks with a blank line", () => {
  const s = String(gl.arange(8).reshape(2, 2, 2));
  assert.equal(s, "tensor([[[0, 1],\n         [2, 3]],\n\n        [[4, 5],\n         [6, 7]]], dtype=int32)");
});
