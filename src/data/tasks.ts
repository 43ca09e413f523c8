import { GradlabError } from "../core/errors.js";
import { type Generator, defaultGenerator } from "../core/rng.js";
import { Tensor } from "../tensor/tensor.js";

/**
 * Generated tasks that need memory over a chosen distance, the classic probes of what recurrent
 * networks can learn. Sequences are time-major ([T, B, ...]) like the recurrent layers' default.
 * Every generator draws from the Generator it is given, so a seed fixes the data.
 */

function checkInt(op: string, what: string, v: number, min: number): number {
  if (!Number.isInteger(v) || v < min) throw new GradlabError(`${op}: ${what} must be an integer ≥ ${min}, got ${v}`);
  return v;
}

export interface AddingBatch {
  /** [T, B, 2] float: channel 0 a value in [0, 1), channel 1 the marker (1 at the two marked steps). */
  input: Tensor;
  /** [B, 1] float: the sum of the two marked values. */
  target: Tensor;
}

/**
 * The adding problem (Hochreiter & Schmidhuber 1997; this variant from Le et al. 2015): of T
 * random values two are marked, one in the first half and one in the second, and the target is
 * their sum. Predicting the mean (1) leaves an error of Var = 1/6 ≈ 0.167; solving the task needs
 * the first marked value remembered for up to T steps.
 */
export function addingProblem(T: number, batch: number, gen: Generator = defaultGenerator, dtype: "float32" | "float64" = "float32"): AddingBatch {
  checkInt("addingProblem", "T", T, 2);
  checkInt("addingProblem", "batch", batch, 1);
  const x = dtype === "float64" ? new Float64Array(T * batch * 2) : new Float32Array(T * batch * 2);
  const y = dtype === "float64" ? new Float64Array(batch) : new Float32Array(batch);
  const half = Math.floor(T / 2);
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < T; t++) x[(t * batch + b) * 2] = gen.random();
    const i = gen.randint(0, half);
    const j = gen.randint(half, T);
    x[(i * batch + b) * 2 + 1] = 1;
    x[(j * batch + b) * 2 + 1] = 1;
    // Read back the stored values so the target is exact in float32 too.
    y[b] = x[(i * batch + b) * 2] + x[(j * batch + b) * 2];
  }
  return { input: new Tensor(x, [T, batch, 2]), target: new Tensor(y, [batch, 1]) };
}

export interface CopyTaskOptions {
  /** Symbols to remember (K, default 10). */
  length?: number;
  /** Blank steps between the last symbol and the delimiter (default 20). */
  delay: number;
  /** Alphabet size n (default 8): symbols are ids 1..n, 0 is blank and n+1 the delimiter. */
  symbols?: number;
}

export interface TokenBatch {
  /** [T, B] int32 ids. */
  input: Tensor;
  /** [T, B] int32 per-step targets, or [B] int32 per-sequence labels. */
  target: Tensor;
}

/** The copy task's vocabulary size for an alphabet of n symbols: blank, n symbols, delimiter. */
export function copyTaskVocab(symbols = 8): number {
  return symbols + 2;
}

/**
 * The copy (memory) task (Hochreiter & Schmidhuber 1997; Arjovsky et al. 2016): K random symbols,
 * `delay` blanks, a delimiter, then K blanks during which the network must output the symbols in
 * order; every other target is blank. Length 2K + delay + 1. A network without memory can at best
 * output blanks and guess the symbols: a cross-entropy of K·ln(n)/(2K + delay + 1).
 */
export function copyTask(o: CopyTaskOptions, batch: number, gen: Generator = defaultGenerator): TokenBatch {
  const K = checkInt("copyTask", "length", o.length ?? 10, 1);
  const delay = checkInt("copyTask", "delay", o.delay, 0);
  const n = checkInt("copyTask", "symbols", o.symbols ?? 8, 1);
  checkInt("copyTask", "batch", batch, 1);
  const T = 2 * K + delay + 1;
  const x = new Int32Array(T * batch);
  const y = new Int32Array(T * batch);
  for (let b = 0; b < batch; b++) {
    for (let k = 0; k < K; k++) {
      const s = 1 + gen.randint(0, n);
      x[k * batch + b] = s;
      y[(K + delay + 1 + k) * batch + b] = s;
    }
    x[(K + delay) * batch + b] = n + 1;
  }
  return { input: new Tensor(x, [T, batch]), target: new Tensor(y, [T, batch]) };
}

/** The copy task's memoryless baseline cross-entropy (nats per step): K·ln(n)/(2K + delay + 1). */
export function copyTaskBaseline(o: CopyTaskOptions): number {
  const K = o.length ?? 10;
  return (K * Math.log(o.symbols ?? 8)) / (2 * K + o.delay + 1);
}

/**
 * "Remember the first token": T random tokens from a vocabulary of V; the label is the first.
 * The last steps carry no information about it, so the error signal has to travel all T steps;
 * chance accuracy is 1/V, a cross-entropy of ln V.
 */
export function firstTokenTask(o: { length: number; vocab: number }, batch: number, gen: Generator = defaultGenerator): TokenBatch {
  const T = checkInt("firstTokenTask", "length", o.length, 1);
  const V = checkInt("firstTokenTask", "vocab", o.vocab, 2);
  checkInt("firstTokenTask", "batch", batch, 1);
  const x = new Int32Array(T * batch);
  for (let i = 0; i < x.length; i++) x[i] = gen.randint(0, V);
  return { input: new Tensor(x, [T, batch]), target: new Tensor(x.slice(0, batch), [batch]) };
}

/** Token ids of the parentheses task: 0 is padding. */
export const PAREN = { pad: 0, open: 1, close: 2, vocab: 3 } as const;

/** Whether a sequence of PAREN ids is balanced: every prefix has no more closes than opens, and the counts are equal. */
export function isBalanced(ids: ArrayLike<number>): boolean {
  let depth = 0;
  for (let i = 0; i < ids.length; i++) {
    depth += ids[i] === PAREN.open ? 1 : ids[i] === PAREN.close ? -1 : 0;
    if (depth < 0) return false;
  }
  return depth === 0;
}

export interface ParenthesesSample {
  ids: Int32Array;
  label: 0 | 1;
  /** How a negative was made: "count" (unequal numbers of opens and closes) or "order" (equal counts, a prefix closes too much). */
  kind: "balanced" | "count" | "order";
}

function randomBalanced(pairs: number, gen: Generator): Int32Array {
  const ids = new Int32Array(2 * pairs);
  let open = 0;
  let depth = 0;
  for (let i = 0; i < ids.length; i++) {
    const canOpen = open < pairs;
    const canClose = depth > 0;
    const doOpen = canOpen && (!canClose || gen.random() < 0.5);
    ids[i] = doOpen ? PAREN.open : PAREN.close;
    if (doOpen) {
      open++;
      depth++;
    } else depth--;
  }
  return ids;
}

/**
 * Balanced parentheses: strings of 2·pairs symbols (pairs uniform in [minPairs, maxPairs]); half
 * are balanced, half are not. Half of the negatives have unequal counts (one symbol flipped), the
 * other half equal counts in an impossible order (a balanced string rotated at a point of nonzero
 * depth), so counting alone does not solve the task: it needs a running depth that never goes below 0.
 */
export function parenthesesTask(o: { minPairs: number; maxPairs: number }, count: number, gen: Generator = defaultGenerator): ParenthesesSample[] {
  const lo = checkInt("parenthesesTask", "minPairs", o.minPairs, 1);
  const hi = checkInt("parenthesesTask", "maxPairs", o.maxPairs, lo);
  checkInt("parenthesesTask", "count", count, 0);
  const out: ParenthesesSample[] = [];
  for (let s = 0; s < count; s++) {
    const ids = randomBalanced(gen.randint(lo, hi + 1), gen);
    const r = gen.random();
    if (r < 0.5) {
      out.push({ ids, label: 1, kind: "balanced" });
    } else if (r < 0.75) {
      const i = gen.randint(0, ids.length);
      ids[i] = ids[i] === PAREN.open ? PAREN.close : PAREN.open;
      out.push({ ids, label: 0, kind: "count" });
    } else {
      // Positions (not 0) where the depth before them is positive: rotating there starts mid-nesting.
      const cuts: number[] = [];
      let depth = 0;
      for (let i = 0; i < ids.length; i++) {
        if (i > 0 && depth > 0) cuts.push(i);
        depth += ids[i] === PAREN.open ? 1 : -1;
      }
      const k = cuts[gen.randint(0, cuts.length)];
      const rotated = new Int32Array(ids.length);
      rotated.set(ids.subarray(k), 0);
      rotated.set(ids.subarray(0, k), ids.length - k);
      out.push({ ids: rotated, label: 0, kind: "order" });
    }
  }
  return out;
}

/**
 * A tagging task that needs right context: tokens x_t from a vocabulary of V, and each tag
 * y_t = (x_t + x_{t+offset}) mod C (x past the end counts as 0). A left-to-right network sees
 * x_{t+offset} only after it must tag t, so it can do no better than chance (1/C) where the
 * right neighbour matters; a bidirectional one can be exact.
 */
export function rightContextTagging(o: { length: number; vocab: number; classes: number; offset?: number }, batch: number, gen: Generator = defaultGenerator): TokenBatch {
  const T = checkInt("rightContextTagging", "length", o.length, 1);
  const V = checkInt("rightContextTagging", "vocab", o.vocab, 2);
  const C = checkInt("rightContextTagging", "classes", o.classes, 2);
  const d = checkInt("rightContextTagging", "offset", o.offset ?? 1, 1);
  checkInt("rightContextTagging", "batch", batch, 1);
  const x = new Int32Array(T * batch);
  for (let i = 0; i < x.length; i++) x[i] = gen.randint(0, V);
  const y = new Int32Array(T * batch);
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < batch; b++) {
      const right = t + d < T ? x[(t + d) * batch + b] : 0;
      y[t * batch + b] = (x[t * batch + b] + right) % C;
    }
  }
  return { input: new Tensor(x, [T, batch]), target: new Tensor(y, [T, batch]) };
}

export interface PointsDataset {
  /** [N, 2] float points. */
  x: Tensor;
  /** [N] int32 class labels. */
  y: Tensor;
}

/**
 * K interleaved spiral arms in the plane (Lang & Witbrock 1988, generalised), one class per arm:
 * each arm winds `turns` times, with Gaussian noise of std `noise` on the radius. Not linearly
 * separable, and the boundary curls more with `turns`, so a classifier needs several nonlinear layers.
 */
export function spirals(o: { classes?: number; perClass: number; turns?: number; noise?: number }, gen: Generator = defaultGenerator, dtype: "float32" | "float64" = "float32"): PointsDataset {
  const K = checkInt("spirals", "classes", o.classes ?? 3, 2);
  const n = checkInt("spirals", "perClass", o.perClass, 1);
  const turns = o.turns ?? 1;
  const noise = o.noise ?? 0.05;
  if (!(turns > 0) || !(noise >= 0)) throw new GradlabError(`spirals: turns must be > 0 and noise ≥ 0, got ${turns}, ${noise}`);
  const N = K * n;
  const x = dtype === "float64" ? new Float64Array(N * 2) : new Float32Array(N * 2);
  const y = new Int32Array(N);
  for (let k = 0; k < K; k++) {
    for (let i = 0; i < n; i++) {
      const u = (i + gen.random()) / n;
      const r = 0.1 + 0.9 * u + noise * gen.normal();
      const a = (2 * Math.PI * k) / K + 2 * Math.PI * turns * u;
      const idx = k * n + i;
      x[2 * idx] = r * Math.cos(a);
      x[2 * idx + 1] = r * Math.sin(a);
      y[idx] = k;
    }
  }
  return { x: new Tensor(x, [N, 2]), y: new Tensor(y, [N]) };
}
