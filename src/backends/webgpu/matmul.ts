import { ShapeError, fmtShape } from "../../core/errors.js";
import { type GpuTensor, expectDType } from "./gpu-tensor.js";
import { type Gpu, Words } from "./runtime.js";

/** A workgroup tile: BM×BN outputs, BK-deep slices of A and B in workgroup memory, TM×TN per thread. */
interface Tile { BM: number; BN: number; BK: number; TM: number; TN: number }
const BIG: Tile = { BM: 128, BN: 128, BK: 16, TM: 8, TN: 8 };
const MID: Tile = { BM: 64, BN: 64, BK: 16, TM: 4, TN: 4 };
const SMALL: Tile = { BM: 32, BN: 64, BK: 16, TM: 4, TN: 4 };
const TINY: Tile = { BM: 16, BN: 64, BK: 16, TM: 2, TN: 4 };
const TILES = [BIG, MID, SMALL, TINY];
/**
 * Workgroups a product should spread over to fill a large GPU (an H100 has 132 multiprocessors).
 * WebGPU does not say how many a device has; this only decides tile size and split-K.
 */
const TARGET_GROUPS = 256;
/** Split-K never gives a workgroup fewer than this many k values. */
const MIN_K_PER_SPLIT = 512;

const sources = new Map<string, string>();

/**
 * Row strides of the workgroup tiles (A in floats, B in vec4s). Where consecutive invocations
 * store down a column of a tile (k varies fastest: untransposed A, transposed B, which keeps their
 * global loads coalesced), an unpadded row length that is a multiple of 32 would put all those
 * stores in one memory bank; one float (A) or one vec4 (B) of padding spreads them.
 */
function strides(t: Tile, transA: boolean, transB: boolean): { aStride: number; bStride: number } {
  return { aStride: t.BM + (transA ? 0 : 1), bStride: t.BN / 4 + (transB ? 1 : 0) };
}

/**
 * C[M,N] = op(A)·op(B) (+ C if accumulate) (+ bias[n]); A is stored [M,K] or, transposed, [K,M];
 * B is stored [K,N] or, transposed, [N,K]. Workgroup memory holds a BK×BM slice of A and BK×BN of
 * B (k-major), so each thread reads its TM values of A and TN/4 vec4s of B per k and updates a
 * TM×TN register tile with vec4 multiply-adds. Rows of the thread tile are strided by the
 * workgroup's height so neighbouring threads write neighbouring rows and columns.
 */
function source(t: Tile, transA: boolean, transB: boolean): string {
  const key = `${t.BM},${t.BN},${t.BK},${t.TM},${t.TN},${transA},${transB}`;
  let s = sources.get(key);
  if (s) return s;
  const { BM, BN, BK, TM, TN } = t;
  const WX = BN / TN;
  const WY = BM / TM;
  const NT = WX * WY;
  const V = TN / 4;
  const aIndex = transA ? "(k0 + k) * p.M + row" : "row * p.K + k0 + k";
  const aCoord = transA ? `let k = i / ${BM}u; let m = i % ${BM}u;` : `let m = i / ${BK}u; let k = i % ${BK}u;`;
  const bIndex = transB ? "col * p.K + k0 + k" : "(k0 + k) * p.N + col";
  const bCoord = transB ? `let n = i / ${BK}u; let k = i % ${BK}u;` : `let k = i / ${BN}u; let n = i % ${BN}u;`;
  const { aStride, bStride } = strides(t, transA, transB);
  s = /* wgsl */ `
struct P { M: u32, N: u32, K: u32, offA: u32, offB: u32, offC: u32, accumulate: u32, hasBias: u32, kChunk: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> C: array<f32>;
var<workgroup> As: array<f32, ${BK * aStride}>;
var<workgroup> Bs: array<vec4<f32>, ${BK * bStride}>;

@compute @workgroup_size(${WX}, ${WY})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let row0 = wg.y * ${BM}u;
  let col0 = wg.x * ${BN}u;
  // Split-K: workgroup layer z takes k in [z·kChunk, (z+1)·kChunk) and writes its own M×N slab.
  let kBegin = wg.z * p.kChunk;
  let kEnd = min(p.K, kBegin + p.kChunk);
  let slab = wg.z * p.M * p.N;
  var acc: array<vec4<f32>, ${TM * V}>;
  for (var k0 = kBegin; k0 < kEnd; k0 += ${BK}u) {
    for (var i = li; i < ${BM * BK}u; i += ${NT}u) {
      ${aCoord}
      let row = row0 + m;
      var v = 0.0;
      if (row < p.M && k0 + k < kEnd) { v = A[p.offA + ${aIndex}]; }
      As[k * ${aStride}u + m] = v;
    }
    for (var i = li; i < ${BK * BN}u; i += ${NT}u) {
      ${bCoord}
      let col = col0 + n;
      var v = 0.0;
      if (col < p.N && k0 + k < kEnd) { v = B[p.offB + ${bIndex}]; }
      let j = k * ${bStride * 4}u + n;
      Bs[j / 4u][j % 4u] = v;
    }
    workgroupBarrier();
    for (var k = 0u; k < ${BK}u; k++) {
      var b: array<vec4<f32>, ${V}>;
      for (var j = 0u; j < ${V}u; j++) { b[j] = Bs[k * ${bStride}u + lid.x + j * ${WX}u]; }
      for (var i = 0u; i < ${TM}u; i++) {
        let a = As[k * ${aStride}u + lid.y + i * ${WY}u];
        for (var j = 0u; j < ${V}u; j++) { acc[i * ${V}u + j] = fma(vec4<f32>(a), b[j], acc[i * ${V}u + j]); }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < ${TM}u; i++) {
    let row = row0 + lid.y + i * ${WY}u;
    if (row >= p.M) { continue; }
    for (var j = 0u; j < ${V}u; j++) {
      for (var c = 0u; c < 4u; c++) {
        let col = col0 + (lid.x + j * ${WX}u) * 4u + c;
        if (col < p.N) {
          let o = p.offC + slab + row * p.N + col;
          var v = acc[i * ${V}u + j][c];
          if (p.hasBias != 0u) { v += bias[col]; }
          if (p.accumulate != 0u) { v += C[o]; }
          C[o] = v;
        }
      }
    }
  }
}`;
  sources.set(key, s);
  return s;
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

/**
 * The largest tile that, with K split into slices of at least MIN_K_PER_SPLIT, gives enough
 * workgroups; and the split. Small products (one recurrent step) take small tiles; K-heavy ones
 * with few outputs (weight gradients over all time steps) take split-K.
 */
function plan(gpu: Gpu, M: number, N: number, K: number, transA: boolean, transB: boolean): { tile: Tile; split: number } {
  const fits = (t: Tile): boolean => {
    const { aStride, bStride } = strides(t, transA, transB);
    return (t.BM / t.TM) * (t.BN / t.TN) <= gpu.workgroupInvocations && t.BK * (aStride + 4 * bStride) * 4 <= gpu.limits.maxComputeWorkgroupStorageSize;
  };
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
  const t = p.tile;
  let split = o.splitK ?? p.split;
  if (!Number.isInteger(split) || split < 1) throw new ShapeError(`webgpu.matmul: splitK must be a positive integer, got ${split}`);
  // The slabs must fit one storage binding.
  split = Math.max(1, Math.min(split, Math.floor(gpu.limits.maxStorageBufferBindingSize / Math.max(1, M * N * 4))));
  const kChunk = Math.ceil(K / split / t.BK) * t.BK || t.BK;
  split = Math.max(1, Math.ceil(K / kChunk));
  const bias = o.bias ? o.bias.buffer : dummyBuffer(gpu);
  const groups: [number, number, number] = [Math.ceil(N / t.BN), Math.ceil(M / t.BM), split];
  if (split === 1) {
    const words = new Words().u(M, N, K, offA, offB, offC, o.accumulate ? 1 : 0, o.bias ? 1 : 0, kChunk).build();
    gpu.dispatch(source(t, tA, tB), words, [a.buffer, b.buffer, bias, c.buffer], groups);
    return;
  }
  const parts = scratchBuffer(gpu, split * M * N * 4);
  gpu.dispatch(source(t, tA, tB), new Words().u(M, N, K, offA, offB, 0, 0, 0, kChunk).build(), [a.buffer, b.buffer, bias, parts], groups);
  const total = Math.ceil((M * N) / 256);
  const gx = Math.min(total, 32768);
  const sumWords = new Words().u(M * N, N, split, offC, o.accumulate ? 1 : 0, o.bias ? 1 : 0).build();
  gpu.dispatch(SPLIT_SUM, sumWords, [parts, bias, c.buffer], [gx, Math.ceil(total / gx)]);
}
