import { test } from "node:test";
import assert from "node:assert/strict";
import * as gl from "../../src/index.js";

const { RNNLM, sampleLogits, detachState } = gl.models;

test("a small LSTM language model learns a periodic sequence, carrying state across windows", () => {
  gl.manualSeed(1);
  const period = [0, 1, 2, 3, 4, 2, 1, 5];
  const ids = Int32Array.from({ length: 8 * 4 * 40 }, (_, i) => period[i % period.length]);
  const stream = new gl.data.LMStream(ids, 4, 16);
  const model = new RNNLM({ vocabSize: 6, embeddingDim: 8, hiddenSize: 24, cell: "lstm" });
  const opt = new gl.optim.Adam(model.parameters(), { lr: 0.02 });
  let state: gl.models.RecurrentState | null = null;
  let last = Infinity;
  for (let epoch = 0; epoch < 6; epoch++) {
    state = null;
    for (const { input, target } of stream) {
      const r = model.loss(input, target, state);
      opt.zeroGrad();
      r.loss.backward();
      opt.step();
      state = detachState(r.state);
      last = r.loss.item();
    }
  }
  // A perfect predictor needs context (after 2 comes 3 or 1); the uniform baseline is ln 6 = 1.79.
  assert.ok(last < 0.2, `loss ${last} should fall below 0.2 nats/token`);
  const out = model.sample([0, 1, 2, 3], 12, { temperature: 0 });
  assert.deepEqual(Array.from(out), [4, 2, 1, 5, 0, 1, 2, 3, 4, 2, 1, 5]);
});

test("tied weights share one parameter, listed once", () => {
  const m = new RNNLM({ vocabSize: 10, embeddingDim: 6, hiddenSize: 6, tieWeights: true, cell: "gru" });
  assert.equal(m.decoder.weight, m.embedding.weight);
  const names = m.namedParameters().map(([n]) => n);
  assert.ok(names.includes("embedding.weight") && !names.includes("decoder.weight"));
  assert.throws(() => new RNNLM({ vocabSize: 10, embeddingDim: 4, hiddenSize: 6, tieWeights: true }), /tieWeights needs embeddingDim \(4\) = hiddenSize \(6\)/);
});

test("sampleLogits: temperature 0 is greedy, topK 1 is greedy, topP keeps the smallest mass prefix", () => {
  const logits = [0.1, 2.0, -1.0, 1.9];
  assert.equal(sampleLogits(logits, { temperature: 0 }), 1);
  const g = new gl.Generator(3);
  for (let i = 0; i < 20; i++) assert.equal(sampleLogits(logits, { topK: 1 }, g), 1);
  // Top two tokens hold ~0.84 of the mass, so topP 0.8 keeps exactly those two.
  const seen = new Set<number>();
  for (let i = 0; i < 200; i++) seen.add(sampleLogits(logits, { topP: 0.8 }, g));
  assert.deepEqual([...seen].sort(), [1, 3]);
  // Frequencies follow the softmax at temperature 1.
  const z = logits.map(Math.exp);
  const p1 = z[1] / z.reduce((a, b) => a + b, 0);
  let hits = 0;
  for (let i = 0; i < 4000; i++) if (sampleLogits(logits, {}, g) === 1) hits++;
  assert.ok(Math.abs(hits / 4000 - p1) < 0.03, `frequency ${hits / 4000} vs probability ${p1}`);
});
