import { test } from "node:test";
import assert from "node:assert/strict";
import * as gl from "../../src/index.js";

const f64 = (x: number[], requiresGrad = false) => gl.tensor(x, { dtype: "float64", requiresGrad });

function catchAnomaly(fn: () => unknown): gl.AnomalyError {
  try {
    gl.detectAnomaly(fn);
  } catch (e) {
    assert.ok(e instanceof gl.AnomalyError, `expected an AnomalyError, got ${e}`);
    return e;
  }
  assert.fail("no anomaly was reported");
}

test("forward: names the first op that turns finite values into NaN/Inf, with its input shapes", () => {
  const a = gl.randn([2, 3], { dtype: "float64", generator: new gl.Generator(1) });
  const b = gl.zeros([3, 4], { dtype: "float64" });
  const e = catchAnomaly(() => a.matmul(b).log().mul(2).sum());
  assert.equal(e.phase, "forward");
  assert.equal(e.op, "log");
  assert.deepEqual(e.inputShapes, [[2, 4]]);
  assert.equal(e.inf, 8);
  assert.match(e.message, /op "log" turned finite inputs of shapes \[2, 4\] into 8 infinite values/);
  // The same computation without anomaly mode quietly gives -Infinity.
  assert.equal(a.matmul(b).log().sum().item(), -Infinity);
  assert.equal(gl.isAnomalyEnabled(), false);
});

test("forward: an input that already holds NaN is reported as coming from outside the ops", () => {
  const x = f64([1, NaN, 3]);
  const e = catchAnomaly(() => x.mul(2).add(1));
  assert.equal(e.op, "mul");
  assert.equal(e.nan, 1);
  assert.match(e.message, /input 0 of op "mul" .* already holds 1 NaN values/);
});

test("forward checks also run under noGrad", () => {
  const e = catchAnomaly(() => gl.noGrad(() => f64([0, 1]).reciprocal()));
  assert.equal(e.op, "reciprocal");
});

test("backward: names the node whose gradient became NaN/Inf although the forward was finite", () => {
  const x = f64([0, 4], true);
  const e = catchAnomaly(() => x.sqrt().sum().backward());
  assert.equal(e.phase, "backward");
  assert.equal(e.op, "sqrt");
  assert.deepEqual(e.inputShapes, [[2]]);
  assert.match(e.message, /backward of op "sqrt" \(input shapes \[2\]\) returned 1 infinite values in the gradient of its input 0/);
});

test("backward: the NaN gradient of a branch that where() masked out is caught at that branch", () => {
  const y = f64([0, 4], true);
  // sqrt(0) = 0 is finite, but its gradient 0 / (2·0) is NaN even though where() sends it 0.
  const e = catchAnomaly(() => gl.where(y.gt(0), y.sqrt(), 0).sum().backward());
  assert.equal(e.phase, "backward");
  assert.equal(e.op, "sqrt");
  assert.equal(e.nan, 1);
  // Without anomaly mode the NaN lands in y.grad silently.
  const z = f64([0, 4], true);
  gl.where(z.gt(0), z.sqrt(), 0).sum().backward();
  assert.ok(Number.isNaN(z.grad!.toArray()[0]));
});

test("options: nanOnly lets infinities through; the previous mode is restored, also after a throw", () => {
  const x = f64([0, 1]);
  const r = gl.detectAnomaly(() => x.reciprocal().sum().item(), { nanOnly: true });
  assert.equal(r, Infinity);
  gl.setDetectAnomaly(true);
  try {
    assert.throws(() => gl.detectAnomaly(() => x.log(), { nanOnly: false }), gl.AnomalyError);
    assert.equal(gl.isAnomalyEnabled(), true);
    assert.throws(() => x.reciprocal(), /op "reciprocal"/);
  } finally {
    gl.setDetectAnomaly(false);
  }
  assert.equal(x.reciprocal().toArray()[0], Infinity);
});

test("async callbacks keep the mode until they settle", async () => {
  await assert.rejects(
    gl.detectAnomaly(async () => {
      await Promise.resolve();
      return f64([0]).log();
    }),
    gl.AnomalyError,
  );
  assert.equal(gl.isAnomalyEnabled(), false);
});
