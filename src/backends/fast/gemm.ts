import type { View } from "../../backend/kernels.js";
import { DTypeError, GradlabError, ShapeError, fmtShape } from "../../core/errors.js";
import type { Pin, WasmRuntime } from "./runtime.js";
import { stage, unstage } from "./stage.js";
import { MAX_CHUNKS, type ThreadPool } from "./threads.js";

function roundUp(n: number, m: number): number {
  return Math.ceil(n / m) * m;
}

/** Scratch for one packed MC×KC block of A. */
function aBuffer(rt: WasmRuntime, M: number, K: number): number {
  return rt.alloc(roundUp(Math.min(rt.mc, M), rt.mr) * Math.min(rt.kc, K) * 4);
}

/** Scratch for one packed KC×NC block of B. */
function bBuffer(rt: WasmRuntime, K: number, N: number): number {
  return rt.alloc(Math.min(rt.kc, K) * roundUp(Math.min(rt.nc, N), rt.nr) * 4);
}

/** Worker threads for large products: the pool, the compute threads allowed (workers + this one). */
export interface Parallel {
  pool: ThreadPool | null;
  threads: number;
  /** Products below this many flops stay on one thread: waking a worker costs 10–75 µs. */
  minFlop: number;
}

export const SERIAL: Parallel = { pool: null, threads: 1, minFlop: Infinity };

/** How many threads to use for one M×N×K product. */
function threadsFor(par: Parallel, M: number, N: number, K: number, mr: number): number {
  if (!par.pool || par.threads < 2 || 2 * M * N * K < par.minFlop) return 1;
  // Every thread gets at least one full tile row.
  return Math.max(1, Math.min(par.threads, par.pool.ready + 1, Math.floor(M / mr)));
}

/**
 * Row chunks per thread of a split product. More than one lets a thread that starts late (its
 * core busy with other work) leave its share to the others; fewer keeps each chunk's pass over
 * the packed B long.
 */
const CHUNKS_PER_THREAD = 4;

/**
 * C[M, N] (row stride ldc) = A·B (+= with acc) for a B packed by packBFull, the rows of C in
 * chunks of whole tile rows claimed by `threads` threads, each with its own packing buffers.
 */
function gemmPackedRows(
  rt: WasmRuntime, par: Parallel, threads: number,
  M: number, N: number, K: number, A: number, rsA: number, csA: number, packed: number, C: number, ldc: number, acc: boolean,
): void {
  if (threads < 2) {
    rt.wasm.gemm(M, N, K, A, rsA, csA, packed, 0, 0, 1, C, ldc, acc ? 1 : 0, aBuffer(rt, M, K), 0, rt.alloc(rt.mr * rt.nr * 4));
    return;
  }
  const tiles = Math.ceil(M / rt.mr);
  const rows = Math.ceil(tiles / Math.min(tiles, threads * CHUNKS_PER_THREAD, MAX_CHUNKS)) * rt.mr;
  const scratch: [number, number][] = [];
  for (let t = 0; t < threads; t++) scratch.push([aBuffer(rt, rows, K), rt.alloc(rt.mr * rt.nr * 4)]);
  par.pool!.run([M, N, K, A, rsA, csA, packed, 0, 0, 1, C, ldc, acc ? 1 : 0, 0, 0, 0], rows, scratch);
}

/**
 * Pointer-level products for kernels that keep their operands in the module's memory (the
 * whole-sequence recurrent kernels). They allocate scratch without resetting it.
 */

/** Packs the K×N matrix at byte address `src` (element strides rs, cs) into scratch; returns its address. */
export function packToScratch(rt: WasmRuntime, src: number, rs: number, cs: number, K: number, N: number): number {
  const packed = rt.alloc(rt.wasm.packedBSize(K, N) * 4);
  if (K > 0 && N > 0) rt.wasm.packBFull(src, rs, cs, K, N, packed);
  return packed;
}

/** C[M, N] (row stride ldc) = A·B, or += with acc, for a packed B; rows split over threads when large. */
export function gemmPackedAt(
  rt: WasmRuntime, par: Parallel, M: number, N: number, K: number,
  A: number, rsA: number, csA: number, packed: number, C: number, ldc: number, acc: boolean,
): void {
  if (M === 0 || N === 0) return;
  const mark = rt.mark();
  gemmPackedRows(rt, par, K > 0 ? threadsFor(par, M, N, K, rt.mr) : 1, M, N, K, A, rsA, csA, packed, C, ldc, acc);
  rt.releaseTo(mark);
}

/** C = A·B (or += with acc) for strided A and B in the module's memory; B is packed first. */
export function gemmAt(
  rt: WasmRuntime, par: Parallel, M: number, N: number, K: number,
  A: number, rsA: number, csA: number, B: number, rsB: number, csB: number, C: number, ldc: number, acc: boolean,
): void {
  if (M === 0 || N === 0) return;
  const mark = rt.mark();
  const packed = packToScratch(rt, B, rsB, csB, K, N);
  gemmPackedAt(rt, par, M, N, K, A, rsA, csA, packed, C, ldc, acc);
  rt.releaseTo(mark);
}

/**
 * The "matmul" kernel for float32: a [B, M, K] · b [B, K, N] → out [B, M, N], operands of any
 * strides. Operands are copied into scratch as they lie (strides kept) and packed into panels
 * by the module; a B broadcast over the batch (stride 0) is packed once for all batches. Large
 * products split their rows over worker threads, B packed once for all of them.
 */
export function matmulF32(rt: WasmRuntime, a: View, b: View, out: Float32Array, par: Parallel = SERIAL): void {
  const [B, M, K] = a.shape;
  const N = b.shape[2];
  if (out.length === 0) return;
  const w = rt.wasm;
  rt.resetScratch();
  const sa = stage(rt, a, B * M * K);
  const sb = stage(rt, b, B * K * N);
  const c = rt.alloc(M * N * 4);
  const threads = K > 0 ? threadsFor(par, M, N, K, rt.mr) : 1;
  const shared = B > 1 && b.strides[0] === 0;
  let packed = -1;
  if ((shared || threads > 1) && K > 0) packed = rt.alloc(w.packedBSize(K, N) * 4);
  const ap = packed < 0 ? aBuffer(rt, M, K) : 0;
  const bp = packed < 0 ? bBuffer(rt, K, N) : 0;
  const edge = packed < 0 ? rt.alloc(rt.mr * rt.nr * 4) : 0;
  for (let bi = 0; bi < B; bi++) {
    const pa = sa.ptr + bi * sa.strides[0] * 4;
    const pb = sb.ptr + bi * sb.strides[0] * 4;
    if (packed >= 0) {
      if (bi === 0 || !shared) w.packBFull(pb, sb.strides[1], sb.strides[2], K, N, packed);
      gemmPackedRows(rt, par, threads, M, N, K, pa, sa.strides[1], sa.strides[2], packed, c, N, false);
    } else {
      w.gemm(M, N, K, pa, sa.strides[1], sa.strides[2], pb, sb.strides[1], sb.strides[2], 0, c, N, 0, ap, bp, edge);
    }
    unstage(rt, c, M * N, out, bi * M * N);
  }
}

const finalizer =
  typeof FinalizationRegistry === "function"
    ? new FinalizationRegistry<{ rt: WasmRuntime; pin: Pin }>(({ rt, pin }) => rt.unpin(pin))
    : null;

/**
 * A K×N float32 matrix packed once into the fast backend's memory, for many products against it
 * (a recurrent layer's W_hhᵀ over all time steps). It holds memory until `release()`: release it
 * when the sequence is done. One that is garbage-collected unreleased frees its memory then, so a
 * forgotten release costs memory for a while, never correctness.
 */
export class PackedMatrix {
  private pin: Pin | null;

  constructor(
    readonly runtime: WasmRuntime,
    /** K: rows of the logical matrix. */
    readonly rows: number,
    /** N: columns of the logical matrix. */
    readonly cols: number,
    pin: Pin,
  ) {
    this.pin = pin;
    finalizer?.register(this, { rt: runtime, pin }, this);
  }

  get released(): boolean {
    return this.pin === null;
  }

  /** Byte address of the packed panels in the module's memory (for kernels that work in place). */
  get ptr(): number {
    if (!this.pin) throw new GradlabError("PackedMatrix: used after release()");
    return this.pin.start;
  }

  release(): void {
    if (!this.pin) return;
    finalizer?.unregister(this);
    this.runtime.unpin(this.pin);
    this.pin = null;
  }
}

function require2dF32(op: string, v: View, what: string): void {
  if (!(v.data instanceof Float32Array)) throw new DTypeError(`${op}: ${what} must be float32`);
  if (v.shape.length !== 2) throw new ShapeError(`${op}: ${what} must be 2-d, got shape ${fmtShape(v.shape)}`);
}

/** Packs b [K, N] (any strides), or bᵀ when `transpose` (then b is [N, K]), for matmulPacked. */
export function packMatrix(rt: WasmRuntime, b: View, transpose = false): PackedMatrix {
  require2dF32("packB", b, "the matrix");
  const v: View = transpose
    ? { data: b.data, shape: [b.shape[1], b.shape[0]], strides: [b.strides[1], b.strides[0]], offset: b.offset }
    : b;
  const [K, N] = v.shape;
  const pin = rt.pin(rt.wasm.packedBSize(K, N) * 4);
  rt.resetScratch();
  const s = stage(rt, v, K * N);
  if (K > 0 && N > 0) rt.wasm.packBFull(s.ptr, s.strides[0], s.strides[1], K, N, pin.start);
  return new PackedMatrix(rt, K, N, pin);
}

export interface MatmulPackedOptions {
  /** Add the product to what `out` holds instead of overwriting it. */
  accumulate?: boolean;
  /** Element offset of the [M, N] result in `out` (rows of N, contiguous). */
  outOffset?: number;
}

/** out[M, N] (=|+=) a[M, K] · B for a packed B; a may have any strides. */
export function matmulPackedF32(a: View, b: PackedMatrix, out: Float32Array, opts: MatmulPackedOptions = {}, par: Parallel = SERIAL): void {
  require2dF32("matmulPacked", a, "a");
  const rt = b.runtime;
  const [M, K] = a.shape;
  const N = b.cols;
  if (K !== b.rows) {
    throw new ShapeError(`matmulPacked: a ${fmtShape(a.shape)} cannot multiply a packed [${b.rows}, ${N}] matrix`);
  }
  const at = opts.outOffset ?? 0;
  if (at < 0 || at + M * N > out.length) {
    throw new ShapeError(`matmulPacked: out has ${out.length} elements; [${M}, ${N}] at offset ${at} does not fit`);
  }
  const bPtr = b.ptr;
  if (M === 0 || N === 0) return;
  rt.resetScratch();
  const sa = stage(rt, a, M * K);
  const c = rt.alloc(M * N * 4);
  if (opts.accumulate) rt.f32.set(out.subarray(at, at + M * N), c >> 2);
  const threads = K > 0 ? threadsFor(par, M, N, K, rt.mr) : 1;
  gemmPackedRows(rt, par, threads, M, N, K, sa.ptr, sa.strides[0], sa.strides[1], bPtr, c, N, opts.accumulate ?? false);
  unstage(rt, c, M * N, out, at);
}
