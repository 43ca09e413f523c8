import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as gl from "../src/index.js";
import { writeFileAtomic } from "../src/io/node.js";
import { dataFile } from "./paths.js";
import { progressBar } from "./progress.js";
import { writeReport } from "./report.js";

export interface DemoOptions {
  seconds: number;
  hidden: number;
  layers: number;
  batch: number;
  bptt: number;
  seed: number;
  out: string;
  sampleLength: number;
}

export const DEMO_DEFAULTS: DemoOptions = {
  seconds: 60,
  hidden: 128,
  layers: 1,
  batch: 32,
  bptt: 64,
  seed: 0,
  out: "",
  sampleLength: 400,
};

const log = (s: string) => process.stderr.write(s + "\n");

/**
 * The README's main job: a character LSTM on Tiny Shakespeare for a fixed time budget, with a
 * progress bar, validation loss, sample text and a gradient-flow report in a run directory.
 */
export async function runDemo(o: DemoOptions): Promise<{ runDir: string; valLoss: number; steps: number }> {
  gl.manualSeed(o.seed);
  const text = readFileSync(dataFile("tinyshakespeare.txt"), "utf8");
  const tok = gl.data.CharTokenizer.fromText(text);
  const { train, val } = gl.data.trainValSplit(tok.encode(text), 0.1);
  const stream = new gl.data.LMStream(train, o.batch, o.bptt);
  const valStream = new gl.data.LMStream(val, o.batch, o.bptt);
  const model = new gl.models.RNNLM({
    vocabSize: tok.size, embeddingDim: 64, hiddenSize: o.hidden, numLayers: o.layers, cell: "lstm", forgetBias: 1,
  });
  const opt = new gl.optim.Adam(model.parameters(), { lr: 3e-3, globalClipNorm: 1 });
  const monitor = new gl.diagnostics.GradFlowMonitor(model);
  const runDir = o.out || join("runs", `demo-${new Date().toISOString().replace(/[:.]/g, "-")}`);
  mkdirSync(runDir, { recursive: true });
  const recorder = new gl.diagnostics.JsonlRecorder({ sink: await gl.diagnostics.openJsonlFile(join(runDir, "metrics.jsonl")) });
  const config = { command: "demo", ...o, vocabSize: tok.size, parameters: model.numParameters(), backend: gl.getBackend() };
  await writeFileAtomic(join(runDir, "config.json"), new TextEncoder().encode(JSON.stringify(config, null, 2) + "\n"));
  log(`gradlab demo: character LSTM (${model.numParameters().toLocaleString()} parameters, hidden ${o.hidden}, ` +
    `${o.layers} layer${o.layers > 1 ? "s" : ""}) on Tiny Shakespeare for ~${o.seconds}s, batch ${o.batch} × ${o.bptt} characters`);
  log(`run directory: ${runDir}`);

  const tokensPerStep = o.batch * o.bptt;
  let state: gl.models.RecurrentState | null = null;
  let window = 0;
  let step = 0;
  const t0 = performance.now();
  const trainStep = (): number => {
    if (window >= stream.numWindows) {
      window = 0;
      state = null;
    }
    const { input, target } = stream.window(window++);
    const r = model.loss(input, target, state);
    opt.zeroGrad();
    r.loss.backward();
    const probe = step % 10 === 0;
    if (probe) monitor.beforeStep();
    opt.step();
    state = gl.models.detachState(r.state);
    const loss = r.loss.item();
    step++;
    const time = (performance.now() - t0) / 1000;
    recorder.write({ type: "train", step, loss, lr: 3e-3, gradNorm: opt.lastStepInfo?.gradNorm, seen: step * tokensPerStep, time });
    if (probe) recorder.write(monitor.afterStep({ step, loss }));
    return loss;
  };
  // The step count that fits the time budget is re-estimated from the recent pace as the JIT warms up.
  trainStep();
  const estimate = () => {
    const secs = (performance.now() - t0) / 1000;
    return Math.max(step + 1, Math.round(step + ((o.seconds - secs) * step) / secs));
  };
  let total = estimate();
  const bar = progressBar(total, "training", "steps");
  let ema = NaN;
  while (step < total) {
    const loss = trainStep();
    ema = Number.isNaN(ema) ? loss : 0.95 * ema + 0.05 * loss;
    if (step % 5 === 0 && step < total) {
      total = estimate();
      bar.setTotal(total);
    }
    bar.update(step, { loss: ema, "tok/s": Math.round((step * tokensPerStep) / ((performance.now() - t0) / 1000)) });
  }
  bar.stop();
  const trainSecs = (performance.now() - t0) / 1000;

  const valLoss = evaluate(model, valStream, 20);
  recorder.write({ type: "eval", step, loss: valLoss, metrics: { bitsPerChar: valLoss / Math.LN2, perplexity: Math.exp(valLoss) } });
  const sample = tok.decode(model.sample(tok.encode("ROMEO:\n"), o.sampleLength, { temperature: 0.8 }));
  monitor.dispose();

  const lastFlow = [...recorder.records].reverse().find((r) => r.type === "gradflow") as gl.diagnostics.GradFlowRecord | undefined;
  const summary = {
    steps: step, seconds: trainSecs, tokensPerSecond: (step * tokensPerStep) / trainSecs, valLoss,
    valBitsPerChar: valLoss / Math.LN2, trainLoss: ema, ratio: lastFlow?.hidden[0]?.firstOverLast ?? null,
  };
  await writeFileAtomic(join(runDir, "summary.json"), new TextEncoder().encode(JSON.stringify(summary, null, 2) + "\n"));
  const report = await writeReport(runDir, {
    title: "gradlab demo: character LSTM on Tiny Shakespeare",
    records: recorder.records,
    summary: [
      `${step} steps in ${trainSecs.toFixed(1)} s (${Math.round(summary.tokensPerSecond).toLocaleString()} tokens/s, backend "${gl.getBackend()}")`,
      `validation loss ${valLoss.toFixed(3)} nats/char = ${summary.valBitsPerChar.toFixed(3)} bits/char (perplexity ${Math.exp(valLoss).toFixed(2)})`,
    ],
    sample,
  });

  log("");
  log(`validation loss: ${valLoss.toFixed(3)} nats/char (${summary.valBitsPerChar.toFixed(3)} bits/char) after ${step} steps, ${trainSecs.toFixed(1)} s`);
  log("");
  log("sample (temperature 0.8):");
  process.stdout.write("ROMEO:\n" + sample + "\n\n");
  if (lastFlow) {
    log("gradient flow (last measured step):");
    for (const h of lastFlow.hidden) {
      log(`  ${h.module}[layer ${h.layer}] ‖∂J/∂h_1‖/‖∂J/∂h_T‖ = ${h.firstOverLast?.toExponential(2) ?? "n/a"} over ${h.dhNorm.length} steps`);
    }
    for (const f of lastFlow.flags) log(`  flag: ${f.message}`);
    if (!lastFlow.flags.length) log("  no vanishing, exploding or non-finite gradients flagged");
  }
  log(`report: ${report}`);
  return { runDir, valLoss, steps: step };
}

/** Mean loss over the first `windows` validation windows, state carried across them. */
export function evaluate(model: gl.models.RNNLM, stream: gl.data.LMStream, windows: number): number {
  model.eval();
  try {
    return gl.noGrad(() => {
      let state: gl.models.RecurrentState | null = null;
      let sum = 0;
      let n = 0;
      for (let k = 0; k < Math.min(windows, stream.numWindows); k++) {
        const { input, target } = stream.window(k);
        const r = model.loss(input, target, state);
        state = r.state;
        sum += r.loss.item() * input.numel();
        n += input.numel();
      }
      return sum / n;
    });
  } finally {
    model.train();
  }
}
