import type { TypedArray } from "../../core/dtype.js";
import type { ReduceOp, View } from "../../backend/kernels.js";
import { forEachRow } from "../../backend/view.js";

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

export function reduce(op: ReduceOp, x: View, axes: readonly number[], out: TypedArray): void {
  // Accumulate in float64 so float32 sums round once, at the end.
  const acc = new Float64Array(out.length);
  const init = op === "sum" ? 0 : op === "prod" ? 1 : op === "max" ? -Infinity : Infinity;
  acc.fill(init);
  const os = outStrides(x.shape, axes);
  const rank = x.shape.length;
  const xd = x.data;
  const idx = new Array<number>(rank).fill(0);
  const innerStride = rank ? os[rank - 1] : 0;
  forEachRow(x, (off, stride, count, start) => {
    // Recover the multi-index of the row's first element from its flat position.
    let rem = start;
    let base = 0;
    for (let d = rank - 1; d >= 0; d--) {
      idx[d] = rem % x.shape[d];
      rem = Math.floor(rem / x.shape[d]);
      base += idx[d] * os[d];
    }
    if (rank) base -= idx[rank - 1] * os[rank - 1];
    for (let i = 0; i < count; i++) {
      const v = xd[off + i * stride];
      const o = base + i * innerStride;
      const a = acc[o];
      switch (op) {
        case "sum":
          acc[o] = a + v;
          break;
        case "prod":
          acc[o] = a * v;
          break;
        case "max":
          if (v > a || v !== v) acc[o] = v;
          break;
        case "min":
          if (v < a || v !== v) acc[o] = v;
          break;
      }
    }
  });
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
