import { test } from "node:test";
import assert from "node:assert/strict";
import * as gl from "../../src/index.js";
import { assertClose, gradcheck } from "../helpers/gradcheck.js";

const d = gl.data;
const m = gl.models;

function trainReverse(attention: "bahdanau" | "luong", steps: number): { exact: number; token: number } {
  gl.manualSeed(0);
  const g = new gl.Generator(1);
  const o = { symbols: 5, minLength: 2, maxLength: 5 };
  const train = d.reverseTask(o, 4000, g);
  const heldOut = d.reverseTask(o, 100, g);
  const V = d.tokenTaskVocab(5);
  const model = new m.Seq2Seq({ srcVocab: V, tgtVocab: V, embeddingDim: 12, hiddenSize: 24, attention });
  const opt = new gl.optim.Adam(model.parameters(), { lr: 0.005 });
  let step = 0;
  for (const b of d.seq2seqBatches(train, 32, { generator: g })) {
    const loss = model.loss(b);
    opt.zeroGrad();
    loss.backward();
    opt.step();
    if (++step === steps) break;
  }
  return m.seq2seqAccuracy(model, heldOut);
}

test("Bahdanau attention learns to reverse token strings to near-perfect held-out accuracy", () => {
  const acc = trainReverse("bahdanau", 100);
  assert.ok(acc.exact >= 0.95, `exact-match accuracy ${acc.exact} (token ${acc.token})`);
});

test("Luong attention learns the same task", () => {
  const acc = trainReverse("luong", 100);
  assert.ok(acc.exact >= 0.95, `exact-match accuracy ${acc.exact} (token ${acc.token})`);
});

test("the source mask: padding gets zero attention, and padded tokens do not change the output", () => {
  for (const attention of ["bahdanau", "luong", "dot"] as const) {
    gl.manualSeed(2);
    const model = new m.Seq2Seq({ srcVocab: 8, tgtVocab: 8, embeddingDim: 6, hiddenSize: 6, attention, encoderLayers: 2, bidirectional: attention !== "dot" });
    const src = gl.tensor([[3, 4], [5, 6], [7, 0], [3, 0]], { dtype: "int32" });
    const tgtIn = gl.tensor([[1, 1], [4, 5], [6, 7]], { dtype: "int32" });
    const a = model.forward(src, [4, 2], tgtIn);
    const w = a.attention!.toArray();
    const [T, B, S] = a.attention!.shape;
    for (let t = 0; t < T; t++) {
      for (let b = 0; b < B; b++) {
        let sum = 0;
        for (let s = 0; s < S; s++) {
          const v = w[(t * B + b) * S + s];
          if (b === 1 && s >= 2) assert.equal(v, 0, `${attention}: weight on padding`);
          sum += v;
        }
        assert.ok(Math.abs(sum - 1) < 1e-5);
      }
    }
    // Other tokens in the padding, and the short sequence decoded alone: same logits.
    const garbage = gl.tensor([[3, 4], [5, 6], [7, 7], [3, 5]], { dtype: "int32" });
    assertClose(model.forward(garbage, [4, 2], tgtIn).logits.toArray(), a.logits.toArray(), 1e-6, 1e-5, `${attention} logits`);
    const alone = model.forward(gl.tensor([[4], [6]], { dtype: "int32" }), null, gl.tensor([[1], [5], [7]], { dtype: "int32" }));
    const both = a.logits.toArray();
    const solo = alone.logits.toArray();
    const Vt = 8;
    for (let t = 0; t < T; t++) assertClose(solo.subarray(t * Vt, (t + 1) * Vt), both.subarray((t * B + 1) * Vt, (t * B + 2) * Vt), 1e-5, 1e-4, `${attention} alone`);
  }
});

test("finite differences agree with backward through encoder, bridge, attention and decoder (float64)", () => {
  const cases = [["bahdanau", "lstm"], ["luong", "gru"], ["none", "lstm"]] as const;
  for (const [attention, cell] of cases) {
    {
      gl.manualSeed(3);
      const model = new m.Seq2Seq({ srcVocab: 6, tgtVocab: 6, embeddingDim: 3, hiddenSize: 3, attention, cell, dtype: "float64", attentionSize: 2 });
      const batch = d.seq2seqBatch([{ src: [3, 4, 5], tgt: [5, 4] }, { src: [4, 3], tgt: [3] }]);
      const names = new Set(["bridgeH.weight", "srcEmbedding.weight", "attention.v.weight", "attention.key.weight", "combine.weight", "decoder.0.weight_hh", "encoder.weight_ih_l0_reverse"]);
      const params = model.namedParameters().filter(([n]) => names.has(n)).map(([, p]) => p);
      assert.ok(params.length >= 4, `${attention}: ${params.length} parameters checked`);
      gradcheck(() => model.loss(batch), params);
    }
  }
});

test("attention modules: finite differences for query and keys, masked positions get no gradient", () => {
  const opts = { dtype: "float64" as const, generator: new gl.Generator(4) };
  const mods = [new m.AdditiveAttention(3, 4, 5, opts), new m.MultiplicativeAttention(3, 4, opts), new m.MultiplicativeAttention(4, 4, { ...opts, kind: "dot" })];
  for (const att of mods) {
    const Q = att.kind === "dot" ? 4 : 3;
    const q = gl.randn([2, Q], { dtype: "float64", requiresGrad: true, generator: opts.generator });
    const k = gl.randn([2, 3, 4], { dtype: "float64", requiresGrad: true, generator: opts.generator });
    const mask = m.paddingMask([3, 2], 3, "float64");
    gradcheck((qq, kk) => m.attend(att.scores(qq, att.prepare(kk)), kk, mask).context, [q, k]);
    const r = m.attend(att.scores(q, att.prepare(k)), k, mask);
    k.grad = null;
    r.context.sum().backward();
    const gk = k.grad!.toArray();
    for (let f = 0; f < 4; f++) assert.equal(gk[(1 * 3 + 2) * 4 + f], 0, `${att.kind}: gradient reached a padded key`);
  }
  assert.throws(() => new m.MultiplicativeAttention(3, 4, { kind: "dot" }), /"dot" scores need equal query and key sizes, got 3 and 4/);
});

test("beam search: width 1 is greedy; a wide beam finds the most likely sequence; scores are the model's log-probabilities", () => {
  gl.manualSeed(5);
  const model = new m.Seq2Seq({ srcVocab: 5, tgtVocab: 5, embeddingDim: 4, hiddenSize: 5, attention: "luong", decoderLayers: 2, encoderLayers: 2 });
  const batch = d.seq2seqBatch([{ src: [3, 4, 3], tgt: [] }, { src: [4], tgt: [] }]);
  const greedy = m.greedyDecode(model, batch.src, batch.srcLengths, { maxLength: 6 });
  const beam1 = m.beamSearch(model, batch.src, batch.srcLengths, { beamSize: 1, maxLength: 6, lengthPenalty: 0 });
  assert.deepEqual(beam1.map((h) => Array.from(h.tokens)), greedy.map((g) => Array.from(g)));

  // Exhaustive search over every continuation of at most L = 3 tokens (5 ids each, eos ends one).
  const L = 3;
  const wide = m.beamSearch(model, batch.src, batch.srcLengths, { beamSize: 5 ** L, maxLength: L, lengthPenalty: 0 });
  const srcs = [[3, 4, 3], [4]];
  srcs.forEach((src, b) => {
    const seqs: number[][] = [[]];
    for (let len = 1; len <= L; len++) for (const s of seqs.filter((x) => x.length === len - 1)) for (const v of [0, 1, 3, 4]) seqs.push([...s, v]);
    const finished = seqs.filter((s) => s.length < L);
    const lps = m.sequenceLogProbs(model, finished.map((tgt) => ({ src, tgt })));
    let best = Math.max(...lps);
    // Sequences that run to the length limit without eos: score all L tokens, not eos.
    const full = seqs.filter((s) => s.length === L);
    const fullLps = m.sequenceLogProbs(model, full.map((tgt) => ({ src, tgt: tgt.slice(0, L - 1) }))).map((_, i) => {
      const s = full[i];
      return m.sequenceLogProbs(model, [{ src, tgt: s }])[0] - eosLogProbAfter(model, src, s);
    });
    best = Math.max(best, ...fullLps);
    assert.ok(Math.abs(wide[b].logProb - best) < 1e-4, `beam ${wide[b].logProb} vs exhaustive ${best}`);
    if (wide[b].finished) assert.ok(Math.abs(m.sequenceLogProbs(model, [{ src, tgt: wide[b].tokens }])[0] - wide[b].logProb) < 1e-4);
  });
  assert.throws(() => m.beamSearch(model, batch.src, batch.srcLengths, { beamSize: 0, maxLength: 3 }), /beamSize must be an integer ≥ 1, got 0/);
});

/** log p(eos | src, prefix s): the last term of the teacher-forced score of s + eos. */
function eosLogProbAfter(model: gl.models.Seq2Seq, src: number[], s: number[]): number {
  const b = d.seq2seqBatch([{ src, tgt: s }]);
  const { logits } = gl.noGrad(() => model.forward(b.src, b.srcLengths, b.tgtIn));
  const last = logits.select(0, s.length).logSoftmax(1).toArray();
  return last[2];
}

test("bad input is refused with the op and the offending ids or shapes", () => {
  const model = new m.Seq2Seq({ srcVocab: 5, tgtVocab: 6, embeddingDim: 4, hiddenSize: 4 });
  const src = gl.tensor([[3], [4]], { dtype: "int32" });
  assert.throws(() => model.forward(gl.tensor([[3], [9]], { dtype: "int32" }), null, src), /Seq2Seq.forward: src holds id 9, outside the vocabulary of 5/);
  assert.throws(() => model.forward(src, null, gl.tensor([[1, 1]], { dtype: "int32" })), /src \[2, 1\] and tgtIn \[1, 2\] have different batch sizes/);
  assert.throws(() => model.forward(gl.tensor([3, 4], { dtype: "int32" }), null, src), /src must be int32 ids \[T, B\], got int32 \[2\]/);
  assert.throws(() => model.encode(src, [1, 2]), /2 lengths for a batch of 1/);
  assert.throws(() => new m.Seq2Seq({ srcVocab: 5, tgtVocab: 6, embeddingDim: 4, hiddenSize: 4, attention: "cosine" as "dot" }), /attention must be/);
  assert.throws(() => new m.Seq2Seq({ srcVocab: 5, tgtVocab: 6, embeddingDim: 4, hiddenSize: 4, attention: "dot" }), /"dot" attention needs the decoder's size \(4\) to equal the encoder outputs' \(8, bidirectional\)/);
});
