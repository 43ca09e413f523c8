import type { View } from "./kernels.js";

export function isContiguous(v: View): boolean {
  let s = 1;
  for (let i = v.shape.length - 1; i >= 0; i--) {
    const d = v.shape[i];
    if (d !== 1 && v.strides[i] !== s) return false;
    s *= d;
  }
  return true;
}

export function viewSize(v: View): number {
  let n = 1;
  for (const d of v.shape) n *= d;
  return n;
}

/**
 * Calls `row(offset, stride, count, start)` once per innermost row of a view, in row-major order;
 * `start` is the row's first flat index in a contiguous array of the same shape.
 */
export function forEachRow(
  v: View,
  row: (offset: number, stride: number, count: number, start: number) => void,
): void {
  const shape = v.shape;
  const rank = shape.length;
  const n = viewSize(v);
  if (n === 0) return;
  if (rank === 0) {
    row(v.offset, 1, 1, 0);
    return;
  }
  const last = rank - 1;
  const inner = shape[last];
  const idx = new Array<number>(rank).fill(0);
  let off = v.offset;
  for (let start = 0; start < n; start += inner) {
    row(off, v.strides[last], inner, start);
    for (let d = last - 1; d >= 0; d--) {
      idx[d]++;
      off += v.strides[d];
      if (idx[d] < shape[d]) break;
      off -= v.strides[d] * shape[d];
      idx[d] = 0;
    }
  }
}
