// Bad input and PyTorch corner cases found while testing the ops; each failed before its fix.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as gl from "../../src/index.js";
import { gradcheck, randLeaf } from "../helpers/gradcheck.js";

const ids = (data: number[], shape = [data.length]) => gl.tensor(data, { dtype: "int32", shape });

test("bmm checks ranks, batch sizes, inner sizes and dtypes, naming both shapes", () => {
  const a = gl.zeros([2, 3, 4]);
  const cases: [() => unknown, RegExp][] = [
    [() => gl.bmm(a, gl.zeros([2, 5, 2])), /bmm: shapes \[2, 3, 4\] and \[2, 5, 2\] cannot be multiplied \(4 vs 5\)/],
    [() => gl.bmm(a, gl.zeros([3, 4, 2])), /bmm: batch sizes differ: \[2, 3, 4\] and \[3, 4, 2\]/],
    [() => gl.bmm(gl.zeros([3, 4]), gl.zeros([4, 2])), /bmm: both operands must be 3-d, got \[3, 4\] and \[4, 2\]/],
    [() => gl.bmm(a, gl.zeros([2, 4, 2], { dtype: "float64" })), /bmm: both operands must have the same dtype, got float32 and float64/],
  ];
  for (const [f, re] of cases) assert.throws(f, (e: Error) => e instanceof gl.GradlabError && re.test(e.message), String(re));
  assert.deepEqual([...gl.bmm(a, gl.zeros([2, 4, 5])).shape], [2, 3, 5]);
});

test("norm with p = 0 counts the nonzero elements, as PyTorch", () => {
  const x = gl.tensor([[0, 2, -3], [0, 0, 1e-30]], { dtype: "float64", requiresGrad: true });
  assert.equal(x.norm(0).item(), 3);
  assert.deepEqual(Array.from(x.norm(0, 1).toArray()), [2, 1]);
  assert.equal(gl.tensor([Infinity, 0, -Infinity]).norm(0).item(), 2);
  x.norm(0).backward();
  assert.deepEqual(Array.from(x.grad!.toArray()), [0, 0, 0, 0, 0, 0]);
});

test("clamp with min > max sets every element to max, as PyTorch", () => {
  assert.deepEqual(Array.from(gl.tensor([0, 1.5, 3]).clamp(2, 1).toArray()), [1, 1, 1]);
  assert.ok(Number.isNaN(gl.tensor([NaN]).clamp(2, 1).item()));
});

test("scatterAdd uses the index-shaped corner of a larger src, and checks shapes", () => {
  const base = gl.zeros([3, 2], { dtype: "float64" });
  const src = gl.tensor([[1, 2, 30], [3, 4, 40]], { dtype: "float64" });
  // index [2, 2] picks src[:2, :2] only (PyTorch's rule: src may be larger than index).
  const out = gl.scatterAdd(base, 0, ids([0, 2, 0, 0], [2, 2]), src);
  assert.deepEqual(out.tolist(), [[4, 4], [0, 0], [0, 2]]);
  const s = randLeaf([3, 3], 1);
  const b = randLeaf([3, 2], 2);
  gradcheck((bb, ss) => gl.scatterAdd(bb, 0, ids([0, 2, 1, 1], [2, 2]), ss), [b, s]);
  assert.throws(() => gl.scatterAdd(base, 0, ids([0, 0, 0], [1, 3]), src.narrow(1, 0, 2)), /scatterAdd: index \[1, 3\] is larger than src \[2, 2\] in dim 1/);
  assert.throws(() => gl.scatterAdd(base, 0, ids([0, 0, 0], [1, 3]), gl.zeros([1, 3], { dtype: "float64" })), /scatterAdd: index \[1, 3\] is larger than the input \[3, 2\] in dim 1/);
  assert.throws(() => gl.scatterAdd(base, 0, ids([0], [1]), src), /scatterAdd: index \[1\], src \[2, 3\] and input \[3, 2\] must have the same number of dims/);
});

test("linear names the weight's shape when it is not 2-d", () => {
  assert.throws(() => gl.linear(gl.zeros([2, 3]), gl.zeros([3])), /linear: weight must be 2-d \[out, in\], got \[3\]/);
});
