import { GradlabError, ShapeError, fmtShape } from "../../core/errors.js";
import { type GpuTensor, expectDType, expectShape } from "./gpu-tensor.js";
import { sum } from "./reduce.js";
import { type Gpu, Words } from "./runtime.js";

// One workgroup per row of logits: the row's maximum and Σexp(x − max) by tree reductions in
// workgroup memory, then loss_n = log Σexp + max − x[target] and, in the same pass,
// dlogits = (softmax − onehot)·scale. A target equal to ignoreIndex gives loss 0 and gradient 0.
const CE = /* wgsl */ `
struct P { N: u32, V: u32, scale: f32, ignoreIndex: i32, wantGrad: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<i32>;
@group(0) @binding(3) var<storage, read_write> loss: array<f32>;
@group(0) @binding(4) var<storage, read_write> dX: array<f32>;
var<workgroup> red: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let row = wg.y * 65535u + wg.x;
  if (row >= p.N) { return; }
  let base = row * p.V;
  var m = bitcast<f32>(0xff7fffffu); // the lowest finite float32
  for (var c = li; c < p.V; c += 256u) { m = max(m, X[base + c]); }
  red[li] = m;
  for (var w = 128u; w > 0u; w /= 2u) {
    workgroupBarrier();
    if (li < w) { red[li] = max(red[li], red[li + w]); }
  }
  workgroupBarrier();
  let mx = red[0];
  workgroupBarrier();
  var s = 0.0;
  for (var c = li; c < p.V; c += 256u) { s += exp(X[base + c] - mx); }
  red[li] = s;
  for (var w = 128u; w > 0u; w /= 2u) {
    workgroupBarrier();
    if (li < w) { red[li] += red[li + w]; }
  }
  workgroupBarrier();
  let total = red[0];
  let t = targets[row];
  let ignored = t == p.ignoreIndex;
  if (li == 0u) {
    if (ignored) { loss[row] = 0.0; } else { loss[row] = log(total) + mx - X[base + u32(t)]; }
  }
  if (p.wantGrad != 0u) {
    for (var c = li; c < p.V; c += 256u) {
      var g = 0.0;
      if (!ignored) {
        g = exp(X[base + c] - mx) / total;
        if (i32(c) == t) { g -= 1.0; }
        g *= p.scale;
      }
      dX[base + c] = g;
    }
  }
}`;

export interface CrossEntropyOptions {
  ignoreIndex?: number;
  /** "mean" (over the rows whose target is not ignored; the caller knows how many) or "sum". */
  reduction?: "mean" | "sum";
  /** Rows counted by the mean: the caller's count of non-ignored targets (default: all rows). */
  count?: number;
}

/**
 * Fused log-softmax + cross-entropy over logits [N, V] with int32 targets [N]: writes the reduced
 * loss into `loss` (one value), and, when `dlogits` is given, the gradient of that loss with
 * respect to the logits. `rowLoss` ([N]) is scratch space that ends up holding each row's loss.
 * Targets must lie in [0, V) or equal ignoreIndex: the host checks them before upload.
 */
export function crossEntropy(
  gpu: Gpu,
  logits: GpuTensor,
  targets: GpuTensor,
  rowLoss: GpuTensor,
  loss: GpuTensor,
  dlogits: GpuTensor | null,
  o: CrossEntropyOptions = {},
): void {
  if (logits.shape.length !== 2) throw new ShapeError(`webgpu.crossEntropy: logits must be [N, V], got ${fmtShape(logits.shape)}`);
  const [N, V] = logits.shape;
  expectDType("webgpu.crossEntropy", "logits", logits, "float32");
  expectDType("webgpu.crossEntropy", "targets", targets, "int32");
  expectShape("webgpu.crossEntropy", "targets", targets, [N]);
  expectShape("webgpu.crossEntropy", "rowLoss", rowLoss, [N]);
  if (loss.size !== 1) throw new ShapeError(`webgpu.crossEntropy: loss must hold one value, got ${fmtShape(loss.shape)}`);
  if (dlogits) expectShape("webgpu.crossEntropy", "dlogits", dlogits, [N, V]);
  const count = o.count ?? N;
  if (o.reduction !== "sum" && !(count > 0)) throw new GradlabError(`webgpu.crossEntropy: a mean needs at least one counted target, got count ${count}`);
  const scale = o.reduction === "sum" ? 1 : 1 / count;
  const words = new Words().u(N, V).f(scale).u((o.ignoreIndex ?? -100) | 0, dlogits ? 1 : 0).build();
  const groups: [number, number] = [Math.min(N, 65535), Math.ceil(N / 65535)];
  if (dlogits) gpu.dispatch(CE, words, [logits.buffer, targets.buffer, rowLoss.buffer, dlogits.buffer], groups);
  else gpu.dispatch(CE_NO_GRAD, words, [logits.buffer, targets.buffer, rowLoss.buffer], groups);
  sum(gpu, rowLoss.reshape([1, N]), 1, loss, { scale });
}

// The forward-only twin: the same kernel without the gradient binding (an auto layout rejects a
// binding the shader never uses, so the gradient code goes too).
const CE_NO_GRAD = CE.replace("@group(0) @binding(4) var<storage, read_write> dX: array<f32>;", "")
  .replace(/if \(p\.wantGrad != 0u\) \{[\s\S]*?\n {2}\}\n\}$/, "}");
