/**
 * The fast backend: WebAssembly SIMD kernels built from assembly/ by `npm run build`, registered as
 * backend "fast" and made the default when the engine runs them. Detection order: relaxed SIMD
 * (fused multiply-add; switched on through a V8 flag on Node 20), plain SIMD128, and otherwise the
 * reference TypeScript kernels. Kernels the module lacks, and dtypes other than float32, fall
 * through to the reference kernels. `setBackend("js")` switches back.
 *
 * Reusing a packed weight (for kernel authors; tensors never need it): `packB` packs a K×N
 * float32 matrix of any strides once into the module's memory, `matmulPacked` multiplies any
 * number of [M, K] views against it, and `release()` gives the memory back (a PackedMatrix that
 * is garbage-collected unreleased frees it then). E.g. a recurrent step h·W_hhᵀ with W_hh [4H, H]:
 *
 *   const w = packB(wHhView, { transpose: true });        // K = H, N = 4H
 *   try { for (...) matmulPacked(hView, w, gates, { accumulate: true }); } finally { w.release(); }
 *
 * Kernels that keep their operands in the module's memory use the pointer-level twins in gemm.ts
 * (packToScratch, gemmPackedAt), as the whole-sequence LSTM/GRU kernels in sequence.ts do.
 * Threads: products of ≥16 MFLOP split their rows over min(setNumThreads, cores) threads when
 * shared WebAssembly memory exists; results are bit-identical for any thread count.
 */
import type { BinaryOp, ReduceOp, UnaryOp, View } from "../../backend/kernels.js";
import { getBackend, registerKernel, setBackend } from "../../backend/registry.js";
import type { TypedArray } from "../../core/dtype.js";
import { GradlabError } from "../../core/errors.js";
import { numel } from "../../core/shape.js";
import { binary as refBinary, unary as refUnary } from "../js/elementwise.js";
import { indexAdd as refIndexAdd } from "../js/indexing.js";
import { matmul as refMatmul } from "../js/matmul.js";
import { adamUpdate as refAdamUpdate, rmspropUpdate as refRmspropUpdate, sgdUpdate as refSgdUpdate } from "../js/optim.js";
import { reduce as refReduce } from "../js/reduce.js";
import * as cells from "../js/recurrent-cells.js";
import { crossEntropyBackward as refCrossEntropyBackward, crossEntropyForward as refCrossEntropyForward } from "../js/loss.js";
import { recurrentSequenceBackward as refSequenceBackward, recurrentSequenceForward as refSequenceForward } from "../js/recurrent.js";
import { binaryF32, hasBinary, hasUnary, reduceSumF32, unaryF32 } from "./elementwise.js";
import { type MatmulPackedOptions, PackedMatrix, matmulF32, matmulPackedF32, packMatrix } from "./gemm.js";
import { type FastDetection, detect, instantiate } from "./loader.js";
import { indexAddF32 } from "./indexing.js";
import { crossEntropyBackwardF32, crossEntropyForwardF32 } from "./loss.js";
import { adamUpdateF32, rmspropUpdateF32, sgdUpdateF32 } from "./optim.js";
import { gruCellBackwardF32, gruCellForwardF32, lstmCellBackwardF32, lstmCellForwardF32 } from "./recurrent.js";
import { fastSequenceHandles, sequenceBackwardF32, sequenceForwardF32 } from "./sequence.js";
import { ArenaFullError, type FastVariant, WasmRuntime } from "./runtime.js";
import { coresSeen, initThreads, parallelFor, requestThreads, threadCount, threadsReady } from "./threads.js";

export const FAST_BACKEND = "fast";

export { PackedMatrix, type MatmulPackedOptions, type FastVariant, WasmRuntime };

let runtime: WasmRuntime | null = null;
const runtimes = new Map<FastVariant, WasmRuntime>();

/** The runtime the "fast" kernels use now; null where the fast backend is unavailable. */
export function fastRuntime(): WasmRuntime | null {
  return runtime;
}

function f32(...xs: View[]): boolean {
  for (const x of xs) if (!(x.data instanceof Float32Array)) return false;
  return true;
}

/** Runs a fast path; when the arena cannot grow, the reference kernel does the work instead. */
function orReference(fast: () => boolean, ref: () => void): void {
  let done = false;
  try {
    done = fast();
  } catch (e) {
    if (!(e instanceof ArenaFullError)) throw e;
  }
  if (!done) ref();
}

/**
 * Below these sizes a call into the module (copy in, call, copy out: ≈1 µs) costs more than the
 * reference loop saves, measured on Node 20 against the reference kernels: unary ops win from
 * ≈128 elements, sums and binary ops from ≈512, GEMM from a few thousand flops, gate kernels
 * from ≈64 units.
 */
export const MIN_SIZE = { unary: 128, binary: 512, reduce: 512, matmulFlop: 4096, cellUnits: 64, lossElements: 256, rowElements: 1024, optimElements: 256 };

function allF32(...xs: (TypedArray | null)[]): boolean {
  for (const x of xs) if (x !== null && !(x instanceof Float32Array)) return false;
  return true;
}

function registerFastKernels(): void {
  registerKernel("matmul", FAST_BACKEND, (a, b, out) => {
    const rt = runtime;
    const flop = 2 * out.length * a.shape[2];
    if (!rt || flop < MIN_SIZE.matmulFlop || !(out instanceof Float32Array) || !f32(a, b)) return refMatmul(a, b, out);
    orReference(() => (matmulF32(rt, a, b, out, parallelFor(rt, flop)), true), () => refMatmul(a, b, out));
  });
  registerKernel("unary", FAST_BACKEND, (op: UnaryOp, x, out) => {
    const rt = runtime;
    if (!rt || out.length < MIN_SIZE.unary || !hasUnary(op) || !(out instanceof Float32Array) || !f32(x)) return refUnary(op, x, out);
    orReference(() => (unaryF32(rt, op, x, out), true), () => refUnary(op, x, out));
  });
  registerKernel("binary", FAST_BACKEND, (op: BinaryOp, a, b, out) => {
    const rt = runtime;
    if (!rt || out.length < MIN_SIZE.binary || !hasBinary(op) || !(out instanceof Float32Array) || !f32(a, b)) {
      return refBinary(op, a, b, out);
    }
    orReference(() => binaryF32(rt, op, a, b, out), () => refBinary(op, a, b, out));
  });
  registerKernel("reduce", FAST_BACKEND, (op: ReduceOp, x, axes, out) => {
    const rt = runtime;
    if (!rt || numel(x.shape) < MIN_SIZE.reduce || !(out instanceof Float32Array) || !f32(x)) return refReduce(op, x, axes, out);
    orReference(() => reduceSumF32(rt, op, x, axes, out), () => refReduce(op, x, axes, out));
  });
  registerKernel("indexAdd", FAST_BACKEND, (dst, dstShape, dim, index, src) => {
    const rt = runtime;
    if (!rt || numel(src.shape) < MIN_SIZE.rowElements || !(dst instanceof Float32Array) || !f32(src)) {
      return refIndexAdd(dst, dstShape, dim, index, src);
    }
    orReference(() => indexAddF32(rt, dst, dstShape, dim, index, src), () => refIndexAdd(dst, dstShape, dim, index, src));
  });
  registerKernel("adamUpdate", FAST_BACKEND, (p, grad, m, v, vmax, h) => {
    const rt = runtime;
    const ref = (): void => refAdamUpdate(p, grad, m, v, vmax, h);
    if (!rt || p.length < MIN_SIZE.optimElements || !allF32(p, grad, m, v, vmax)) return ref();
    orReference(() => (adamUpdateF32(rt, p as Float32Array, grad as Float32Array, m as Float32Array, v as Float32Array, vmax as Float32Array | null, h), true), ref);
  });
  registerKernel("sgdUpdate", FAST_BACKEND, (p, grad, buf, h) => {
    const rt = runtime;
    const ref = (): void => refSgdUpdate(p, grad, buf, h);
    if (!rt || p.length < MIN_SIZE.optimElements || !allF32(p, grad, buf)) return ref();
    orReference(() => (sgdUpdateF32(rt, p as Float32Array, grad as Float32Array, buf as Float32Array | null, h), true), ref);
  });
  registerKernel("rmspropUpdate", FAST_BACKEND, (p, grad, sq, buf, gavg, h) => {
    const rt = runtime;
    const ref = (): void => refRmspropUpdate(p, grad, sq, buf, gavg, h);
    if (!rt || p.length < MIN_SIZE.optimElements || !allF32(p, grad, sq, buf, gavg)) return ref();
    orReference(
      () => (rmspropUpdateF32(rt, p as Float32Array, grad as Float32Array, sq as Float32Array, buf as Float32Array | null, gavg as Float32Array | null, h), true),
      ref,
    );
  });
  registerRecurrentCells();
  registerLosses();
}

function registerLosses(): void {
  registerKernel("crossEntropyForward", FAST_BACKEND, (x, target, ignoreIndex, eps, loss, lse) => {
    const rt = runtime;
    const ref = (): void => refCrossEntropyForward(x, target, ignoreIndex, eps, loss, lse);
    if (!rt || loss.length * x.shape[1] < MIN_SIZE.lossElements || !f32(x) || !allF32(loss, lse)) return ref();
    orReference(() => (crossEntropyForwardF32(rt, x, target, ignoreIndex, eps, loss as Float32Array, lse as Float32Array), true), ref);
  });
  registerKernel("crossEntropyBackward", FAST_BACKEND, (x, target, ignoreIndex, eps, lse, gLoss, dx) => {
    const rt = runtime;
    const ref = (): void => refCrossEntropyBackward(x, target, ignoreIndex, eps, lse, gLoss, dx);
    if (!rt || dx.length < MIN_SIZE.lossElements || !f32(x) || !allF32(lse, gLoss, dx)) return ref();
    orReference(
      () => (crossEntropyBackwardF32(rt, x, target, ignoreIndex, eps, lse as Float32Array, gLoss as Float32Array, dx as Float32Array), true),
      ref,
    );
  });
}

/**
 * Whole LSTM, reset-after GRU and RNN layers in the module (W_hh packed once per call); the gate
 * kernels below serve the reference sequence loop for what the module does not cover.
 */
function registerRecurrentCells(): void {
  for (const cell of ["lstm", "gru", "rnn"] as const) {
    registerKernel(`${cell}SequenceForward`, FAST_BACKEND, (a) => {
      const rt = runtime;
      if (!rt || !fastSequenceHandles(a.spec, a.x, a.w)) return refSequenceForward(a);
      orReference(() => (sequenceForwardF32(rt, a), true), () => refSequenceForward(a));
    });
    registerKernel(`${cell}SequenceBackward`, FAST_BACKEND, (a) => {
      const rt = runtime;
      if (!rt || !fastSequenceHandles(a.spec, a.x, a.w)) return refSequenceBackward(a);
      orReference(() => (sequenceBackwardF32(rt, a), true), () => refSequenceBackward(a));
    });
  }
  const small = (n: number, H: number): boolean => !runtime || n * H < MIN_SIZE.cellUnits;
  registerKernel("lstmCellForward", FAST_BACKEND, (n, H, xg, hg, cPrev, gates, c, h) => {
    const rt = runtime;
    const ref = (): void => cells.lstmCellForward(n, H, xg, hg, cPrev, gates, c, h);
    if (!rt || small(n, H) || !allF32(xg, hg, cPrev, gates, c, h)) return ref();
    orReference(() => (lstmCellForwardF32(rt, n, H, xg, hg, cPrev, gates, c, h), true), ref);
  });
  registerKernel("lstmCellBackward", FAST_BACKEND, (n, H, gates, cPrev, c, dh, dc, dg, dcPrev, dcTotal) => {
    const rt = runtime;
    const ref = (): void => cells.lstmCellBackward(n, H, gates, cPrev, c, dh, dc, dg, dcPrev, dcTotal);
    if (!rt || small(n, H) || !allF32(gates, cPrev, c, dh, dc, dg, dcPrev, dcTotal)) return ref();
    orReference(() => (lstmCellBackwardF32(rt, n, H, gates, cPrev, c, dh, dc, dg, dcPrev, dcTotal), true), ref);
  });
  registerKernel("gruCellForward", FAST_BACKEND, (n, H, xg, hg, bhn, hPrev, gates, ghn, h) => {
    const rt = runtime;
    const ref = (): void => cells.gruCellForward(n, H, xg, hg, bhn, hPrev, gates, ghn, h);
    if (!rt || small(n, H) || !allF32(xg, hg, bhn, hPrev, gates, ghn, h)) return ref();
    orReference(() => (gruCellForwardF32(rt, n, H, xg, hg, bhn, hPrev, gates, ghn, h), true), ref);
  });
  registerKernel("gruCellBackward", FAST_BACKEND, (n, H, gates, ghn, hPrev, dh, dgx, dgh, dhPrev) => {
    const rt = runtime;
    const ref = (): void => cells.gruCellBackward(n, H, gates, ghn, hPrev, dh, dgx, dgh, dhPrev);
    if (!rt || small(n, H) || !allF32(gates, ghn, hPrev, dh, dgx, dgh, dhPrev)) return ref();
    orReference(() => (gruCellBackwardF32(rt, n, H, gates, ghn, hPrev, dh, dgx, dgh, dhPrev), true), ref);
  });
}

/**
 * Switches the fast kernels to another build (the benchmark compares them). Each variant keeps
 * its own module and memory; matrices packed under one variant stay valid with it.
 */
export async function setFastVariant(variant: FastVariant): Promise<void> {
  let rt = runtimes.get(variant);
  if (!rt) {
    rt = await instantiate(variant, detection.shared);
    runtimes.set(variant, rt);
  }
  runtime = rt;
}

/** Packs b [K, N] (or bᵀ with `transpose`), float32 of any strides, for many products against it. */
export function packB(b: View, opts: { transpose?: boolean } = {}): PackedMatrix {
  if (!runtime) throw new GradlabError(`packB: the fast backend is not available (${detectionNote()})`);
  return packMatrix(runtime, b, opts.transpose ?? false);
}

/** out[M, N] = a[M, K] · B (or += with `accumulate`), B from packB; a float32 of any strides. */
export function matmulPacked(a: View, b: PackedMatrix, out: Float32Array, opts: MatmulPackedOptions = {}): void {
  if (b.released) throw new GradlabError("matmulPacked: the packed matrix was released");
  const flop = 2 * a.shape[0] * b.rows * b.cols;
  matmulPackedF32(a, b, out, opts, parallelFor(b.runtime, flop));
}

/**
 * Compute threads of the fast backend (this one plus workers), for products large enough to pay
 * for waking them. Clamped to the cores the engine reports; 1 where shared WebAssembly memory is
 * unavailable. Workers start at the first large product after this call.
 */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new GradlabError(`setNumThreads: expected a positive integer, got ${n}`);
  requestThreads(n);
}

/** Starts the worker threads now and resolves when they take work; returns the compute threads. */
export async function threadsStarted(): Promise<number> {
  return runtime ? threadsReady(runtime) : 1;
}

/** What the library runs on; JSON-serialisable. */
export interface BackendInfo {
  /** The backend kernels dispatch to now ("fast" or "js"). */
  backend: string;
  fast: {
    available: boolean;
    /** The build the fast kernels use: "relaxed" (SIMD + fused multiply-add) or "simd128". */
    variant: FastVariant | null;
    /** Every build this engine can run, best first. */
    variants: FastVariant[];
    /** True when relaxed SIMD was switched on through V8's flag (Node 20). */
    relaxedViaFlag: boolean;
    /** Bytes of WebAssembly memory the fast kernels hold (scratch and packed weights). */
    memoryBytes: number;
    /** Compute threads large products use (this thread plus workers); see setNumThreads. */
    threads: number;
    /** Cores the engine reports: the most threads there will be. */
    cores: number;
    /** Whether the memory is shared with worker threads (needs SharedArrayBuffer). */
    sharedMemory: boolean;
    /** Why the fast backend or a better build is missing; null when nothing is. */
    note: string | null;
  };
}

let detection: FastDetection = { variants: [], relaxedViaFlag: false, shared: false, reason: "not initialised" };

function detectionNote(): string {
  return detection.reason ?? "unknown reason";
}

export function backendInfo(): BackendInfo {
  return {
    backend: getBackend(),
    fast: {
      available: runtime !== null,
      variant: runtime?.variant ?? null,
      variants: [...detection.variants],
      relaxedViaFlag: detection.relaxedViaFlag,
      memoryBytes: runtime?.byteLength ?? 0,
      threads: threadCount(runtime),
      cores: coresSeen(),
      sharedMemory: runtime?.shared ?? false,
      note: detection.reason,
    },
  };
}

/** GRADLAB_BACKEND=js (read where a process environment exists) keeps the reference backend the default. */
function requestedBackend(): string | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  return env?.GRADLAB_BACKEND;
}

async function init(): Promise<void> {
  try {
    detection = await detect();
    if (detection.variants.length === 0) return;
    await initThreads();
    await setFastVariant(detection.variants[0]);
  } catch (e) {
    runtime = null;
    detection = { ...detection, variants: [], reason: `the fast backend failed to load: ${(e as Error).message}` };
    return;
  }
  registerFastKernels();
  const want = requestedBackend();
  if (want === undefined || want === "" || want === FAST_BACKEND) setBackend(FAST_BACKEND);
}

await init();
