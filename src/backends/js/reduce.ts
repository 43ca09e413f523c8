import type { TypedArray } from "../../core/dtype.js";
import type { ReduceOp, View } from "../../backend/kernels.js";
import { nextRow, plan } from "./strided.js";

/** Strides of the keep-dim output, with 0 on reduced axes, so every input element finds its slot. */
function outStrides(shape: readonly number[], axes: readonly number[]): number[] {
  const st = new Array<number>(shape.length).fill(0);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (axes.includes(i)) continue;
    st[i] = s;
    s *= shape[i];
  }
  return st;
}

type ReduceRow = (x: TypedArray, px: number, sx: number, acc: Float64Array, pa: number, sa: number, n: number) => void;

// One loop per op, and a local accumulator when the row runs along a reduced dim (sa = 0).
const rows: Record<ReduceOp, ReduceRow> = {
  sum: (x, px, sx, acc, pa, sa, n) => {
    if (sa === 0) {
      let s = acc[pa];
      for (let i = 0; i < n; i++, px += sx) s += x[px];
      acc[pa] = s;
    } else {
      for (let i = 0; i < n; i++, px += sx, pa += sa) acc[pa] += x[px];
    }
  },
  prod: (x, px, sx, acc, pa, sa, n) => {
    if (sa === 0) {
      let s = acc[pa];
      for (let i = 0; i < n; i++, px += sx) s *= x[px];
      acc[pa] = s;
    } else {
      for (let i = 0; i < n; i++, px += sx, pa += sa) acc[pa] *= x[px];
    }
  },
  // NaN wins: once the running value is NaN no comparison replaces it.
  max: (x, px, sx, acc, pa, sa, n) => {
    for (let i = 0; i < n; i++, px += sx, pa += sa) {
      const v = x[px];
      if (v > acc[pa] || v !== v) acc[pa] = v;
    }
  },
  min: (x, px, sx, acc, pa, sa, n) => {
    for (let i = 0; i < n; i++, px += sx, pa += sa) {
      const v = x[px];
      if (v < acc[pa] || v !== v) acc[pa] = v;
    }
  },
};

export function reduce(op: ReduceOp, x: View, axes: readonly number[], out: TypedArray): void {
  // Accumulate in float64 so float32 sums round once, at the end.
  const acc = new Float64Array(out.length);
  acc.fill(op === "sum" ? 0 : op === "prod" ? 1 : op === "max" ? -Infinity : Infinity);
  let n = 1;
  for (const d of x.shape) n *= d;
  if (n > 0) {
    // Input and accumulator walk x's index space together; the accumulator's stride is 0 along
    // reduced axes, so every element lands in its output slot, in increasing order within a row.
    const p = plan(x.shape, [x.strides, outStrides(x.shape, axes)]);
    const last = p.shape.length - 1;
    const sx = p.strides[0][last];
    const sa = p.strides[1][last];
    const row = rows[op];
    const idx = new Int32Array(p.shape.length);
    const pos = [x.offset, 0];
    for (let r = 0; r < p.rows; r++) {
      row(x.data, pos[0], sx, acc, pos[1], sa, p.shape[last]);
      nextRow(p, idx, pos);
    }
  }
  for (let i = 0; i < out.length; i++) out[i] = acc[i];
}

export function argReduce(op: "argmax" | "argmin", x: View, axis: number, out: Int32Array): void {
  const shape = x.shape;
  const n = shape[axis];
  const sAxis = x.strides[axis];
  let outer = 1;
  for (let i = 0; i < axis; i++) outer *= shape[i];
  let inner = 1;
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i];
  const xd = x.data;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      // Offset of element (o, 0, j) through the strides of the dims before and after the axis.
      let off = x.offset;
      let r = o;
      for (let d = axis - 1; d >= 0; d--) {
        off += (r % shape[d]) * x.strides[d];
        r = Math.floor(r / shape[d]);
      }
      r = j;
      for (let d = shape.length - 1; d > axis; d--) {
        off += (r % shape[d]) * x.strides[d];
        r = Math.floor(r / shape[d]);
      }
      let best = xd[off];
      let bi = 0;
      for (let k = 1; k < n; k++) {
        const v = xd[off + k * sAxis];
        if (best !== best) break; // NaN wins, as in PyTorch
        if (op === "argmax" ? v > best || v !== v : v < best || v !== v) {
          best = v;
          bi = k;
        }
      }
      out[o * inner + j] = bi;
    }
  }
}
