import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as gl from "../../src/index.js";
import { ShapeError } from "../../src/core/errors.js";
import { assertNear, nearScaled, skip, tokenBatch, useGpu } from "../backends/webgpu/helpers.js";

// GpuRNNLM's additions for checkpointed CLI runs: global-norm clipping, Adam's state and the
// carried recurrent state out and back in.
const gpuOf = useGpu();
const cfg = { vocabSize: 11, embeddingDim: 6, hiddenSize: 5 };
const [T, B] = [4, 3];

const batch = (seed: number, t = T) => tokenBatch(seed, t, B, cfg.vocabSize);

const near = (got: gl.Tensor, want: gl.Tensor, what: string, rtol = 2e-4) => nearScaled(got, want, what, rtol);

describe("webgpu GpuRNNLM: clipping, Adam state and carried state", { skip }, () => {
  for (const cell of ["lstm", "gru"] as const) test(`${cell}: clipNorm equals gl.optim.Adam with globalClipNorm; gradNorm() is the norm before clipping`, async () => {
    const gpu = gpuOf();
    const ref = new gl.models.RNNLM({ ...cfg, cell, generator: new gl.Generator(3) });
    // Small enough that every step clips (the unclipped norm is ~1 here).
    const clip = 0.05;
    const model = gl.webgpu.GpuRNNLM.create(gpu, { ...cfg, cell, lr: 1e-2, clipNorm: clip }, ref.stateDict());
    const opt = new gl.optim.Adam(ref.parameters(), { lr: 1e-2, globalClipNorm: clip });
    for (const seed of [5, 7, 9]) {
      const { x, y } = batch(seed);
      model.step(x, y);
      opt.zeroGrad();
      ref.loss(x, y).loss.backward();
      opt.step();
      const norm = await model.gradNorm();
      assertNear([norm], [opt.lastStepInfo!.gradNorm], 0, 1e-4, "gradient norm");
      assert.ok(norm > clip * 2, `the step clips (norm ${norm})`);
    }
    const after = await model.stateDict();
    for (const [name, p] of ref.namedParameters()) near(after[name], p, `weight ${name} after 3 clipped steps`);
    model.release();
  });

  test("adamState() equals the CPU optimizer's moments; loadAdamState continues exactly where the exporter would", async () => {
    const gpu = gpuOf();
    const ref = new gl.models.RNNLM({ ...cfg, generator: new gl.Generator(4) });
    const a = gl.webgpu.GpuRNNLM.create(gpu, { ...cfg, lr: 1e-2 }, ref.stateDict());
    const opt = new gl.optim.Adam(ref.parameters(), { lr: 1e-2 });
    for (const seed of [1, 2]) {
      const { x, y } = batch(seed);
      a.step(x, y);
      opt.zeroGrad();
      ref.loss(x, y).loss.backward();
      opt.step();
    }
    const st = await a.adamState();
    assert.equal(st.step, 2);
    assert.equal(a.stepCount, 2);
    const cpu = opt.stateDict().state;
    ref.namedParameters().forEach(([n], i) => {
      near(st.m[n], cpu[String(i)].expAvg as gl.Tensor, `m ${n}`);
      near(st.v[n], cpu[String(i)].expAvgSq as gl.Tensor, `v ${n}`, 1e-3);
    });
    // A second model from the exported weights and moments takes the identical third step.
    const b = gl.webgpu.GpuRNNLM.create(gpu, { ...cfg, lr: 1e-2 }, await a.stateDict());
    b.loadAdamState(st);
    const { x, y } = batch(3);
    a.step(x, y);
    b.step(x, y);
    const [wa, wb] = [await a.stateDict(), await b.stateDict()];
    for (const n of Object.keys(wa)) assert.deepEqual(Array.from(wb[n].toArray()), Array.from(wa[n].toArray()), n);
    // Moments of the wrong shape, or a bad step count, are named.
    const c = gl.webgpu.GpuRNNLM.create(gpu, { ...cfg, lr: 1e-2 }, await b.stateDict());
    assert.throws(() => c.loadAdamState({ ...st, m: { ...st.m, "decoder.bias": gl.zeros([2]) } }), (e: Error) => e instanceof ShapeError && /m\["decoder.bias"\] has shape \[2\], expected \[11\]/.test(e.message));
    assert.throws(() => c.loadAdamState({ ...st, step: -1 }), /step must be an integer ≥ 0, got -1/);
    for (const m of [a, b, c]) m.release();
  });

  for (const cell of ["lstm", "gru"] as const) test(`${cell}: finalState/setState move a carried state between models and across a change of T`, async () => {
    const gpu = gpuOf();
    const ref = new gl.models.RNNLM({ ...cfg, cell, generator: new gl.Generator(8) });
    const a = gl.webgpu.GpuRNNLM.create(gpu, { ...cfg, cell }, ref.stateDict());
    const b = gl.webgpu.GpuRNNLM.create(gpu, { ...cfg, cell }, ref.stateDict());
    assert.equal(await a.finalState(), null);
    const w1 = batch(21);
    const w2 = batch(23, 2); // a shorter window, like an epoch's last
    a.forwardBackward(w1.x, w1.y);
    const st = (await a.finalState())!;
    const { state } = gl.noGrad(() => ref.loss(w1.x, w1.y));
    const [h, c] = Array.isArray(state) ? state : [state, undefined];
    assert.deepEqual(st.h.shape, [1, B, cfg.hiddenSize], "h_n's shape, [numLayers, B, H]");
    near(st.h, h.reshape([B, cfg.hiddenSize]), "h");
    if (c) near(st.c!, c.reshape([B, cfg.hiddenSize]), "c");
    else assert.equal(st.c, undefined);
    b.setState(2, B, st.h, st.c);
    b.forwardBackward(w2.x, w2.y, { carryState: true });
    const want = ref.loss(w2.x, w2.y, state).loss.item();
    assertNear([await b.loss()], [want], 1e-6, 1e-5, "loss from the moved state");
    assert.throws(() => b.setState(2, B, gl.zeros([B, 4]), st.c), /h has shape \[3, 4\], expected \[3, 5\]/);
    if (cell === "lstm") assert.throws(() => b.setState(2, B, st.h), /an LSTM needs c/);
    else assert.throws(() => b.setState(2, B, st.h, st.h), /a GRU has no cell state c/);
    a.release();
    b.release();
  });
});
