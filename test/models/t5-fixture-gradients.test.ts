import { test } from "node:test";
import assert from "node:assert/strict";
import * as gl from "../../src/index.js";

// The fixture's grad.* hold the fixture batch's gradient plus a leftover one from the reversal
// training that produced the checkpoint (see test/fixtures/README.md). The leftover only touches
// what reversal batches touch: embedding rows of tokens 0, 1 and 3..39 (for every other row it is
// the tiny softmax term of the tied head) and decoder relative-bias buckets 0..8. Where it cannot
// reach, the fixture is a PyTorch reference for our gradients.
const DIR = "test/fixtures/t5/tiny-relu-tied";
const ref = await gl.io.loadSafetensors(`${DIR}/reference.safetensors`);
const model = await gl.t5.T5ForConditionalGeneration.fromPretrained(`${DIR}/checkpoint`);
const m64 = new gl.t5.T5ForConditionalGeneration(model.config).to({ dtype: "float64" });
m64.loadStateDict(model.stateDict());
m64.zeroGrad();
m64.forward({ inputIds: ref.input_ids, attentionMask: ref.attention_mask, labels: ref.labels }).loss!.backward();
const ours = (name: string) => m64.namedParameters().find(([n]) => n === name)![1].grad!.toArray();
const theirs = (name: string) => ref[`grad.${name}`].toArray();
const rowNorm = (a: ArrayLike<number>, v: number, d: number) => Math.hypot(...Array.from({ length: d }, (_, i) => a[v * d + i]));
const reversalVocab = (v: number) => v === 0 || v === 1 || (v >= 3 && v < 40);

test("embedding rows the leftover training gradient cannot reach equal PyTorch's gradient", () => {
  const o = ours("shared.weight");
  const t = theirs("shared.weight");
  const d = model.config.dModel;
  const diff = Array.from(o, (x, i) => x - t[i]);
  const batchTokens = new Set([...(ref.input_ids.tolist() as number[][]).flat(), ...(ref.labels.tolist() as number[][]).flat()].filter((v) => v >= 40));
  assert.equal(batchTokens.size, 19);
  // Rows of the fixture batch's own tokens (input lookups plus the tied head): within 0.2%.
  for (const v of batchTokens) {
    assert.ok(rowNorm(diff, v, d) <= 2e-3 * rowNorm(o, v, d), `row ${v}: |Δ| ${rowNorm(diff, v, d)} vs |grad| ${rowNorm(o, v, d)}`);
  }
  // Every row outside the reversal vocabulary, entry by entry (gradients there are up to ~1e-2).
  for (let v = 0; v < model.config.vocabSize; v++) {
    if (reversalVocab(v)) continue;
    for (let i = 0; i < d; i++) assert.ok(Math.abs(diff[v * d + i]) <= 1e-4, `shared.weight[${v}, ${i}]: ours ${o[v * d + i]}, fixture ${t[v * d + i]}`);
  }
  // Inside it the leftover dominates: what makes the stored gradient unusable as a whole.
  const inside = [3, 4, 5, 6, 7].map((v) => rowNorm(diff, v, d) / rowNorm(o, v, d));
  assert.ok(Math.max(...inside) > 0.1, `rows 3..7 differ: ${inside.join(", ")}`);
});

test("the fixture's decoder relative-bias gradient reaches buckets 6..8, which its length-6 targets cannot", () => {
  const name = "decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight";
  const o = ours(name);
  const t = theirs(name);
  const h = model.config.numHeads;
  const bucket = (a: ArrayLike<number>, b: number) => rowNorm(a, b, h);
  for (let b = 6; b < 32; b++) assert.equal(bucket(o, b), 0, `our bucket ${b}`);
  for (const b of [6, 7, 8]) assert.ok(bucket(t, b) > 1e-2, `fixture bucket ${b}: ${bucket(t, b)}`);
  for (let b = 9; b < 32; b++) assert.equal(bucket(t, b), 0, `fixture bucket ${b}: a decoder of ≤ 9 positions never reaches it`);
});
