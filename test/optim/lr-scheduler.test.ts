import { test } from "node:test";
import assert from "node:assert/strict";
import * as gl from "../../src/index.js";
import { assertClose } from "../helpers/gradcheck.js";

const S = gl.optim.lrScheduler;

function values(f: (s: number) => number, steps: number[]): number[] {
  return steps.map(f);
}

test("schedule shapes at chosen steps", () => {
  assert.deepEqual(values(S.constant(), [0, 5, 1000]), [1, 1, 1]);
  assertClose(values(S.stepDecay({ stepSize: 3, gamma: 0.5 }), [0, 2, 3, 5, 6]), [1, 1, 0.5, 0.5, 0.25], 1e-15, 0);
  assertClose(values(S.exponential({ gamma: 0.9 }), [0, 1, 2, 10]), [1, 0.9, 0.81, 0.9 ** 10], 1e-15, 0);
  const cos = S.cosineWithWarmup({ warmupSteps: 4, totalSteps: 12 });
  assertClose(values(cos, [0, 2, 4, 8, 12, 20]), [0, 0.5, 1, 0.5, 0, 0], 1e-15, 0);
  const cosMin = S.cosineWithWarmup({ warmupSteps: 0, totalSteps: 10, minFactor: 0.1 });
  assertClose(values(cosMin, [0, 5, 10]), [1, 0.55, 0.1], 1e-15, 0);
  const lin = S.linearWarmupDecay({ warmupSteps: 10, totalSteps: 30 });
  assertClose(values(lin, [0, 5, 10, 20, 30, 40]), [0, 0.5, 1, 0.5, 0, 0], 1e-15, 0);
});

test("inverse square root with base lr 0.01 is T5's 1/√max(step, 10⁴)", () => {
  const p = gl.zeros([1], { requiresGrad: true });
  const opt = new gl.optim.Adafactor([p], { lr: 0.01 });
  const f = S.inverseSqrt();
  for (const s of [0, 1, 5000, 10_000, 40_000, 1_000_000]) assertClose([0.01 * f(s)], [1 / Math.sqrt(Math.max(s, 1e4))], 1e-17, 1e-14, `step ${s}`);
  const sched = new S.LRScheduler(opt, S.inverseSqrt({ warmupSteps: 4 }));
  const lrs: number[] = [];
  for (let i = 0; i < 16; i++) {
    sched.step();
    lrs.push(opt.paramGroups[0].lr);
  }
  assertClose(lrs, lrs.map((_, i) => 0.01 * (2 / Math.sqrt(Math.max(i + 1, 4)))), 1e-17, 1e-15);
});

test("a scheduler sets every group's lr from its own base lr, and getLastLr reports it", () => {
  const a = gl.zeros([1], { requiresGrad: true });
  const b = gl.zeros([1], { requiresGrad: true });
  const opt = new gl.optim.SGD([{ params: [a] }, { params: [b], lr: 1 }], { lr: 0.1 });
  const sched = new S.StepLR(opt, { stepSize: 2, gamma: 0.1 });
  assert.deepEqual(sched.getLastLr(), [0.1, 1]);
  sched.step();
  sched.step();
  assertClose(sched.getLastLr(), [0.01, 0.1], 1e-17, 1e-15);
  assert.deepEqual([opt.paramGroups[0].lr, opt.paramGroups[1].lr], sched.getLastLr());
  // Warm-up starts at 0 as soon as the scheduler is built, before any step.
  const warm = new S.LRScheduler(new gl.optim.SGD([a], { lr: 0.5 }), S.linearWarmupDecay({ warmupSteps: 2, totalSteps: 4 }));
  assert.deepEqual(warm.getLastLr(), [0]);
  warm.step();
  assert.deepEqual(warm.getLastLr(), [0.25]);
});

test("LambdaLR takes a user function per group", () => {
  const a = gl.zeros([1], { requiresGrad: true });
  const b = gl.zeros([1], { requiresGrad: true });
  const opt = new gl.optim.Adam([{ params: [a] }, { params: [b] }], { lr: 2 });
  const sched = new S.LambdaLR(opt, [(s) => 1 / (s + 1), (s) => s]);
  sched.step();
  assert.deepEqual(sched.getLastLr(), [1, 2]);
  assert.throws(() => new S.LambdaLR(opt, [(s) => s]), /1 schedules for 2 parameter groups/);
  const bad = new S.LambdaLR(new gl.optim.SGD([a], { lr: 1 }), (s) => (s === 2 ? NaN : 1));
  bad.step();
  assert.throws(() => bad.step(), /schedule 0 returned NaN at step 2/);
});

test("scheduler state round trip restores the step count and the rates", () => {
  const make = () => {
    const p = gl.zeros([1], { requiresGrad: true });
    const opt = new gl.optim.AdamW([p], { lr: 0.3 });
    return { opt, sched: new S.ExponentialLR(opt, { gamma: 0.5 }) };
  };
  const a = make();
  for (let i = 0; i < 3; i++) a.sched.step();
  const b = make();
  b.sched.loadStateDict(JSON.parse(JSON.stringify(a.sched.stateDict())));
  assert.equal(b.opt.paramGroups[0].lr, 0.3 * 0.125);
  b.sched.step();
  a.sched.step();
  assert.equal(b.opt.paramGroups[0].lr, a.opt.paramGroups[0].lr);
  assert.equal(b.sched.lastStep, 4);
});

test("schedules refuse bad arguments", () => {
  assert.throws(() => S.stepDecay({ stepSize: 0 }), /stepSize must be an integer >= 1, got 0/);
  assert.throws(() => S.cosineWithWarmup({ warmupSteps: 10, totalSteps: 5 }), /totalSteps \(5\) is shorter than warmupSteps \(10\)/);
  assert.throws(() => S.inverseSqrt({ warmupSteps: 0 }), /warmupSteps must be an integer >= 1/);
  assert.throws(() => S.exponential({ gamma: 0 }), /gamma must be > 0/);
});
