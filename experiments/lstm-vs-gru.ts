import { readFileSync } from "node:fs";
import * as gl from "../src/index.js";
import { RecurrentNet, accuracy, indexed, mean, now, paramCount, smooth, trainStreamLM } from "./common.js";
import type { ExperimentOptions, ExperimentResult, Figure } from "./report.js";
import { fmt } from "./report.js";

/** The Tiny Shakespeare corpus shipped with the project. */
export function shakespeareText(): string {
  return readFileSync(new URL("../data/tinyshakespeare.txt", import.meta.url), "utf8");
}

/** Parameters of one recurrent layer: gates × (H·in + H·H + 2H). */
export function recurrentParams(cell: "lstm" | "gru", inputSize: number, H: number): number {
  return (cell === "lstm" ? 4 : 3) * (H * inputSize + H * H + 2 * H);
}

/** The GRU hidden size whose layer has the parameter count closest to an LSTM layer of size H. */
export function equalParamGruSize(inputSize: number, H: number): number {
  const target = recurrentParams("lstm", inputSize, H);
  let best = H;
  for (let h = H; h <= 2 * H; h++) if (Math.abs(recurrentParams("gru", inputSize, h) - target) < Math.abs(recurrentParams("gru", inputSize, best) - target)) best = h;
  return best;
}

interface Variant {
  key: string;
  label: string;
  cell: "lstm" | "gru";
  hidden: number;
}

interface LMResult {
  params: number;
  recurrentParams: number;
  losses: number[];
  valLoss: number;
  tokensPerSecond: number;
  /** Tokens per second of CPU time (steadier than the wall clock on a shared machine). */
  cpuTokensPerSecond: number;
  /** Forward + backward of the recurrent layer alone on one [T, B] window, milliseconds. */
  layerMs: number;
  parensAccuracy: number;
  parensLosses: number[];
}

function timeLayer(cell: "lstm" | "gru", inputSize: number, H: number, T: number, B: number, reps: number): number {
  const layer = cell === "lstm" ? new gl.nn.LSTM({ inputSize, hiddenSize: H }) : new gl.nn.GRU({ inputSize, hiddenSize: H });
  const x = gl.randn([T, B, inputSize], { generator: new gl.Generator(1) });
  const run = () => {
    const [y] = layer instanceof gl.nn.LSTM ? layer.forward(x) : layer.forward(x);
    y.sum().backward();
  };
  run();
  // CPU time, not wall-clock: on a shared machine the wall clock mostly measures the neighbours.
  const c0 = process.cpuUsage();
  for (let i = 0; i < reps; i++) run();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000 / reps;
}

/**
 * Experiment 5, LSTM vs GRU: parameters, speed and quality at equal hidden size and at equal
 * parameter count, on character-level language modelling (Tiny Shakespeare) and on balanced
 * parentheses (a task that needs a counter).
 */
export function lstmVsGru(opts: ExperimentOptions = {}): ExperimentResult {
  const t0 = now();
  const full = opts.full ?? false;
  const seed = opts.seed ?? 0;
  const c = full
    ? { chars: 300_000, embed: 32, hidden: 128, batch: 32, bptt: 64, steps: 1500, lr: 3e-3, parens: { minPairs: 4, maxPairs: 20, train: 4000, steps: 1200 }, timing: { T: 64, B: 32, reps: 5 } }
    : { chars: 30_000, embed: 16, hidden: 32, batch: 16, bptt: 32, steps: 60, lr: 1e-2, parens: { minPairs: 1, maxPairs: 6, train: 600, steps: 60 }, timing: { T: 32, B: 16, reps: 2 } };
  const text = shakespeareText().slice(0, c.chars);
  const tok = gl.data.CharTokenizer.fromText(shakespeareText());
  const { train, val } = gl.data.trainValSplit(tok.encode(text), 0.1);
  const gruH = equalParamGruSize(c.embed, c.hidden);
  // What a model that ignores context scores: the entropy of the training characters' frequencies.
  const counts = new Float64Array(tok.size);
  for (const id of train) counts[id]++;
  const unigram = -counts.reduce((s, n) => (n ? s + (n / train.length) * Math.log(n / train.length) : s), 0);
  const variants: Variant[] = [
    { key: "lstm", label: `LSTM (H=${c.hidden})`, cell: "lstm", hidden: c.hidden },
    { key: "gru-same-size", label: `GRU (H=${c.hidden})`, cell: "gru", hidden: c.hidden },
    { key: "gru-same-params", label: `GRU (H=${gruH}, equal parameters)`, cell: "gru", hidden: gruH },
  ];
  const parensTrain = gl.data.parenthesesTask(c.parens, c.parens.train, new gl.Generator(seed + 20));
  const parensTest = gl.data.parenthesesTask(c.parens, 500, new gl.Generator(seed + 21));
  const res: Record<string, LMResult> = {};
  for (const v of variants) {
    const gen = new gl.Generator(seed);
    const lm = new gl.models.RNNLM({ vocabSize: tok.size, embeddingDim: c.embed, hiddenSize: v.hidden, cell: v.cell, generator: gen });
    const stream = new gl.data.LMStream(train, c.batch, c.bptt);
    const s0 = now();
    const cpu0 = process.cpuUsage();
    const { losses, tokens } = trainStreamLM(lm, stream, { steps: c.steps, lr: c.lr });
    const tokensPerSecond = tokens / (now() - s0);
    const cpu = process.cpuUsage(cpu0);
    const cpuTokensPerSecond = tokens / ((cpu.user + cpu.system) / 1e6);
    const valLoss = gl.noGrad(() => {
      lm.eval();
      const vs = new gl.data.LMStream(val, 1, 256);
      let st: gl.models.RecurrentState | null = null;
      let sum = 0;
      let n = 0;
      for (const w of vs) {
        const r = lm.loss(w.input, w.target, st);
        st = r.state;
        sum += r.loss.item() * w.input.numel();
        n += w.input.numel();
      }
      return sum / n;
    });
    // Balanced parentheses with the same cell and hidden size.
    const clf = new RecurrentNet({ cell: v.cell, vocab: gl.data.PAREN.vocab, embeddingDim: 8, hiddenSize: v.hidden, outputs: 2, perStep: false, generator: new gl.Generator(seed) });
    const copt = new gl.optim.Adam(clf.parameters(), { lr: c.lr });
    const data = new gl.Generator(seed + 1);
    const parensLosses: number[] = [];
    while (parensLosses.length < c.parens.steps) {
      for (const b of gl.data.sequenceClassificationBatches(parensTrain, 32, { generator: data })) {
        const loss = gl.crossEntropy(clf.forward(b.ids, b.lengths), b.target);
        copt.zeroGrad();
        loss.backward();
        gl.optim.clipGradNorm(clf.parameters(), 1);
        copt.step();
        parensLosses.push(loss.item());
        if (parensLosses.length >= c.parens.steps) break;
      }
    }
    const tb = gl.data.sequenceClassificationBatch(parensTest);
    const parensAccuracy = gl.noGrad(() => accuracy(clf.forward(tb.ids, tb.lengths), tb.target));
    res[v.key] = {
      params: paramCount(lm), recurrentParams: paramCount(lm.rnn), losses, valLoss, tokensPerSecond, cpuTokensPerSecond,
      layerMs: timeLayer(v.cell, c.embed, v.hidden, c.timing.T, c.timing.B, c.timing.reps), parensAccuracy, parensLosses,
    };
    opts.log?.(`lstm-vs-gru ${v.key}: ${res[v.key].recurrentParams} params, val ${fmt(valLoss)} nats/char, ${fmt(tokensPerSecond)} tokens/s (${fmt(cpuTokensPerSecond)} per CPU second), parentheses ${fmt(parensAccuracy)}`);
  }
  const figures: Figure[] = [
    {
      file: "lm-loss.svg",
      title: "Character language model: training loss",
      svg: gl.diagnostics.lineChartSvg(variants.map((v) => ({ label: v.label, points: indexed(smooth(res[v.key].losses, 0.9)), markers: false })), {
        title: "Tiny Shakespeare, training loss (smoothed)", xLabel: "step", yLabel: "nats per character", guides: [{ y: unigram, label: "unigram entropy" }],
      }),
      caption: `Training cross-entropy per character on the first ${c.chars} characters of Tiny Shakespeare (windows of ${c.bptt}, batch ${c.batch}, state carried across windows).`,
    },
    {
      file: "lm-loss-time.svg",
      title: "Training loss against wall-clock time",
      svg: gl.diagnostics.lineChartSvg(
        variants.map((v) => {
          const secPerStep = c.batch * c.bptt / res[v.key].cpuTokensPerSecond;
          return { label: v.label, points: smooth(res[v.key].losses, 0.9).map((l, i) => [(i + 1) * secPerStep, l] as [number, number]), markers: false };
        }),
        { title: "Training loss against CPU time", xLabel: "CPU seconds", yLabel: "nats per character" },
      ),
      caption: "The same curves against CPU time: what a fixed compute budget buys with each cell.",
    },
    {
      file: "parens-loss.svg",
      title: "Balanced parentheses: training loss",
      svg: gl.diagnostics.lineChartSvg(variants.map((v) => ({ label: v.label, points: indexed(smooth(res[v.key].parensLosses, 0.9)), markers: false })), {
        title: "Balanced parentheses, training loss (smoothed)", xLabel: "step", yLabel: "cross-entropy (nats)", guides: [{ y: Math.log(2), label: "chance" }],
      }),
      caption: `Classifying strings of ${2 * c.parens.minPairs}–${2 * c.parens.maxPairs} parentheses as balanced or not; half the negatives have equal counts, so the network must track the running depth.`,
    },
  ];
  const rows = variants.map((v) => [v.label, res[v.key].recurrentParams, res[v.key].params, res[v.key].cpuTokensPerSecond, res[v.key].tokensPerSecond, res[v.key].layerMs, res[v.key].valLoss, res[v.key].parensAccuracy]);
  const L = res.lstm;
  const G = res["gru-same-size"];
  const E = res["gru-same-params"];
  const summary = [
    `Question: is the GRU a cheaper LSTM? A GRU layer has 3 gate blocks to the LSTM's 4, so at the same hidden size it has 3/4 of the parameters (${G.recurrentParams} vs ${L.recurrentParams}) and does about 3/4 of the matrix work; at H = ${gruH} it matches the LSTM's parameter count (${E.recurrentParams}).`,
    `Speed (whole training step, tokens per CPU second): LSTM ${fmt(L.cpuTokensPerSecond)}, GRU same size ${fmt(G.cpuTokensPerSecond)}, GRU same parameters ${fmt(E.cpuTokensPerSecond)} (wall-clock on this shared machine: ${fmt(L.tokensPerSecond)}, ${fmt(G.tokensPerSecond)}, ${fmt(E.tokensPerSecond)}). Recurrent layer alone, forward + backward of a [${c.timing.T}, ${c.timing.B}] window, CPU time: ${fmt(L.layerMs)} ms, ${fmt(G.layerMs)} ms, ${fmt(E.layerMs)} ms.`,
    `Quality after ${c.steps} steps, validation loss in nats/char (last 10% of the slice; the unigram entropy is ${fmt(unigram)}): LSTM ${fmt(L.valLoss)}, GRU same size ${fmt(G.valLoss)}, GRU same parameters ${fmt(E.valLoss)}. Balanced-parentheses test accuracy: ${fmt(L.parensAccuracy)}, ${fmt(G.parensAccuracy)}, ${fmt(E.parensAccuracy)}.`,
    "Chung et al. (2014) and Jozefowicz et al. (2015) found the two close, with the ranking depending on the task; what changes reliably is the cost, which follows the gate count.",
  ];
  return {
    name: "lstm-vs-gru", title: "LSTM vs GRU: parameters, speed and quality", setting: full ? "full" : "reduced",
    config: { ...c, seed, gruEqualParamsHidden: gruH }, summary,
    metrics: { unigramEntropy: unigram, ...Object.fromEntries(variants.map((v) => [v.key, { ...res[v.key], hidden: v.hidden, losses: undefined, parensLosses: undefined, finalTrainLoss: mean(res[v.key].losses.slice(-20)) }])) },
    figures,
    tables: [{ title: "Per variant", columns: ["variant", "recurrent params", "model params", "tokens per CPU s", "tokens per wall s", "layer fwd+bwd CPU ms", "val nats/char", "parentheses accuracy"], rows }],
    seconds: now() - t0,
  };
}
