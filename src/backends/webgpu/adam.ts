import { GradlabError, ShapeError, fmtShape } from "../../core/errors.js";
import type { AdamHyper as KernelAdamHyper } from "../../backend/kernels.js";
import { type GpuTensor, expectDType } from "./gpu-tensor.js";
import { type Gpu, Words } from "./runtime.js";

// PyTorch's single-tensor Adam, operation by operation: optional L2 (Adam) or decoupled (AdamW)
// weight decay, m ← m + (g − m)(1 − β1), v ← β2·v + (1 − β2)·g², p ← p − (lr/bc1)·m / (√v/√bc2 + ε).
const ADAM = /* wgsl */ `
struct P { n: u32, decoupled: u32, lr: f32, beta1: f32, beta2: f32, eps: f32, wd: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(5) var<storage, read> S: array<f32>;
@group(0) @binding(2) var<storage, read_write> W: array<f32>;
@group(0) @binding(3) var<storage, read_write> M: array<f32>;
@group(0) @binding(4) var<storage, read_write> Vs: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * nwg.x + wg.x) * 256u + li;
  if (i >= p.n) { return; }
  var g = G[i];
  var w = W[i];
  if (p.wd != 0.0) {
    if (p.decoupled != 0u) { w = w * (1.0 - p.lr * p.wd); } else { g = g + p.wd * w; }
  }
  let m = M[i] + (g - M[i]) * (1.0 - p.beta1);
  let v = Vs[i] * p.beta2 + (1.0 - p.beta2) * g * g;
  M[i] = m;
  Vs[i] = v;
  W[i] = w - S[0] * m / (sqrt(v) / S[1] + p.eps);
}`;

/**
 * The backend's Adam hyper-parameters less `step` (the GPU reads bias corrections from a buffer,
 * adamScalars) and `maximize`; `decoupled` is AdamW's decay instead of Adam's L2 term.
 */
export type AdamHyper = Pick<KernelAdamHyper, "lr" | "beta1" | "beta2" | "eps" | "weightDecay" | "decoupled">;

/**
 * What changes from step to step: [lr / (1 − β1^step), √(1 − β2^step)], computed on the host in
 * float64. It travels in a small storage buffer written before the submit, so the uniforms (and
 * the bind groups built on them) stay the same from step to step and are reused.
 */
export function adamScalars(step: number, h: AdamHyper): Float32Array {
  if (!Number.isInteger(step) || step < 1) throw new GradlabError(`webgpu.adamScalars: step must be an integer ≥ 1, got ${step}`);
  return new Float32Array([h.lr / (1 - h.beta1 ** step), Math.sqrt(1 - h.beta2 ** step)]);
}

/**
 * One Adam/AdamW update of a parameter in place, with its moment buffers m and v (zeros before
 * the first step) and `scalars` holding adamScalars(step, h).
 */
export function adamStep(gpu: Gpu, param: GpuTensor, grad: GpuTensor, m: GpuTensor, v: GpuTensor, scalars: GpuTensor, h: AdamHyper): void {
  for (const [n, t] of [["param", param], ["grad", grad], ["m", m], ["v", v]] as const) {
    expectDType("webgpu.adamStep", n, t, "float32");
    if (t.size !== param.size) throw new ShapeError(`webgpu.adamStep: ${n} has shape ${fmtShape(t.shape)}, the parameter ${fmtShape(param.shape)}`);
  }
  if (scalars.size !== 2) throw new ShapeError(`webgpu.adamStep: scalars must hold 2 values (adamScalars), got ${fmtShape(scalars.shape)}`);
  const words = new Words().u(param.size, h.decoupled ? 1 : 0).f(h.lr, h.beta1, h.beta2, h.eps, h.weightDecay).build();
  const groups = Math.ceil(param.size / 256);
  const x = Math.min(groups, 32768);
  gpu.dispatch(ADAM, words, [grad.buffer, param.buffer, m.buffer, v.buffer, scalars.buffer], [x, Math.ceil(groups / x)]);
}
