import type { View } from "../../backend/kernels.js";
import { isContiguous } from "../../backend/view.js";
import type { WasmRuntime } from "./runtime.js";
import { gather, unstage } from "./stage.js";

// The fused cross-entropy kernels in the module (assembly/loss.ts): logits are copied in
// contiguous, targets as int32, and the per-row results or the gradient copied out.

function stageRows(rt: WasmRuntime, x: View, n: number): number {
  if (!isContiguous(x)) return gather(rt, x, n);
  const p = rt.alloc(n * 4);
  rt.f32.set((x.data as Float32Array).subarray(x.offset, x.offset + n), p >> 2);
  return p;
}

function stageInts(rt: WasmRuntime, v: Int32Array): number {
  const p = rt.alloc(v.length * 4);
  new Int32Array(rt.f32.buffer, p, v.length).set(v);
  return p;
}

function stageF32(rt: WasmRuntime, v: Float32Array, count: number): number {
  const p = rt.alloc(count * 4);
  rt.f32.set(v.subarray(0, count), p >> 2);
  return p;
}

export function crossEntropyForwardF32(
  rt: WasmRuntime, x: View, target: Int32Array, ignoreIndex: number, labelSmoothing: number, loss: Float32Array, lse: Float32Array,
): void {
  const [N, C] = x.shape;
  rt.resetScratch();
  const px = stageRows(rt, x, N * C);
  const pt = stageInts(rt, target);
  const pl = rt.alloc(N * 4);
  const pe = rt.alloc(N * 4);
  rt.wasm.crossEntropyForward(px, N, C, pt, ignoreIndex, labelSmoothing, pl, pe);
  unstage(rt, pl, N, loss);
  unstage(rt, pe, N, lse);
}

export function crossEntropyBackwardF32(
  rt: WasmRuntime, x: View, target: Int32Array, ignoreIndex: number, labelSmoothing: number,
  lse: Float32Array, gLoss: Float32Array, dx: Float32Array,
): void {
  const [N, C] = x.shape;
  rt.resetScratch();
  const px = stageRows(rt, x, N * C);
  const pt = stageInts(rt, target);
  const pe = stageF32(rt, lse, N);
  const pg = stageF32(rt, gLoss, N);
  // The gradient overwrites the staged logits in place.
  rt.wasm.crossEntropyBackward(px, N, C, pt, ignoreIndex, labelSmoothing, pe, pg, px);
  unstage(rt, px, N * C, dx);
}
