import type { DType } from "../../core/dtype.js";
import { DTypeError, GradlabError, ShapeError, fmtShape } from "../../core/errors.js";
import { Tensor } from "../../tensor/tensor.js";

/** Sequence lengths as PyTorch's pack_padded_sequence takes them (any order). */
export type Lengths = readonly number[] | Int32Array | Tensor;

export function checkInput(op: string, x: unknown, dtype: DType, inputSize: number): Tensor {
  if (!(x instanceof Tensor)) throw new GradlabError(`${op}: input must be a Tensor, got ${x === null ? "null" : typeof x}`);
  if (x.ndim !== 2 && x.ndim !== 3) {
    throw new ShapeError(`${op}: expected input of rank 3 (or 2 for an unbatched sequence), got rank ${x.ndim} with shape ${fmtShape(x.shape)}`);
  }
  return checkFeatures(op, x, dtype, inputSize);
}

/** The input's dtype and feature count (last dim). */
export function checkFeatures(op: string, x: Tensor, dtype: DType, inputSize: number): Tensor {
  if (x.dtype !== dtype) {
    throw new DTypeError(`${op}: input dtype ${x.dtype} does not match the module's parameters (${dtype}); convert one with .to()`);
  }
  const feat = x.shape[x.ndim - 1];
  if (feat !== inputSize) {
    throw new ShapeError(`${op}: expected input with ${inputSize} features (last dim), got shape ${fmtShape(x.shape)} with ${feat}`);
  }
  return x;
}

/** Checks an initial state against its expected shape and the module's dtype. */
export function checkState(op: string, what: string, t: unknown, shape: readonly number[], dtype: DType): Tensor {
  if (!(t instanceof Tensor)) throw new GradlabError(`${op}: ${what} must be a Tensor, got ${t === null ? "null" : typeof t}`);
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new ShapeError(`${op}: expected ${what} of shape ${fmtShape(shape)}, got ${fmtShape(t.shape)}`);
  }
  if (t.dtype !== dtype) throw new DTypeError(`${op}: ${what} dtype ${t.dtype} does not match the module's parameters (${dtype})`);
  return t;
}

/** Validated lengths, each in 1..T, one per sequence of the batch; null when absent. */
export function parseLengths(op: string, lengths: Lengths | null | undefined, B: number, T: number): Int32Array | null {
  if (lengths === undefined || lengths === null) return null;
  let values: ArrayLike<number>;
  if (lengths instanceof Tensor) {
    if (lengths.ndim !== 1) throw new ShapeError(`${op}: lengths must be 1-d, got shape ${fmtShape(lengths.shape)}`);
    values = lengths.toArray();
  } else if (Array.isArray(lengths) || lengths instanceof Int32Array) {
    values = lengths;
  } else {
    throw new GradlabError(`${op}: lengths must be an array of integers or a 1-d Tensor, got ${typeof lengths}`);
  }
  if (values.length !== B) throw new ShapeError(`${op}: expected ${B} lengths (one per sequence of the batch), got ${values.length}`);
  const out = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    const L = values[b];
    if (!Number.isInteger(L) || L < 1 || L > T) {
      throw new GradlabError(`${op}: lengths[${b}] = ${L} is out of range; each length must be an integer in 1..${T} (the sequence length)`);
    }
    out[b] = L;
  }
  return out;
}

export function checkChoice<T extends string>(op: string, what: string, v: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(v as T)) throw new GradlabError(`${op}: ${what} must be one of ${allowed.map((a) => `"${a}"`).join(", ")}, got ${JSON.stringify(v)}`);
  return v as T;
}

export function checkPositiveInt(op: string, what: string, v: unknown, min = 1): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min) throw new GradlabError(`${op}: ${what} must be an integer >= ${min}, got ${String(v)}`);
  return v;
}
