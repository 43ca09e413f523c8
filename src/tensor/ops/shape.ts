import { ShapeError, fmtShape } from "../../core/errors.js";
import { normDim } from "../../core/shape.js";
import { cat, permute, reshape, slice } from "../primitives/movement.js";
import type { Tensor } from "../tensor.js";

/** Accepts f(2, 3), f([2, 3]) and f() alike. */
export function shapeArg(args: readonly (number | readonly number[])[]): number[] {
  if (args.length === 1 && Array.isArray(args[0])) return [...(args[0] as readonly number[])];
  return args as number[];
}

export function dimIndex(op: string, dim: number, rank: number): number {
  return normDim(op, dim, rank);
}

export function transpose(x: Tensor, d0: number, d1: number): Tensor {
  if (x.ndim < 2) return x;
  const a = normDim("transpose", d0, x.ndim);
  const b = normDim("transpose", d1, x.ndim);
  const perm = x.shape.map((_, i) => i);
  perm[a] = b;
  perm[b] = a;
  return permute(x, perm);
}

export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  const d = normDim("narrow", dim, x.ndim);
  const n = x.shape[d];
  const s = start < 0 ? start + n : start;
  if (s < 0 || length < 0 || s + length > n) {
    throw new ShapeError(`narrow: start ${start} + length ${length} exceeds dim ${d} of size ${n}`);
  }
  return slice(x, d, s, s + length);
}

export function select(x: Tensor, dim: number, index: number): Tensor {
  const d = normDim("select", dim, x.ndim);
  const n = x.shape[d];
  if (index < -n || index >= n) throw new ShapeError(`select: index ${index} is out of range for dim ${d} of size ${n}`);
  const i = index < 0 ? index + n : index;
  const s = slice(x, d, i, i + 1);
  return reshape(s, x.shape.filter((_, k) => k !== d));
}

export function squeeze(x: Tensor, dim?: number): Tensor {
  if (dim === undefined) return reshape(x, x.shape.filter((d) => d !== 1));
  const d = normDim("squeeze", dim, x.ndim);
  if (x.ndim === 0 || x.shape[d] !== 1) return x;
  return reshape(x, x.shape.filter((_, i) => i !== d));
}

export function unsqueeze(x: Tensor, dim: number): Tensor {
  const d = normDim("unsqueeze", dim, x.ndim + 1);
  const s = [...x.shape];
  s.splice(d, 0, 1);
  return reshape(x, s);
}

export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  if (x.ndim === 0) return reshape(x, [1]);
  const s = normDim("flatten", startDim, x.ndim);
  const e = normDim("flatten", endDim, x.ndim);
  if (s > e) throw new ShapeError(`flatten: startDim ${startDim} comes after endDim ${endDim}`);
  const mid = x.shape.slice(s, e + 1).reduce((a, b) => a * b, 1);
  return reshape(x, [...x.shape.slice(0, s), mid, ...x.shape.slice(e + 1)]);
}

/** Pieces of `size` (the last may be smaller), or of the listed sizes, along dim. */
export function split(x: Tensor, sizes: number | readonly number[], dim = 0): Tensor[] {
  const d = normDim("split", dim, x.ndim);
  const n = x.shape[d];
  let list: number[];
  if (typeof sizes === "number") {
    if (!Number.isInteger(sizes) || sizes <= 0) throw new ShapeError(`split: size must be a positive integer, got ${sizes}`);
    list = [];
    for (let at = 0; at < n; at += sizes) list.push(Math.min(sizes, n - at));
    if (n === 0) list.push(0);
  } else {
    list = [...sizes];
    const total = list.reduce((a, b) => a + b, 0);
    if (total !== n) throw new ShapeError(`split: sizes ${fmtShape(list)} sum to ${total}, but dim ${d} has size ${n}`);
  }
  let at = 0;
  return list.map((len) => {
    const part = slice(x, d, at, at + len);
    at += len;
    return part;
  });
}

export function chunk(x: Tensor, chunks: number, dim = 0): Tensor[] {
  if (!Number.isInteger(chunks) || chunks <= 0) throw new ShapeError(`chunk: chunks must be a positive integer, got ${chunks}`);
  const d = normDim("chunk", dim, x.ndim);
  const size = Math.max(1, Math.ceil(x.shape[d] / chunks));
  return split(x, size, d);
}

export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new ShapeError("stack: expected a non-empty list of tensors");
  const ref = tensors[0].shape;
  for (const t of tensors) {
    if (t.shape.length !== ref.length || t.shape.some((v, i) => v !== ref[i])) {
      throw new ShapeError(`stack: all tensors must have the same shape, got ${fmtShape(ref)} and ${fmtShape(t.shape)}`);
    }
  }
  const d = normDim("stack", dim, ref.length + 1);
  return cat(tensors.map((t) => unsqueeze(t, d)), d);
}
