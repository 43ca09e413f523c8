/**
 * A tiny, deliberately naive float64 array library that the op tests compare gradlab against.
 * It shares no code with src/: every value is computed from its definition, by multi-index.
 */
import * as gl from "../../src/index.js";

export interface Nd {
  shape: number[];
  data: Float64Array;
}

export function nd(shape: readonly number[], data: ArrayLike<number>): Nd {
  return { shape: [...shape], data: Float64Array.from(data) };
}

export function fromTensor(t: gl.Tensor): Nd {
  return nd(t.shape, t.toArray());
}

export function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Multi-index of flat position i (row-major). */
export function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return idx;
}

export function ravel(idx: readonly number[], shape: readonly number[]): number {
  let i = 0;
  for (let d = 0; d < shape.length; d++) i = i * shape[d] + idx[d];
  return i;
}

export function at(x: Nd, idx: readonly number[]): number {
  return x.data[ravel(idx, x.shape)];
}

/** Builds an array of the given shape from a function of the multi-index. */
export function build(shape: readonly number[], f: (idx: number[]) => number): Nd {
  const n = size(shape);
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = f(unravel(i, shape));
  return { shape: [...shape], data };
}

export function map(x: Nd, f: (v: number) => number): Nd {
  return { shape: [...x.shape], data: x.data.map(f) };
}

export function broadcastShape(...shapes: number[][]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    let d = 1;
    for (const s of shapes) {
      const v = s[s.length - rank + i] ?? 1;
      if (v !== 1) d = v;
    }
    out.push(d);
  }
  return out;
}

/** Value of x at an index of a (broadcast) output shape. */
export function atBroadcast(x: Nd, idx: readonly number[]): number {
  const lead = idx.length - x.shape.length;
  return at(x, x.shape.map((d, i) => (d === 1 ? 0 : idx[i + lead])));
}

export function zipN(xs: Nd[], f: (...v: number[]) => number): Nd {
  const shape = broadcastShape(...xs.map((x) => x.shape));
  return build(shape, (idx) => f(...xs.map((x) => atBroadcast(x, idx))));
}

export function zip(a: Nd, b: Nd, f: (a: number, b: number) => number): Nd {
  return zipN([a, b], f);
}

/** Folds x over `axes` (all when undefined) with f, starting every output at init. */
export function reduce(x: Nd, axes: number[] | undefined, keepDim: boolean, f: (acc: number[]) => number): Nd {
  const ax = (axes ?? x.shape.map((_, i) => i)).map((a) => (a < 0 ? a + x.shape.length : a));
  const keep = x.shape.map((d, i) => (ax.includes(i) ? 1 : d));
  const groups: number[][] = Array.from({ length: size(keep) }, () => []);
  for (let i = 0; i < x.data.length; i++) {
    const idx = unravel(i, x.shape);
    groups[ravel(idx.map((v, d) => (ax.includes(d) ? 0 : v)), keep)].push(x.data[i]);
  }
  const shape = keepDim ? keep : x.shape.filter((_, i) => !ax.includes(i));
  return nd(shape, groups.map(f));
}

export const sumOf = (v: number[]): number => v.reduce((a, b) => a + b, 0);
export const maxOf = (v: number[]): number => (v.some((x) => Number.isNaN(x)) ? NaN : Math.max(...v));
export const minOf = (v: number[]): number => (v.some((x) => Number.isNaN(x)) ? NaN : Math.min(...v));

export function permuteNd(x: Nd, dims: number[]): Nd {
  const shape = dims.map((d) => x.shape[d]);
  return build(shape, (idx) => {
    const src = new Array<number>(dims.length);
    dims.forEach((d, i) => (src[d] = idx[i]));
    return at(x, src);
  });
}

export function matmulNd(a: Nd, b: Nd): Nd {
  // torch.matmul's rules, written out: promote 1-d operands, broadcast batch dims, squeeze back.
  const A = a.shape.length === 1 ? { ...a, shape: [1, a.shape[0]] } : a;
  const B = b.shape.length === 1 ? { ...b, shape: [b.shape[0], 1] } : b;
  const [M, K] = A.shape.slice(-2);
  const N = B.shape[B.shape.length - 1];
  const batch = broadcastShape(A.shape.slice(0, -2), B.shape.slice(0, -2));
  const full = build([...batch, M, N], (idx) => {
    const bi = idx.slice(0, -2);
    const [i, j] = idx.slice(-2);
    let s = 0;
    for (let k = 0; k < K; k++) {
      s += atBroadcast(A, [...bi, i, k]) * atBroadcast(B, [...bi, k, j]);
    }
    return s;
  });
  const shape = [...batch];
  if (a.shape.length > 1) shape.push(M);
  if (b.shape.length > 1) shape.push(N);
  return nd(shape, full.data);
}

export function catNd(xs: Nd[], dim: number): Nd {
  const shape = [...xs[0].shape];
  shape[dim] = xs.reduce((a, x) => a + x.shape[dim], 0);
  return build(shape, (idx) => {
    let k = idx[dim];
    for (const x of xs) {
      if (k < x.shape[dim]) {
        const j = [...idx];
        j[dim] = k;
        return at(x, j);
      }
      k -= x.shape[dim];
    }
    throw new Error("unreachable");
  });
}

/** Elements i0, i0+step, ... below i1 along dim. */
export function sliceNd(x: Nd, dim: number, i0: number, i1: number, step = 1): Nd {
  const shape = [...x.shape];
  shape[dim] = Math.max(0, Math.ceil((i1 - i0) / step));
  return build(shape, (idx) => {
    const j = [...idx];
    j[dim] = i0 + idx[dim] * step;
    return at(x, j);
  });
}

export function softmaxNd(x: Nd, dim: number): Nd {
  const d = dim < 0 ? dim + x.shape.length : dim;
  return build(x.shape, (idx) => {
    const row: number[] = [];
    for (let k = 0; k < x.shape[d]; k++) {
      const j = [...idx];
      j[d] = k;
      row.push(at(x, j));
    }
    const m = Math.max(...row);
    return Math.exp(at(x, idx) - m) / sumOf(row.map((v) => Math.exp(v - m)));
  });
}

/**
 * erf by composite Simpson integration of 2/√π·e^(−t²) (an independent route to the same values;
 * accurate to ~1e-14 for the arguments the tests use).
 */
export function erfRef(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (!Number.isFinite(x)) return Math.sign(x);
  const n = 4000;
  const h = x / n;
  let s = 1 + Math.exp(-x * x);
  for (let i = 1; i < n; i++) s += (i % 2 ? 4 : 2) * Math.exp(-(i * h) * (i * h));
  return ((2 / Math.sqrt(Math.PI)) * s * h) / 3;
}
