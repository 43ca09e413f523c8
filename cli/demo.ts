import { join } from "node:path";
import * as gl from "../src/index.js";
import { writeFileAtomic } from "../src/io/node.js";
import { LM_DEFAULTS, resolveConfig } from "./lmconfig.js";
import { LMSession } from "./lmsession.js";
import { trainLoop } from "./loop.js";
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

export const DEMO_DEFAULTS: DemoOptions = { seconds: 60, hidden: 128, layers: 1, batch: 32, bptt: 64, seed: 0, out: "", sampleLength: 400 };

const log = (s: string) => process.stderr.write(s + "\n");

export function defaultRunDir(kind: string): string {
  return join("runs", `${kind}-${new Date().toISOString().replace(/[:.]/g, "-")}`);
}

/**
 * The README's main job: a character LSTM on Tiny Shakespeare for a time budget, with a progress
 * bar, validation loss, sample text and a gradient-flow report in a run directory that the other
 * commands (sample, eval, resume, dashboard) accept.
 */
export async function runDemo(o: DemoOptions): Promise<{ runDir: string; valLoss: number; steps: number }> {
  const config = resolveConfig({
    hiddenSize: o.hidden, numLayers: o.layers, batch: o.batch, bptt: o.bptt, seed: o.seed,
    evalEvery: 0, checkpointEvery: 0, steps: LM_DEFAULTS.steps,
  }, "demo");
  const runDir = o.out || defaultRunDir("demo");
  const s = await LMSession.open(config, runDir, { fresh: true });
  log(`gradlab demo: character LSTM (${s.model.numParameters().toLocaleString()} parameters, hidden ${o.hidden}, ` +
    `${o.layers} layer${o.layers > 1 ? "s" : ""}) on Tiny Shakespeare for ~${o.seconds}s, batch ${o.batch} × ${o.bptt} characters, backend "${gl.getBackend()}"`);
  log(`run directory: ${runDir}`);
  const { seconds, trainLoss } = await trainLoop(s, { seconds: o.seconds });
  const valLoss = s.evaluate();
  s.recordEval(valLoss);
  const sample = s.sample("ROMEO:\n", o.sampleLength, { temperature: 0.8 });
  s.dispose();

  const lastFlow = [...s.recorder.records].reverse().find((r) => r.type === "gradflow") as gl.diagnostics.GradFlowRecord | undefined;
  const tokensPerSecond = (s.step * s.tokensPerStep) / seconds;
  const summary = {
    steps: s.step, seconds, tokensPerSecond, trainLoss, valLoss, valBitsPerChar: valLoss / Math.LN2, backend: gl.getBackend(),
    hiddenGradRatio: lastFlow?.hidden[0]?.firstOverLast ?? null,
  };
  await writeFileAtomic(join(runDir, "summary.json"), new TextEncoder().encode(JSON.stringify(summary, null, 2) + "\n"));
  const report = await writeReport(runDir, {
    title: "gradlab demo: character LSTM on Tiny Shakespeare",
    records: s.recorder.records,
    summary: [
      `${s.step} steps in ${seconds.toFixed(1)} s (${Math.round(tokensPerSecond).toLocaleString()} tokens/s, backend "${gl.getBackend()}")`,
      `validation loss ${valLoss.toFixed(3)} nats/char = ${summary.valBitsPerChar.toFixed(3)} bits/char (perplexity ${Math.exp(valLoss).toFixed(2)})`,
    ],
    sample,
  });

  log("");
  log(`validation loss: ${valLoss.toFixed(3)} nats/char (${summary.valBitsPerChar.toFixed(3)} bits/char) after ${s.step} steps, ${seconds.toFixed(1)} s`);
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
  log(`next: npx gradlab sample ${runDir}   |   npx gradlab resume ${runDir} --steps ${s.step + 200}   |   npx gradlab dashboard ${runDir}`);
  return { runDir, valLoss, steps: s.step };
}
