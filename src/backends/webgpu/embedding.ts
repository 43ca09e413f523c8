import { GradlabError, ShapeError, fmtShape } from "../../core/errors.js";
import { type GpuTensor, expectDType, expectShape } from "./gpu-tensor.js";
import { type Gpu, Words } from "./runtime.js";

const GATHER = /* wgsl */ `
struct P { n: u32, E: u32, V: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> W: array<f32>;
@group(0) @binding(2) var<storage, read> ids: array<i32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * nwg.x + wg.x) * 256u + li;
  if (i >= p.n * p.E) { return; }
  let row = i / p.E;
  let id = u32(ids[row]);
  // Out-of-range ids (the host checks them) read zeros instead of another buffer's memory.
  var v = 0.0;
  if (id < p.V) { v = W[id * p.E + i % p.E]; }
  Y[i] = v;
}`;

// WGSL has no float atomics, so the scatter-add runs the other way round: one invocation per
// (row, column) of the weight gradient adds the output gradients of the tokens with that id,
// found through a CSR index (tokens sorted by id, stable). Exact and deterministic: each sum is
// taken in token order, as the CPU's sequential scatter-add does.
const SCATTER = /* wgsl */ `
struct P { V: u32, E: u32, accumulate: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> dY: array<f32>;
@group(0) @binding(2) var<storage, read> offsets: array<i32>;
@group(0) @binding(3) var<storage, read> order: array<i32>;
@group(0) @binding(4) var<storage, read_write> dW: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * nwg.x + wg.x) * 256u + li;
  if (i >= p.V * p.E) { return; }
  let v = i / p.E;
  let e = i % p.E;
  var s = 0.0;
  for (var j = offsets[v]; j < offsets[v + 1u]; j++) { s += dY[u32(order[j]) * p.E + e]; }
  if (p.accumulate != 0u) { s += dW[i]; }
  dW[i] = s;
}`;

function grid(n: number): [number, number] {
  const groups = Math.ceil(n / 256);
  const x = Math.min(groups, 32768);
  return [x, Math.ceil(groups / x)];
}

/** Checks ids against [0, V) on the host: the kernels would read zeros for bad ones. */
export function checkIds(op: string, ids: Int32Array, V: number): void {
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] < 0 || ids[i] >= V) throw new GradlabError(`${op}: index ${ids[i]} at position ${i} is out of range for ${V} embeddings`);
  }
}

/** out[n, :] = weight[ids[n], :] for weight [V, E], int32 ids [n], out [n, E]. */
export function embedding(gpu: Gpu, weight: GpuTensor, ids: GpuTensor, out: GpuTensor): void {
  if (weight.shape.length !== 2) throw new ShapeError(`webgpu.embedding: weight must be [V, E], got ${fmtShape(weight.shape)}`);
  const [V, E] = weight.shape;
  expectDType("webgpu.embedding", "weight", weight, "float32");
  expectDType("webgpu.embedding", "ids", ids, "int32");
  expectShape("webgpu.embedding", "out", out, [ids.size, E]);
  gpu.dispatch(GATHER, new Words().u(ids.size, E, V).build(), [weight.buffer, ids.buffer, out.buffer], grid(ids.size * E));
}

/** The CSR index of ids over V rows: offsets [V + 1] and the token positions sorted by id. */
export function embeddingIndex(ids: Int32Array, V: number): { offsets: Int32Array; order: Int32Array } {
  checkIds("webgpu.embeddingIndex", ids, V);
  const offsets = new Int32Array(V + 1);
  for (let i = 0; i < ids.length; i++) offsets[ids[i] + 1]++;
  for (let v = 0; v < V; v++) offsets[v + 1] += offsets[v];
  const fillAt = offsets.slice(0, V);
  const order = new Int32Array(Math.max(1, ids.length));
  for (let i = 0; i < ids.length; i++) order[fillAt[ids[i]]++] = i;
  return { offsets, order };
}

/**
 * dW[v, :] (+)= Σ_{n: ids[n] = v} dY[n, :], for dY [n, E] and the CSR index of the ids
 * (embeddingIndex, uploaded as int32 tensors).
 */
export function embeddingBackward(
  gpu: Gpu,
  dY: GpuTensor,
  offsets: GpuTensor,
  order: GpuTensor,
  dW: GpuTensor,
  o: { accumulate?: boolean } = {},
): void {
  if (dW.shape.length !== 2) throw new ShapeError(`webgpu.embeddingBackward: dW must be [V, E], got ${fmtShape(dW.shape)}`);
  const [V, E] = dW.shape;
  expectDType("webgpu.embeddingBackward", "offsets", offsets, "int32");
  expectDType("webgpu.embeddingBackward", "order", order, "int32");
  expectShape("webgpu.embeddingBackward", "offsets", offsets, [V + 1]);
  if (dY.shape[dY.shape.length - 1] !== E) throw new ShapeError(`webgpu.embeddingBackward: dY ${fmtShape(dY.shape)} must end in E = ${E}`);
  const words = new Words().u(V, E, o.accumulate ? 1 : 0).build();
  gpu.dispatch(SCATTER, words, [dY.buffer, offsets.buffer, order.buffer, dW.buffer], grid(V * E));
}
