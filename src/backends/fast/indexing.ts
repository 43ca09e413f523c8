import { splitAt } from "../../core/shape.js";
import type { View } from "../../backend/kernels.js";
import { isContiguous } from "../../backend/view.js";
import type { WasmRuntime } from "./runtime.js";
import { gather, unstage } from "./stage.js";

// Row scatter-add (the embedding gradient) in the module (assembly/indexing.ts). Only the case
// with nothing before dim is handled, where a "row" is everything after it; the whole table is
// copied in and out, so the path is taken only when the rows added are not far fewer than its rows.

/** Whether copying a D-row table in pays for picking L rows of it. */
function worthIt(D: number, L: number): boolean {
  return D <= 4 * L;
}

function stageInts(rt: WasmRuntime, v: Int32Array): number {
  const p = rt.alloc(v.length * 4);
  new Int32Array(rt.f32.buffer, p, v.length).set(v);
  return p;
}

function stageView(rt: WasmRuntime, v: View, n: number): number {
  if (!isContiguous(v)) return gather(rt, v, n);
  const p = rt.alloc(n * 4);
  rt.f32.set((v.data as Float32Array).subarray(v.offset, v.offset + n), p >> 2);
  return p;
}

/** dst rows index[j] along dim += src row j; false when the case is left to the reference. */
export function indexAddF32(rt: WasmRuntime, dst: Float32Array, dstShape: readonly number[], dim: number, index: Int32Array, src: View): boolean {
  const [outer, D, inner] = splitAt(dstShape, dim);
  const L = index.length;
  if (outer !== 1 || !worthIt(D, L)) return false;
  if (L === 0 || inner === 0) return true;
  rt.resetScratch();
  const pd = rt.alloc(D * inner * 4);
  rt.f32.set(dst.subarray(0, D * inner), pd >> 2);
  const ps = stageView(rt, src, L * inner);
  const pi = stageInts(rt, index);
  rt.wasm.indexAddRows(pd, inner, pi, L, ps);
  unstage(rt, pd, D * inner, dst);
  return true;
}
