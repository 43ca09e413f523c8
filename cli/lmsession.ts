import { existsSync, readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { isAbsolute, join, resolve } from "node:path";
import * as gl from "../src/index.js";
import { writeFileAtomic } from "../src/io/node.js";
import { type LMConfig, resolveConfig } from "./lmconfig.js";
import { dataFile } from "./paths.js";
import type { DeviceRun } from "./devicetrain.js";

const enc = new TextEncoder();
const writeJson = (path: string, v: unknown) => writeFileAtomic(path, enc.encode(JSON.stringify(v, null, 2) + "\n"));

export class RunError extends Error {}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new RunError(`cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export function dataPath(c: LMConfig): string {
  return c.data === "tinyshakespeare" ? dataFile("tinyshakespeare.txt") : isAbsolute(c.data) ? c.data : resolve(c.data);
}

/** The config saved in a run directory, checked as a fresh one would be. */
export function readRunConfig(runDir: string): LMConfig {
  const path = join(runDir, "config.json");
  if (!existsSync(path)) throw new RunError(`${runDir} is not a run directory: ${path} is missing`);
  let raw: unknown;
  try {
    raw = JSON.parse(readText(path, "run config"));
  } catch (e) {
    if (e instanceof RunError) throw e;
    throw new RunError(`${path} is not valid JSON: ${(e as Error).message}`);
  }
  return resolveConfig(raw as Record<string, unknown>, path);
}

type Carry = gl.models.RecurrentState | null;

/**
 * One language-model run: tokenizer, data streams, model, optimizer and the carried recurrent state,
 * tied to a run directory (config.json, tokenizer.json, metrics.jsonl, checkpoints/).
 */
export class LMSession {
  step = 0;
  /** Next training window; windows run through the training stream in order, epoch after epoch. */
  window = 0;
  carry: Carry = null;
  /** Set when the run trains on the GPU; the CPU model then holds the weights as of the last pull(). */
  gpu: DeviceRun | null = null;
  readonly recorder: gl.diagnostics.JsonlRecorder;
  private monitor: gl.diagnostics.GradFlowMonitor | null = null;

  private constructor(
    readonly config: LMConfig,
    readonly runDir: string,
    readonly tokenizer: gl.data.CharTokenizer | gl.data.WordTokenizer,
    readonly train: gl.data.LMStream,
    readonly val: gl.data.LMStream,
    readonly model: gl.models.RNNLM,
    readonly optimizer: gl.optim.Optimizer<gl.optim.BaseOptions>,
    sink: ((line: string) => void) | null,
  ) {
    this.recorder = new gl.diagnostics.JsonlRecorder({ sink: sink ?? undefined, keep: true });
  }

  /**
   * Builds the run. A new run writes config.json and tokenizer.json; an existing one reads its
   * tokenizer back so ids stay the same whatever happened to the data file.
   */
  static async open(config: LMConfig, runDir: string, opts: { fresh: boolean; record?: boolean }): Promise<LMSession> {
    gl.manualSeed(config.seed);
    const text = readText(dataPath(config), "data file");
    const tokPath = join(runDir, "tokenizer.json");
    let tok: gl.data.CharTokenizer | gl.data.WordTokenizer;
    if (opts.fresh) {
      tok = config.tokenizer === "char" ? gl.data.CharTokenizer.fromText(text) : gl.data.WordTokenizer.fromText(text, { maxSize: config.maxVocab });
      await mkdir(runDir, { recursive: true });
      await writeJson(join(runDir, "config.json"), config);
      await writeJson(tokPath, tok.toJSON());
    } else {
      tok = gl.data.tokenizerFromJSON(JSON.parse(readText(tokPath, "tokenizer")));
      if (tok.kind === "char" && tok.unk === null) {
        const known = new Set(tok.vocab);
        const stray = Array.from(new Set(text)).filter((ch) => !known.has(ch));
        if (stray.length) throw new RunError(`the data file has characters the run's tokenizer never saw: ${JSON.stringify(stray.slice(0, 10).join(""))}`);
      }
    }
    const { train, val } = gl.data.trainValSplit(tok.encode(text), config.valFraction);
    const trainStream = new gl.data.LMStream(train, config.batch, config.bptt);
    const valStream = new gl.data.LMStream(val, Math.min(config.batch, Math.max(1, Math.floor(val.length / (config.bptt + 1)))), config.bptt);
    const model = new gl.models.RNNLM({
      vocabSize: tok.size, embeddingDim: config.embeddingDim, hiddenSize: config.hiddenSize, numLayers: config.numLayers,
      cell: config.cell, dropout: config.dropout, skip: config.skip, tieWeights: config.tieWeights,
      forgetBias: config.cell === "lstm" && config.forgetBias !== null ? config.forgetBias : undefined,
    });
    const guards = { globalClipNorm: config.clipNorm || undefined, clipValue: config.clipValue || undefined, skipNonFinite: true };
    const params = model.parameters();
    const o = gl.optim;
    const optimizer: gl.optim.Optimizer<gl.optim.BaseOptions> =
      config.optimizer === "adam" ? new o.Adam(params, { lr: config.lr, weightDecay: config.weightDecay, ...guards })
      : config.optimizer === "adamw" ? new o.AdamW(params, { lr: config.lr, weightDecay: config.weightDecay, ...guards })
      : config.optimizer === "sgd" ? new o.SGD(params, { lr: config.lr, momentum: config.momentum, weightDecay: config.weightDecay, ...guards })
      : config.optimizer === "rmsprop" ? new o.RMSprop(params, { lr: config.lr, momentum: config.momentum, weightDecay: config.weightDecay, ...guards })
      : new o.Adagrad(params, { lr: config.lr, weightDecay: config.weightDecay, ...guards });
    const sink = opts.record === false ? null : await gl.diagnostics.openJsonlFile(join(runDir, "metrics.jsonl"), { append: true });
    const s = new LMSession(config, runDir, tok, trainStream, valStream, model, optimizer, sink);
    if (config.gradFlowEvery > 0) s.monitor = new gl.diagnostics.GradFlowMonitor(model);
    return s;
  }

  get checkpointDir(): string {
    return join(this.runDir, "checkpoints");
  }

  get tokensPerStep(): number {
    return this.config.batch * this.config.bptt;
  }

  /** One optimizer step on the next window, state carried (detached) from the previous one. */
  trainStep(elapsed: number): number | Promise<number | null> {
    if (this.gpu) return this.gpu.step(this, elapsed);
    const probe = this.monitor !== null && this.step % this.config.gradFlowEvery === 0;
    const lossT = this.optimize(() => {
      if (probe) this.monitor!.beforeStep();
    });
    const loss = lossT.item();
    const info = this.optimizer.lastStepInfo;
    this.recorder.write({
      type: "train", step: this.step, loss, lr: this.config.lr, gradNorm: info?.gradNorm, skipped: info?.skipped,
      clipFraction: info?.clipFraction, seen: this.step * this.tokensPerStep, time: elapsed,
    });
    if (probe) this.recorder.write(this.monitor!.afterStep({ step: this.step, loss }));
    return loss;
  }

  /**
   * Forward, backward and the optimizer step on the next window (the stream wraps around with a
   * fresh state), the state carried detached; `beforeStep` runs between backward and the step.
   * Returns the loss tensor, not yet read, on whatever device the model is.
   */
  optimize(beforeStep?: () => void): gl.Tensor {
    if (this.window >= this.train.numWindows) {
      this.window = 0;
      this.carry = null;
    }
    const { input, target } = this.train.window(this.window++);
    const r = this.model.loss(input, target, this.carry);
    this.optimizer.zeroGrad();
    r.loss.backward();
    beforeStep?.();
    this.optimizer.step();
    this.carry = gl.models.detachState(r.state);
    this.step++;
    return r.loss;
  }

  /** Brings the CPU model and optimizer up to date with the GPU (no-op on the CPU). */
  async pull(): Promise<void> {
    await this.gpu?.pull(this);
  }

  /** Mean validation loss (nats per token) over the first `windows` windows, state carried. */
  evaluate(windows = this.config.evalWindows): number {
    this.model.eval();
    try {
      return gl.noGrad(() => {
        let state: Carry = null;
        let sum = 0;
        let n = 0;
        for (let k = 0; k < Math.min(windows, this.val.numWindows); k++) {
          const { input, target } = this.val.window(k);
          const r = this.model.loss(input, target, state);
          state = r.state;
          sum += r.loss.item() * input.numel();
          n += input.numel();
        }
        return sum / n;
      });
    } finally {
      this.model.train();
    }
  }

  recordEval(loss: number): void {
    const metrics: Record<string, number> = { perplexity: Math.exp(loss) };
    if (this.tokenizer.kind === "char") metrics.bitsPerChar = loss / Math.LN2;
    this.recorder.write({ type: "eval", step: this.step, loss, metrics });
  }

  sample(prompt: string, length: number, opts: gl.models.SampleOptions): string {
    const ids = this.tokenizer.encode(prompt);
    if (ids.length === 0) throw new RunError("the prompt must contain at least one token");
    return this.tokenizer.decode(this.model.sample(ids, length, opts));
  }

  /** Saves model, optimizer, RNG, step, data position and the carried state (exactly, as JSON numbers). */
  async checkpoint(): Promise<string> {
    await this.pull();
    const carry = this.carry === null ? null : (Array.isArray(this.carry) ? this.carry : [this.carry]).map((t) => ({
      shape: [...t.shape], values: Array.from(t.toArray()),
    }));
    return gl.io.saveCheckpoint(this.checkpointDir, { model: this.model, optimizer: this.optimizer }, {
      step: this.step, dataPosition: { window: this.window }, extra: { carry },
    });
  }

  /** Restores the newest good checkpoint; returns its path, or null when there is none. */
  async restore(): Promise<string | null> {
    const got = await gl.io.loadLatestCheckpoint(this.checkpointDir, { model: this.model, optimizer: this.optimizer });
    if (!got) return null;
    for (const s of got.skipped) process.stderr.write(`warning: skipped unreadable checkpoint ${s.path}: ${s.error}\n`);
    this.step = got.step;
    this.window = (got.dataPosition as { window: number }).window;
    const carry = got.extra?.carry as { shape: number[]; values: number[] }[] | null;
    const ts = carry?.map((c) => gl.tensor(Float32Array.from(c.values), { shape: c.shape })) ?? null;
    this.carry = ts === null ? null : ts.length === 2 ? [ts[0], ts[1]] : ts[0];
    return got.path;
  }

  /** Stops the gradient-flow probes (their hooks read gradients synchronously, which a GPU cannot). */
  dropMonitor(): void {
    this.monitor?.dispose();
    this.monitor = null;
  }

  dispose(): void {
    this.monitor?.dispose();
    this.gpu?.dispose();
    this.gpu = null;
  }
}

/** Keeps metrics.jsonl consistent with a restored checkpoint: records after its step are dropped. */
export async function truncateMetrics(runDir: string, step: number): Promise<void> {
  const path = join(runDir, "metrics.jsonl");
  if (!existsSync(path)) return;
  const kept = readFileSync(path, "utf8").split("\n").filter((line) => {
    if (!line.trim()) return false;
    try {
      return (JSON.parse(line) as { step?: number }).step! <= step;
    } catch {
      return false; // a line cut short by a crash
    }
  });
  await writeFileAtomic(path, enc.encode(kept.map((l) => l + "\n").join("")));
}
