import type { AdamHyper, RmspropHyper, SgdHyper } from "../../backend/kernels.js";
import type { WasmRuntime } from "./runtime.js";
import { unstage } from "./stage.js";

// Single-pass optimizer steps in the module (assembly/optim.ts): parameter, gradient and state
// are copied in, updated four at a time, and the parameter and state copied back (DESIGN.md
// principle 5: optimizer state stays in ordinary typed arrays between steps).

function put(rt: WasmRuntime, a: Float32Array): number {
  const p = rt.alloc(a.length * 4);
  rt.f32.set(a, p >> 2);
  return p;
}

export function adamUpdateF32(
  rt: WasmRuntime, p: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, vmax: Float32Array | null, h: AdamHyper,
): void {
  const n = p.length;
  const f = Math.fround;
  rt.resetScratch();
  const pp = put(rt, p);
  const pg = put(rt, grad.length === n ? grad : grad.subarray(0, n));
  const pm = put(rt, m);
  const pv = put(rt, v);
  const px = vmax ? put(rt, vmax) : 0;
  const w = f(1 - h.beta1);
  rt.wasm.adamStep(
    n, pp, pg, pm, pv, px,
    h.maximize ? -1 : 1, f(1 - h.lr * h.weightDecay), f(h.weightDecay), h.decoupled ? 1 : 0, h.weightDecay !== 0 ? 1 : 0,
    w, f(1 - w), f(h.beta2), f(1 - h.beta2), f(Math.sqrt(1 - h.beta2 ** h.step)), f(h.eps), f(-(h.lr / (1 - h.beta1 ** h.step))),
  );
  unstage(rt, pp, n, p);
  unstage(rt, pm, n, m);
  unstage(rt, pv, n, v);
  if (vmax) unstage(rt, px, n, vmax);
}

export function sgdUpdateF32(rt: WasmRuntime, p: Float32Array, grad: Float32Array, buf: Float32Array | null, h: SgdHyper): void {
  const n = p.length;
  const f = Math.fround;
  rt.resetScratch();
  const pp = put(rt, p);
  const pg = put(rt, grad.length === n ? grad : grad.subarray(0, n));
  const pb = buf ? put(rt, buf) : 0;
  rt.wasm.sgdStep(
    n, pp, pg, pb, h.maximize ? -1 : 1, f(h.weightDecay), h.weightDecay !== 0 ? 1 : 0, f(h.momentum), f(1 - h.dampening),
    h.nesterov ? 1 : 0, h.first ? 1 : 0, f(-h.lr),
  );
  unstage(rt, pp, n, p);
  if (buf) unstage(rt, pb, n, buf);
}

export function rmspropUpdateF32(
  rt: WasmRuntime, p: Float32Array, grad: Float32Array, sq: Float32Array, buf: Float32Array | null, gavg: Float32Array | null, h: RmspropHyper,
): void {
  const n = p.length;
  const f = Math.fround;
  rt.resetScratch();
  const pp = put(rt, p);
  const pg = put(rt, grad.length === n ? grad : grad.subarray(0, n));
  const ps = put(rt, sq);
  const pb = buf ? put(rt, buf) : 0;
  const pa = gavg ? put(rt, gavg) : 0;
  const c = f(1 - h.alpha);
  rt.wasm.rmspropStep(
    n, pp, pg, ps, pb, pa, h.maximize ? -1 : 1, f(h.weightDecay), h.weightDecay !== 0 ? 1 : 0,
    f(h.alpha), c, f(1 - c), f(h.eps), f(h.momentum), f(-h.lr),
  );
  unstage(rt, pp, n, p);
  unstage(rt, ps, n, sq);
  if (buf) unstage(rt, pb, n, buf);
  if (gavg) unstage(rt, pa, n, gavg);
}
