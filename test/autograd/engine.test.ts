import { test } from "node:test";
import assert from "node:assert/strict";
import * as gl from "../../src/index.js";

const f64 = (data: gl.NestedArray, requiresGrad = true) => gl.tensor(data, { dtype: "float64", requiresGrad });
const arr = (t: gl.Tensor | null) => Array.from(t!.toArray());

test("backward with an explicit gradient computes the vector-Jacobian product", () => {
  const x = f64([1, 2, 3]);
  const y = x.mul(x); // dy/dx = 2x
  y.backward(gl.tensor([1, 0.5, -1], { dtype: "float64" }));
  assert.deepEqual(arr(x.grad), [2, 2, -6]);
});

test("an explicit gradient of another dtype is cast; of another shape is an error naming both", () => {
  const x = f64([1, 2]);
  x.mul(3).backward(gl.tensor([1, 1]));
  assert.equal(x.grad!.dtype, "float64");
  assert.deepEqual(arr(x.grad), [3, 3]);
  assert.throws(() => x.mul(3).backward(gl.ones([3])), /backward\(\): gradient shape \[3\] does not match the tensor's \[2\]/);
});

test("gradients accumulate into .grad across backward calls until zeroed", () => {
  const x = f64([1, 2]);
  x.mul(2).sum().backward();
  x.mul(x).sum().backward();
  assert.deepEqual(arr(x.grad), [2 + 2, 2 + 4]);
  x.grad = null;
  x.sum().backward();
  assert.deepEqual(arr(x.grad), [1, 1]);
});

test(".grad of a leaf is its own storage, not an alias of a gradient flowing elsewhere", () => {
  const x = f64([1, 2]);
  const seed = gl.tensor([5, 6], { dtype: "float64" });
  x.backward(seed);
  seed.copy_(gl.tensor([0, 0], { dtype: "float64" }));
  assert.deepEqual(arr(x.grad), [5, 6]);
});

test("retainGrad keeps the gradient of a non-leaf; other non-leaves have none", () => {
  const x = f64([1, 2]);
  const h = x.mul(3);
  const z = h.mul(h);
  h.retainGrad();
  z.sum().backward();
  assert.deepEqual(arr(h.grad), [6, 12]);
  assert.equal(z.grad, null);
  assert.deepEqual(arr(x.grad), [18, 36]);
  assert.equal(h.isLeaf, false);
  assert.equal(x.isLeaf, true);
});

test("retainGrad sees the gradient after the tensor's other hooks, whenever they were added (PyTorch 2)", () => {
  const x = f64([1, 2]);
  const h = x.mul(1);
  h.retainGrad();
  h.registerHook((g) => g.mul(10));
  h.sum().backward();
  assert.deepEqual(arr(h.grad), [10, 10]);
  assert.deepEqual(arr(x.grad), [10, 10]);
});

test("a hook on a non-leaf receives its total gradient, may replace it, and can be removed", () => {
  const x = f64([1, 2]);
  const h = x.mul(2);
  const seen: number[][] = [];
  const remove = h.registerHook((g) => {
    seen.push(arr(g));
    return g.mul(-1);
  });
  // h is used twice: the hook must see the sum of both contributions once.
  h.mul(h).add(h).sum().backward(); // d/dh = 2h + 1 = [5, 9]
  assert.deepEqual(seen, [[5, 9]]);
  assert.deepEqual(arr(x.grad), [-10, -18]);
  remove();
  x.grad = null;
  x.mul(2).registerHook(() => assert.fail("a hook on another tensor"));
  const h2 = x.mul(2);
  h2.sum().backward();
  assert.equal(seen.length, 1);
  assert.deepEqual(arr(x.grad), [2, 2]);
});

test("a hook on a leaf is called once per backward with the total gradient, and may replace it", () => {
  const x = f64([1, 2, 3]);
  const calls: number[][] = [];
  const remove = x.registerHook((g) => {
    calls.push(arr(g));
    return g.mul(2);
  });
  // x reaches the loss three times (twice through mul, once through add): d/dx = 2x + 1.
  x.mul(x).add(x).sum().backward();
  assert.deepEqual(calls, [[3, 5, 7]]);
  assert.deepEqual(arr(x.grad), [6, 10, 14]);
  remove();
  x.grad = null;
  x.sum().backward();
  assert.equal(calls.length, 1);
  assert.deepEqual(arr(x.grad), [1, 1, 1]);
});

test("a hook returning nothing leaves the gradient unchanged", () => {
  const x = f64([1, 2]);
  let n = 0;
  x.registerHook(() => {
    n++;
  });
  x.mul(4).sum().backward();
  assert.equal(n, 1);
  assert.deepEqual(arr(x.grad), [4, 4]);
});

test("registerHook on a tensor without grad is an error", () => {
  assert.throws(() => f64([1], false).registerHook(() => undefined), gl.AutogradError);
});

test("noGrad and enableGrad nest and restore the mode, even when the callback throws", () => {
  const x = f64([1]);
  assert.equal(gl.isGradEnabled(), true);
  const r = gl.noGrad(() => {
    assert.equal(x.mul(2).requiresGrad, false);
    const inner = gl.enableGrad(() => x.mul(2));
    assert.equal(inner.requiresGrad, true);
    assert.equal(gl.noGrad(() => gl.isGradEnabled()), false);
    assert.equal(gl.isGradEnabled(), false);
    return 42;
  });
  assert.equal(r, 42);
  assert.equal(gl.isGradEnabled(), true);
  assert.throws(() =>
    gl.noGrad(() => {
      throw new Error("boom");
    }),
  );
  assert.equal(gl.isGradEnabled(), true);
  assert.throws(() => gl.noGrad(() => Promise.resolve(1)), /synchronous callback/);
  assert.equal(gl.isGradEnabled(), true);
});

test("detach shares values but leaves the graph", () => {
  const x = f64([1, 2]);
  const y = x.mul(2);
  const d = y.detach();
  assert.equal(d.requiresGrad, false);
  assert.equal(d.gradFn, null);
  assert.equal(d.data, y.data);
  // Used in a loss, the detached path contributes no gradient.
  y.mul(d).sum().backward();
  assert.deepEqual(arr(x.grad), [4, 8]);
});

test("requiresGrad propagates through ops and stops at int results, detach and noGrad", () => {
  const a = f64([1, 2]);
  const b = f64([3, 4], false);
  assert.equal(a.add(b).requiresGrad, true);
  assert.equal(b.add(b).requiresGrad, false);
  assert.equal(a.gt(b).requiresGrad, false);
  assert.equal(a.argmax().requiresGrad, false);
  assert.equal(a.to("int32").requiresGrad, false);
  assert.equal(a.detach().add(1).requiresGrad, false);
  assert.equal(a.add(b).isLeaf, false);
  assert.ok(a.add(b).gradFn);
  assert.throws(() => gl.tensor([1], { dtype: "int32", requiresGrad: true }), /only floating-point tensors can require gradients/);
  assert.throws(() => a.add(1).requiresGrad_(false), /requiresGrad_\(false\) on a non-leaf/);
});

test("a second backward through a freed graph is a clear error; retainGraph allows it", () => {
  const x = f64([1, 2]);
  const loss = x.mul(x).sum();
  loss.backward();
  assert.throws(
    () => loss.backward(),
    (e: Error) => e instanceof gl.AutogradError && /backward through the graph a second time.*retainGraph: true/.test(e.message),
  );
  x.grad = null;
  const loss2 = x.mul(x).sum();
  loss2.backward(undefined, { retainGraph: true });
  loss2.backward();
  assert.deepEqual(arr(x.grad), [4, 8]);
  assert.throws(() => loss2.backward(), gl.AutogradError);
});

test("backward from a non-scalar without a gradient names the shape", () => {
  const y = f64([1, 2]).mul(2);
  assert.throws(
    () => y.backward(),
    (e: Error) => e instanceof gl.AutogradError && /only for scalar outputs.*\[2\]/.test(e.message),
  );
  // A one-element tensor of any rank is a valid root.
  const x = f64([[3]]);
  x.mul(x).backward();
  assert.deepEqual(arr(x.grad), [6]);
});

test("backward on a tensor that does not require grad is an error", () => {
  assert.throws(() => f64([1], false).sum().backward(), /does not require grad/);
});

test("a diamond graph sums both paths", () => {
  const x = f64([1, 2, 3, 4]);
  const [a, b] = x.split(2);
  a.exp().mul(b).sum().add(a.sum()).backward();
  assert.deepEqual(arr(x.grad), [Math.exp(1) * 3 + 1, Math.exp(2) * 4 + 1, Math.exp(1), Math.exp(2)]);
});

test("an unused output of a multi-output node receives a zero gradient", () => {
  const x = f64([1, 2]);
  const o1 = x.detach().mul(2);
  const o2 = x.detach().mul(3);
  gl.record("pair", [o1, o2], [x], ([g1, g2]) => [g1.mul(2).add(g2.mul(3))]);
  assert.equal(o2.outputIndex, 1);
  o1.sum().backward();
  assert.deepEqual(arr(x.grad), [2, 2]);
});

test("a long chain backpropagates without recursion limits", () => {
  const x = f64([1]);
  let y = x;
  for (let i = 0; i < 20_000; i++) y = y.mul(1);
  y.sum().backward();
  assert.deepEqual(arr(x.grad), [1]);
});
