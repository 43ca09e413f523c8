/**
 * One `gradlab t5 train` run tied to its output directory, which is at once a Hugging Face
 * checkpoint (config.json, model.safetensors, generation_config.json, spiece.model) and a resumable
 * run (train_args.json, trainer_state-<step>.safetensors with model, Adafactor, schedule, RNG and
 * data position; log.jsonl).
 */
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import * as gl from "../src/index.js";
import { writeFileAtomic } from "../src/io/node.js";
import { RunError } from "./lmsession.js";
import { dataFile } from "./paths.js";

export type Objective = "span" | "tasks";

/** Everything that defines a run; saved as train_args.json so that --resume rebuilds it exactly. */
export interface T5TrainArgs {
  objective: Objective;
  /** Absolute path of the text (span) or TSV (tasks) file; null: bundled Shakespeare / generated tasks. */
  data: string | null;
  /** Where the weights came from: "tiny", a config file, or a Hugging Face directory. */
  init: { config: string } | { model: string };
  /** The model's config.json contents, so resuming never depends on the starting files. */
  modelConfig: Record<string, unknown>;
  steps: number;
  batchSize: number;
  lr: number;
  warmupSteps: number;
  maxGradNorm: number;
  seed: number;
  /** Span corruption: tokens per window before corruption. */
  window: number;
  saveEvery: number;
  evalEvery: number;
  /** Held-out examples: scored by exact match (generated tasks), or windows of validation loss in whole batches (span). */
  evalExamples: number;
}

export const TINY_CONFIG = { d_model: 128, d_kv: 32, d_ff: 512, num_layers: 3, num_heads: 4, dropout_rate: 0, feed_forward_proj: "relu", tie_word_embeddings: true };
export const BUNDLED_TOKENIZER = "t5-spiece.model";
const ARGS = "train_args.json";
const STATE_PREFIX = "trainer_state";
const enc = new TextEncoder();

export const absolute = (p: string) => (isAbsolute(p) ? p : resolve(p));

function readFile(path: string, what: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new RunError(`cannot read ${what} ${path}: ${code === "ENOENT" ? "file not found" : code === "EISDIR" ? "is a directory" : (code ?? (e as Error).message)}`);
  }
}

export function readJsonFile(path: string, what: string): unknown {
  const text = readFile(path, what);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new RunError(`${what} ${path} is not valid JSON: ${(e as Error).message}`);
  }
}

/** `input<TAB>target` lines; blank lines are skipped, anything else without exactly one tab is an error. */
export function readTsv(path: string): { source: string; target: string }[] {
  const pairs: { source: string; target: string }[] = [];
  readFile(path, "data file").split(/\r?\n/).forEach((line, i) => {
    if (!line.trim()) return;
    const cols = line.split("\t");
    if (cols.length !== 2 || !cols[0].trim() || !cols[1].trim()) {
      throw new RunError(`${path}:${i + 1}: expected "input<TAB>target", got ${JSON.stringify(line.length > 60 ? line.slice(0, 60) + "…" : line)}`);
    }
    pairs.push({ source: cols[0], target: cols[1] });
  });
  if (pairs.length < 2) throw new RunError(`${path}: needs at least 2 "input<TAB>target" lines, found ${pairs.length}`);
  return pairs;
}

type Pair = { source: string; target: string; kind?: string };

interface BatchSource {
  next(): gl.t5.Seq2SeqBatch;
  position(): gl.io.Json;
  restore(p: gl.io.Json): void;
}

/** A TSV's pairs in a fresh shuffle every epoch; the position is (epoch, index), the shuffle a function of seed and epoch. */
function tsvSource(tok: gl.t5.T5Tokenizer, pairs: Pair[], batchSize: number, seed: number): BatchSource {
  const examples = gl.t5.encodePairs(tok, pairs);
  let epoch = 0;
  let index = 0;
  let order: number[] = [];
  const shuffle = () => {
    const g = new gl.Generator(seed + 1000 * (epoch + 1));
    order = examples.map((_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = g.randint(0, i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
  };
  shuffle();
  return {
    next() {
      const batch: gl.t5.Seq2SeqExample[] = [];
      while (batch.length < batchSize) {
        if (index >= order.length) {
          epoch++;
          index = 0;
          shuffle();
        }
        batch.push(examples[order[index++]]);
      }
      return gl.t5.collateSeq2Seq(batch);
    },
    position: () => ({ epoch, index }),
    restore(p) {
      ({ epoch, index } = p as { epoch: number; index: number });
      shuffle();
    },
  };
}

export class T5TrainSession {
  step = 0;
  private losses: number[] = [];
  private tokens = 0;
  private evalSet: gl.t5.Seq2SeqBatch[] | Pair[] | null = null;

  private constructor(
    readonly out: string,
    readonly args: T5TrainArgs,
    readonly tok: gl.t5.T5Tokenizer,
    readonly model: gl.t5.T5ForConditionalGeneration,
    readonly optimizer: gl.optim.Adafactor,
    readonly scheduler: gl.optim.lrScheduler.LRScheduler,
    private readonly dataGen: gl.Generator,
    private readonly source: BatchSource,
    private readonly heldOut: { stream?: number[]; pairs?: Pair[] },
  ) {}

  /** A new run: tokenizer and starting weights from `start`, everything written into `out`. */
  static async create(out: string, args: Omit<T5TrainArgs, "modelConfig">, start: { tokenizer: string | null }): Promise<T5TrainSession> {
    if (existsSync(join(out, ARGS))) throw new RunError(`${out} already holds a training run; continue it with --resume ${out}, or pick another --out`);
    const tokPath = start.tokenizer ?? ("model" in args.init ? join(args.init.model, "spiece.model") : dataFile(BUNDLED_TOKENIZER));
    const tok = await gl.t5.T5Tokenizer.fromFile(tokPath);
    let modelConfig: Record<string, unknown>;
    let weights: Record<string, gl.Tensor> | null = null;
    if ("model" in args.init) {
      const pre = await gl.t5.T5ForConditionalGeneration.fromPretrained(args.init.model);
      modelConfig = gl.t5.t5ConfigToJSON(pre.config);
      weights = pre.stateDict();
    } else {
      const source = args.init.config;
      const json = source === "tiny" ? { ...TINY_CONFIG } : readJsonFile(source, "config file");
      if (typeof json !== "object" || json === null || Array.isArray(json)) throw new RunError(`config file ${source} must hold a JSON object`);
      modelConfig = { vocab_size: tok.vocabSize, ...(json as Record<string, unknown>) };
      modelConfig = gl.t5.t5ConfigToJSON(gl.t5.parseT5Config(modelConfig, source === "tiny" ? "the tiny config" : source));
    }
    const full: T5TrainArgs = { ...args, modelConfig };
    const s = T5TrainSession.build(out, full, tok);
    if (weights) s.model.loadStateDict(weights);
    mkdirSync(out, { recursive: true });
    copyFileSync(tokPath, join(out, "spiece.model"));
    await writeFileAtomic(join(out, ARGS), enc.encode(JSON.stringify(full, null, 2) + "\n"));
    return s;
  }

  /** Reopens a run from train_args.json and its newest readable trainer state. */
  static async resume(out: string): Promise<{ session: T5TrainSession; path: string }> {
    if (!existsSync(join(out, ARGS))) throw new RunError(`${out} is not a t5 training run: ${join(out, ARGS)} is missing`);
    const args = checkArgs(readJsonFile(join(out, ARGS), "training arguments"), join(out, ARGS));
    const tok = await gl.t5.T5Tokenizer.fromFile(join(out, "spiece.model"));
    const s = T5TrainSession.build(out, args, tok);
    const got = await gl.io.loadLatestCheckpoint(out, s.targets(), { prefix: STATE_PREFIX });
    if (!got) throw new RunError(`${out} has no trainer state to resume from (no ${STATE_PREFIX}-*.safetensors)`);
    for (const k of got.skipped) process.stderr.write(`warning: skipped unreadable trainer state ${k.path}: ${k.error}\n`);
    s.step = got.step;
    s.source.restore(got.dataPosition ?? null);
    truncateLog(join(out, "log.jsonl"), s.step);
    return { session: s, path: got.path };
  }

  private static build(out: string, args: T5TrainArgs, tok: gl.t5.T5Tokenizer): T5TrainSession {
    gl.manualSeed(args.seed);
    const config = gl.t5.parseT5Config(args.modelConfig, join(out, ARGS));
    if (config.vocabSize < tok.vocabSize) {
      throw new RunError(`the tokenizer has ${tok.vocabSize} ids (with sentinels) but the model's vocabulary is ${config.vocabSize}: ids would fall outside the embedding`);
    }
    const model = new gl.t5.T5ForConditionalGeneration(config, { generator: new gl.Generator(args.seed) });
    const { optimizer, scheduler } = gl.t5.t5Optimizer(model, { lr: args.lr, warmupSteps: args.warmupSteps });
    const dataGen = new gl.Generator(args.seed + 1);
    const heldOut: { stream?: number[]; pairs?: Pair[] } = {};
    let source: BatchSource;
    if (args.objective === "span") {
      const path = args.data ?? dataFile("tinyshakespeare.txt");
      const text = readFile(path, "data file");
      // Last 10% held out, as the Shakespeare experiments split it.
      const cut = Math.floor(text.length * 0.9);
      const train = tok.encode(text.slice(0, cut), { addEos: false });
      heldOut.stream = tok.encode(text.slice(cut), { addEos: false });
      const need = args.window + 1;
      if (train.length < need) throw new RunError(`data file ${path}: its first 90% encodes to ${train.length} tokens, fewer than one window (--window ${args.window}) needs`);
      if (heldOut.stream.length < need) {
        throw new RunError(`data file ${path}: the held-out last 10% encodes to ${heldOut.stream.length} tokens, fewer than one window (--window ${args.window}) needs`);
      }
      const sentinelId = (n: number) => tok.sentinelId(n);
      source = { next: () => gl.t5.spanCorruptionBatch(train, { window: args.window, batchSize: args.batchSize, sentinelId, generator: dataGen }), position: () => null, restore() {} };
    } else if (args.data) {
      const pairs = readTsv(args.data);
      // Last 10% of the lines held out for exact match (at least one).
      const held = Math.max(1, Math.floor(pairs.length / 10));
      heldOut.pairs = pairs.slice(pairs.length - held);
      source = tsvSource(tok, pairs.slice(0, pairs.length - held), args.batchSize, args.seed);
    } else {
      heldOut.pairs = gl.t5.makeTasks(args.evalExamples, new gl.Generator(args.seed + 99));
      source = { next: () => gl.t5.collateSeq2Seq(gl.t5.encodePairs(tok, gl.t5.makeTasks(args.batchSize, dataGen))), position: () => null, restore() {} };
    }
    return new T5TrainSession(out, args, tok, model, optimizer, scheduler, dataGen, source, heldOut);
  }

  private targets(): gl.io.CheckpointTargets {
    return { model: this.model, optimizer: this.optimizer, scheduler: this.scheduler, generators: { data: this.dataGen } };
  }

  /** One optimizer step; logs it and returns the loss. */
  trainStep(elapsed: () => number): number {
    const lr = this.optimizer.paramGroups[0].lr;
    const batch = this.source.next();
    const loss = gl.t5.trainStep(this.model, batch, this.optimizer, { scheduler: this.scheduler, maxGradNorm: this.args.maxGradNorm || undefined });
    this.step++;
    const tokens = gl.t5.batchTokens(batch);
    this.tokens += tokens;
    this.losses.push(loss);
    this.log({ type: "train", step: this.step, loss, lr, tokens, time: elapsed() });
    return loss;
  }

  /** Tokens processed by this process so far (for tokens/s). */
  get tokensSeen(): number {
    return this.tokens;
  }

  /** Mean training loss over this process's last `n` steps. */
  recentLoss(n = 50): number {
    const xs = this.losses.slice(-n);
    return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
  }

  /**
   * Span: mean loss on `evalExamples` fixed batches of held-out text. Tasks: exact-match accuracy
   * of greedy decoding on held-out examples, per task kind for the generated mixture.
   */
  evaluate(): Record<string, number> {
    try {
      if (this.args.objective === "span") {
        if (!this.evalSet) {
          const g = new gl.Generator(this.args.seed + 7);
          const sentinelId = (n: number) => this.tok.sentinelId(n);
          const batches = Math.ceil(this.args.evalExamples / this.args.batchSize);
          this.evalSet = Array.from({ length: batches }, () =>
            gl.t5.spanCorruptionBatch(this.heldOut.stream!, { window: this.args.window, batchSize: this.args.batchSize, sentinelId, generator: g }));
        }
        return { loss: gl.t5.meanLoss(this.model, this.evalSet as gl.t5.Seq2SeqBatch[]) };
      }
      const pairs = this.heldOut.pairs!;
      const maxNewTokens = Math.max(...pairs.map((p) => this.tok.encode(p.target).length)) + 4;
      const { correct } = gl.t5.exactMatch(this.model, this.tok, pairs, { maxNewTokens });
      const out: Record<string, number> = { accuracy: correct.filter(Boolean).length / pairs.length };
      for (const kind of new Set(pairs.map((p) => p.kind).filter((k): k is string => !!k))) {
        const idx = pairs.flatMap((p, i) => (p.kind === kind ? [i] : []));
        out[kind] = idx.filter((i) => correct[i]).length / idx.length;
      }
      return out;
    } finally {
      this.model.train();
    }
  }

  recordEval(metrics: Record<string, number>): void {
    this.log({ type: "eval", step: this.step, ...metrics });
  }

  /**
   * Trainer state first (model included), then the Hugging Face files: a crash between the two
   * leaves a state that resumes exactly, and the next save refreshes the rest.
   */
  async save(): Promise<void> {
    await gl.io.saveCheckpoint(this.out, this.targets(), { step: this.step, dataPosition: this.source.position() }, { prefix: STATE_PREFIX, keepLast: 1 });
    await this.model.save(this.out);
  }

  private log(record: Record<string, unknown>): void {
    appendFileSync(join(this.out, "log.jsonl"), JSON.stringify(record) + "\n");
  }
}

/** train_args.json as written by create(); anything else (an edited or foreign file) is refused by field. */
function checkArgs(raw: unknown, path: string): T5TrainArgs {
  const bad = (field: string, want: string): never => {
    throw new RunError(`${path}: "${field}" must be ${want}; the file was not written by gradlab t5 train, or was edited`);
  };
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) bad("(top level)", "an object");
  const a = raw as Record<string, unknown>;
  if (a.objective !== "span" && a.objective !== "tasks") bad("objective", '"span" or "tasks"');
  if (a.data !== null && typeof a.data !== "string") bad("data", "a path or null");
  const init = a.init as Record<string, unknown> | null;
  if (typeof init !== "object" || init === null || (typeof init.config !== "string" && typeof init.model !== "string")) bad("init", '{ "config": ... } or { "model": ... }');
  if (typeof a.modelConfig !== "object" || a.modelConfig === null) bad("modelConfig", "a T5 config object");
  for (const k of ["steps", "batchSize", "warmupSteps", "window", "evalExamples"]) if (!Number.isInteger(a[k]) || (a[k] as number) < 1) bad(k, "an integer ≥ 1");
  for (const k of ["seed", "saveEvery", "evalEvery"]) if (!Number.isInteger(a[k]) || (a[k] as number) < 0) bad(k, "an integer ≥ 0");
  for (const k of ["lr", "maxGradNorm"]) if (typeof a[k] !== "number" || !((a[k] as number) >= 0)) bad(k, "a number ≥ 0");
  return a as unknown as T5TrainArgs;
}

/** Drops log lines after the restored step (and a line cut short by a crash). */
function truncateLog(path: string, step: number): void {
  if (!existsSync(path)) return;
  const kept = readFileSync(path, "utf8").split("\n").filter((line) => {
    try {
      return line.trim() !== "" && (JSON.parse(line) as { step: number }).step <= step;
    } catch {
      return false;
    }
  });
  // Synchronous, so that no later append can land before the rewrite.
  writeFileSync(`${path}.tmp`, kept.map((l) => l + "\n").join(""));
  renameSync(`${path}.tmp`, path);
}
