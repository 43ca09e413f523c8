import type { View } from "../../backend/kernels.js";
import { forEachRow } from "../../backend/view.js";
import { contiguousStrides } from "../../core/shape.js";
import type { WasmRuntime } from "./runtime.js";

/** A float32 view copied into the module's memory: byte address of element (0, …, 0) and element strides. */
export interface Staged {
  ptr: number;
  strides: number[];
}

/** Lowest and highest element offsets a view touches (strides may be 0 or negative). */
function extent(v: View): [number, number] {
  let lo = v.offset;
  let hi = v.offset;
  for (let d = 0; d < v.shape.length; d++) {
    const e = v.strides[d] * (v.shape[d] - 1);
    if (e < 0) lo += e;
    else hi += e;
  }
  return [lo, hi];
}

/**
 * Copies a float32 view into scratch. A view that covers most of its span (contiguous, transposed,
 * permuted, broadcast) is copied as one block with its strides kept, so the kernels read it as it
 * lies; a sparse view (e.g. every other column) is gathered contiguous instead.
 */
export function stage(rt: WasmRuntime, v: View, numel: number): Staged {
  const data = v.data as Float32Array;
  if (numel === 0) return { ptr: rt.alloc(0), strides: v.shape.map(() => 0) };
  const [lo, hi] = extent(v);
  const span = hi - lo + 1;
  if (span <= 2 * numel + 16) {
    const ptr = rt.alloc(span * 4);
    rt.f32.set(data.subarray(lo, hi + 1), ptr >> 2);
    return { ptr: ptr + (v.offset - lo) * 4, strides: [...v.strides] };
  }
  return { ptr: gather(rt, v, numel), strides: contiguousStrides(v.shape) };
}

/** Copies a float32 view of any strides into scratch as a contiguous row-major block; returns its byte address. */
export function gather(rt: WasmRuntime, v: View, numel: number): number {
  const data = v.data as Float32Array;
  const ptr = rt.alloc(numel * 4);
  const mem = rt.f32;
  const base = ptr >> 2;
  forEachRow(v, (off, stride, count, start) => {
    const o = base + start;
    if (stride === 1) mem.set(data.subarray(off, off + count), o);
    else for (let i = 0; i < count; i++) mem[o + i] = data[off + i * stride];
  });
  return ptr;
}

/** Copies `count` floats at byte address `ptr` out to `out` starting at element `at`. */
export function unstage(rt: WasmRuntime, ptr: number, count: number, out: Float32Array, at = 0): void {
  const i = ptr >> 2;
  out.set(rt.f32.subarray(i, i + count), at);
}
