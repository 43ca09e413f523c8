import { test } from "node:test";
import assert from "node:assert/strict";
import * as gl from "../../src/index.js";
import { gradcheck, randLeaf } from "../helpers/gradcheck.js";

test("an input used twice receives both gradient contributions", () => {
  const x = gl.tensor([1, 2, 3], { dtype: "float64", requiresGrad: true });
  x.mul(x).add(x).sum().backward();
  assert.deepEqual(Array.from(x.grad!.toArray()), [3, 5, 7]);
});

test("gradcheck passes on a composite of matmul, tanh and softmax", () => {
  const a = randLeaf([3, 4], 1);
  const b = randLeaf([4, 5], 2);
  gradcheck((p, q) => p.matmul(q).tanh().softmax(1), [a, b]);
});
