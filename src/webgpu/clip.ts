import { ShapeError, fmtShape } from "../core/errors.js";
import { type Gpu, type GpuTensor, Words } from "../backends/webgpu/index.js";

// One workgroup per tensor: the parameters of a small LM are few and modest, and a single pass
// keeps the whole clip inside the step's command buffer without a second reduction level.
const SUM_SQUARES = /* wgsl */ `
struct P { n: u32, slot: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read_write> OUT: array<f32>;
var<workgroup> acc: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) li: u32) {
  var s = 0.0;
  for (var i = li; i < p.n; i = i + 256u) { s = s + G[i] * G[i]; }
  acc[li] = s;
  workgroupBarrier();
  for (var w = 128u; w > 0u; w = w >> 1u) {
    if (li < w) { acc[li] = acc[li] + acc[li + w]; }
    workgroupBarrier();
  }
  if (li == 0u) { OUT[p.slot] = acc[0]; }
}`;

// torch.nn.utils.clip_grad_norm_: every gradient times min(1, maxNorm / (‖g‖ + 1e-6)), where ‖g‖
// joins all tensors' squared sums. Each invocation re-adds the few sums instead of a separate pass.
const SCALE = /* wgsl */ `
struct P { n: u32, count: u32, maxNorm: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> SQ: array<f32>;
@group(0) @binding(2) var<storage, read_write> G: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * nwg.x + wg.x) * 256u + li;
  if (i >= p.n) { return; }
  var t = 0.0;
  for (var k = 0u; k < p.count; k = k + 1u) { t = t + SQ[k]; }
  G[i] = G[i] * min(p.maxNorm / (sqrt(t) + 1e-6), 1.0);
}`;

/** Writes the squared L2 norm of each of `grads` into slot k of `sq` (float32, one per tensor). */
export function sumSquares(gpu: Gpu, grads: readonly GpuTensor[], sq: GpuTensor): void {
  if (sq.size < grads.length) throw new ShapeError(`webgpu.sumSquares: sq ${fmtShape(sq.shape)} has fewer than ${grads.length} slots`);
  grads.forEach((g, k) => gpu.dispatch(SUM_SQUARES, new Words().u(g.size, k).build(), [g.buffer, sq.buffer], [1]));
}

/** Scales `grads` in place to a joint L2 norm of at most maxNorm, from the sums sumSquares wrote. */
export function clipToNorm(gpu: Gpu, grads: readonly GpuTensor[], sq: GpuTensor, maxNorm: number): void {
  for (const g of grads) {
    const groups = Math.ceil(g.size / 256);
    const x = Math.min(groups, 32768);
    gpu.dispatch(SCALE, new Words().u(g.size, grads.length).f(maxNorm).build(), [sq.buffer, g.buffer], [x, Math.ceil(groups / x)]);
  }
}
