import { ShapeError, fmtShape } from "../../core/errors.js";
import { type GpuTensor, expectDType } from "./gpu-tensor.js";
import { type Gpu, Words, scratchBuffer } from "./runtime.js";

// Over rows (dim 0): 64 adjacent columns per workgroup for coalesced loads, 4 lanes of rows each,
// the lanes added in workgroup memory; workgroup row wg.y takes rows [wg.y·rowsPer, …) and writes
// row wg.y of the output, so a tall matrix is summed in two passes (blocks of rows, then the
// block sums) instead of a few long serial loops. Over columns (dim 1): one workgroup per row, a
// tree sum. Both add in a fixed order, so results are deterministic.
const OVER_ROWS = /* wgsl */ `
struct P { M: u32, N: u32, scale: f32, accumulate: u32, rowsPer: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
var<workgroup> part: array<f32, 256>;
@compute @workgroup_size(64, 4)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let col = wg.x * 64u + lid.x;
  let rEnd = min(p.M, (wg.y + 1u) * p.rowsPer);
  var s = 0.0;
  if (col < p.N) {
    for (var r = wg.y * p.rowsPer + lid.y; r < rEnd; r += 4u) { s += X[r * p.N + col]; }
  }
  part[lid.y * 64u + lid.x] = s;
  workgroupBarrier();
  if (lid.y == 0u && col < p.N) {
    let o = wg.y * p.N + col;
    var v = (part[lid.x] + part[64u + lid.x] + part[128u + lid.x] + part[192u + lid.x]) * p.scale;
    if (p.accumulate != 0u) { v += Y[o]; }
    Y[o] = v;
  }
}`;

const OVER_COLS = /* wgsl */ `
struct P { M: u32, N: u32, scale: f32, accumulate: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
var<workgroup> part: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let row = wg.y * 65535u + wg.x;
  if (row >= p.M) { return; }
  var s = 0.0;
  for (var c = li; c < p.N; c += 256u) { s += X[row * p.N + c]; }
  part[li] = s;
  for (var w = 128u; w > 0u; w /= 2u) {
    workgroupBarrier();
    if (li < w) { part[li] += part[li + w]; }
  }
  if (li == 0u) {
    var v = part[0] * p.scale;
    if (p.accumulate != 0u) { v += Y[row]; }
    Y[row] = v;
  }
}`;

export interface SumOptions {
  /** Multiplies the sums (e.g. 1/N for a mean). */
  scale?: number;
  /** out += sum instead of out = sum. */
  accumulate?: boolean;
}

/**
 * Sums a 2-D [M, N] tensor over dim 0 (out has N values: a bias gradient) or dim 1 (out has M
 * values). A tensor of another rank is read as [size / last, last].
 */
export function sum(gpu: Gpu, x: GpuTensor, dim: 0 | 1, out: GpuTensor, o: SumOptions = {}): void {
  expectDType("webgpu.sum", "x", x, "float32");
  expectDType("webgpu.sum", "out", out, "float32");
  const N = x.shape.length ? x.shape[x.shape.length - 1] : 1;
  const M = N === 0 ? 0 : x.size / N;
  const want = dim === 0 ? N : M;
  if (dim !== 0 && dim !== 1) throw new ShapeError(`webgpu.sum: dim must be 0 or 1, got ${String(dim)}`);
  if (out.size !== want) throw new ShapeError(`webgpu.sum: summing ${fmtShape([M, N])} over dim ${dim} gives ${want} values, out has shape ${fmtShape(out.shape)}`);
  if (out.buffer === x.buffer) throw new ShapeError("webgpu.sum: out must be a different buffer than x");
  const scale = o.scale ?? 1;
  const acc = o.accumulate ? 1 : 0;
  const colGroups = Math.ceil(N / 64);
  if (dim === 1) {
    gpu.dispatch(OVER_COLS, new Words().u(M, N).f(scale).u(acc, 0).build(), [x.buffer, out.buffer], [Math.min(M, 65535), Math.ceil(M / 65535)]);
  } else if (M < 2048 || colGroups >= 128) {
    gpu.dispatch(OVER_ROWS, new Words().u(M, N).f(scale).u(acc, M).build(), [x.buffer, out.buffer], [colGroups]);
  } else {
    const blocks = Math.min(64, Math.ceil(M / 256));
    const rowsPer = Math.ceil(M / blocks);
    const parts = scratchBuffer(gpu, "sum.blocks", blocks * N * 4);
    gpu.dispatch(OVER_ROWS, new Words().u(M, N).f(1).u(0, rowsPer).build(), [x.buffer, parts], [colGroups, blocks]);
    gpu.dispatch(OVER_ROWS, new Words().u(blocks, N).f(scale).u(acc, blocks).build(), [parts, out.buffer], [colGroups]);
  }
}
