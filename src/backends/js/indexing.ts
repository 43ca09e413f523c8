import type { TypedArray } from "../../core/dtype.js";
import { splitAt } from "../../core/shape.js";
import type { View } from "../../backend/kernels.js";
import { forEachRow, isContiguous } from "../../backend/view.js";

function flatIndices(v: View): Int32Array {
  const n = v.shape.reduce((a, b) => a * b, 1);
  const out = new Int32Array(n);
  const d = v.data;
  forEachRow(v, (off, stride, count, start) => {
    for (let i = 0; i < count; i++) out[start + i] = d[off + i * stride];
  });
  return out;
}

/** Calls fn(flatPosition, offsetIntoX) for each element of `shape`, with dim `dim` replaced by idx. */
function walk(
  shape: readonly number[],
  strides: readonly number[],
  offset: number,
  dim: number,
  idx: Int32Array,
  fn: (i: number, off: number) => void,
): void {
  const rank = shape.length;
  const pos = new Array<number>(rank).fill(0);
  const n = idx.length;
  for (let i = 0; i < n; i++) {
    let off = offset;
    for (let d = 0; d < rank; d++) off += (d === dim ? idx[i] : pos[d]) * strides[d];
    fn(i, off);
    for (let d = rank - 1; d >= 0; d--) {
      if (++pos[d] < shape[d]) break;
      pos[d] = 0;
    }
  }
}

export function gather(x: View, dim: number, index: View, out: TypedArray): void {
  const idx = flatIndices(index);
  const xd = x.data;
  walk(index.shape, x.strides, x.offset, dim, idx, (i, off) => {
    out[i] = xd[off];
  });
}

export function scatterAdd(dst: TypedArray, dstShape: readonly number[], dim: number, index: View, src: View): void {
  const idx = flatIndices(index);
  const vals = new Float64Array(idx.length);
  const sd = src.data;
  forEachRow(src, (off, stride, count, start) => {
    for (let i = 0; i < count; i++) vals[start + i] = sd[off + i * stride];
  });
  const strides = contiguousStridesOf(dstShape);
  walk(index.shape, strides, 0, dim, idx, (i, off) => {
    dst[off] += vals[i];
  });
}

function contiguousStridesOf(shape: readonly number[]): number[] {
  const st = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    st[i] = s;
    s *= shape[i];
  }
  return st;
}

function contiguousData(v: View): TypedArray {
  if (isContiguous(v)) return v.data.subarray(v.offset, v.offset + v.shape.reduce((a, b) => a * b, 1));
  const out = new (v.data.constructor as Float64ArrayConstructor)(v.shape.reduce((a, b) => a * b, 1));
  const d = v.data;
  forEachRow(v, (off, stride, count, start) => {
    for (let i = 0; i < count; i++) out[start + i] = d[off + i * stride];
  });
  return out as unknown as TypedArray;
}

export function indexSelect(x: View, dim: number, index: Int32Array, out: TypedArray): void {
  const xd = contiguousData(x);
  const [outer, D, inner] = splitAt(x.shape, dim);
  const L = index.length;
  const sameType = xd.constructor === out.constructor;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < L; j++) {
      const s = (o * D + index[j]) * inner;
      const t = (o * L + j) * inner;
      if (sameType) out.set(xd.subarray(s, s + inner), t);
      else for (let k = 0; k < inner; k++) out[t + k] = xd[s + k];
    }
  }
}

export function indexAdd(dst: TypedArray, dstShape: readonly number[], dim: number, index: Int32Array, src: View): void {
  const sd = contiguousData(src);
  const [outer, D, inner] = splitAt(dstShape, dim);
  const L = index.length;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < L; j++) {
      const t = (o * D + index[j]) * inner;
      const s = (o * L + j) * inner;
      for (let k = 0; k < inner; k++) dst[t + k] += sd[s + k];
    }
  }
}
