import * as gl from "../src/index.js";
import { RecurrentNet, accuracy, indexed, mean, now, smooth } from "./common.js";
import type { ExperimentOptions, ExperimentResult, Figure } from "./report.js";
import { fmt } from "./report.js";

function train(model: RecurrentNet, steps: number, lr: number, batch: () => gl.data.TokenBatch, classes: number): number[] {
  const opt = new gl.optim.Adam(model.parameters(), { lr });
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    const b = batch();
    const loss = gl.crossEntropy(model.forward(b.input).reshape([-1, classes]), b.target.reshape([-1]));
    opt.zeroGrad();
    loss.backward();
    gl.optim.clipGradNorm(model.parameters(), 1);
    opt.step();
    losses.push(loss.item());
  }
  return losses;
}

/** Next-token targets for a [T, B] batch of tokens: inputs are steps 0..T−2, targets 1..T−1. */
function lmBatch(V: number, T: number, B: number, gen: gl.Generator): gl.data.TokenBatch {
  const ids = new Int32Array((T + 1) * B);
  for (let i = 0; i < ids.length; i++) ids[i] = gen.randint(0, V);
  return { input: new gl.Tensor(ids.slice(0, T * B), [T, B]), target: new gl.Tensor(ids.slice(B), [T, B]) };
}

/**
 * Experiment 6, bidirectional layers: (a) a tagging task whose tags depend on the next token,
 * where a left-to-right LSTM can only guess and a bidirectional one is exact; (b) why a
 * bidirectional layer cannot be a language model: trained to predict the next token of i.i.d.
 * random tokens (entropy ln V, which no honest model can beat) its loss collapses towards 0,
 * because the reverse direction has already read the token it is asked to predict.
 */
export function bidirectional(opts: ExperimentOptions = {}): ExperimentResult {
  const t0 = now();
  const full = opts.full ?? false;
  const seed = opts.seed ?? 0;
  const c = full
    ? { tag: { length: 30, vocab: 10, classes: 5, offset: 2 }, lm: { vocab: 16, length: 30 }, hidden: 64, batch: 32, steps: 1500, lr: 5e-3 }
    : { tag: { length: 12, vocab: 6, classes: 3, offset: 1 }, lm: { vocab: 8, length: 12 }, hidden: 24, batch: 32, steps: 120, lr: 2e-2 };
  const res: Record<string, { losses: number[]; final: number }> = {};
  const tagAcc: Record<string, number> = {};
  const testTag = gl.data.rightContextTagging(c.tag, 500, new gl.Generator(seed + 7));
  for (const bi of [false, true]) {
    const key = bi ? "bi" : "uni";
    const model = new RecurrentNet({ cell: "lstm", vocab: c.tag.vocab, embeddingDim: 16, hiddenSize: c.hidden, bidirectional: bi, outputs: c.tag.classes, perStep: true, generator: new gl.Generator(seed) });
    const data = new gl.Generator(seed + 1);
    const losses = train(model, c.steps, c.lr, () => gl.data.rightContextTagging(c.tag, c.batch, data), c.tag.classes);
    res[`tag-${key}`] = { losses, final: mean(losses.slice(-20)) };
    tagAcc[key] = gl.noGrad(() => accuracy(model.forward(testTag.input), testTag.target));
    const lm = new RecurrentNet({ cell: "lstm", vocab: c.lm.vocab, embeddingDim: 16, hiddenSize: c.hidden, bidirectional: bi, outputs: c.lm.vocab, perStep: true, generator: new gl.Generator(seed) });
    const lmData = new gl.Generator(seed + 2);
    const lmLosses = train(lm, c.steps, c.lr, () => lmBatch(c.lm.vocab, c.lm.length, c.batch, lmData), c.lm.vocab);
    res[`lm-${key}`] = { losses: lmLosses, final: mean(lmLosses.slice(-20)) };
    opts.log?.(`bidirectional ${key}: tagging accuracy ${fmt(tagAcc[key])}, LM loss ${fmt(res[`lm-${key}`].final)} (entropy ${fmt(Math.log(c.lm.vocab))})`);
  }
  const entropy = Math.log(c.lm.vocab);
  const figures: Figure[] = [
    {
      file: "tagging-loss.svg",
      title: "Tagging with right context",
      svg: gl.diagnostics.lineChartSvg(
        [{ label: "unidirectional LSTM", points: indexed(smooth(res["tag-uni"].losses, 0.9)), markers: false }, { label: "bidirectional LSTM", points: indexed(smooth(res["tag-bi"].losses, 0.9)), markers: false }],
        { title: `Tagging y_t = (x_t + x_{t+${c.tag.offset}}) mod ${c.tag.classes}: training loss`, xLabel: "step", yLabel: "cross-entropy (nats)", guides: [{ y: Math.log(c.tag.classes), label: "chance" }] },
      ),
      caption: `Each tag depends on the token ${c.tag.offset} step(s) to the right. The left-to-right model has not read it when it must tag, so it stays near chance (ln ${c.tag.classes}); the bidirectional model's reverse direction has, and the task becomes a lookup.`,
    },
    {
      file: "bidirectional-lm.svg",
      title: "A bidirectional language model sees the answer",
      svg: gl.diagnostics.lineChartSvg(
        [{ label: "unidirectional LM", points: indexed(smooth(res["lm-uni"].losses, 0.9)), markers: false }, { label: "bidirectional \"LM\"", points: indexed(smooth(res["lm-bi"].losses, 0.9)), markers: false }],
        { title: "Next-token loss on i.i.d. uniform tokens", xLabel: "step", yLabel: "cross-entropy (nats)", guides: [{ y: entropy, label: `entropy ln ${c.lm.vocab}: the floor for any real predictor` }] },
      ),
      caption: `The tokens are independent and uniform over ${c.lm.vocab} symbols, so no predictor can get below ln ${c.lm.vocab} = ${fmt(entropy)} nats. The unidirectional model stays there. The bidirectional one falls far below it: its reverse direction reads x_{t+1} before the output at t is computed, so it copies the answer. Such a model is useless for generation, where the future does not exist yet; bidirectional layers belong in encoders and taggers, never in a model that predicts the next token.`,
    },
  ];
  const summary = [
    `Part (a): tagging where y_t = (x_t + x_{t+${c.tag.offset}}) mod ${c.tag.classes} over ${c.tag.vocab} tokens, sequences of ${c.tag.length}. Test accuracy: unidirectional ${fmt(tagAcc.uni)}, bidirectional ${fmt(tagAcc.bi)} (chance ${fmt(1 / c.tag.classes)}; a left-to-right model can be exact only at the last ${c.tag.offset} position(s), where the right neighbour is padding).`,
    `Part (b): next-token prediction on i.i.d. uniform tokens (entropy ln ${c.lm.vocab} = ${fmt(entropy)} nats). Final training loss: unidirectional ${fmt(res["lm-uni"].final)}, bidirectional ${fmt(res["lm-bi"].final)}. A loss below the entropy of the data is impossible for a model that only reads the past: the bidirectional model is reading the future.`,
    `Both parts: LSTM, hidden ${c.hidden}, ${c.steps} Adam steps (lr ${c.lr}, batch ${c.batch}).`,
  ];
  return {
    name: "bidirectional", title: "Bidirectional layers: right context helps taggers, and leaks the answer to language models", setting: full ? "full" : "reduced",
    config: { ...c, seed }, summary,
    metrics: {
      tagging: { uniAccuracy: tagAcc.uni, biAccuracy: tagAcc.bi, uniFinalLoss: res["tag-uni"].final, biFinalLoss: res["tag-bi"].final },
      lm: { entropy, uniFinalLoss: res["lm-uni"].final, biFinalLoss: res["lm-bi"].final },
    },
    figures,
    tables: [
      { title: "Results", columns: ["model", "tagging accuracy", "LM loss (nats)", "LM entropy floor"], rows: [["unidirectional", tagAcc.uni, res["lm-uni"].final, entropy], ["bidirectional", tagAcc.bi, res["lm-bi"].final, entropy]] },
    ],
    seconds: now() - t0,
  };
}
