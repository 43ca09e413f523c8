import { existsSync, readFileSync } from "node:fs";
import { type Command, InvalidArgumentError, Option } from "commander";
import { ConfigError, LM_DEFAULTS, type LMConfig, resolveConfig } from "./lmconfig.js";
import { LMSession, RunError, readRunConfig, truncateMetrics } from "./lmsession.js";
import { type LoopResult, trainLoop } from "./loop.js";
import { join } from "node:path";
import { getBackend } from "../src/index.js";
import { writeFileAtomic } from "../src/io/node.js";
import { defaultRunDir } from "./demo.js";
import { type Device, DEVICES, GpuTrainer, pickDevice } from "./gputrain.js";
import { TensorDeviceTrainer } from "./devicetrain.js";

const log = (s: string) => process.stderr.write(s + "\n");

export function int(name: string, min = 1) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer ≥ ${min}, got "${v}"`);
    return n;
  };
}

export function num(name: string, min = 0, exclusive = false) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === "" || !Number.isFinite(n) || n < min || (exclusive && n === min)) {
      throw new InvalidArgumentError(`${name} must be a number ${exclusive ? ">" : "≥"} ${min}, got "${v}"`);
    }
    return n;
  };
}

/** Flags of `train`, one per config field, named in kebab-case. */
const FLAGS: [keyof LMConfig, string, string, (v: string) => unknown][] = [
  ["data", "--data <file>", "text file to train on (\"tinyshakespeare\": the bundled corpus)", String],
  ["tokenizer", "--tokenizer <kind>", "char or word", String],
  ["cell", "--cell <type>", "lstm, gru or rnn", String],
  ["numLayers", "--layers <n>", "stacked recurrent layers", int("--layers")],
  ["hiddenSize", "--hidden <n>", "hidden size", int("--hidden")],
  ["embeddingDim", "--embedding <n>", "embedding size", int("--embedding")],
  ["skip", "--skip <mode>", "skip connections between layers: none, residual, dense, highway", String],
  ["dropout", "--dropout <p>", "dropout between layers", num("--dropout")],
  ["optimizer", "--optimizer <name>", "adam, adamw, sgd, rmsprop or adagrad", String],
  ["lr", "--lr <x>", "learning rate", num("--lr", 0, true)],
  ["clipNorm", "--clip-norm <x>", "clip gradients to this global L2 norm (0: off)", num("--clip-norm")],
  ["clipValue", "--clip-value <x>", "clamp gradient values to ±x (0: off)", num("--clip-value")],
  ["batch", "--batch <n>", "sequences per batch", int("--batch")],
  ["bptt", "--bptt <n>", "tokens per truncated-BPTT window", int("--bptt", 2)],
  ["steps", "--steps <n>", "optimizer steps", int("--steps")],
  ["evalEvery", "--eval-every <n>", "validate every n steps (0: off)", int("--eval-every", 0)],
  ["checkpointEvery", "--checkpoint-every <n>", "checkpoint every n steps (0: only at the end)", int("--checkpoint-every", 0)],
  ["seed", "--seed <n>", "random seed", int("--seed", 0)],
  ["device", "--device <kind>", "cpu, webgpu or auto (the GPU when present)", String],
];

function readConfigFile(path: string): Record<string, unknown> {
  if (!existsSync(path)) throw new ConfigError(`config file ${path} does not exist`);
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${(e as Error).message}`);
  }
}

/** Final validation, and summary.json (which also tells the dashboard the run finished). */
async function report(s: LMSession, r: LoopResult): Promise<void> {
  await s.pull();
  const loss = s.evaluate();
  s.recordEval(loss);
  const bpc = s.tokenizer.kind === "char" ? ` (${(loss / Math.LN2).toFixed(3)} bits/char)` : "";
  log(`step ${s.step}: validation loss ${loss.toFixed(3)} nats/token${bpc}, perplexity ${Math.exp(loss).toFixed(2)}; ${r.seconds.toFixed(1)} s`);
  if (r.interrupted) return;
  const summary = { steps: s.step, seconds: r.seconds, trainLoss: r.trainLoss, valLoss: loss, perplexity: Math.exp(loss), backend: s.gpu ? "webgpu" : getBackend() };
  await writeFileAtomic(join(s.runDir, "summary.json"), new TextEncoder().encode(JSON.stringify(summary, null, 2) + "\n"));
}

export function registerLMCommands(program: Command): void {
  const train = program
    .command("train")
    .description("Train a recurrent language model from a config file and/or flags into a run directory")
    .option("--config <file>", "JSON config (fields as in config.json of a run; flags override it)")
    .option("--out <dir>", "run directory (default runs/train-<time>)");
  for (const [, flag, help, parse] of FLAGS) train.addOption(new Option(flag, help).argParser(parse as (v: string) => string));
  train.addHelpText("after", `\nDefaults: ${JSON.stringify(LM_DEFAULTS)}`);
  train.action(async (opts: Record<string, unknown>) => {
    const fromFile = typeof opts.config === "string" ? readConfigFile(opts.config) : {};
    const fromFlags: Record<string, unknown> = {};
    for (const [key, flag] of FLAGS) {
      const attr = flag.slice(2).split(" ")[0].replace(/-([a-z])/g, (_, ch: string) => ch.toUpperCase());
      if (opts[attr] !== undefined) fromFlags[key] = opts[attr];
    }
    const config = resolveConfig({ ...fromFile, ...fromFlags }, typeof opts.config === "string" ? opts.config : "flags");
    const runDir = (opts.out as string | undefined) ?? defaultRunDir("train");
    if (existsSync(`${runDir}/config.json`)) throw new RunError(`${runDir} already holds a run; use \`gradlab resume ${runDir}\` or another --out`);
    const dev = await pickDevice(config, config.device, log);
    const s = await LMSession.open(config, runDir, { fresh: true });
    if (dev) s.gpu = dev.fused ? GpuTrainer.open(s, dev.gpu) : await TensorDeviceTrainer.open(s, dev.gpu);
    log(`training a ${config.numLayers}-layer ${config.cell.toUpperCase()} language model (${s.model.numParameters().toLocaleString()} parameters) for ${config.steps} steps → ${runDir}`);
    const r = await trainLoop(s, { steps: config.steps });
    await report(s, r);
    s.dispose();
    if (r.interrupted) log(`stopped at step ${s.step}; continue with: gradlab resume ${runDir}`);
  });

  program
    .command("resume <runDir>")
    .description("Continue a run from its newest good checkpoint (to its configured steps, or --steps)")
    .option("--steps <n>", "train until this total step count", int("--steps"))
    .option("--device <kind>", "cpu, webgpu or auto (default: the run's own)")
    .action(async (runDir: string, opts: { steps?: number; device?: string }) => {
      const config = readRunConfig(runDir);
      const device = (opts.device ?? config.device) as Device;
      if (!DEVICES.includes(device)) throw new InvalidArgumentError(`--device must be one of ${DEVICES.join(", ")}, got "${opts.device}"`);
      const dev = await pickDevice(config, device, log);
      const s = await LMSession.open(config, runDir, { fresh: false });
      const path = await s.restore();
      if (!path) {
        dev?.gpu.destroy();
        throw new RunError(`${runDir} has no checkpoint to resume from`);
      }
      if (dev) s.gpu = dev.fused ? GpuTrainer.open(s, dev.gpu) : await TensorDeviceTrainer.open(s, dev.gpu);
      await truncateMetrics(runDir, s.step);
      const steps = opts.steps ?? config.steps;
      log(`resuming ${runDir} from ${path} (step ${s.step}) to step ${steps}`);
      if (s.step >= steps) {
        log(`nothing to do: the run is at step ${s.step}; pass --steps N with N > ${s.step} to train further`);
        s.dispose();
        return;
      }
      const r = await trainLoop(s, { steps });
      await report(s, r);
      s.dispose();
    });

  program
    .command("eval <runDir>")
    .description("Validation loss, perplexity (and bits per character) of a run's newest checkpoint")
    .option("--windows <n>", "validation windows to average over", int("--windows"))
    .action(async (runDir: string, opts: { windows?: number }) => {
      const s = await LMSession.open(readRunConfig(runDir), runDir, { fresh: false, record: false });
      if (!(await s.restore())) throw new RunError(`${runDir} has no checkpoint to evaluate`);
      const loss = s.evaluate(opts.windows);
      const out: Record<string, number> = { step: s.step, loss, perplexity: Math.exp(loss) };
      if (s.tokenizer.kind === "char") out.bitsPerChar = loss / Math.LN2;
      process.stdout.write(JSON.stringify(out) + "\n");
      s.dispose();
    });

  program
    .command("sample <runDir>")
    .description("Generate text from a run's newest checkpoint")
    .option("--prompt <text>", "text to continue", "\n")
    .option("--length <n>", "tokens to generate", int("--length"), 300)
    .option("--temperature <t>", "softmax temperature (0: greedy)", num("--temperature"), 0.8)
    .option("--top-k <k>", "sample among the k most likely tokens (0: all)", int("--top-k", 0), 0)
    .option("--top-p <p>", "sample among the most likely tokens holding this much probability", num("--top-p", 0, true), 1)
    .option("--seed <n>", "random seed", int("--seed", 0))
    .action(async (runDir: string, o: { prompt: string; length: number; temperature: number; topK: number; topP: number; seed?: number }) => {
      if (o.topP > 1) throw new InvalidArgumentError(`--top-p must be in (0, 1], got ${o.topP}`);
      const s = await LMSession.open(readRunConfig(runDir), runDir, { fresh: false, record: false });
      if (!(await s.restore())) throw new RunError(`${runDir} has no checkpoint to sample from`);
      const { Generator } = await import("../src/index.js");
      const text = s.sample(o.prompt, o.length, { temperature: o.temperature, topK: o.topK, topP: o.topP, generator: new Generator(o.seed ?? Date.now()) });
      process.stdout.write(o.prompt + text + "\n");
      s.dispose();
    });
}
