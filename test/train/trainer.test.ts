import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as gl from "../../src/index.js";

const f64 = { dtype: "float64" as const };
type Batch = { x: gl.Tensor; y: gl.Tensor };

/** y = x·w* + 0.5 with a little noise, in fixed batches (the same for every epoch). */
function regression(n: number, batch: number, seed: number): Batch[] {
  const g = new gl.Generator(seed);
  const w = gl.tensor([[1.5], [-2], [0.5]], f64);
  const out: Batch[] = [];
  for (let i = 0; i < n; i += batch) {
    const x = gl.randn([batch, 3], { ...f64, generator: g });
    const y = x.matmul(w).add(0.5).add(gl.randn([batch, 1], { ...f64, generator: g }).mul(0.01));
    out.push({ x, y });
  }
  return out;
}

class Reg extends gl.nn.Module {
  lin = new gl.nn.Linear(3, 1, { dtype: "float64", generator: new gl.Generator(1) });
  drop = new gl.nn.Dropout(0.1, { generator: new gl.Generator(2) });
}

function setup(opts: Partial<gl.train.TrainerOptions<Batch>> = {}, lr = 0.05) {
  const model = new Reg();
  const optimizer = new gl.optim.SGD(model.parameters(), { lr, momentum: 0.9 });
  const data = regression(64, 8, 3);
  const trainer = new gl.train.Trainer<Batch>({
    model,
    optimizer,
    loss: (b) => gl.mseLoss(model.lin.forward(model.drop.forward(b.x)), b.y),
    trainData: () => data,
    ...opts,
  });
  return { model, optimizer, trainer, data };
}

test("fits a regression, reports progress per step and writes train/eval records", async () => {
  const evalSet = regression(32, 16, 4);
  const steps: gl.train.StepEvent[] = [];
  const epochs: number[] = [];
  const recorder = new gl.diagnostics.JsonlRecorder();
  const { trainer, model } = setup({
    epochs: 6,
    evalData: () => evalSet,
    evalEvery: 16,
    recorder,
    callbacks: { onStep: (e) => steps.push(e), onEpochEnd: (e) => epochs.push(e) },
  });
  const before = trainer.evaluateNow();
  const r = await trainer.fit();
  assert.equal(r.steps, 48);
  assert.equal(r.epochs, 6);
  assert.deepEqual(epochs, [0, 1, 2, 3, 4, 5]);
  // Input dropout keeps the fit from being exact; the loss must still fall by far.
  assert.ok(r.bestEvalLoss! < 0.2 * before, `eval loss ${before} -> ${r.bestEvalLoss}`);
  assert.equal(steps.length, 48);
  assert.deepEqual([steps[0].step, steps[0].batch, steps[0].batchesPerEpoch, steps[9].epoch, steps[9].batch], [1, 1, 8, 1, 2]);
  assert.equal(model.training, true, "evaluation puts the model back in training mode");
  const types = recorder.records.map((x) => x.type);
  assert.equal(types.filter((t) => t === "train").length, 48);
  assert.equal(types.filter((t) => t === "eval").length, 3);
});

test("gradient accumulation over 4 micro-batches equals one step on the whole batch", async () => {
  // Without dropout and with a mean loss, 4 micro-batches of 2 (each loss divided by 4) give the
  // same gradient as one batch of 8.
  const run = async (accumulate: number, batch: number) => {
    const model = new Reg();
    const opt = new gl.optim.SGD(model.parameters(), { lr: 0.1 });
    // The same 16 examples either way: two batches of 8, cut into micro-batches of `batch`.
    const data = regression(16, 8, 5).flatMap((b) =>
      Array.from({ length: 8 / batch }, (_, i) => ({ x: b.x.narrow(0, i * batch, batch), y: b.y.narrow(0, i * batch, batch) })),
    );
    const t = new gl.train.Trainer<Batch>({ model, optimizer: opt, loss: (b) => gl.mseLoss(model.lin.forward(b.x), b.y), trainData: () => data, epochs: 3, accumulate });
    const r = await t.fit();
    return { w: model.lin.weight.toArray(), steps: r.steps };
  };
  const big = await run(1, 8);
  const acc = await run(4, 2);
  assert.equal(big.steps, 6);
  assert.equal(acc.steps, 6);
  big.w.forEach((v, i) => assert.ok(Math.abs(v - acc.w[i]) < 1e-12, `${v} vs ${acc.w[i]}`));
});

test("early stopping after `patience` evaluations without improvement, restoring the best weights", async () => {
  const script = [1, 0.5, 0.6, 0.55, 0.9];
  let k = 0;
  let bestWeights: Float64Array | null = null;
  const { trainer, model } = setup({
    maxSteps: 100,
    evaluate: () => script[k++],
    evalEvery: 2,
    earlyStopping: { patience: 3, restoreBest: true },
    callbacks: { onEval: (e) => e.improved && (bestWeights = model.lin.weight.toArray() as Float64Array) },
  });
  const r = await trainer.fit();
  assert.equal(r.stoppedEarly, true);
  assert.equal(r.steps, 10);
  assert.equal(r.bestEvalLoss, 0.5);
  assert.deepEqual(model.lin.weight.toArray(), bestWeights);
});

test("stop() from a callback ends the loop after the current step", async () => {
  const { trainer } = setup({ epochs: 100, callbacks: { onStep: (e) => e.step === 5 && trainer.stop() } });
  assert.equal((await trainer.fit()).steps, 5);
});

test("resuming from the trainer's checkpoint mid-epoch matches an uninterrupted run bit for bit", async () => {
  const dir = mkdtempSync(join(tmpdir(), "gradlab-trainer-"));
  try {
    gl.manualSeed(11);
    const full = setup({ maxSteps: 13, accumulate: 3 });
    await full.trainer.fit();
    gl.manualSeed(11);
    const first = setup({ maxSteps: 7, accumulate: 3, checkpoint: { dir, every: 5 } });
    await first.trainer.fit();
    gl.manualSeed(999);
    const paths: string[] = [];
    const second = setup({ maxSteps: 13, accumulate: 3, checkpoint: { dir, resume: true }, callbacks: { onCheckpoint: (p) => paths.push(p) } });
    const r = await second.trainer.fit();
    assert.match(r.resumedFrom!, /checkpoint-00000007\.safetensors$/);
    assert.equal(r.steps, 13);
    assert.equal(paths.length, 1);
    assert.deepEqual(second.model.lin.weight.toArray(), full.model.lin.weight.toArray());
    assert.deepEqual(second.model.lin.bias!.toArray(), full.model.lin.bias!.toArray());
    const m = (o: gl.optim.Optimizer) => (o.stateDict().state["0"].momentumBuffer as gl.Tensor).toArray();
    assert.deepEqual(m(second.optimizer), m(full.optimizer));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("bad trainer options are refused", () => {
  assert.throws(() => setup({}), /give epochs or maxSteps/);
  assert.throws(() => setup({ epochs: 1, accumulate: 0 }), /accumulate must be an integer >= 1, got 0/);
  assert.throws(() => setup({ epochs: 1, earlyStopping: { patience: 2 } }), /earlyStopping needs evalData or evaluate/);
});
