/**
 * `gradlab t5 train`: span-corruption pre-training or text-to-text fine-tuning of a T5 with
 * Adafactor and the inverse-square-root schedule, into a directory that `gradlab t5 generate
 * --model` reads and `gradlab t5 train --resume` continues exactly.
 */
import { type Command, InvalidArgumentError, Option } from "commander";
import * as gl from "../src/index.js";
import { int, num } from "./commands.js";
import { defaultRunDir } from "./demo.js";
import { progressBar } from "./progress.js";
import { type Objective, type T5TrainArgs, T5TrainSession, absolute } from "./t5session.js";

const log = (s: string) => process.stderr.write(s + "\n");

export const T5_TRAIN_DEFAULTS = {
  objective: "span" as Objective,
  steps: 1000,
  batchSize: 32,
  lr: 0.01,
  warmupSteps: 100,
  maxGradNorm: 1,
  seed: 0,
  window: 64,
  saveEvery: 100,
  evalEvery: 0,
  evalExamples: 300,
};

/** Options that define a run; with --resume only --steps (and the schedules of saving/eval are kept). */
const RUN_OPTIONS = ["objective", "data", "model", "config", "tokenizer", "out", "batchSize", "lr", "warmupSteps", "maxGradNorm", "seed", "window", "saveEvery", "evalEvery", "evalExamples"];

interface Opts {
  objective: string;
  data?: string;
  model?: string;
  config?: string;
  tokenizer?: string;
  out?: string;
  resume?: string;
  steps?: number;
  batchSize: number;
  lr: number;
  warmupSteps: number;
  maxGradNorm: number;
  seed: number;
  window: number;
  saveEvery: number;
  evalEvery: number;
  evalExamples: number;
  threads?: number;
}

const fmt = (m: Record<string, number>) =>
  Object.entries(m).map(([k, v]) => (k === "loss" ? `loss ${v.toFixed(3)}` : `${k} ${(100 * v).toFixed(1)}%`)).join(", ");

async function train(s: T5TrainSession, steps: number): Promise<void> {
  let interrupted = false;
  const onSigint = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write("\ninterrupted: finishing the current step and saving (Ctrl-C again to quit now)\n");
  };
  process.on("SIGINT", onSigint);
  const { evalEvery, saveEvery } = s.args;
  const start = s.step;
  const t0 = performance.now();
  const elapsed = () => (performance.now() - t0) / 1000;
  const bar = progressBar(steps - start, "t5 train", "steps");
  let ema = NaN;
  let lastYield = performance.now();
  let last: Record<string, number> | null = null;
  try {
    while (s.step < steps && !interrupted) {
      // Signal handlers run on the event loop: let it turn now and then, or Ctrl-C waits for the end.
      if (performance.now() - lastYield > 50) {
        await new Promise((r) => setImmediate(r));
        lastYield = performance.now();
      }
      const loss = s.trainStep(elapsed);
      ema = Number.isNaN(ema) ? loss : 0.95 * ema + 0.05 * loss;
      if (evalEvery > 0 && s.step % evalEvery === 0 && s.step < steps) {
        s.recordEval((last = s.evaluate()));
        log(`step ${s.step}: held-out ${fmt(last)}`);
      }
      if (saveEvery > 0 && s.step % saveEvery === 0) await s.save();
      bar.update(s.step - start, { loss: ema, "tok/s": Math.round(s.tokensSeen / elapsed()) });
    }
  } finally {
    bar.stop();
    process.off("SIGINT", onSigint);
  }
  const seconds = elapsed();
  if (!(saveEvery > 0 && s.step % saveEvery === 0 && s.step > start)) await s.save();
  if (interrupted) {
    log(`stopped at step ${s.step}; continue with: gradlab t5 train --resume ${s.out}`);
    return;
  }
  const final = s.evaluate();
  s.recordEval(final);
  const tokensPerSecond = s.tokensSeen / Math.max(seconds, 1e-9);
  log(`step ${s.step}: train loss ${s.recentLoss().toFixed(3)} (mean of the last 50 steps), held-out ${fmt(final)}; ${tokensPerSecond.toFixed(0)} tokens/s; saved ${s.out}`);
  const summary = { step: s.step, trainLoss: s.recentLoss(), eval: final, tokensPerSecond, seconds };
  process.stdout.write(JSON.stringify(summary) + "\n");
}

export function registerT5Train(t5: Command): void {
  const d = T5_TRAIN_DEFAULTS;
  t5.command("train")
    .description("Train a T5 with Adafactor: span-corruption pre-training or text-to-text fine-tuning, saved in Hugging Face's layout")
    .addOption(new Option("--objective <kind>", "span: span corruption on a text file; tasks: text-to-text pairs").choices(["span", "tasks"]).default(d.objective))
    .option("--data <file>", "span: a text file (default the bundled Tiny Shakespeare); tasks: a TSV of input<TAB>target lines (default generated reverse/sort/add tasks)")
    .option("--model <dir>", "start from a Hugging Face checkpoint directory (config.json, model.safetensors, spiece.model)")
    .option("--config <tiny|file>", "start from scratch: \"tiny\" or a config.json file (vocab_size defaults to the tokenizer's) (default: tiny)")
    .option("--tokenizer <file>", "SentencePiece model (default <model>/spiece.model, or the bundled one from scratch)")
    .option("--out <dir>", "output directory (default runs/t5-<time>)")
    .option("--resume <dir>", "continue the run in this directory exactly where its last save left it")
    .option("--steps <n>", `train until this total step count (default ${d.steps})`, int("--steps"))
    .option("--batch-size <n>", "examples per batch", int("--batch-size"), d.batchSize)
    .option("--lr <x>", "Adafactor learning rate before the inverse-square-root decay", num("--lr", 0, true), d.lr)
    .option("--warmup-steps <n>", "constant learning rate for this many steps, then lr·√(warmup/step)", int("--warmup-steps"), d.warmupSteps)
    .option("--max-grad-norm <x>", "clip gradients to this global L2 norm (0: off)", num("--max-grad-norm"), d.maxGradNorm)
    .option("--seed <n>", "random seed (initialisation, data order, span corruption)", int("--seed", 0), d.seed)
    .option("--window <n>", "span: tokens per training window before corruption", int("--window", 2), d.window)
    .option("--save-every <n>", "save every n steps (0: only at the end)", int("--save-every", 0), d.saveEvery)
    .option("--eval-every <n>", "evaluate on held-out data every n steps (0: only at the end)", int("--eval-every", 0), d.evalEvery)
    .option("--eval-examples <n>", "held-out examples: generated tasks scored by exact match, or span-corruption windows (whole batches) for the validation loss", int("--eval-examples"), d.evalExamples)
    .option("--threads <n>", "compute threads of the fast backend", int("--threads"))
    .action(async (o: Opts, cmd: Command) => {
      if (o.threads) gl.setNumThreads(o.threads);
      if (o.resume !== undefined) {
        const given = RUN_OPTIONS.filter((k) => cmd.getOptionValueSource(k) === "cli");
        if (given.length) {
          const flags = given.map((k) => "--" + k.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase()));
          throw new InvalidArgumentError(`--resume continues a run with its saved settings; only --steps and --threads may be given with it, not ${flags.join(", ")}`);
        }
        const { session, path } = await T5TrainSession.resume(o.resume);
        const steps = o.steps ?? session.args.steps;
        log(`resuming ${o.resume} from ${path} (step ${session.step}) to step ${steps}`);
        if (session.step >= steps) {
          log(`nothing to do: the run is at step ${session.step}; pass --steps N with N > ${session.step} to train further`);
          return;
        }
        await train(session, steps);
        return;
      }
      if (o.model !== undefined && o.config !== undefined) throw new InvalidArgumentError("--model and --config both say where to start; give one of them");
      const out = o.out ?? defaultRunDir("t5");
      const args: Omit<T5TrainArgs, "modelConfig"> = {
        objective: o.objective as Objective,
        data: o.data === undefined ? null : absolute(o.data),
        init: o.model !== undefined ? { model: absolute(o.model) } : { config: o.config === undefined || o.config === "tiny" ? "tiny" : absolute(o.config) },
        steps: o.steps ?? d.steps, batchSize: o.batchSize, lr: o.lr, warmupSteps: o.warmupSteps, maxGradNorm: o.maxGradNorm,
        seed: o.seed, window: o.window, saveEvery: o.saveEvery, evalEvery: o.evalEvery, evalExamples: o.evalExamples,
      };
      const s = await T5TrainSession.create(out, args, { tokenizer: o.tokenizer === undefined ? null : absolute(o.tokenizer) });
      const what = args.objective === "span" ? `span corruption on ${args.data ?? "Tiny Shakespeare"}` : `text-to-text tasks from ${args.data ?? "the generated reverse/sort/add mixture"}`;
      log(`training a T5 (${s.model.numParameters().toLocaleString()} parameters, vocabulary ${s.tok.vocabSize}) with ${what} for ${args.steps} steps → ${out}`);
      await train(s, args.steps);
    });
}
