import { GpuTensor, expectShape } from "./gpu-tensor.js";
import { type LstmWeights, cellDims } from "./lstm.js";
import { matmul } from "./matmul.js";
import { sum } from "./reduce.js";
import { type Gpu, Words } from "./runtime.js";

// PyTorch's GRU, gate order r, z, n, with b_hn inside the reset product:
//   r = σ(gi_r + gh_r), z = σ(gi_z + gh_z), n = tanh(gi_n + r·gh_n), h' = (1 − z)·n + z·h
// where gi = x·W_ihᵀ + b_ih (all steps at once) and gh = h·W_hhᵀ + b_hh (one matmul per step).
// GI[t] is overwritten with r, z, n; GH[t] keeps gh (its n part is needed backwards).
const GATES_FWD = /* wgsl */ `
struct P { B: u32, H: u32, t: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> GI: array<f32>;
@group(0) @binding(2) var<storage, read> GH: array<f32>;
@group(0) @binding(3) var<storage, read_write> Hs: array<f32>;
fn sigm(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let k = gid.x;
  if (k >= p.B * p.H) { return; }
  let b = k / p.H;
  let j = k % p.H;
  let g0 = (p.t * p.B + b) * 3u * p.H + j;
  let r = sigm(GI[g0] + GH[g0]);
  let z = sigm(GI[g0 + p.H] + GH[g0 + p.H]);
  let n = tanh(GI[g0 + 2u * p.H] + r * GH[g0 + 2u * p.H]);
  GI[g0] = r;
  GI[g0 + p.H] = z;
  GI[g0 + 2u * p.H] = n;
  let hPrev = Hs[p.t * p.B * p.H + k];
  Hs[(p.t + 1u) * p.B * p.H + k] = (1.0 - z) * n + z * hPrev;
}`;

// dh = dY[t] + dhRec; writes both gate gradients of step t and leaves dh·z in dhRec, to which the
// caller adds dGH[t]·W_hh (the rest of ∂h_{t−1}).
const GATES_BWD = /* wgsl */ `
struct P { B: u32, H: u32, t: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> GI: array<f32>;
@group(0) @binding(2) var<storage, read> GH: array<f32>;
@group(0) @binding(3) var<storage, read> Hs: array<f32>;
@group(0) @binding(4) var<storage, read> dY: array<f32>;
@group(0) @binding(5) var<storage, read_write> dhRec: array<f32>;
@group(0) @binding(6) var<storage, read_write> dGI: array<f32>;
@group(0) @binding(7) var<storage, read_write> dGH: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let k = gid.x;
  if (k >= p.B * p.H) { return; }
  let b = k / p.H;
  let j = k % p.H;
  let g0 = (p.t * p.B + b) * 3u * p.H + j;
  let r = GI[g0];
  let z = GI[g0 + p.H];
  let n = GI[g0 + 2u * p.H];
  let hPrev = Hs[p.t * p.B * p.H + k];
  let dh = dY[p.t * p.B * p.H + k] + dhRec[k];
  let dn = dh * (1.0 - z) * (1.0 - n * n);
  let dz = dh * (hPrev - n) * z * (1.0 - z);
  let dr = dn * GH[g0 + 2u * p.H] * r * (1.0 - r);
  dGI[g0] = dr;
  dGI[g0 + p.H] = dz;
  dGI[g0 + 2u * p.H] = dn;
  dGH[g0] = dr;
  dGH[g0 + p.H] = dz;
  dGH[g0 + 2u * p.H] = dn * r;
  dhRec[k] = dh * z;
}`;

/** Step t's gate gradients into work.dGI/dGH; leaves dh·z in work.dhRec (the caller adds dGH_t·W_hh). */
export function gruGatesBackward(gpu: Gpu, work: GruWork, dY: GpuTensor, t: number, B: number, H: number): void {
  gpu.dispatch(
    GATES_BWD,
    new Words().u(B, H, t).build(),
    [work.GI.buffer, work.GH.buffer, work.Hs.buffer, dY.buffer, work.dhRec.buffer, work.dGI.buffer, work.dGH.buffer],
    [Math.ceil((B * H) / 256)],
  );
}

/** The buffers one GRU sequence needs, allocated once per (T, B). */
export interface GruWork {
  T: number;
  B: number;
  GI: GpuTensor;
  GH: GpuTensor;
  /** Hidden states [T + 1, B, H]; slot 0 holds the initial state. */
  Hs: GpuTensor;
  dGI: GpuTensor;
  dGH: GpuTensor;
  dhRec: GpuTensor;
}

export function gruWork(gpu: Gpu, T: number, B: number, H: number): GruWork {
  const e = (shape: number[]): GpuTensor => GpuTensor.empty(gpu, shape);
  return { T, B, GI: e([T, B, 3 * H]), GH: e([T, B, 3 * H]), Hs: e([T + 1, B, H]), dGI: e([T, B, 3 * H]), dGH: e([T, B, 3 * H]), dhRec: e([B, H]) };
}

/** GRU weights have LSTM's names with 3H rows instead of 4H. */
export type GruWeights = LstmWeights;

const dims = (w: GruWeights): { H: number; E: number } => cellDims("webgpu.gru", w, 3);

/**
 * The forward pass over X [T·B, E] (time-major): all steps' input projection as one matmul, then
 * per step one h·W_hhᵀ + b_hh matmul and one fused gate kernel. Output h_t is work.Hs slot t + 1.
 */
export function gruForward(gpu: Gpu, w: GruWeights, X: GpuTensor, work: GruWork, o: { keepState?: boolean } = {}): void {
  const { H, E } = dims(w);
  const { T, B } = work;
  expectShape("webgpu.gruForward", "X", X.reshape([X.size / E || 0, E]), [T * B, E]);
  if (!o.keepState) gpu.clear(work.Hs.buffer, 0, B * H * 4);
  matmul(gpu, X, w.wIh, work.GI, { transB: true, bias: w.bIh, M: T * B, N: 3 * H, K: E });
  for (let t = 0; t < T; t++) {
    matmul(gpu, work.Hs, w.wHh, work.GH, { transB: true, bias: w.bHh, M: B, N: 3 * H, K: H, offsetA: t * B * H, offsetC: t * B * 3 * H });
    gpu.dispatch(GATES_FWD, new Words().u(B, H, t).build(), [work.GI.buffer, work.GH.buffer, work.Hs.buffer], [Math.ceil((B * H) / 256)]);
  }
}

/**
 * The backward sweep given dY [T, B, H]: per step one fused gate kernel and one dGH_t·W_hh matmul
 * accumulated into dhRec, then the weight gradients over all steps and, when dX is given, dGI·W_ih.
 */
export function gruBackward(gpu: Gpu, w: GruWeights, X: GpuTensor, work: GruWork, dY: GpuTensor, grads: GruWeights, dX: GpuTensor | null): void {
  const { H, E } = dims(w);
  const { T, B } = work;
  gpu.clear(work.dhRec.buffer, 0, B * H * 4);
  for (let t = T - 1; t >= 0; t--) {
    gruGatesBackward(gpu, work, dY, t, B, H);
    if (t > 0) matmul(gpu, work.dGH, w.wHh, work.dhRec, { accumulate: true, M: B, N: H, K: 3 * H, offsetA: t * B * 3 * H });
  }
  const TB = T * B;
  matmul(gpu, work.dGI, X, grads.wIh, { transA: true, M: 3 * H, N: E, K: TB });
  matmul(gpu, work.dGH, work.Hs, grads.wHh, { transA: true, M: 3 * H, N: H, K: TB });
  sum(gpu, work.dGI.reshape([TB, 3 * H]), 0, grads.bIh);
  sum(gpu, work.dGH.reshape([TB, 3 * H]), 0, grads.bHh);
  if (dX) matmul(gpu, work.dGI, w.wIh, dX, { M: TB, N: E, K: 3 * H });
}
