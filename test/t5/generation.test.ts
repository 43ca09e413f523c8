import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as gl from "../../src/index.js";
import { assertClose } from "../helpers/gradcheck.js";

const DIR = "test/fixtures/t5/tiny-relu-tied";
const ref = await gl.io.loadSafetensors(`${DIR}/reference.safetensors`);
const model = await gl.t5.T5ForConditionalGeneration.fromPretrained(`${DIR}/checkpoint`);
const rows = (t: gl.Tensor) => t.tolist();

describe("T5 generate() against transformers 5.17", () => {
  it("greedy: rows start with 0 and are padded with 0 after eos", () => {
    const g = model.generate(ref.input_ids, { attentionMask: ref.attention_mask, maxNewTokens: 12 });
    assert.deepEqual(rows(g), rows(ref.greedy_ids));
    assert.deepEqual(rows(model.generate(ref.gen_input_ids, { attentionMask: ref.gen_attention_mask, maxNewTokens: 12 })), rows(ref.gen_greedy_ids));
  });

  it("infers the attention mask from padding when none is given, as transformers does", () => {
    assert.deepEqual(rows(model.generate(ref.gen_input_ids, { maxNewTokens: 12 })), rows(ref.gen_greedy_ids));
  });

  it("beam search (3 beams): rows padded with eos", () => {
    const b = model.generate(ref.input_ids, { attentionMask: ref.attention_mask, maxNewTokens: 12, numBeams: 3 });
    assert.deepEqual(rows(b), rows(ref.beam3_ids));
    assert.deepEqual(rows(model.generate(ref.gen_input_ids, { attentionMask: ref.gen_attention_mask, maxNewTokens: 12, numBeams: 3 })), rows(ref.gen_beam3_ids));
  });

  it("beam search (4 beams, lengthPenalty 0.6, earlyStopping)", () => {
    const b = model.generate(ref.gen_input_ids, { attentionMask: ref.gen_attention_mask, maxNewTokens: 12, numBeams: 4, lengthPenalty: 0.6, earlyStopping: true });
    assert.deepEqual(rows(b), rows(ref["gen_beam4_lp0.6_early_ids"]));
  });

  it("stops at maxNewTokens", () => {
    const g = model.generate(ref.gen_input_ids, { maxNewTokens: 3 });
    assert.deepEqual(g.shape, [6, 4]);
    assert.deepEqual(rows(g), (rows(ref.gen_greedy_ids) as number[][]).map((r) => r.slice(0, 4)));
    const b = model.generate(ref.gen_input_ids, { maxNewTokens: 2, numBeams: 3 });
    assert.deepEqual(b.shape, [6, 3]);
  });
});

describe("T5 decoding with a key/value cache", () => {
  it("step-by-step cached logits equal a full decoder pass", () => {
    const m = new gl.t5.T5ForConditionalGeneration(model.config).to({ dtype: "float64" });
    m.loadStateDict(model.stateDict());
    m.eval();
    const dec = ref.decoder_input_ids;
    const enc = m.encode(ref.input_ids, ref.attention_mask).lastHiddenState;
    const full = m.decode(dec, enc, { encoderAttentionMask: ref.attention_mask }).logits;
    const [B, T] = dec.shape;
    let cache: gl.t5.BlockCache[] | null = null;
    const ids = dec.toArray();
    for (let t = 0; t < T; t++) {
      const step = gl.tensor(Int32Array.from({ length: B }, (_, b) => ids[b * T + t]), { shape: [B, 1] });
      const r = m.decode(step, enc, { encoderAttentionMask: ref.attention_mask, cache });
      cache = r.cache;
      assertClose(r.logits.toArray(), full.narrow(1, t, 1).toArray(), 1e-10, 1e-10, `step ${t}`);
    }
  });
});

describe("T5 sampling", () => {
  it("top-k 1 sampling is greedy; a seeded generator repeats itself", () => {
    const greedy = model.generate(ref.gen_input_ids, { maxNewTokens: 8 });
    assert.deepEqual(rows(model.generate(ref.gen_input_ids, { maxNewTokens: 8, doSample: true, topK: 1, generator: new gl.Generator(3) })), rows(greedy));
    const a = model.generate(ref.gen_input_ids, { maxNewTokens: 8, doSample: true, temperature: 2, generator: new gl.Generator(9) });
    const b = model.generate(ref.gen_input_ids, { maxNewTokens: 8, doSample: true, temperature: 2, generator: new gl.Generator(9) });
    assert.deepEqual(rows(a), rows(b));
    assert.notDeepEqual(rows(a), rows(greedy), "hot sampling should leave the greedy path somewhere");
  });

  it("warps logits as transformers: temperature, then top-k, then top-p", () => {
    const row = Float64Array.from([Math.log(0.5), Math.log(0.25), Math.log(0.15), Math.log(0.1)]);
    const k2 = Float64Array.from(row);
    gl.t5.warpLogits(k2, 1, 2, 1);
    assert.deepEqual(Array.from(k2).map((v) => v === -Infinity), [false, false, true, true]);
    // top-p 0.7: 0.5 + 0.25 reach it, so 0.15 and 0.1 (mass 0.25 <= 0.3 below) go.
    const p = Float64Array.from(row);
    gl.t5.warpLogits(p, 1, 0, 0.7);
    assert.deepEqual(Array.from(p).map((v) => v === -Infinity), [false, false, true, true]);
    const p2 = Float64Array.from(row);
    gl.t5.warpLogits(p2, 1, 0, 0.8);
    assert.deepEqual(Array.from(p2).map((v) => v === -Infinity), [false, false, false, true]);
    const t = Float64Array.from([2, 4]);
    gl.t5.warpLogits(t, 2, 0, 1);
    assert.deepEqual(Array.from(t), [1, 2]);
  });

  it("samples tokens with their softmax probabilities", () => {
    const gen = new gl.Generator(11);
    const row = Float64Array.from([Math.log(0.6), Math.log(0.3), Math.log(0.1)]);
    const counts = [0, 0, 0];
    const n = 4000;
    for (let i = 0; i < n; i++) counts[gl.t5.sampleLogits(row, gen)]++;
    [0.6, 0.3, 0.1].forEach((p, i) => assert.ok(Math.abs(counts[i] / n - p) < 4 * Math.sqrt((p * (1 - p)) / n), `token ${i}: ${counts[i] / n} vs ${p}`));
  });

  it("rejects bad options", () => {
    const ids = ref.gen_input_ids;
    assert.throws(() => model.generate(ids, { numBeams: 0 }), /numBeams must be an integer >= 1, got 0/);
    assert.throws(() => model.generate(ids, { maxNewTokens: 0 }), /maxNewTokens must be an integer >= 1/);
    assert.throws(() => model.generate(ids, { doSample: true, temperature: 0 }), /temperature must be > 0/);
    assert.throws(() => model.generate(ids, { doSample: true, topP: 1.5 }), /topP must be in \(0, 1\]/);
    assert.throws(() => model.generate(ids, { doSample: true, numBeams: 2 }), /beam sampling .* not supported/);
    assert.throws(() => model.generate(gl.tensor([[3, 4]]), {}), /inputIds must be an int32 tensor \[batch, length\], got float32 \[1, 2\]/);
    assert.throws(() => model.generate(ids, { attentionMask: gl.ones([6, 2], { dtype: "int32" }) }), /attentionMask \[6, 2\] must match inputIds \[6, 9\]/);
    assert.throws(() => model.generate(gl.tensor([[3, 500]], { dtype: "int32" })), /id 500 .* out of range/);
  });
});
