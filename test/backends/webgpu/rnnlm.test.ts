import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as gl from "../../../src/index.js";
import { ShapeError } from "../../../src/core/errors.js";
import { assertNear, randInts, skip, useGpu } from "./helpers.js";

const gpuOf = useGpu();
const cfg = { vocabSize: 11, embeddingDim: 6, hiddenSize: 5 };
const [T, B] = [4, 3];

function batch(seed: number): { x: gl.Tensor; y: gl.Tensor } {
  const x = gl.tensor(randInts(T * B, cfg.vocabSize, seed), { dtype: "int32", shape: [T, B] });
  const y = gl.tensor(randInts(T * B, cfg.vocabSize, seed + 1), { dtype: "int32", shape: [T, B] });
  return { x, y };
}

type Cell = "lstm" | "gru";

/** A float32 CPU model for the weights and its float64 twin for the reference sums. */
function cpuModels(seed: number, cell: Cell = "lstm"): { sd: Record<string, gl.Tensor>; ref: gl.models.RNNLM } {
  const m = new gl.models.RNNLM({ ...cfg, cell, generator: new gl.Generator(seed) });
  const sd = m.stateDict();
  return { sd, ref: m.to({ dtype: "float64" }) };
}

/** Tolerance scaled to each tensor's largest magnitude: float32 sums against float64 ones. */
function assertTensorNear(got: gl.Tensor, want: gl.Tensor, what: string, rtol = 1e-4): void {
  const w = want.toArray();
  let max = 0;
  for (const v of w) max = Math.max(max, Math.abs(v));
  assertNear(got.toArray(), w, 1e-5 * Math.max(max, 1e-3), rtol, what);
}

describe("webgpu recurrent language model", { skip }, () => {
  for (const cell of ["lstm", "gru"] as const) test(`${cell}: loss and every parameter gradient equal gradlab's CPU autograd on the same weights`, async () => {
    const gpu = gpuOf();
    const { sd, ref } = cpuModels(1, cell);
    const model = gl.webgpu.GpuRNNLM.create(gpu, { ...cfg, cell }, sd);
    const { x, y } = batch(5);
    await gpu.sync();
    const submits = gpu.submits;
    model.forwardBackward(x, y);
    const loss = await model.loss();
    assert.equal(gpu.submits, submits + 1, "forward and backward go to the GPU as one submit (the loss read adds nothing)");
    const { loss: want } = ref.loss(x, y);
    want.backward();
    assertNear([loss], [want.item()], 1e-6, 1e-5, "loss");
    const grads = await model.gradients();
    const named = Object.fromEntries(ref.namedParameters());
    assert.deepEqual(Object.keys(grads).sort(), Object.keys(named).sort(), "PyTorch names");
    for (const [name, p] of Object.entries(named)) assertTensorNear(grads[name], p.grad!, `grad ${name}`);
  });

  for (const cell of ["lstm", "gru"] as const) test(`${cell}: carryState continues from the last state, detached (truncated BPTT)`, async () => {
    const gpu = gpuOf();
    const { sd, ref } = cpuModels(6, cell);
    const model = gl.webgpu.GpuRNNLM.create(gpu, { ...cfg, cell }, sd);
    const w1 = batch(11);
    const w2 = batch(13);
    model.forwardBackward(w1.x, w1.y, { carryState: true }); // the first window starts from zeros anyway
    model.forwardBackward(w2.x, w2.y, { carryState: true });
    const loss = await model.loss();
    const grads = await model.gradients();
    const { state } = gl.noGrad(() => ref.loss(w1.x, w1.y));
    const { loss: want } = ref.loss(w2.x, w2.y, gl.models.detachState(state));
    want.backward();
    assertNear([loss], [want.item()], 1e-6, 1e-5, "loss of the second window");
    for (const [name, p] of ref.namedParameters()) assertTensorNear(grads[name], p.grad!, `grad ${name}`);
    // Without carryState the second window starts from zeros again: a different loss.
    model.forwardBackward(w2.x, w2.y);
    assert.ok(Math.abs((await model.loss()) - loss) > 1e-4);
  });

  for (const cell of ["lstm", "gru"] as const) test(`${cell}: two Adam steps equal gl.optim.Adam on the CPU; the state dict round-trips by name`, async () => {
    const gpu = gpuOf();
    const { sd, ref } = cpuModels(2, cell);
    const opts = { lr: 1e-2, betas: [0.8, 0.95] as [number, number], eps: 1e-6, weightDecay: 0.01 };
    const model = gl.webgpu.GpuRNNLM.create(gpu, { ...cfg, ...opts, cell }, sd);
    const opt = new gl.optim.Adam(ref.parameters(), opts);
    for (const seed of [7, 9]) {
      const { x, y } = batch(seed);
      model.step(x, y);
      opt.zeroGrad();
      ref.loss(x, y).loss.backward();
      opt.step();
    }
    const after = await model.stateDict();
    for (const [name, p] of ref.namedParameters()) assertTensorNear(after[name], p, `weight ${name} after 2 steps`, 2e-4);
    // The exported weights load into a fresh CPU model under the same names.
    const back = new gl.models.RNNLM({ ...cfg, cell });
    back.loadStateDict(after);
    assert.deepEqual(back.decoder.bias!.toArray(), after["decoder.bias"].toArray());
  });

  for (const cell of ["lstm", "gru"] as const) test(`${cell}: training on the GPU lowers the loss`, async () => {
    const gpu = gpuOf();
    const model = gl.webgpu.GpuRNNLM.create(gpu, { vocabSize: 7, embeddingDim: 8, hiddenSize: 16, lr: 0.02, cell });
    // A learnable sequence: each token's successor is determined by it.
    const ids = Int32Array.from({ length: 9 * 4 }, (_, i) => (i * 3) % 7);
    const x = gl.tensor(ids.slice(0, 32), { dtype: "int32", shape: [8, 4] });
    const y = gl.tensor(ids.slice(4, 36), { dtype: "int32", shape: [8, 4] });
    model.step(x, y);
    const first = await model.loss();
    for (let i = 0; i < 40; i++) model.step(x, y);
    model.forwardBackward(x, y);
    const last = await model.loss();
    assert.ok(last < first * 0.5, `loss ${first} → ${last}`);
  });

  test("bad inputs are clear errors", () => {
    const gpu = gpuOf();
    const model = gl.webgpu.GpuRNNLM.create(gpu, cfg);
    const { x, y } = batch(3);
    assert.throws(() => model.forwardBackward(x.reshape([T * B]), y), (e: Error) => e instanceof ShapeError && /\[T, B\]/.test(e.message));
    assert.throws(() => model.forwardBackward(gl.tensor([[11]], { dtype: "int32" }), gl.tensor([0], { dtype: "int32" })), /index 11 at position 0 is out of range for 11/);
    assert.throws(() => model.forwardBackward(x, gl.full([T, B], 12, { dtype: "int32" })), /target 12 at position 0 is out of range/);
    assert.throws(() => model.forwardBackward(x.to("float32"), y), /inputs must be int32/);
    assert.throws(() => model.loadStateDict({}), /missing \["embedding.weight"/);
    assert.throws(() => model.loadStateDict(cpuModels(4, "gru").sd), /"rnn.weight_ih_l0" has shape \[15, 6\], expected \[20, 6\]/);
    assert.throws(() => gl.webgpu.GpuRNNLM.create(gpu, { ...cfg, cell: "rnn" as "gru" }), /cell must be "lstm" or "gru"/);
    const { sd } = cpuModels(3);
    assert.throws(() => model.loadStateDict({ ...sd, "decoder.bias": gl.zeros([3]) }), /"decoder.bias" has shape \[3\], expected \[11\]/);
    model.release();
  });
});
