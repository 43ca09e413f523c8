import { GradlabError, ShapeError, fmtShape } from "../core/errors.js";
import { type Generator, defaultGenerator } from "../core/rng.js";
import { indexSelect } from "../tensor/primitives/indexing.js";
import { Tensor } from "../tensor/tensor.js";

/** 0..n−1 in a random order (Fisher–Yates). */
export function shuffledIndices(n: number, gen: Generator = defaultGenerator): Int32Array {
  const idx = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = gen.randint(0, i + 1);
    const t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
  return idx;
}

export interface BatchOptions {
  /** Shuffle with this generator (default); null keeps the order. */
  generator?: Generator | null;
  /** Skip the last batch when it is smaller than batchSize (default false). */
  dropLast?: boolean;
}

/** One epoch of index batches over n items. */
export function* batchIndices(n: number, batchSize: number, opts: BatchOptions = {}): IterableIterator<Int32Array> {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new GradlabError(`batchIndices: batchSize must be an integer ≥ 1, got ${batchSize}`);
  const gen = opts.generator === undefined ? defaultGenerator : opts.generator;
  const order = gen ? shuffledIndices(n, gen) : Int32Array.from({ length: n }, (_, i) => i);
  for (let s = 0; s < n; s += batchSize) {
    if (opts.dropLast && s + batchSize > n) break;
    yield order.subarray(s, Math.min(n, s + batchSize));
  }
}

export interface PaddedBatch {
  /** [T, B] int32 (or [B, T] with batchFirst), padded with `pad` past each sequence's length. */
  ids: Tensor;
  lengths: Int32Array;
}

/** Stacks token sequences of different lengths into one padded batch, optionally adding a first and a last token. */
export function padSequences(
  seqs: readonly ArrayLike<number>[],
  opts: { pad?: number; batchFirst?: boolean; prepend?: number; append?: number } = {},
): PaddedBatch {
  const B = seqs.length;
  if (B === 0) throw new GradlabError("padSequences: expected at least one sequence");
  const pre = opts.prepend === undefined ? 0 : 1;
  const post = opts.append === undefined ? 0 : 1;
  const lengths = Int32Array.from(seqs, (s) => s.length + pre + post);
  const T = Math.max(...lengths);
  if (T === 0) throw new GradlabError("padSequences: every sequence is empty");
  const data = new Int32Array(T * B).fill(opts.pad ?? 0);
  const at = opts.batchFirst ? (t: number, b: number) => b * T + t : (t: number, b: number) => t * B + b;
  seqs.forEach((s, b) => {
    if (pre) data[at(0, b)] = opts.prepend!;
    for (let i = 0; i < s.length; i++) data[at(i + pre, b)] = s[i];
    if (post) data[at(s.length + pre, b)] = opts.append!;
  });
  return { ids: new Tensor(data, opts.batchFirst ? [B, T] : [T, B]), lengths };
}

/** One shuffled epoch of (x, y) minibatches: rows of x [N, ...] and y [N, ...]. */
export function* classificationBatches(ds: { x: Tensor; y: Tensor }, batchSize: number, opts: BatchOptions = {}): IterableIterator<{ x: Tensor; y: Tensor }> {
  const N = ds.x.shape[0];
  if (ds.x.ndim === 0 || ds.y.ndim === 0 || ds.y.shape[0] !== N) {
    throw new ShapeError(`classificationBatches: x ${fmtShape(ds.x.shape)} and y ${fmtShape(ds.y.shape)} must have the same first dim`);
  }
  for (const idx of batchIndices(N, batchSize, opts)) {
    const i = new Tensor(Int32Array.from(idx), [idx.length]);
    yield { x: indexSelect(ds.x, 0, i), y: indexSelect(ds.y, 0, i) };
  }
}

export interface SequenceClassificationBatch extends PaddedBatch {
  /** [B] int32 labels. */
  target: Tensor;
}

/** Pads a set of labelled token sequences into one time-major batch with their lengths. */
export function sequenceClassificationBatch(samples: readonly { ids: ArrayLike<number>; label: number }[], pad = 0): SequenceClassificationBatch {
  const { ids, lengths } = padSequences(samples.map((s) => s.ids), { pad });
  return { ids, lengths, target: new Tensor(Int32Array.from(samples, (s) => s.label), [samples.length]) };
}

/** One shuffled epoch of padded, labelled sequence batches. */
export function* sequenceClassificationBatches(
  samples: readonly { ids: ArrayLike<number>; label: number }[], batchSize: number, opts: BatchOptions & { pad?: number } = {},
): IterableIterator<SequenceClassificationBatch> {
  for (const idx of batchIndices(samples.length, batchSize, opts)) yield sequenceClassificationBatch(Array.from(idx, (i) => samples[i]), opts.pad);
}

/** Ids of the special tokens of a sequence-to-sequence vocabulary. */
export interface SpecialTokens {
  pad: number;
  bos: number;
  eos: number;
}

export const DEFAULT_SPECIAL: SpecialTokens = { pad: 0, bos: 1, eos: 2 };

export interface Seq2SeqPair {
  src: ArrayLike<number>;
  tgt: ArrayLike<number>;
}

export interface Seq2SeqBatch {
  /** [S, B] int32 source ids, padded. */
  src: Tensor;
  srcLengths: Int32Array;
  /** [T, B] int32 decoder inputs: bos, then the target (teacher forcing). */
  tgtIn: Tensor;
  /** [T, B] int32 what the decoder must predict: the target, then eos; `pad` past the end. */
  tgtOut: Tensor;
  /** Target lengths including eos. */
  tgtLengths: Int32Array;
}

export function seq2seqBatch(pairs: readonly Seq2SeqPair[], special: SpecialTokens = DEFAULT_SPECIAL): Seq2SeqBatch {
  const src = padSequences(pairs.map((p) => p.src), { pad: special.pad });
  const tgtIn = padSequences(pairs.map((p) => p.tgt), { pad: special.pad, prepend: special.bos });
  const tgtOut = padSequences(pairs.map((p) => p.tgt), { pad: special.pad, append: special.eos });
  return { src: src.ids, srcLengths: src.lengths, tgtIn: tgtIn.ids, tgtOut: tgtOut.ids, tgtLengths: tgtOut.lengths };
}

/** One shuffled epoch of padded sequence-to-sequence batches. */
export function* seq2seqBatches(
  pairs: readonly Seq2SeqPair[], batchSize: number, opts: BatchOptions & { special?: SpecialTokens } = {},
): IterableIterator<Seq2SeqBatch> {
  for (const idx of batchIndices(pairs.length, batchSize, opts)) yield seq2seqBatch(Array.from(idx, (i) => pairs[i]), opts.special);
}
