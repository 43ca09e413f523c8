/**
 * Training helpers for T5: batching text-to-text pairs (inputs padded with pad, labels with -100),
 * span-corruption batches from a token stream, T5's optimiser (Adafactor with the inverse
 * square-root schedule), and a plain training step.
 */
import { GradlabError } from "../../core/errors.js";
import { type Generator, defaultGenerator } from "../../core/rng.js";
import { Adafactor } from "../../optim/adafactor.js";
import { clipGradNorm } from "../../optim/clip.js";
import { LRScheduler, inverseSqrt } from "../../optim/lr-scheduler.js";
import { Tensor } from "../../tensor/tensor.js";
import { noGrad } from "../../autograd/mode.js";
import type { T5ForConditionalGeneration } from "./model.js";
import { IGNORE_INDEX } from "./model.js";
import { spanCorruption } from "./span-corruption.js";
import type { T5Tokenizer } from "./tokenizer.js";

/** One training pair as token ids (both ending with eos). */
export interface Seq2SeqExample {
  inputIds: number[];
  labels: number[];
}

export interface Seq2SeqBatch {
  inputIds: Tensor;
  attentionMask: Tensor;
  /** Padded with -100, which the loss ignores. */
  labels: Tensor;
}

/** Pads examples into one batch; longer sequences are cut to the limits, keeping their last token (eos). */
export function collateSeq2Seq(examples: readonly Seq2SeqExample[], opts: { padId?: number; maxInputLength?: number; maxTargetLength?: number } = {}): Seq2SeqBatch {
  if (examples.length === 0) throw new GradlabError("collateSeq2Seq: got no examples");
  const pad = opts.padId ?? 0;
  const cut = (ids: number[], max?: number) => (max !== undefined && ids.length > max ? [...ids.slice(0, max - 1), ids[ids.length - 1]] : ids);
  const ins = examples.map((e) => cut(e.inputIds, opts.maxInputLength));
  const outs = examples.map((e) => cut(e.labels, opts.maxTargetLength));
  for (const [i, r] of [...ins, ...outs].entries()) {
    if (r.length === 0) throw new GradlabError(`collateSeq2Seq: ${i < ins.length ? "inputIds" : "labels"} of example ${i % ins.length} are empty`);
  }
  const S = Math.max(...ins.map((r) => r.length));
  const T = Math.max(...outs.map((r) => r.length));
  const B = examples.length;
  const inputIds = new Int32Array(B * S).fill(pad);
  const attentionMask = new Int32Array(B * S);
  const labels = new Int32Array(B * T).fill(IGNORE_INDEX);
  for (let b = 0; b < B; b++) {
    inputIds.set(ins[b], b * S);
    attentionMask.fill(1, b * S, b * S + ins[b].length);
    labels.set(outs[b], b * T);
  }
  return { inputIds: new Tensor(inputIds, [B, S]), attentionMask: new Tensor(attentionMask, [B, S]), labels: new Tensor(labels, [B, T]) };
}

/** Text-to-text pairs ("reverse: a b c" → "c b a") as token ids with eos. */
export function encodePairs(tokenizer: T5Tokenizer, pairs: readonly { source: string; target: string }[]): Seq2SeqExample[] {
  return pairs.map((p) => ({ inputIds: tokenizer.encode(p.source), labels: tokenizer.encode(p.target) }));
}

/**
 * Span-corruption examples from a long token stream: consecutive windows of `length` tokens,
 * each corrupted independently (T5 packs its C4 text the same way, without document breaks).
 */
export function spanCorruptionExamples(
  stream: ArrayLike<number>,
  opts: { length: number; sentinelId: (n: number) => number; eosId?: number; noiseDensity?: number; meanNoiseSpanLength?: number; generator?: Generator; start?: number; count?: number },
): Seq2SeqExample[] {
  const { length, start = 0 } = opts;
  if (!Number.isInteger(length) || length < 2) throw new GradlabError(`spanCorruptionExamples: length must be an integer >= 2, got ${length}`);
  const max = Math.floor((stream.length - start) / length);
  const count = Math.min(opts.count ?? max, max);
  const out: Seq2SeqExample[] = [];
  for (let i = 0; i < count; i++) {
    const at = start + i * length;
    const ids = Array.from({ length }, (_, j) => stream[at + j]);
    out.push(
      spanCorruption(ids, {
        sentinelId: opts.sentinelId,
        eosId: opts.eosId ?? 1,
        noiseDensity: opts.noiseDensity,
        meanNoiseSpanLength: opts.meanNoiseSpanLength,
        generator: opts.generator ?? defaultGenerator,
      }),
    );
  }
  return out;
}

/**
 * T5's optimiser: Adafactor (factored second moments, updates scaled by each parameter's RMS) with
 * lr = lr₀ · √warmup / √max(step, warmup); T5 pre-trained with lr₀ 0.01 and warm-up 10⁴.
 */
export function t5Optimizer(model: T5ForConditionalGeneration, opts: { lr?: number; warmupSteps?: number; weightDecay?: number } = {}): { optimizer: Adafactor; scheduler: LRScheduler } {
  const optimizer = new Adafactor(model.parameters(), { lr: opts.lr ?? 0.01, weightDecay: opts.weightDecay ?? 0 });
  const scheduler = new LRScheduler(optimizer, inverseSqrt({ warmupSteps: opts.warmupSteps ?? 10_000 }));
  return { optimizer, scheduler };
}

/** Forward, backward, optional global-norm clipping, optimiser and schedule step; returns the loss. */
export function trainStep(
  model: T5ForConditionalGeneration,
  batch: Seq2SeqBatch,
  optimizer: { step(): unknown; zeroGrad(): void },
  opts: { scheduler?: { step(): void }; maxGradNorm?: number } = {},
): number {
  model.train();
  optimizer.zeroGrad();
  const loss = model.forward({ inputIds: batch.inputIds, attentionMask: batch.attentionMask, labels: batch.labels }).loss!;
  loss.backward();
  if (opts.maxGradNorm !== undefined) clipGradNorm(model.parameters(), opts.maxGradNorm);
  optimizer.step();
  opts.scheduler?.step();
  return loss.item();
}

/**
 * A batch of span-corruption examples from windows of `window` tokens at random offsets of a
 * token stream (a fresh draw every call, so epochs need no bookkeeping).
 */
export function spanCorruptionBatch(
  stream: readonly number[],
  opts: { window: number; batchSize: number; sentinelId: (n: number) => number; generator: Generator },
): Seq2SeqBatch {
  const { window, batchSize, generator: g } = opts;
  if (stream.length <= window) throw new GradlabError(`spanCorruptionBatch: the token stream (${stream.length} tokens) must be longer than the window (${window})`);
  const examples = Array.from({ length: batchSize }, () => {
    const at = g.randint(0, stream.length - window);
    return spanCorruption(stream.slice(at, at + window), { sentinelId: opts.sentinelId, generator: g });
  });
  return collateSeq2Seq(examples);
}

/** Tokens a step processes: non-padding inputs plus counted labels (the tokens/s figure's numerator). */
export function batchTokens(batch: Seq2SeqBatch): number {
  return (batch.attentionMask.sum().item() as number) + (batch.labels.ge(0).sum().item() as number);
}

/** Mean loss over batches in eval mode without gradients; the model is left in eval mode. */
export function meanLoss(model: T5ForConditionalGeneration, batches: readonly Seq2SeqBatch[]): number {
  if (batches.length === 0) throw new GradlabError("meanLoss: got no batches");
  model.eval();
  let sum = 0;
  for (const b of batches) sum += noGrad(() => model.forward({ inputIds: b.inputIds, attentionMask: b.attentionMask, labels: b.labels }).loss!.item());
  return sum / batches.length;
}

/**
 * Greedy decoding of every source, compared with its target after trimming whitespace (exact
 * match, as T5 scores its generated tasks). Decodes `batchSize` sources at a time.
 */
export function exactMatch(
  model: T5ForConditionalGeneration,
  tokenizer: T5Tokenizer,
  pairs: readonly { source: string; target: string }[],
  opts: { maxNewTokens?: number; batchSize?: number } = {},
): { correct: boolean[]; outputs: string[] } {
  const size = opts.batchSize ?? 100;
  model.eval();
  const outputs: string[] = [];
  for (let i = 0; i < pairs.length; i += size) {
    const enc = tokenizer.encodeBatch(pairs.slice(i, i + size).map((p) => p.source));
    const ids = model.generate(enc.inputIds, { attentionMask: enc.attentionMask, maxNewTokens: opts.maxNewTokens ?? 24 });
    outputs.push(...tokenizer.batchDecode(ids, { skipSpecialTokens: true }).map((s) => s.trim()));
  }
  return { correct: pairs.map((p, i) => outputs[i] === p.target.trim()), outputs };
}
