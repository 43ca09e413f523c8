/** Random strided views for kernel tests, with a reader by multi-index. */
import * as gl from "../../../src/index.js";
import type { View } from "../../../src/backend/kernels.js";

type Arr = Float32Array | Float64Array | Int32Array;

/**
 * A random view of `shape` on a larger buffer: dims permuted in memory, some stepped, some
 * broadcast (stride 0), at an offset. Returns the view and a reader by multi-index.
 */
export function randomView(shape: number[], gen: gl.Generator, make: (n: number) => Arr, broadcastOk = true): { v: View; get: (idx: number[]) => number } {
  const r = shape.length;
  const order = Array.from({ length: r }, (_, i) => i);
  for (let i = r - 1; i > 0; i--) {
    const j = gen.randint(0, i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const steps = shape.map(() => gen.randint(1, 3));
  const broadcast = shape.map((d) => broadcastOk && d > 1 && gen.random() < 0.2);
  const strides = new Array<number>(r).fill(0);
  let s = 1;
  for (let k = r - 1; k >= 0; k--) {
    const d = order[k];
    if (broadcast[d]) continue;
    strides[d] = s * steps[d];
    s *= shape[d] * steps[d];
  }
  const offset = gen.randint(0, 4);
  const data = make(offset + s + 1);
  for (let i = 0; i < data.length; i++) data[i] = data instanceof Int32Array ? gen.randint(-5, 6) : gen.normal();
  const v: View = { data, shape, strides, offset };
  return { v, get: (idx) => data[offset + idx.reduce((a, x, d) => a + x * strides[d], 0)] };
}

export function* indices(shape: number[]): Generator<number[]> {
  const n = shape.reduce((a, b) => a * b, 1);
  for (let i = 0; i < n; i++) {
    const idx = new Array<number>(shape.length);
    let rem = i;
    for (let d = shape.length - 1; d >= 0; d--) {
      idx[d] = rem % shape[d];
      rem = Math.floor(rem / shape[d]);
    }
    yield idx;
  }
}

