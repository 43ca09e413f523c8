import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as gl from "../../src/index.js";
import { assertNear, nearScaled, skip, tokenBatch, useGpu } from "../backends/webgpu/helpers.js";

// Stacked GpuRNNLM layers against gradlab's CPU RNNLM with the same numLayers (PyTorch names).
const gpuOf = useGpu();
const cfg = { vocabSize: 11, embeddingDim: 6, hiddenSize: 5 };
const [T, B] = [4, 3];

const batch = (seed: number, t = T) => tokenBatch(seed, t, B, cfg.vocabSize);

const near = (got: gl.Tensor, want: gl.Tensor, what: string, rtol = 1e-4) => nearScaled(got, want, what, rtol);

type Cell = "lstm" | "gru";

/** A float32 CPU model's weights and its float64 twin for the reference sums. */
function cpu(seed: number, cell: Cell, numLayers: number): { sd: Record<string, gl.Tensor>; ref: gl.models.RNNLM } {
  const m = new gl.models.RNNLM({ ...cfg, cell, numLayers, generator: new gl.Generator(seed) });
  return { sd: m.stateDict(), ref: m.to({ dtype: "float64" }) };
}

const cases = [2, 3].flatMap((L) => (["lstm", "gru"] as const).map((cell) => ({ L, cell })));

describe("webgpu GpuRNNLM with stacked layers", { skip }, () => {
  for (const { L, cell } of cases) test(`${L}-layer ${cell}: loss and every gradient equal CPU autograd, in one submit`, async () => {
    const gpu = gpuOf();
    const { sd, ref } = cpu(10 + L, cell, L);
    const model = gl.webgpu.GpuRNNLM.create(gpu, { ...cfg, cell, numLayers: L }, sd);
    const { x, y } = batch(31);
    await gpu.sync();
    const submits = gpu.submits;
    model.forwardBackward(x, y);
    const loss = await model.loss();
    assert.equal(gpu.submits, submits + 1, "every layer's forward and backward in one submit");
    const { loss: want } = ref.loss(x, y);
    want.backward();
    assertNear([loss], [want.item()], 1e-6, 1e-5, "loss");
    const grads = await model.gradients();
    const named = Object.fromEntries(ref.namedParameters());
    assert.deepEqual(Object.keys(grads).sort(), Object.keys(named).sort(), "PyTorch names, every layer");
    assert.ok(`rnn.weight_ih_l${L - 1}` in grads);
    for (const [name, p] of Object.entries(named)) near(grads[name], p.grad!, `grad ${name}`);
    model.release();
  });

  for (const { L, cell } of cases) test(`${L}-layer ${cell}: Adam steps with carried state equal gl.optim.Adam; final state and Adam state per layer`, async () => {
    const gpu = gpuOf();
    const { sd, ref } = cpu(20 + L, cell, L);
    const opts = { lr: 1e-2, betas: [0.8, 0.95] as [number, number], eps: 1e-6, weightDecay: 0.01 };
    const model = gl.webgpu.GpuRNNLM.create(gpu, { ...cfg, ...opts, cell, numLayers: L }, sd);
    const opt = new gl.optim.Adam(ref.parameters(), opts);
    let state: gl.models.RecurrentState | null = null;
    for (const seed of [41, 43, 45]) {
      const { x, y } = batch(seed);
      model.step(x, y, { carryState: true });
      opt.zeroGrad();
      const r = ref.loss(x, y, gl.models.detachState(state));
      r.loss.backward();
      opt.step();
      state = r.state;
    }
    const after = await model.stateDict();
    for (const [name, p] of ref.namedParameters()) near(after[name], p, `weight ${name} after 3 carried steps`, 2e-4);
    const adam = await model.adamState();
    assert.equal(adam.step, 3);
    const cpuState = opt.stateDict().state;
    ref.namedParameters().forEach(([n], i) => near(adam.m[n], cpuState[String(i)].expAvg as gl.Tensor, `m ${n}`, 2e-4));
    // The final state is [L, B, H] per layer, like nn.LSTM's h_n / c_n.
    const fin = (await model.finalState())!;
    const [h, c] = Array.isArray(state) ? state : [state!, undefined];
    assert.deepEqual(fin.h.shape, [L, B, cfg.hiddenSize]);
    near(fin.h, h, "h_n");
    if (c) near(fin.c!, c, "c_n");
    // Moved into a second model across a change of T, the state continues exactly.
    const other = gl.webgpu.GpuRNNLM.create(gpu, { ...cfg, cell, numLayers: L }, after);
    const w = batch(47, 2);
    other.setState(2, B, fin.h, fin.c);
    other.forwardBackward(w.x, w.y, { carryState: true });
    const wantLoss = gl.noGrad(() => ref.loss(w.x, w.y, state).loss.item());
    assertNear([await other.loss()], [wantLoss], 1e-6, 1e-4, "loss from the moved state");
    assert.throws(() => other.setState(2, B, gl.zeros([B, cfg.hiddenSize]), fin.c), new RegExp(`h has shape \\[3, 5\\], expected \\[${L}, 3, 5\\]`));
    model.release();
    other.release();
  });

  test("dropout is refused; a state dict with another layer count is named", () => {
    const gpu = gpuOf();
    assert.throws(() => gl.webgpu.GpuRNNLM.create(gpu, { ...cfg, numLayers: 2, dropout: 0.2 }), /dropout between layers is not supported on the GPU, got dropout 0.2/);
    assert.throws(() => gl.webgpu.GpuRNNLM.create(gpu, { ...cfg, numLayers: 0 }), /numLayers must be a positive integer, got 0/);
    const one = cpu(1, "lstm", 1).sd;
    assert.throws(() => gl.webgpu.GpuRNNLM.create(gpu, { ...cfg, numLayers: 2 }, one), /missing \["rnn.weight_ih_l1","rnn.weight_hh_l1","rnn.bias_ih_l1","rnn.bias_hh_l1"\]/);
    const two = cpu(1, "lstm", 2).sd;
    assert.throws(() => gl.webgpu.GpuRNNLM.create(gpu, cfg, two), /unexpected \["rnn.weight_ih_l1"/);
  });
});
