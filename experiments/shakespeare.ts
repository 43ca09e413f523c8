/**
 * Tiny Shakespeare: a 2-layer LSTM character model, the classic char-rnn setup (Karpathy 2015),
 * trained on the first 90% of the corpus and evaluated on the last 10%; target ≤ 1.60 nats/char.
 *
 *   node --import tsx experiments/shakespeare.ts [--steps N] [--out DIR] [--threads N] [--bench]
 *
 * The configuration (FULL below): characters → embedding 64 → LSTM 256 → LSTM 256 → linear over
 * the 65 characters; forget-gate bias 1; no dropout (a few epochs do not overfit a model this
 * size); contiguous-stream batches of 32 × 64 characters with the state carried across windows
 * (truncated BPTT); Adam lr 2e-3 with 100 warm-up steps and a cosine decay to 5% at the last step;
 * gradients clipped to global norm 1. One epoch is about 490 steps. Progress is appended to
 * progress.jsonl in the output directory as it runs; --bench times 20 steps and exits.
 */
import { appendFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as gl from "../src/index.js";
import { indexed, mean, now, smooth } from "./common.js";
import { shakespeareText } from "./lstm-vs-gru.js";
import type { ExperimentOptions, ExperimentResult, Figure } from "./report.js";
import { fmt, writeReport } from "./report.js";

export interface ShakespeareConfig {
  /** Characters of the corpus used (the whole corpus: 1115394). */
  chars: number;
  embed: number;
  hidden: number;
  layers: number;
  dropout: number;
  batch: number;
  bptt: number;
  steps: number;
  lr: number;
  warmup: number;
  minLrFactor: number;
  clip: number;
  evalEvery: number;
  /** Characters of the validation part used by the periodic evaluations (the final one uses all). */
  evalChars: number;
  /** Characters sampled after the prompt at the end. */
  sampleLength: number;
  seed: number;
}

export const FULL: ShakespeareConfig = {
  chars: 1115394, embed: 64, hidden: 256, layers: 2, dropout: 0, batch: 32, bptt: 64, steps: 3000, lr: 2e-3, warmup: 100, minLrFactor: 0.05,
  clip: 1, evalEvery: 250, evalChars: 20000, sampleLength: 500, seed: 0,
};

export const REDUCED: ShakespeareConfig = {
  chars: 40000, embed: 32, hidden: 64, layers: 2, dropout: 0, batch: 16, bptt: 32, steps: 100, lr: 1e-2, warmup: 5, minLrFactor: 0.1,
  clip: 1, evalEvery: 50, evalChars: 2000, sampleLength: 100, seed: 0,
};

export interface ShakespeareRun {
  evals: { step: number; valLoss: number; seconds: number }[];
  losses: number[];
  finalValLoss: number;
  tokensPerSecond: number;
  cpuTokensPerSecond: number;
  seconds: number;
  sample: string;
  params: number;
}

/** Mean nats/char over `ids`, read as 16 contiguous streams with the state carried across windows. */
export function evalNats(lm: gl.models.RNNLM, ids: Int32Array): number {
  return gl.noGrad(() => {
    const was = lm.training;
    lm.eval();
    let st: gl.models.RecurrentState | null = null;
    let sum = 0;
    let n = 0;
    for (const w of new gl.data.LMStream(ids, Math.min(16, Math.floor(ids.length / 2)), 128)) {
      const r = lm.loss(w.input, w.target, st);
      st = r.state;
      sum += r.loss.item() * w.input.numel();
      n += w.input.numel();
    }
    lm.train(was);
    return sum / n;
  });
}

export function trainShakespeare(c: ShakespeareConfig, hooks: { log?: (s: string) => void; progress?: (rec: object) => void } = {}): ShakespeareRun {
  const text = shakespeareText();
  const tok = gl.data.CharTokenizer.fromText(text);
  const { train, val } = gl.data.trainValSplit(tok.encode(text.slice(0, c.chars)), 0.1);
  const lm = new gl.models.RNNLM({
    vocabSize: tok.size, embeddingDim: c.embed, hiddenSize: c.hidden, numLayers: c.layers, cell: "lstm", dropout: c.dropout, forgetBias: 1,
    generator: new gl.Generator(c.seed),
  });
  const opt = new gl.optim.Adam(lm.parameters(), { lr: c.lr });
  const sched = new gl.optim.lrScheduler.LRScheduler(opt, gl.optim.lrScheduler.cosineWithWarmup({ warmupSteps: c.warmup, totalSteps: c.steps, minFactor: c.minLrFactor }));
  const stream = new gl.data.LMStream(train, c.batch, c.bptt);
  const evalIds = val.subarray(0, Math.min(val.length, c.evalChars));
  const losses: number[] = [];
  const evals: ShakespeareRun["evals"] = [];
  let state: gl.models.RecurrentState | null = null;
  let tokens = 0;
  let trainSeconds = 0;
  let cpu = 0;
  const t0 = now();
  for (let step = 0, k = 0; step < c.steps; step++, k = (k + 1) % stream.numWindows) {
    if (k === 0) state = null;
    const s0 = now();
    const c0 = process.cpuUsage();
    const w = stream.window(k);
    const r = lm.loss(w.input, w.target, state);
    opt.zeroGrad();
    r.loss.backward();
    gl.optim.clipGradNorm(lm.parameters(), c.clip);
    opt.step();
    sched.step();
    state = gl.models.detachState(r.state);
    const cu = process.cpuUsage(c0);
    cpu += (cu.user + cu.system) / 1e6;
    trainSeconds += now() - s0;
    tokens += w.input.numel();
    losses.push(r.loss.item());
    if ((step + 1) % c.evalEvery === 0 || step + 1 === c.steps) {
      const valLoss = evalNats(lm, evalIds);
      const rec = { step: step + 1, valLoss, trainLoss: mean(losses.slice(-c.evalEvery)), seconds: now() - t0, tokensPerSecond: tokens / trainSeconds, cpuTokensPerSecond: tokens / cpu, lr: sched.getLastLr()[0] };
      evals.push({ step: step + 1, valLoss, seconds: rec.seconds });
      hooks.progress?.(rec);
      hooks.log?.(`step ${step + 1}: train ${fmt(rec.trainLoss)}, val ${fmt(valLoss)} nats/char, ${fmt(rec.tokensPerSecond)} tokens/s (${fmt(rec.cpuTokensPerSecond)} per CPU second), ${fmt(rec.seconds)} s`);
    }
  }
  const finalValLoss = evalNats(lm, val);
  const prompt = tok.encode("ROMEO:\n");
  const sample = "ROMEO:\n" + tok.decode(lm.sample(prompt, c.sampleLength, { temperature: 0.8, generator: new gl.Generator(c.seed + 5) }));
  return {
    evals, losses, finalValLoss, tokensPerSecond: tokens / trainSeconds, cpuTokensPerSecond: tokens / cpu, seconds: now() - t0, sample,
    params: lm.parameters().reduce((n, p) => n + p.numel(), 0),
  };
}

export function shakespeareReport(c: ShakespeareConfig, r: ShakespeareRun, setting: "reduced" | "full"): ExperimentResult {
  const figures: Figure[] = [
    {
      file: "loss.svg",
      title: "Training and validation loss",
      svg: gl.diagnostics.lineChartSvg(
        [
          { label: "train (smoothed)", points: indexed(smooth(r.losses, 0.98), 1, 1), markers: false },
          { label: `validation (first ${c.evalChars} chars of the last 10%)`, points: r.evals.map((e) => [e.step, e.valLoss] as [number, number]) },
        ],
        { title: "Tiny Shakespeare, 2-layer LSTM", xLabel: "step", yLabel: "nats per character", guides: [{ y: 1.6, label: "target 1.60" }] },
      ),
      caption: "Cross-entropy per character. The target line is 1.60 nats/char (2.31 bits/char) on the held-out last 10% of the corpus.",
    },
  ];
  const summary = [
    `A ${c.layers}-layer LSTM (hidden ${c.hidden}, embedding ${c.embed}, ${r.params} parameters) trained for ${c.steps} steps of ${c.batch} × ${c.bptt} characters (${fmt((c.steps * c.batch * c.bptt) / (0.9 * c.chars))} epochs over ${c.chars} characters).`,
    `Final validation loss on the whole last 10%: **${fmt(r.finalValLoss)} nats/char** (${fmt(r.finalValLoss / Math.LN2)} bits/char); target ≤ 1.60. Training speed ${fmt(r.tokensPerSecond)} tokens/s wall-clock, ${fmt(r.cpuTokensPerSecond)} tokens per CPU second; ${fmt(r.seconds)} s in all.`,
    "Sample at temperature 0.8, after the prompt \"ROMEO:\":",
    `\`\`\`\n${r.sample}\n\`\`\``,
  ];
  return {
    name: "shakespeare", title: "Tiny Shakespeare: 2-layer LSTM character model", setting, config: { ...c }, summary,
    metrics: { finalValLoss: r.finalValLoss, evals: r.evals, tokensPerSecond: r.tokensPerSecond, cpuTokensPerSecond: r.cpuTokensPerSecond, seconds: r.seconds, params: r.params, sample: r.sample },
    figures, tables: [{ title: "Validation during training", columns: ["step", "val nats/char", "seconds"], rows: r.evals.map((e) => [e.step, e.valLoss, e.seconds]) }],
    seconds: r.seconds,
  };
}

/** The experiment-registry entry: the reduced setting trains a small model on a slice in seconds. */
export function shakespeare(opts: ExperimentOptions = {}): ExperimentResult {
  const c = { ...(opts.full ? FULL : REDUCED), seed: opts.seed ?? 0 };
  return shakespeareReport(c, trainShakespeare(c, { log: opts.log }), opts.full ? "full" : "reduced");
}

function main(argv: string[]): void {
  const arg = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const out = arg("--out") ?? join("runs", "experiments", "shakespeare");
  if (arg("--threads")) gl.setNumThreads(Number(arg("--threads")));
  if (argv.includes("--bench")) {
    const r = trainShakespeare({ ...FULL, steps: 20, warmup: 5, evalEvery: 1e9, evalChars: 256, chars: 200000 });
    console.log(`2-layer LSTM ${FULL.hidden}: ${fmt(r.tokensPerSecond)} tokens/s wall-clock, ${fmt(r.cpuTokensPerSecond)} tokens per CPU second (batch ${FULL.batch} × ${FULL.bptt})`);
    return;
  }
  const c = { ...FULL, steps: Number(arg("--steps") ?? FULL.steps) };
  mkdirSync(out, { recursive: true });
  const progress = join(out, "progress.jsonl");
  const r = trainShakespeare(c, { log: (s) => console.log(s), progress: (rec) => appendFileSync(progress, JSON.stringify(rec) + "\n") });
  const files = writeReport(out, shakespeareReport(c, r, "full"));
  console.log(`final validation ${fmt(r.finalValLoss)} nats/char; ${files.length} files in ${out}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main(process.argv.slice(2));
