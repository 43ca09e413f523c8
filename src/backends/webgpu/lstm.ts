import { ShapeError, fmtShape } from "../../core/errors.js";
import { binary } from "./elementwise.js";
import { GpuTensor, expectShape } from "./gpu-tensor.js";
import { matmul } from "./matmul.js";
import { sum } from "./reduce.js";
import { type Gpu, Words } from "./runtime.js";

// Gate order i, f, g, o (PyTorch). G holds the pre-activations of step t at [t, b, 4H]; the
// forward kernel overwrites them with the activations, which the backward kernel reads back.
// Cs and Hs have T + 1 slots: slot 0 is the initial state, slot t + 1 the state after step t.
const GATES_FWD = /* wgsl */ `
struct P { B: u32, H: u32, t: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> G: array<f32>;
@group(0) @binding(2) var<storage, read_write> Cs: array<f32>;
@group(0) @binding(3) var<storage, read_write> Hs: array<f32>;
fn sigm(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let k = gid.x;
  if (k >= p.B * p.H) { return; }
  let b = k / p.H;
  let j = k % p.H;
  let g0 = (p.t * p.B + b) * 4u * p.H + j;
  let i = sigm(G[g0]);
  let f = sigm(G[g0 + p.H]);
  let g = tanh(G[g0 + 2u * p.H]);
  let o = sigm(G[g0 + 3u * p.H]);
  G[g0] = i;
  G[g0 + p.H] = f;
  G[g0 + 2u * p.H] = g;
  G[g0 + 3u * p.H] = o;
  let c = f * Cs[p.t * p.B * p.H + k] + i * g;
  Cs[(p.t + 1u) * p.B * p.H + k] = c;
  Hs[(p.t + 1u) * p.B * p.H + k] = o * tanh(c);
}`;

// dh = dY[t] + dhRec (from step t + 1 through W_hh); dc carries the cell gradient backwards.
const GATES_BWD = /* wgsl */ `
struct P { B: u32, H: u32, t: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read> Cs: array<f32>;
@group(0) @binding(3) var<storage, read> dY: array<f32>;
@group(0) @binding(4) var<storage, read> dhRec: array<f32>;
@group(0) @binding(5) var<storage, read_write> dc: array<f32>;
@group(0) @binding(6) var<storage, read_write> dG: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let k = gid.x;
  if (k >= p.B * p.H) { return; }
  let b = k / p.H;
  let j = k % p.H;
  let g0 = (p.t * p.B + b) * 4u * p.H + j;
  let i = G[g0];
  let f = G[g0 + p.H];
  let g = G[g0 + 2u * p.H];
  let o = G[g0 + 3u * p.H];
  let cPrev = Cs[p.t * p.B * p.H + k];
  let tc = tanh(Cs[(p.t + 1u) * p.B * p.H + k]);
  let dh = dY[p.t * p.B * p.H + k] + dhRec[k];
  let dcell = dc[k] + dh * o * (1.0 - tc * tc);
  dc[k] = dcell * f;
  dG[g0] = dcell * g * i * (1.0 - i);
  dG[g0 + p.H] = dcell * cPrev * f * (1.0 - f);
  dG[g0 + 2u * p.H] = dcell * i * (1.0 - g * g);
  dG[g0 + 3u * p.H] = dh * tc * o * (1.0 - o);
}`;

/** One time step's gate nonlinearities and state update (see GATES_FWD). */
export function lstmGatesForward(gpu: Gpu, G: GpuTensor, Cs: GpuTensor, Hs: GpuTensor, t: number, B: number, H: number): void {
  gpu.dispatch(GATES_FWD, new Words().u(B, H, t).build(), [G.buffer, Cs.buffer, Hs.buffer], [Math.ceil((B * H) / 256)]);
}

/** One time step's gate gradients: writes dG[t] and updates the carried cell gradient dc. */
export function lstmGatesBackward(
  gpu: Gpu,
  G: GpuTensor,
  Cs: GpuTensor,
  dY: GpuTensor,
  dhRec: GpuTensor,
  dc: GpuTensor,
  dG: GpuTensor,
  t: number,
  B: number,
  H: number,
): void {
  gpu.dispatch(GATES_BWD, new Words().u(B, H, t).build(), [G.buffer, Cs.buffer, dY.buffer, dhRec.buffer, dc.buffer, dG.buffer], [Math.ceil((B * H) / 256)]);
}

/** The weights of one LSTM layer, PyTorch's shapes: W_ih [4H, E], W_hh [4H, H], biases [4H]. */
export interface LstmWeights {
  wIh: GpuTensor;
  wHh: GpuTensor;
  bIh: GpuTensor;
  bHh: GpuTensor;
}

/** The buffers one sequence needs, allocated once per (T, B) and reused step after step. */
export interface LstmWork {
  T: number;
  B: number;
  /** Gate activations [T, B, 4H]. */
  G: GpuTensor;
  /** Cell and hidden states [T + 1, B, H]; slot 0 holds the initial state. */
  Cs: GpuTensor;
  Hs: GpuTensor;
  bias: GpuTensor;
  dG: GpuTensor;
  dhRec: GpuTensor;
  dc: GpuTensor;
}

export function lstmWork(gpu: Gpu, T: number, B: number, H: number): LstmWork {
  const e = (shape: number[]): GpuTensor => GpuTensor.empty(gpu, shape);
  return { T, B, G: e([T, B, 4 * H]), Cs: e([T + 1, B, H]), Hs: e([T + 1, B, H]), bias: e([4 * H]), dG: e([T, B, 4 * H]), dhRec: e([B, H]), dc: e([B, H]) };
}

/** H and E from a cell's weights (`gates` blocks of H rows: 4 for LSTM, 3 for GRU), each shape checked. */
export function cellDims(op: string, w: LstmWeights, gates: number): { H: number; E: number } {
  if (w.wIh.shape.length !== 2 || w.wIh.shape[0] % gates !== 0) throw new ShapeError(`${op}: weight_ih must be [${gates}H, E], got ${fmtShape(w.wIh.shape)}`);
  const H = w.wIh.shape[0] / gates;
  expectShape(op, "weight_hh", w.wHh, [gates * H, H]);
  expectShape(op, "bias_ih", w.bIh, [gates * H]);
  expectShape(op, "bias_hh", w.bHh, [gates * H]);
  return { H, E: w.wIh.shape[1] };
}

const dims = (w: LstmWeights): { H: number; E: number } => cellDims("webgpu.lstm", w, 4);

/**
 * Encodes the forward pass over a whole sequence, X [T·B, E] time-major: the input projection of
 * all steps as one matmul (both biases folded in), then per step one h·W_hhᵀ matmul accumulated
 * into that step's gates and one fused gate kernel. No host round trip between steps. The initial
 * state is zero unless the caller has written slot 0 of work.Cs / work.Hs (set `keepState`).
 * Output h_t is work.Hs slot t + 1.
 */
export function lstmForward(gpu: Gpu, w: LstmWeights, X: GpuTensor, work: LstmWork, o: { keepState?: boolean } = {}): void {
  const { H, E } = dims(w);
  const { T, B } = work;
  expectShape("webgpu.lstmForward", "X", X.reshape([X.size / E || 0, E]), [T * B, E]);
  if (!o.keepState) {
    gpu.clear(work.Cs.buffer, 0, B * H * 4);
    gpu.clear(work.Hs.buffer, 0, B * H * 4);
  }
  binary(gpu, "add", w.bIh, w.bHh, work.bias);
  matmul(gpu, X, w.wIh, work.G, { transB: true, bias: work.bias, M: T * B, N: 4 * H, K: E });
  for (let t = 0; t < T; t++) {
    matmul(gpu, work.Hs, w.wHh, work.G, { transB: true, accumulate: true, M: B, N: 4 * H, K: H, offsetA: t * B * H, offsetC: t * B * 4 * H });
    lstmGatesForward(gpu, work.G, work.Cs, work.Hs, t, B, H);
  }
}

/** Gradients of one LSTM layer: same shapes as the weights. */
export type LstmGrads = LstmWeights;

/**
 * Encodes the backward sweep given dY [T, B, H] (the gradient of the outputs): per step one fused
 * gate kernel and one dG_t·W_hh matmul, from T − 1 down to 0; then the weight gradients as large
 * matmuls over all steps (the cuDNN scheme) and, when dX is given, the input gradient dG·W_ih.
 * The final state receives no gradient (the loss reads only the outputs).
 */
export function lstmBackward(gpu: Gpu, w: LstmWeights, X: GpuTensor, work: LstmWork, dY: GpuTensor, grads: LstmGrads, dX: GpuTensor | null): void {
  const { H, E } = dims(w);
  const { T, B } = work;
  gpu.clear(work.dhRec.buffer, 0, B * H * 4);
  gpu.clear(work.dc.buffer, 0, B * H * 4);
  for (let t = T - 1; t >= 0; t--) {
    lstmGatesBackward(gpu, work.G, work.Cs, dY, work.dhRec, work.dc, work.dG, t, B, H);
    if (t > 0) matmul(gpu, work.dG, w.wHh, work.dhRec, { M: B, N: H, K: 4 * H, offsetA: t * B * 4 * H });
  }
  const TB = T * B;
  matmul(gpu, work.dG, X, grads.wIh, { transA: true, M: 4 * H, N: E, K: TB });
  matmul(gpu, work.dG, work.Hs, grads.wHh, { transA: true, M: 4 * H, N: H, K: TB });
  sum(gpu, work.dG.reshape([TB, 4 * H]), 0, grads.bIh);
  gpu.copy(grads.bIh.buffer, 0, grads.bHh.buffer, 0, 4 * H * 4);
  if (dX) matmul(gpu, work.dG, w.wIh, dX, { M: TB, N: E, K: 4 * H });
}
