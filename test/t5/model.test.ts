import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { after, describe, it } from "node:test";
import * as gl from "../../src/index.js";
import { assertClose } from "../helpers/gradcheck.js";

const DIR = "test/fixtures/t5/tiny-relu-tied";
const CKPT = `${DIR}/checkpoint`;
const ref = await gl.io.loadSafetensors(`${DIR}/reference.safetensors`);
const model = await gl.t5.T5ForConditionalGeneration.fromPretrained(CKPT);
const tmp = mkdtempSync(`${tmpdir()}/gradlab-t5-`);
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Central differences of `loss` for a few entries of every parameter, against backward's gradient. */
function checkGradients(m: gl.t5.T5ForConditionalGeneration, loss: () => gl.Tensor, perParam: number, rtol = 1e-5): void {
  m.zeroGrad();
  loss().backward();
  const gen = new gl.Generator(7);
  for (const [name, p] of m.namedParameters()) {
    const g = p.grad!.toArray();
    const data = p.data as Float64Array;
    // The largest entry (so the check is not vacuous) and random ones.
    let big = 0;
    for (let i = 1; i < g.length; i++) if (Math.abs(g[i]) > Math.abs(g[big])) big = i;
    const picks = [big, ...Array.from({ length: perParam - 1 }, () => gen.randint(0, g.length))];
    for (const i of picks) {
      const orig = data[i];
      const eps = 1e-6;
      data[i] = orig + eps;
      const plus = gl.noGrad(() => loss().item());
      data[i] = orig - eps;
      const minus = gl.noGrad(() => loss().item());
      data[i] = orig;
      const numeric = (plus - minus) / (2 * eps);
      assert.ok(Math.abs(g[i] - numeric) <= 1e-7 + rtol * Math.abs(numeric) * 100, `${name}[${i}]: backward ${g[i]} vs finite difference ${numeric}`);
    }
  }
}

describe("T5 on the tiny-relu-tied fixture (transformers 5.17)", () => {
  it("names parameters exactly as transformers' named_parameters (tied weights once)", () => {
    const names = model.namedParameters().map(([n]) => n);
    const stored = Object.keys(ref).filter((k) => k.startsWith("grad.")).map((k) => k.slice(5));
    assert.deepEqual([...names].sort(), [...stored].sort());
    assert.deepEqual(names.slice(0, 8), [
      "shared.weight",
      "encoder.block.0.layer.0.SelfAttention.q.weight",
      "encoder.block.0.layer.0.SelfAttention.k.weight",
      "encoder.block.0.layer.0.SelfAttention.v.weight",
      "encoder.block.0.layer.0.SelfAttention.o.weight",
      "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
      "encoder.block.0.layer.0.layer_norm.weight",
      "encoder.block.0.layer.1.DenseReluDense.wi.weight",
    ]);
    assert.equal(names.at(-1), "decoder.final_layer_norm.weight");
    assert.equal(model.lm_head.weight, model.shared.weight);
    assert.equal(model.encoder.embed_tokens, model.shared);
    assert.equal(model.numParameters(), 191744);
  });

  it("matches encoder hidden states, logits and loss in float32", () => {
    const out = model.forward({ inputIds: ref.input_ids, attentionMask: ref.attention_mask, labels: ref.labels, outputHiddenStates: true });
    assert.equal(out.encoderHiddenStates!.length, 3);
    out.encoderHiddenStates!.forEach((h, i) => assertClose(h.toArray(), ref[`encoder_hidden_states.${i}`].toArray(), 1e-5, 1e-4, `encoder_hidden_states.${i}`));
    assertClose(out.encoderLastHiddenState.toArray(), ref.encoder_last_hidden_state.toArray(), 1e-5, 1e-4, "encoder_last_hidden_state");
    assert.deepEqual(out.logits.shape, [2, 6, 420]);
    assertClose(out.logits.toArray(), ref.logits.toArray(), 1e-5, 1e-4, "logits");
    assertClose([out.loss!.item()], ref.loss.toArray(), 0, 1e-5, "loss");
  });

  it("shifts labels right into decoder inputs (start token 0, -100 → pad)", () => {
    assert.deepEqual(model.shiftRight(ref.labels).tolist(), ref.decoder_input_ids.tolist());
    const a = model.forward({ inputIds: ref.input_ids, attentionMask: ref.attention_mask, decoderInputIds: ref.decoder_input_ids });
    assert.equal(a.loss, undefined);
    assertClose(a.logits.toArray(), ref.logits.toArray(), 1e-5, 1e-4, "logits from explicit decoder inputs");
  });

  it("backward gives the gradient of that loss for every parameter (finite differences in float64)", () => {
    // The fixture's grad.* tensors cannot be used: they hold this loss's gradient plus a leftover
    // training batch's (rows of shared.weight for tokens absent from this batch, and decoder
    // relative-bias buckets 6-8, which length-6 targets never use, are nonzero there).
    const m64 = new gl.t5.T5ForConditionalGeneration(model.config).to({ dtype: "float64" });
    m64.loadStateDict(model.stateDict());
    const loss = () => m64.forward({ inputIds: ref.input_ids, attentionMask: ref.attention_mask, labels: ref.labels }).loss!;
    assertClose([loss().item()], ref.loss.toArray(), 0, 1e-6, "float64 loss");
    checkGradients(m64, loss, 2);
  });
});

describe("T5 building blocks", () => {
  it("relative position buckets (bidirectional encoder, causal decoder) as transformers", () => {
    const bi = (r: number) => gl.t5.relativePositionBucket(r, true, 32, 128);
    const causal = (r: number) => gl.t5.relativePositionBucket(r, false, 32, 128);
    assert.deepEqual([0, 1, -1, 7, -7, 8, -8, 9, 12, 20, 127, 128, 1000, -1000].map(bi), [0, 17, 1, 23, 7, 24, 8, 24, 25, 26, 31, 31, 31, 15]);
    assert.deepEqual([0, 5, -1, -15, -16, -20, -31, -32, -100, -127, -128, -5000].map(causal), [0, 0, 1, 15, 16, 17, 21, 21, 30, 31, 31, 31]);
  });

  it("reads v1.1 / FLAN configs: gated tanh-GELU, untied head, no rescale, unknown keys kept", () => {
    const cfg = gl.t5.parseT5Config({ d_model: 8, d_kv: 2, d_ff: 12, num_layers: 1, num_decoder_layers: 2, num_heads: 2, vocab_size: 11, feed_forward_proj: "gated-gelu", tie_word_embeddings: false, my_key: [1, 2] });
    assert.equal(cfg.denseActFn, "gelu_new");
    assert.ok(cfg.isGatedAct);
    assert.equal(cfg.scaleDecoderOutputs, false);
    assert.deepEqual(gl.t5.t5ConfigToJSON(cfg).my_key, [1, 2]);
    const m = new gl.t5.T5ForConditionalGeneration(cfg, { generator: new gl.Generator(1) });
    const names = m.namedParameters().map(([n]) => n);
    assert.ok(names.includes("encoder.block.0.layer.1.DenseReluDense.wi_0.weight") && names.includes("encoder.block.0.layer.1.DenseReluDense.wi_1.weight"));
    assert.equal(names.at(-1), "lm_head.weight");
    assert.equal(names.filter((n) => n.includes("relative_attention_bias")).length, 2);
    assert.equal(names.filter((n) => n.startsWith("decoder.block.")).length, 2 * 14 + 1);
    // The gated feed-forward is gelu_tanh(x W0ᵀ) · (x W1ᵀ) then Wo (eval mode: no dropout).
    m.eval();
    const ff = (m.encoder.block.at(0).layer.at(1) as gl.t5.T5LayerFF).DenseReluDense as gl.t5.T5DenseGatedActDense;
    const x = gl.randn([3, 8], { generator: new gl.Generator(2) });
    const want = x.matmul(ff.wi_0.weight.t()).gelu("tanh").mul(x.matmul(ff.wi_1.weight.t())).matmul(ff.wo.weight.t());
    assertClose(ff.forward(x).toArray(), want.toArray(), 1e-6, 1e-5, "gated feed-forward");
    // An untied head multiplies the decoder output without the d_model^-0.5 rescale; a tied one rescales.
    const h = gl.randn([1, 2, 8], { generator: new gl.Generator(3) });
    assertClose(m.lmLogits(h).toArray(), h.matmul(m.lm_head.weight.t()).toArray(), 1e-6, 1e-5, "untied head");
    const tied = new gl.t5.T5ForConditionalGeneration({ dModel: 8, dKv: 2, dFf: 12, numLayers: 1, numHeads: 2, vocabSize: 11 }, { generator: new gl.Generator(4) });
    assertClose(tied.lmLogits(h).toArray(), h.mul(8 ** -0.5).matmul(tied.shared.weight.t()).toArray(), 1e-6, 1e-5, "tied head");
  });

  it("T5LayerNorm is RMS without mean or bias, eps 1e-6", () => {
    const ln = new gl.t5.T5LayerNorm(4);
    ln.weight.copy_(gl.tensor([1, 2, 3, 4]));
    const x = gl.tensor([[1, 2, 3, 4]]);
    const rms = Math.sqrt((1 + 4 + 9 + 16) / 4 + 1e-6);
    assertClose(ln.forward(x).toArray(), [1 / rms, 4 / rms, 9 / rms, 16 / rms], 1e-6, 1e-6, "T5LayerNorm");
  });

  it("gradients of a random gated, untied T5 with dropout off pass finite differences in float64", () => {
    const m = new gl.t5.T5ForConditionalGeneration(
      { dModel: 8, dKv: 3, dFf: 10, numLayers: 2, numHeads: 2, vocabSize: 13, feedForwardProj: "gated-gelu", tieWordEmbeddings: false, dropoutRate: 0, relativeAttentionNumBuckets: 8, relativeAttentionMaxDistance: 10 },
      { generator: new gl.Generator(5) },
    ).to({ dtype: "float64" });
    const inputIds = gl.tensor([[3, 4, 5, 6, 7, 1], [8, 9, 1, 0, 0, 0]], { dtype: "int32" });
    const attentionMask = gl.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]], { dtype: "int32" });
    const labels = gl.tensor([[10, 11, 12, 1], [5, 1, -100, -100]], { dtype: "int32" });
    checkGradients(m, () => m.forward({ inputIds, attentionMask, labels }).loss!, 3);
  });
});

describe("T5 checkpoints in Hugging Face's layout", () => {
  it("save writes config.json and a model.safetensors byte-identical to transformers' own", async () => {
    const out = `${tmp}/saved`;
    await model.save(out);
    assert.ok(readFileSync(`${out}/model.safetensors`).equals(readFileSync(`${CKPT}/model.safetensors`)));
    const cfg = JSON.parse(readFileSync(`${out}/config.json`, "utf8"));
    assert.equal(cfg.feed_forward_proj, "relu");
    assert.equal(cfg.tie_word_embeddings, true);
    assert.equal(cfg.transformers_version, "5.17.0");
    const back = await gl.t5.T5ForConditionalGeneration.fromPretrained(out);
    const a = model.forward({ inputIds: ref.input_ids, decoderInputIds: ref.decoder_input_ids }).logits.toArray();
    assert.deepEqual(back.forward({ inputIds: ref.input_ids, decoderInputIds: ref.decoder_input_ids }).logits.toArray(), a);
  });

  it("loads sharded checkpoints through model.safetensors.index.json", async () => {
    const dir = `${tmp}/sharded`;
    const sd = model.stateDict();
    const names = Object.keys(sd).filter((k) => !k.includes("embed_tokens") && k !== "lm_head.weight");
    const half = Math.floor(names.length / 2);
    const shards = [names.slice(0, half), names.slice(half)];
    const weightMap: Record<string, string> = {};
    for (const [i, list] of shards.entries()) {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      mkdirSync(dir, { recursive: true });
      await gl.io.saveSafetensors(Object.fromEntries(list.map((k) => [k, sd[k]])), `${dir}/${file}`);
      for (const k of list) weightMap[k] = file;
    }
    writeFileSync(`${dir}/model.safetensors.index.json`, JSON.stringify({ metadata: {}, weight_map: weightMap }));
    copyFileSync(`${CKPT}/config.json`, `${dir}/config.json`);
    const m = await gl.t5.T5ForConditionalGeneration.fromPretrained(dir);
    assert.deepEqual(m.shared.weight.toArray(), model.shared.weight.toArray());
    assert.deepEqual(m.decoder.final_layer_norm.weight.toArray(), model.decoder.final_layer_norm.weight.toArray());
  });

  it("reports missing and corrupt files by name, tolerates unknown config keys", async () => {
    const T5 = gl.t5.T5ForConditionalGeneration;
    await assert.rejects(T5.fromPretrained(`${tmp}/nowhere`), (e: Error) => e instanceof gl.IOError && /nowhere\/config\.json: file not found/.test(e.message));
    const dir = `${tmp}/broken`;
    mkdirSync(dir, { recursive: true });
    writeFileSync(`${dir}/config.json`, "{ not json");
    await assert.rejects(T5.fromPretrained(dir), /broken\/config\.json: not valid JSON/);
    const cfg = JSON.parse(readFileSync(`${CKPT}/config.json`, "utf8"));
    writeFileSync(`${dir}/config.json`, JSON.stringify({ ...cfg, some_future_key: { nested: true } }));
    await assert.rejects(T5.fromPretrained(dir), /neither model\.safetensors nor model\.safetensors\.index\.json found/);
    writeFileSync(`${dir}/model.safetensors`, readFileSync(`${CKPT}/model.safetensors`).subarray(0, 5000));
    await assert.rejects(T5.fromPretrained(dir), (e: Error) => e instanceof gl.IOError && /broken\/model\.safetensors/.test(e.message));
    copyFileSync(`${CKPT}/model.safetensors`, `${dir}/model.safetensors`);
    const ok = await T5.fromPretrained(dir);
    assert.equal(ok.config.raw.some_future_key !== undefined, true);
    writeFileSync(`${dir}/config.json`, JSON.stringify({ ...cfg, d_ff: 96 }));
    await assert.rejects(T5.fromPretrained(dir), /model\.safetensors: does not fit the T5 config \(shape mismatch: .*DenseReluDense\.wi\.weight: checkpoint \[128, 64\] vs model \[96, 64\]/);
    writeFileSync(`${dir}/config.json`, JSON.stringify({ ...cfg, feed_forward_proj: "gated-gelu" }));
    await assert.rejects(T5.fromPretrained(dir), /missing weights: .*wi_0\.weight.*unexpected weights: .*wi\.weight/);
    writeFileSync(`${dir}/config.json`, JSON.stringify({ ...cfg, num_heads: "four" }));
    await assert.rejects(T5.fromPretrained(dir), /broken\/config\.json: "num_heads" must be an integer >= 1, got "four"/);
    writeFileSync(`${dir}/config.json`, JSON.stringify({ ...cfg, feed_forward_proj: "gated-magic" }));
    await assert.rejects(T5.fromPretrained(dir), /activation "magic" of "feed_forward_proj" is not supported/);
  });

  it("rejects out-of-range token ids and malformed inputs with clear errors", () => {
    const bad = gl.tensor([[5, 420, 1]], { dtype: "int32" });
    assert.throws(() => model.forward({ inputIds: bad, decoderInputIds: gl.tensor([[0]], { dtype: "int32" }) }), /id 420 .* out of range \[0, 420\)/);
    assert.throws(() => model.forward({ inputIds: gl.tensor([[5, 6]], { dtype: "int32" }), labels: gl.tensor([[3, 999]], { dtype: "int32" }) }), /out of range/);
    assert.throws(() => model.forward({ inputIds: gl.tensor([[5, 6]]), labels: gl.tensor([[3]], { dtype: "int32" }) }), /inputIds must be int32, got float32/);
    assert.throws(() => model.forward({ inputIds: gl.tensor([5, 6], { dtype: "int32" }) }), /inputIds must be \[batch, length\], got \[2\]/);
    assert.throws(() => model.forward({ inputIds: gl.tensor([[5, 6]], { dtype: "int32" }) }), /give decoderInputIds or labels/);
    assert.throws(
      () => model.forward({ inputIds: gl.tensor([[5, 6]], { dtype: "int32" }), attentionMask: gl.tensor([[1, 1, 1]], { dtype: "int32" }), labels: gl.tensor([[3]], { dtype: "int32" }) }),
      /attentionMask \[1, 3\] must match inputIds \[1, 2\]/,
    );
  });
});
