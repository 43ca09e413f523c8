import { test } from "node:test";
import assert from "node:assert/strict";
import v8 from "node:v8";
import vm from "node:vm";
import * as gl from "../../src/index.js";

// A forced GC without --expose-gc on the command line (the test runner starts each file in its
// own process and does not forward flags): turn the flag on, then fetch gc from a fresh context.
v8.setFlagsFromString("--expose_gc");
const gc = vm.runInNewContext("gc") as () => void;

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** A two-layer MLP on raw tensors: forward, backward, SGD step; returns the loss value. */
function makeTrainer(seed: number) {
  const gen = new gl.Generator(seed);
  const w1 = gl.randn([8, 32], { generator: gen }).mul(0.3).requiresGrad_(true);
  const b1 = gl.zeros([32], { requiresGrad: true });
  const w2 = gl.randn([32, 1], { generator: gen }).mul(0.3).requiresGrad_(true);
  const x = gl.randn([16, 8], { generator: gen });
  const y = x.sum(1, true).tanh();
  const params = [w1, b1, w2];
  return (keep?: gl.Tensor[]): number => {
    const loss = gl.mseLoss(x.matmul(w1).add(b1).tanh().matmul(w2), y);
    loss.backward(undefined, { retainGraph: keep !== undefined });
    gl.noGrad(() => {
      for (const p of params) {
        p.copy_(p.sub(p.grad!.mul(0.05)));
        p.grad = null;
      }
    });
    keep?.push(loss);
    return loss.item();
  };
}

test("3000 training steps without dispose(): the graph is collected and the heap stays flat", () => {
  const step = makeTrainer(1);
  for (let i = 0; i < 300; i++) step(); // let the JIT and the heap settle
  const before = heapAfterGc();
  let first = 0;
  let last = 0;
  for (let i = 0; i < 3000; i++) {
    last = step();
    if (i === 0) first = last;
  }
  const growth = heapAfterGc() - before;
  // Each step allocates ~20 tensors (~15 KiB); a leak of one step's graph would add tens of MiB.
  assert.ok(growth < 1.5 * 2 ** 20, `heap grew by ${(growth / 2 ** 20).toFixed(2)} MiB over 3000 steps`);
  assert.ok(last < first, `the MLP learns: loss ${first} → ${last}`);
});

test("control: the same measurement sees graphs that are kept alive", () => {
  const step = makeTrainer(2);
  for (let i = 0; i < 50; i++) step();
  const before = heapAfterGc();
  const kept: gl.Tensor[] = [];
  for (let i = 0; i < 300; i++) step(kept);
  const growth = heapAfterGc() - before;
  assert.equal(kept.length, 300);
  // Retained graphs hold every intermediate tensor (~5 KiB of float32 values per step, plus nodes).
  assert.ok(growth > 1.5 * 2 ** 20, `heap grew by only ${(growth / 2 ** 20).toFixed(2)} MiB with 300 graphs held`);
});
