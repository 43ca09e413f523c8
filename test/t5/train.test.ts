import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import * as gl from "../../src/index.js";
import { trainUnigramModel } from "../../src/data/sentencepiece/trainer.js";
import { makeTasks } from "../../experiments/t5-tasks.js";

const runs = (mask: boolean[]) => mask.reduce((n, m, i) => n + (m && (i === 0 || !mask[i - 1]) ? 1 : 0), 0);

describe("span corruption (T5's random_spans_noise_mask)", () => {
  it("masks round(0.15·n) tokens in round(noise/3) spans, starting with kept tokens", () => {
    for (let seed = 0; seed < 20; seed++) {
      const mask = gl.t5.randomSpansNoiseMask(100, 0.15, 3, new gl.Generator(seed));
      assert.equal(mask.length, 100);
      assert.equal(mask.filter(Boolean).length, 15);
      assert.equal(runs(mask), 5);
      assert.equal(mask[0], false);
    }
    // Degenerate lengths still get one noise token and one kept token.
    assert.deepEqual(gl.t5.randomSpansNoiseMask(2, 0.15, 3, new gl.Generator(0)), [false, true]);
    assert.deepEqual(gl.t5.randomSpansNoiseMask(1, 0.15, 3, new gl.Generator(0)), [false]);
  });

  it("places spans at random, with noise spread over the sequence", () => {
    const n = 400;
    const counts = new Array(200).fill(0);
    const seen = new Set<string>();
    const gen = new gl.Generator(1);
    for (let i = 0; i < n; i++) {
      const mask = gl.t5.randomSpansNoiseMask(200, 0.15, 3, gen);
      mask.forEach((m, j) => (counts[j] += m ? 1 : 0));
      seen.add(mask.map(Number).join(""));
    }
    assert.equal(seen.size, n);
    for (let j = 20; j < 180; j += 10) assert.ok(Math.abs(counts[j] / n - 0.15) < 0.08, `position ${j}: ${counts[j] / n}`);
    // 30 · 0.15 = 4.5 rounds to 4, as Python's round does; 4 / 3 rounds to one span, which T5
    // places after all kept tokens.
    assert.deepEqual(gl.t5.randomSpansNoiseMask(30, 0.15, 3, gen), [...new Array(26).fill(false), true, true, true, true]);
    assert.equal(gl.t5.randomSpansNoiseMask(10, 0.15, 3, gen).filter(Boolean).length, 2, "round(1.5) = 2");
  });

  it("puts sentinels in input and target so that together they rebuild the text", () => {
    const vocab = 1100;
    const sentinelId = (k: number) => vocab - 1 - k;
    const ids = Array.from({ length: 64 }, (_, i) => 3 + i);
    const { inputIds, labels } = gl.t5.spanCorruption(ids, { sentinelId, generator: new gl.Generator(5) });
    assert.equal(inputIds.at(-1), 1);
    assert.equal(labels.at(-1), 1);
    assert.equal(labels[0], vocab - 1, "the target opens with <extra_id_0>");
    // Replace each sentinel of the input by the target's span after the same sentinel.
    const spans = new Map<number, number[]>();
    let cur = -1;
    for (const t of labels.slice(0, -1)) {
      if (t >= vocab - 100) spans.set((cur = t), []);
      else spans.get(cur)!.push(t);
    }
    const rebuilt = inputIds.slice(0, -1).flatMap((t) => (t >= vocab - 100 ? spans.get(t)! : [t]));
    assert.deepEqual(rebuilt, ids);
    const inputSentinels = inputIds.filter((t) => t >= vocab - 100);
    assert.deepEqual(inputSentinels, inputSentinels.map((_, k) => sentinelId(k)));
    assert.equal(ids.length - (inputIds.length - 1 - inputSentinels.length), 10, "round(64 · 0.15) = 10 tokens move to the target");
  });
});

describe("T5 training", () => {
  it("collates pairs: inputs padded with pad and a mask, labels padded with -100", () => {
    const b = gl.t5.collateSeq2Seq([{ inputIds: [5, 6, 1], labels: [7, 1] }, { inputIds: [8, 1], labels: [9, 10, 11, 1] }]);
    assert.deepEqual(b.inputIds.tolist(), [[5, 6, 1], [8, 1, 0]]);
    assert.deepEqual(b.attentionMask.tolist(), [[1, 1, 1], [1, 1, 0]]);
    assert.deepEqual(b.labels.tolist(), [[7, 1, -100, -100], [9, 10, 11, 1]]);
    const cut = gl.t5.collateSeq2Seq([{ inputIds: [5, 6, 7, 8, 1], labels: [7, 1] }], { maxInputLength: 3 });
    assert.deepEqual(cut.inputIds.tolist(), [[5, 6, 1]]);
    assert.throws(() => gl.t5.collateSeq2Seq([]), /got no examples/);
  });

  it("uses Adafactor with T5's inverse square-root schedule", () => {
    const m = new gl.t5.T5ForConditionalGeneration({ vocabSize: 20, dModel: 8, dKv: 2, dFf: 8, numLayers: 1, numHeads: 2 }, { generator: new gl.Generator(0) });
    const { optimizer, scheduler } = gl.t5.t5Optimizer(m, { lr: 0.01, warmupSteps: 4 });
    assert.ok(optimizer instanceof gl.optim.Adafactor);
    const lrs = [];
    for (let s = 0; s < 16; s++) {
      lrs.push(scheduler.getLastLr()[0]);
      scheduler.step();
    }
    assert.deepEqual([lrs[0], lrs[4]], [0.01, 0.01]);
    assert.ok(Math.abs(lrs[9] - 0.01 * Math.sqrt(4 / 9)) < 1e-15 && Math.abs(lrs[15] - 0.01 * Math.sqrt(4 / 15)) < 1e-15);
  });

  it("a few Adafactor steps of text-to-text fine-tuning lower the loss, and the model saves and reloads", async () => {
    const tok = await gl.t5.T5Tokenizer.fromFile("test/fixtures/tokenizer/unigram-320");
    const model = new gl.t5.T5ForConditionalGeneration(
      { vocabSize: tok.vocabSize, dModel: 32, dKv: 8, dFf: 64, numLayers: 1, numHeads: 4, dropoutRate: 0 },
      { generator: new gl.Generator(3) },
    );
    const gen = new gl.Generator(4);
    const fixed = gl.t5.collateSeq2Seq(gl.t5.encodePairs(tok, makeTasks(24, new gl.Generator(9))));
    const evalLoss = () => gl.noGrad(() => model.forward({ ...fixed }).loss!.item());
    const before = evalLoss();
    const { optimizer, scheduler } = gl.t5.t5Optimizer(model, { lr: 0.01, warmupSteps: 100 });
    for (let s = 0; s < 25; s++) gl.t5.trainStep(model, gl.t5.collateSeq2Seq(gl.t5.encodePairs(tok, makeTasks(16, gen))), optimizer, { scheduler, maxGradNorm: 1 });
    const after = evalLoss();
    assert.ok(after < 0.7 * before, `held-out loss ${before} → ${after}`);
  });

  it("a few span-corruption steps on Tiny Shakespeare lower the loss", () => {
    const tok = gl.t5.T5Tokenizer.fromBytes(new Uint8Array(readFileSync("test/fixtures/tokenizer/unigram-320/spiece.model")));
    const ids = tok.encode(readFileSync("data/tinyshakespeare.txt", "utf8").slice(0, 20000), { addEos: false });
    const model = new gl.t5.T5ForConditionalGeneration(
      { vocabSize: tok.vocabSize, dModel: 32, dKv: 8, dFf: 64, numLayers: 1, numHeads: 4, dropoutRate: 0.1 },
      { generator: new gl.Generator(6) },
    );
    const examples = gl.t5.spanCorruptionExamples(ids, { length: 32, sentinelId: (n) => tok.sentinelId(n), generator: new gl.Generator(7), count: 16 * 21 });
    const held = gl.t5.collateSeq2Seq(examples.slice(0, 16));
    const loss = () => {
      model.eval();
      return gl.noGrad(() => model.forward({ ...held }).loss!.item());
    };
    const before = loss();
    const { optimizer, scheduler } = gl.t5.t5Optimizer(model, { warmupSteps: 100 });
    for (let s = 1; s <= 20; s++) gl.t5.trainStep(model, gl.t5.collateSeq2Seq(examples.slice(16 * s, 16 * s + 16)), optimizer, { scheduler });
    const after = loss();
    assert.ok(after < before - 1, `held-out span-corruption loss ${before} → ${after}`);
  });
});

describe("unigram vocabulary trainer", () => {
  const corpus = [
    "To be, or not to be, that is the question:",
    "Whether 'tis nobler in the mind to suffer",
    "The slings and arrows of outrageous fortune,",
    "Or to take arms against a sea of troubles",
    "add: 12 + 7 = 19",
  ];

  it("writes a loadable spiece.model that covers every character and round-trips the text", () => {
    const bytes = trainUnigramModel(corpus, { vocabSize: 80, maxPieceLength: 6 });
    const tok = gl.t5.T5Tokenizer.fromBytes(bytes);
    assert.ok(tok.sp.pieceSize <= 80);
    assert.deepEqual([tok.sp.idToPiece(0), tok.sp.idToPiece(1), tok.sp.idToPiece(2)], ["<pad>", "</s>", "<unk>"]);
    let pieces = 0;
    for (const line of corpus) {
      const ids = tok.encode(line, { addEos: false });
      assert.ok(!ids.includes(tok.unkTokenId), `unknown piece in ${line}`);
      assert.equal(tok.decode(ids), line);
      pieces += ids.length;
    }
    assert.ok(pieces < 0.75 * corpus.join("").length, `${pieces} pieces for ${corpus.join("").length} characters`);
    // split digits: numbers are spelled digit by digit.
    assert.deepEqual(tok.tokenize("12").filter((p) => /\d/.test(p)), ["1", "2"]);
    const scores = tok.sp.proto.pieces.slice(3).map((p) => p.score);
    assert.deepEqual(scores, [...scores].sort((a, b) => b - a));
  });

  it("refuses a vocabulary smaller than the character set", () => {
    assert.throws(() => trainUnigramModel(corpus, { vocabSize: 10 }), /distinct characters, more than vocabSize − 3 = 7/);
    assert.throws(() => trainUnigramModel([""], { vocabSize: 50 }), /texts are empty/);
  });
});
