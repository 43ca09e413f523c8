import { test } from "node:test";
import assert from "node:assert/strict";
import * as gl from "../../src/index.js";
import { assertClose } from "../helpers/gradcheck.js";

const f64 = (x: number[]) => gl.tensor(x, { dtype: "float64" });

function params(...grads: number[][]): gl.Tensor[] {
  return grads.map((g) => {
    const p = gl.zeros([g.length], { dtype: "float64", requiresGrad: true });
    p.grad = f64(g);
    return p;
  });
}

test("clipGradNorm: general p, nothing to clip, no gradients", () => {
  const [a, b] = params([3, -4], [1, 2, 2]);
  // p = 3: (27 + 64 + 1 + 8 + 8)^(1/3)
  const total = gl.optim.clipGradNorm([a, b], 100, 3);
  assertClose([total], [108 ** (1 / 3)], 1e-12, 0);
  // max_norm above the norm: PyTorch still multiplies by min(1, coef) = 1.
  assertClose(a.grad!.toArray(), [3, -4], 0, 0);
  const none = gl.zeros([2], { requiresGrad: true });
  assert.equal(gl.optim.clipGradNorm([none], 1), 0);
  assert.throws(() => gl.optim.clipGradNorm([a], 1, 0), /normType must be a positive number or Infinity, got 0/);
  assert.throws(() => gl.optim.clipGradNorm([a], -1), /maxNorm must be a non-negative number/);
  // A single tensor is accepted as well as a list.
  const [c] = params([6, 8]);
  assertClose([gl.optim.clipGradNorm(c, 5)], [10], 0, 0);
  assertClose(c.grad!.toArray(), [6 * (5 / (10 + 1e-6)), 8 * (5 / (10 + 1e-6))], 1e-15, 0);
});

test("clipGradNorm on non-finite gradients: NaN as PyTorch, or an error that says so", () => {
  const [a, b] = params([1, Infinity], [2, 3]);
  const total = gl.optim.clipGradNorm([a, b], 1);
  assert.equal(total, Infinity);
  assert.ok(Number.isNaN(a.grad!.toArray()[1]));
  const [c] = params([1, NaN]);
  assert.throws(() => gl.optim.clipGradNorm([c], 1, 2, { errorIfNonfinite: true }), /total norm of order 2 of the gradients is NaN/);
});

test("clipValue option clamps and reports the fraction of values clipped", () => {
  const [a, b] = params([0.5, -3, 2], [0.1, 0.2, -0.3, 4]);
  const opt = new gl.optim.SGD([a, b], { lr: 1, clipValue: 1 });
  opt.step();
  assertClose(a.toArray(), [-0.5, 1, -1], 0, 0);
  assertClose(b.toArray(), [-0.1, -0.2, 0.3, -1], 0, 0);
  const info = opt.lastStepInfo!;
  assert.equal(info.clipFraction, 3 / 7);
  assertClose([info.gradNorm], [Math.hypot(0.5, 3, 2, 0.1, 0.2, 0.3, 4)], 1e-15, 0);
  assert.equal(info.skipped, false);
  assert.equal(info.numParams, 2);
});

test("clipNorm clips each tensor on its own; globalClipNorm clips them together", () => {
  const [a, b] = params([3, 4], [0.3, 0.4]);
  const per = new gl.optim.SGD([a, b], { lr: 1, clipNorm: 1 });
  per.step();
  const c = 1 / (5 + 1e-6);
  assertClose(a.toArray(), [-3 * c, -4 * c], 1e-15, 0);
  assertClose(b.toArray(), [-0.3, -0.4], 1e-15, 0);
  assert.equal(per.lastStepInfo!.clipFraction, 0.5);
  assertClose([per.lastStepInfo!.gradNorm], [Math.hypot(3, 4, 0.3, 0.4)], 1e-15, 0);

  const [x, y] = params([3, 4], [0.3, 0.4]);
  const glob = new gl.optim.SGD([x, y], { lr: 1, globalClipNorm: 1 });
  glob.step();
  const total = Math.hypot(5, 0.5);
  const k = 1 / (total + 1e-6);
  assertClose(x.toArray(), [-3 * k, -4 * k], 1e-15, 0);
  assertClose(y.toArray(), [-0.3 * k, -0.4 * k], 1e-15, 0);
  assert.equal(glob.lastStepInfo!.clipFraction, 1);
});

test("skipNonFinite skips the whole step, records it, and later steps proceed", () => {
  const [a, b] = params([1, 1], [NaN, 1]);
  const opt = new gl.optim.Adam([a, b], { lr: 0.1, skipNonFinite: true });
  opt.step();
  assert.deepEqual(Array.from(a.toArray()), [0, 0]);
  assert.equal(opt.state.size, 0, "no state was created by the skipped step");
  assert.equal(opt.lastStepInfo!.skipped, true);
  assert.equal(opt.lastStepInfo!.nonFinite, 1);
  b.grad = f64([1, Infinity]);
  opt.step();
  b.grad = f64([1, 1]);
  opt.step();
  assert.deepEqual(opt.skippedSteps, [1, 2]);
  assert.equal(opt.stepCalls, 3);
  assert.equal(opt.lastStepInfo!.skipped, false);
  assert.ok(a.toArray()[0] < 0);
  assert.equal(opt.stateDict().state["0"].step, 1);
  assert.deepEqual(opt.stateDict().skippedSteps, [1, 2]);
});

test("without skipNonFinite a NaN gradient reaches the parameters, and lastStepInfo counts it", () => {
  const [a] = params([NaN, 1]);
  const opt = new gl.optim.SGD([a], { lr: 0.1 });
  opt.step();
  assert.ok(Number.isNaN(a.toArray()[0]));
  assert.equal(opt.lastStepInfo!.nonFinite, 1);
  assert.ok(Number.isNaN(opt.lastStepInfo!.gradNorm));
});

test("a closure passed to step() is evaluated first and its loss returned", () => {
  const p = gl.tensor([2], { dtype: "float64", requiresGrad: true });
  const opt = new gl.optim.SGD([p], { lr: 0.25 });
  // step() records the closure even when called under noGrad, as PyTorch's enable_grad does.
  const loss = gl.noGrad(() =>
    opt.step(() => {
      opt.zeroGrad();
      const l = p.square().sum();
      l.backward();
      return l.item();
    }),
  );
  assert.equal(loss, 4);
  assertClose(p.toArray(), [1], 0, 0);
});
