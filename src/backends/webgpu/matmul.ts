import { ShapeError, fmtShape } from "../../core/errors.js";
import { type GpuTensor, expectDType } from "./gpu-tensor.js";
import { type Tile, matmulSource, parseTile, threads, tileName, workgroupBytes } from "./matmul-source.js";
import { type Gpu, Words } from "./runtime.js";

const BIG: Tile = { BM: 128, BN: 128, BK: 16, TM: 8, TN: 8 };
const MID: Tile = { BM: 64, BN: 64, BK: 16, TM: 4, TN: 4 };
const SMALL: Tile = { BM: 32, BN: 64, BK: 16, TM: 4, TN: 4 };
const TINY: Tile = { BM: 16, BN: 64, BK: 16, TM: 2, TN: 4 };
const TILES = [BIG, MID, SMALL, TINY];
/**
 * Tiles worth timing on a GPU (bench/gpu.ts --sweep), by name "BMxBNxBK/TMxTN": the planner's four
 * and variants in shape, depth and thread tile, down to the skinny ones for one recurrent step.
 * Any name of that form that the device can run is accepted by `matmul(..., { tile })`.
 */
export const MATMUL_TILES: readonly string[] = [
  ...TILES.map(tileName),
  "128x128x8/8x8", "128x64x16/8x4", "64x128x16/4x8", "128x128x16/8x4", "64x64x8/4x4", "64x64x32/4x4",
  "32x32x32/2x4", "32x64x32/4x4", "16x64x32/2x4", "16x32x32/2x4", "32x128x16/4x4", "16x128x16/2x4",
];
/**
 * Workgroups a product should spread over to fill a large GPU (an H100 has 132 multiprocessors).
 * WebGPU does not say how many a device has; this only decides tile size and split-K.
 */
const TARGET_GROUPS = 256;
/** Split-K never gives a workgroup fewer than this many k values. */
const MIN_K_PER_SPLIT = 512;

// Adds the split-K slabs (in a fixed order: deterministic), then bias and the old C.
const SPLIT_SUM = /* wgsl */ `
struct P { MN: u32, N: u32, S: u32, offC: u32, accumulate: u32, hasBias: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> parts: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * nwg.x + wg.x) * 256u + li;
  if (i >= p.MN) { return; }
  var v = 0.0;
  for (var s = 0u; s < p.S; s++) { v += parts[s * p.MN + i]; }
  if (p.hasBias != 0u) { v += bias[i % p.N]; }
  if (p.accumulate != 0u) { v += C[p.offC + i]; }
  C[p.offC + i] = v;
}`;

/**
 * Scratch for split-K slabs, one per device. Dispatches run in order, so every product can reuse
 * it: the sum dispatch has read it before the next product writes it. A grown scratch is dropped,
 * never pooled: recordings (Gpu.record) may still write the old one.
 */
const scratch = new WeakMap<Gpu, GPUBuffer>();
function scratchBuffer(gpu: Gpu, bytes: number): GPUBuffer {
  let b = scratch.get(gpu);
  if (!b || b.size < bytes) {
    b = gpu.alloc(bytes);
    scratch.set(gpu, b);
  }
  return b;
}

export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
  /** C += op(A)·op(B) instead of C = op(A)·op(B). */
  accumulate?: boolean;
  /** Added to every row of the product: length N. */
  bias?: GpuTensor;
  /**
   * Sub-matrices: the operands start this many elements into their buffers, and M/N/K override
   * the sizes read from the shapes (for one time step of a [T, B, ·] sequence, say).
   */
  offsetA?: number;
  offsetB?: number;
  offsetC?: number;
  /** Splits K over this many workgroup layers (default: chosen from the sizes). */
  splitK?: number;
  /** The workgroup tile, "BMxBNxBK/TMxTN" (see MATMUL_TILES; default: chosen from the sizes). */
  tile?: string;
  /**
   * Read A and B from global memory as vec4s where their layout allows it (default true): the
   * contiguous dimension and the offset multiples of 4. False keeps scalar loads (for comparison).
   */
  vec4?: boolean;
  M?: number;
  N?: number;
  K?: number;
}

const dummy = new WeakMap<Gpu, GPUBuffer>();
function dummyBuffer(gpu: Gpu): GPUBuffer {
  let b = dummy.get(gpu);
  if (!b) dummy.set(gpu, (b = gpu.alloc(16)));
  return b;
}

function tileFits(gpu: Gpu, t: Tile, transA: boolean, transB: boolean): boolean {
  return threads(t) <= gpu.workgroupInvocations && workgroupBytes(t, transA, transB) <= gpu.limits.maxComputeWorkgroupStorageSize;
}

/**
 * The largest tile that, with K split into slices of at least MIN_K_PER_SPLIT, gives enough
 * workgroups; and the split. Small products (one recurrent step) take small tiles; K-heavy ones
 * with few outputs (weight gradients over all time steps) take split-K.
 */
function plan(gpu: Gpu, M: number, N: number, K: number, transA: boolean, transB: boolean): { tile: Tile; split: number } {
  const fits = (t: Tile): boolean => tileFits(gpu, t, transA, transB);
  const maxSplit = Math.max(1, Math.floor(K / MIN_K_PER_SPLIT));
  const usable = TILES.filter(fits);
  for (const tile of usable) {
    const groups = Math.ceil(M / tile.BM) * Math.ceil(N / tile.BN);
    if (groups * maxSplit >= TARGET_GROUPS) return { tile, split: Math.min(maxSplit, Math.ceil(TARGET_GROUPS / groups)) };
  }
  const tile = usable[usable.length - 1];
  return { tile, split: maxSplit };
}

/**
 * Encodes C = op(A)·op(B) into the open command encoder. Shapes are taken from the 2-D operands
 * unless M/N/K are given (then the operands may be any tensors holding enough elements).
 */
export function matmul(gpu: Gpu, a: GpuTensor, b: GpuTensor, c: GpuTensor, o: MatmulOptions = {}): void {
  for (const [n, t] of [["A", a], ["B", b], ["C", c]] as const) expectDType("webgpu.matmul", n, t, "float32");
  const tA = o.transA ?? false;
  const tB = o.transB ?? false;
  const twoD = (t: GpuTensor, n: string): readonly number[] => {
    if (t.shape.length !== 2) throw new ShapeError(`webgpu.matmul: ${n} must be 2-D when M/N/K are not given, got ${fmtShape(t.shape)}`);
    return t.shape;
  };
  const M = o.M ?? (tA ? twoD(a, "A")[1] : twoD(a, "A")[0]);
  const K = o.K ?? (tA ? twoD(a, "A")[0] : twoD(a, "A")[1]);
  const N = o.N ?? (tB ? twoD(b, "B")[0] : twoD(b, "B")[1]);
  const offA = o.offsetA ?? 0;
  const offB = o.offsetB ?? 0;
  const offC = o.offsetC ?? 0;
  if (o.M === undefined && o.N === undefined && o.K === undefined) {
    const kb = tB ? b.shape[1] : b.shape[0];
    if (kb !== K || c.shape.length !== 2 || c.shape[0] !== M || c.shape[1] !== N) {
      throw new ShapeError(
        `webgpu.matmul: op(A) ${fmtShape([M, K])} · op(B) ${fmtShape(tB ? [b.shape[1], b.shape[0]] : b.shape)} → C ${fmtShape(c.shape)} do not match`,
      );
    }
  }
  if (offA + M * K > a.size || offB + K * N > b.size || offC + M * N > c.size) {
    throw new ShapeError(`webgpu.matmul: M=${M} N=${N} K=${K} at offsets ${offA}/${offB}/${offC} overrun A ${fmtShape(a.shape)}, B ${fmtShape(b.shape)} or C ${fmtShape(c.shape)}`);
  }
  if (o.bias && o.bias.size !== N) throw new ShapeError(`webgpu.matmul: bias must have ${N} values, got ${fmtShape(o.bias.shape)}`);
  if (a.buffer === c.buffer || b.buffer === c.buffer) throw new ShapeError("webgpu.matmul: C must not share a buffer with A or B");
  const p = plan(gpu, M, N, K, tA, tB);
  let t = p.tile;
  if (o.tile !== undefined) {
    const chosen = parseTile(o.tile);
    if (!chosen) throw new ShapeError(`webgpu.matmul: tile must be "BMxBNxBK/TMxTN" with TN a multiple of 4 and TM, TN dividing BM, BN; got "${o.tile}"`);
    if (!tileFits(gpu, chosen, tA, tB)) throw new ShapeError(`webgpu.matmul: tile ${o.tile} needs ${threads(chosen)} invocations and ${workgroupBytes(chosen, tA, tB)} bytes of workgroup memory, more than this device allows`);
    t = chosen;
  }
  let split = o.splitK ?? p.split;
  if (!Number.isInteger(split) || split < 1) throw new ShapeError(`webgpu.matmul: splitK must be a positive integer, got ${split}`);
  // The slabs must fit one storage binding.
  split = Math.max(1, Math.min(split, Math.floor(gpu.limits.maxStorageBufferBindingSize / Math.max(1, M * N * 4))));
  const kChunk = Math.ceil(K / split / t.BK) * t.BK || t.BK;
  split = Math.max(1, Math.ceil(K / kChunk));
  const bias = o.bias ? o.bias.buffer : dummyBuffer(gpu);
  const v4 = o.vec4 ?? true;
  const vecA = v4 && (tA ? M : K) % 4 === 0 && offA % 4 === 0 && (tA ? t.BM : t.BK) % 4 === 0 && a.buffer.size % 16 === 0;
  const vecB = v4 && (tB ? K : N) % 4 === 0 && offB % 4 === 0 && (tB ? t.BK : t.BN) % 4 === 0 && b.buffer.size % 16 === 0;
  const code = matmulSource(t, tA, tB, vecA, vecB);
  const groups: [number, number, number] = [Math.ceil(N / t.BN), Math.ceil(M / t.BM), split];
  if (split === 1) {
    const words = new Words().u(M, N, K, offA, offB, offC, o.accumulate ? 1 : 0, o.bias ? 1 : 0, kChunk).build();
    gpu.dispatch(code, words, [a.buffer, b.buffer, bias, c.buffer], groups);
    return;
  }
  const parts = scratchBuffer(gpu, split * M * N * 4);
  gpu.dispatch(code, new Words().u(M, N, K, offA, offB, 0, 0, 0, kChunk).build(), [a.buffer, b.buffer, bias, parts], groups);
  const total = Math.ceil((M * N) / 256);
  const gx = Math.min(total, 32768);
  const sumWords = new Words().u(M * N, N, split, offC, o.accumulate ? 1 : 0, o.bias ? 1 : 0).build();
  gpu.dispatch(SPLIT_SUM, sumWords, [parts, bias, c.buffer], [gx, Math.ceil(total / gx)]);
}
