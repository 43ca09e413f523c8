import type { TypedArray } from "../../core/dtype.js";
import type { WasmRuntime } from "./runtime.js";

// The recurrent gate kernels in the module (assembly/recurrent.ts): operands are copied in, the
// step computed four hidden units per vector, results copied out. Same signatures as the
// reference cells, so the reference sequence loop picks them up through the registry.

/** Copies the first `count` floats of `src` into scratch; returns the byte address. */
function put(rt: WasmRuntime, src: TypedArray, count: number): number {
  const p = rt.alloc(count * 4);
  rt.f32.set((src as Float32Array).subarray(0, count), p >> 2);
  return p;
}

function take(rt: WasmRuntime, p: number, count: number, dst: TypedArray): void {
  const i = p >> 2;
  (dst as Float32Array).set(rt.f32.subarray(i, i + count));
}

export function lstmCellForwardF32(
  rt: WasmRuntime, n: number, H: number, xg: TypedArray, hg: TypedArray, cPrev: TypedArray, gates: TypedArray, c: TypedArray, h: TypedArray,
): void {
  const G = 4 * H;
  rt.resetScratch();
  const pxg = put(rt, xg, n * G);
  const phg = put(rt, hg, n * G);
  const pc0 = put(rt, cPrev, n * H);
  const pg = rt.alloc(n * G * 4);
  const pc = rt.alloc(n * H * 4);
  const ph = rt.alloc(n * H * 4);
  rt.wasm.lstmForward(n, H, pxg, phg, pc0, pg, pc, ph);
  take(rt, pg, n * G, gates);
  take(rt, pc, n * H, c);
  take(rt, ph, n * H, h);
}

export function lstmCellBackwardF32(
  rt: WasmRuntime, n: number, H: number, gates: TypedArray, cPrev: TypedArray, c: TypedArray, dh: TypedArray, dc: TypedArray,
  dgates: TypedArray, dcPrev: TypedArray, dcTotal: TypedArray | null,
): void {
  const G = 4 * H;
  rt.resetScratch();
  const pg = put(rt, gates, n * G);
  const pc0 = put(rt, cPrev, n * H);
  const pc = put(rt, c, n * H);
  const pdh = put(rt, dh, n * H);
  const pdc = put(rt, dc, n * H);
  const pdg = rt.alloc(n * G * 4);
  const pdc0 = rt.alloc(n * H * 4);
  const pdct = dcTotal ? rt.alloc(n * H * 4) : 0;
  rt.wasm.lstmBackward(n, H, pg, pc0, pc, pdh, pdc, pdg, pdc0, pdct);
  take(rt, pdg, n * G, dgates);
  take(rt, pdc0, n * H, dcPrev);
  if (dcTotal) take(rt, pdct, n * H, dcTotal);
}

export function gruCellForwardF32(
  rt: WasmRuntime, n: number, H: number, xg: TypedArray, hg: TypedArray, bhn: TypedArray | null, hPrev: TypedArray,
  gates: TypedArray, ghn: TypedArray, h: TypedArray,
): void {
  const G = 3 * H;
  rt.resetScratch();
  const pxg = put(rt, xg, n * G);
  const phg = put(rt, hg, n * G);
  const pb = bhn ? put(rt, bhn, H) : 0;
  const ph0 = put(rt, hPrev, n * H);
  const pg = rt.alloc(n * G * 4);
  const pn = rt.alloc(n * H * 4);
  const ph = rt.alloc(n * H * 4);
  rt.wasm.gruForward(n, H, pxg, phg, pb, ph0, pg, pn, ph);
  take(rt, pg, n * G, gates);
  take(rt, pn, n * H, ghn);
  take(rt, ph, n * H, h);
}

export function gruCellBackwardF32(
  rt: WasmRuntime, n: number, H: number, gates: TypedArray, ghn: TypedArray, hPrev: TypedArray, dh: TypedArray,
  dgx: TypedArray, dgh: TypedArray, dhPrev: TypedArray,
): void {
  const G = 3 * H;
  rt.resetScratch();
  const pg = put(rt, gates, n * G);
  const pn = put(rt, ghn, n * H);
  const ph0 = put(rt, hPrev, n * H);
  const pdh = put(rt, dh, n * H);
  const pdgx = rt.alloc(n * G * 4);
  const pdgh = rt.alloc(n * G * 4);
  const pdh0 = rt.alloc(n * H * 4);
  rt.wasm.gruBackward(n, H, pg, pn, ph0, pdh, pdgx, pdgh, pdh0);
  take(rt, pdgx, n * G, dgx);
  take(rt, pdgh, n * G, dgh);
  take(rt, pdh0, n * H, dhPrev);
}
