import { ShapeError, fmtShape } from "../../core/errors.js";
import { type GpuTensor, expectDType } from "./gpu-tensor.js";
import { type Tile, matmulSource, parseTile, threads, tileName, workgroupBytes } from "./matmul-source.js";
import { type Gpu, Words, scratchBuffer } from "./runtime.js";

const BIG: Tile = { BM: 128, BN: 128, BK: 16, TM: 8, TN: 8 };
const WIDE: Tile = { BM: 64, BN: 128, BK: 16, TM: 4, TN: 8 };
const MID: Tile = { BM: 64, BN: 64, BK: 32, TM: 4, TN: 4 };
const SKINNY: Tile = { BM: 32, BN: 32, BK: 32, TM: 2, TN: 4 };
/** The planner's tiles, largest first. */
const TILES = [BIG, WIDE, MID, SKINNY];
/**
 * Tiles worth timing on a GPU (bench/gpu.ts --sweep), by name "BMxBNxBK/TMxTN": the planner's four
 * and variants in shape, depth and thread tile, down to the skinny ones for one recurrent step.
 * Any name of that form that the device can run is accepted by `matmul(..., { tile })`.
 */
export const MATMUL_TILES: readonly string[] = [
  ...TILES.map(tileName),
  "64x64x16/4x4", "32x64x16/4x4", "16x64x16/2x4", "128x128x8/8x8", "128x64x16/8x4", "128x128x16/8x4", "64x64x8/4x4",
  "32x64x32/4x4", "16x64x32/2x4", "16x32x32/2x4", "32x128x16/4x4", "16x128x16/2x4", "32x32x16/2x4",
];
/**
 * Workgroups for about one full wave on a large GPU (an H200 has 132 multiprocessors; WebGPU does
 * not say how many a device has): a tile that gives this many is used without split-K.
 */
const WAVE = 128;
/** With split-K, the workgroup layers should add up to about two waves. */
const SPLIT_TARGET = 256;
/** Split-K never gives a workgroup fewer than this many k values. */
const MIN_K_PER_SPLIT = 512;

/**
 * The tile and split-K for C[M,N] = op(A)·op(B) with depth K, among the tiles `fits` allows: the
 * largest tile that fills a wave on its own (split 1), or that fills two waves with K split into
 * slices of at least MIN_K_PER_SPLIT; else the skinny tile with K split as far as allowed. A tile
 * that `fits` refuses is replaced by its BK=16 twin where that fits.
 *
 * Measured on an NVIDIA H200 (Dawn/Vulkan, tile sweep of bench/gpu.ts --sweep, TFLOP/s; shapes
 * MxKxN, :A/:B = stored transposed), where the previous rule (BIG, 64x64x16/4x4, 32x64x16/4x4,
 * 16x64x16/2x4 at 256 workgroups) lost by more than 5%:
 * - 1024³: 64x128x16/4x8 23.8 vs 64x64x16/4x4 19.4 (plan) → WIDE;
 * - 8192x512x256:B (decoder): 128x128x16/8x8 23.7 vs 64x64x16/4x4 18.3 (plan) → BIG at 128 groups;
 * - 64x2048x512 (recurrent step backward): 32x32x32/2x4 split 4: 4.0 vs 16x64x16/2x4 split 4: 3.1;
 *   in 127 chained steps 33.8 vs 53.4 µs per step; step forward (64x512x2048:B) chained 24.7 vs
 *   36.7 µs (one-off timings, dominated by host encoding, had it 3.1 vs 3.3: within noise);
 * - 64x64x32/4x4 beat 64x64x16/4x4 on all eight large shapes (by 1–15%), so it is the middle tile.
 * Where the old rule already picked the winner it still does: 128x128x16/8x8 with split 1 on
 * 8192x768x2048 (41.0), 4096³ (42.8), 8192x256x2048 (28.5, :B 26.5), and with split 8 / 4 on the
 * weight gradients 2048x8192x256:A (34.7; split 16: 35.1) / 2048x8192x512:A (38.7–40.2).
 */
export function matmulPlan(M: number, N: number, K: number, fits: (t: Tile) => boolean = () => true): { tile: string; split: number } {
  const maxSplit = Math.max(1, Math.floor(K / MIN_K_PER_SPLIT));
  // A tile the device cannot run gives way to its shallower twin (less workgroup memory).
  const usable = TILES.flatMap((t) => [t, { ...t, BK: 16 }].filter(fits).slice(0, 1));
  for (const tile of usable) {
    const groups = Math.ceil(M / tile.BM) * Math.ceil(N / tile.BN);
    if (groups >= WAVE) return { tile: tileName(tile), split: 1 };
    if (groups * maxSplit >= SPLIT_TARGET) return { tile: tileName(tile), split: Math.min(maxSplit, Math.ceil(SPLIT_TARGET / groups)) };
  }
  return { tile: tileName(usable[usable.length - 1] ?? SKINNY), split: maxSplit };
}

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
  /**
   * A batch of `batch` products in one dispatch (default 1): product i reads A, B and writes C
   * strideA, strideB, strideC elements after product 0 (a stride 0 shares an operand). No split-K.
   */
  batch?: number;
  strideA?: number;
  strideB?: number;
  strideC?: number;
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
  const batch = o.batch ?? 1;
  const [sA, sB, sC] = [o.strideA ?? 0, o.strideB ?? 0, o.strideC ?? M * N];
  if (!Number.isInteger(batch) || batch < 1) throw new ShapeError(`webgpu.matmul: batch must be a positive integer, got ${batch}`);
  if (batch > 1 && (sC < M * N || o.splitK !== undefined && o.splitK > 1)) {
    throw new ShapeError(`webgpu.matmul: a batch needs strideC >= M·N (${M * N}, got ${sC}) and no split-K`);
  }
  const last = batch - 1;
  if (offA + last * sA + M * K > a.size || offB + last * sB + K * N > b.size || offC + last * sC + M * N > c.size) {
    throw new ShapeError(
      `webgpu.matmul: M=${M} N=${N} K=${K} (batch ${batch}) at offsets ${offA}/${offB}/${offC} overrun A ${fmtShape(a.shape)}, B ${fmtShape(b.shape)} or C ${fmtShape(c.shape)}`,
    );
  }
  if (o.bias && o.bias.size !== N) throw new ShapeError(`webgpu.matmul: bias must have ${N} values, got ${fmtShape(o.bias.shape)}`);
  if (a.buffer === c.buffer || b.buffer === c.buffer) throw new ShapeError("webgpu.matmul: C must not share a buffer with A or B");
  // Chromium's SwiftShader WebGPU never finished a dispatch of a BK=32 tile in the browser test, so
  // in a browser the planner keeps to BK=16 tiles (a named tile is still used as asked).
  const p = matmulPlan(M, N, K, (t) => tileFits(gpu, t, tA, tB) && (gpu.backend !== "browser" || t.BK <= 16));
  let t = parseTile(p.tile) as Tile;
  if (o.tile !== undefined) {
    const chosen = parseTile(o.tile);
    if (!chosen) throw new ShapeError(`webgpu.matmul: tile must be "BMxBNxBK/TMxTN" with TN a multiple of 4 and TM, TN dividing BM, BN; got "${o.tile}"`);
    if (!tileFits(gpu, chosen, tA, tB)) throw new ShapeError(`webgpu.matmul: tile ${o.tile} needs ${threads(chosen)} invocations and ${workgroupBytes(chosen, tA, tB)} bytes of workgroup memory, more than this device allows`);
    t = chosen;
  }
  let split = batch > 1 ? 1 : (o.splitK ?? p.split);
  if (!Number.isInteger(split) || split < 1) throw new ShapeError(`webgpu.matmul: splitK must be a positive integer, got ${split}`);
  // The slabs must fit one storage binding.
  split = Math.max(1, Math.min(split, Math.floor(gpu.limits.maxStorageBufferBindingSize / Math.max(1, M * N * 4))));
  const kChunk = Math.ceil(K / split / t.BK) * t.BK || t.BK;
  split = Math.max(1, Math.ceil(K / kChunk));
  const bias = o.bias ? o.bias.buffer : dummyBuffer(gpu);
  const v4 = o.vec4 ?? true;
  const vecA = v4 && (tA ? M : K) % 4 === 0 && offA % 4 === 0 && sA % 4 === 0 && (tA ? t.BM : t.BK) % 4 === 0 && a.buffer.size % 16 === 0;
  const vecB = v4 && (tB ? K : N) % 4 === 0 && offB % 4 === 0 && sB % 4 === 0 && (tB ? t.BK : t.BN) % 4 === 0 && b.buffer.size % 16 === 0;
  const code = matmulSource(t, tA, tB, vecA, vecB);
  const groups: [number, number, number] = [Math.ceil(N / t.BN), Math.ceil(M / t.BM), batch > 1 ? batch : split];
  if (split === 1) {
    const words = new Words().u(M, N, K, offA, offB, offC, o.accumulate ? 1 : 0, o.bias ? 1 : 0, kChunk, batch > 1 ? 1 : 0, sA, sB, sC).build();
    gpu.dispatch(code, words, [a.buffer, b.buffer, bias, c.buffer], groups);
    return;
  }
  const parts = scratchBuffer(gpu, "matmul.splitK", split * M * N * 4);
  gpu.dispatch(code, new Words().u(M, N, K, offA, offB, 0, 0, 0, kChunk, 0, 0, 0, 0).build(), [a.buffer, b.buffer, bias, parts], groups);
  const total = Math.ceil((M * N) / 256);
  const gx = Math.min(total, 32768);
  const sumWords = new Words().u(M * N, N, split, offC, o.accumulate ? 1 : 0, o.bias ? 1 : 0).build();
  gpu.dispatch(SPLIT_SUM, sumWords, [parts, bias, c.buffer], [gx, Math.ceil(total / gx)]);
}
