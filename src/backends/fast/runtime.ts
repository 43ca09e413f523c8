import { GradlabError } from "../../core/errors.js";

/** Which build of the kernels an instance runs: relaxed SIMD (fused multiply-add) or plain SIMD128. */
export type FastVariant = "relaxed" | "simd128";

/** The functions and constants the AssemblyScript module exports (see assembly/). */
export interface WasmExports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  MR: WebAssembly.Global;
  NR: WebAssembly.Global;
  KC: WebAssembly.Global;
  MC: WebAssembly.Global;
  NC: WebAssembly.Global;
  packedBSize(K: number, N: number): number;
  packBFull(src: number, rs: number, cs: number, K: number, N: number, dst: number): void;
  gemm(
    M: number, N: number, K: number,
    A: number, rsA: number, csA: number,
    B: number, rsB: number, csB: number, prepacked: number,
    C: number, ldc: number, accumulate: number,
    ap: number, bp: number, edge: number,
  ): void;
  unary(op: number, x: number, out: number, n: number): void;
  binary(op: number, a: number, ra: number, ca: number, b: number, rb: number, cb: number, out: number, rows: number, cols: number): void;
  sumRows(x: number, rows: number, cols: number, out: number): void;
  sumCols(x: number, rows: number, cols: number, out: number, acc: number): void;
  lstmForward(n: number, H: number, xg: number, hg: number, cPrev: number, gates: number, c: number, h: number): void;
  lstmBackward(
    n: number, H: number, gates: number, cPrev: number, c: number, dh: number, dc: number, dg: number, dcPrev: number, dcTotal: number,
  ): void;
  gruForward(n: number, H: number, xg: number, hg: number, bhn: number, hPrev: number, gates: number, ghn: number, h: number): void;
  gruBackward(n: number, H: number, gates: number, ghn: number, hPrev: number, dh: number, dgx: number, dgh: number, dhPrev: number): void;
  rnnForward(len: number, relu: number, xg: number, hg: number, h: number): void;
  rnnBackward(len: number, relu: number, h: number, dh: number, dpre: number): void;
  indexAddRows(dst: number, E: number, index: number, L: number, src: number): void;
  adamStep(
    n: number, p: number, g: number, m: number, v: number, vmax: number,
    sign: number, decay: number, wd: number, decoupled: number, decays: number, w: number, wc: number,
    b2: number, c2: number, bc2: number, eps: number, negStep: number,
  ): void;
  sgdStep(
    n: number, p: number, g: number, buf: number, sign: number, wd: number, decays: number, mu: number, keep: number,
    nesterov: number, first: number, negLr: number,
  ): void;
  rmspropStep(
    n: number, p: number, g: number, sq: number, buf: number, gavg: number, sign: number, wd: number, decays: number,
    alpha: number, c: number, cc: number, eps: number, mom: number, negLr: number,
  ): void;
  crossEntropyForward(x: number, N: number, C: number, target: number, ignoreIndex: number, eps: number, loss: number, lse: number): void;
  crossEntropyBackward(
    x: number, N: number, C: number, target: number, ignoreIndex: number, eps: number, lse: number, gLoss: number, dx: number,
  ): void;
}

/** Thrown when the arena cannot grow (wasm32 tops out at 4 GiB); callers fall back to the reference. */
export class ArenaFullError extends GradlabError {}

const PAGE = 65536;
const ALIGN = 64;
/** Int32 slots at the start of the arena through which worker threads take GEMM jobs (threads.ts). */
export const CONTROL_INTS = 64 * 32;

function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

interface Pin {
  start: number;
  end: number;
  live: boolean;
}

/**
 * One instantiated kernel module and the memory it owns. Memory above the module's heap base is
 * split in two: a stack of pinned regions (packed weights kept across many calls, released by
 * their owner) and, above it, a scratch region that every kernel call reuses from the start.
 * Tensors never live here: kernels copy operands in and results out (DESIGN.md principle 5).
 */
export class WasmRuntime {
  readonly mr: number;
  readonly nr: number;
  readonly kc: number;
  readonly mc: number;
  readonly nc: number;
  private readonly memory: WebAssembly.Memory;
  private view: Float32Array;
  private readonly base: number;
  /** Byte address of the worker control block (CONTROL_INTS int32s). */
  readonly control: number;
  private readonly pins: Pin[] = [];
  private pinnedTop: number;
  private top: number;
  /** Kernel calls served so far (each starts by resetting scratch); tests use it to see routing. */
  calls = 0;

  constructor(
    readonly variant: FastVariant,
    readonly wasm: WasmExports,
    /** The compiled module, so worker threads can instantiate it over the same (shared) memory. */
    readonly module: WebAssembly.Module,
  ) {
    this.memory = wasm.memory;
    this.view = new Float32Array(this.memory.buffer);
    this.mr = wasm.MR.value as number;
    this.nr = wasm.NR.value as number;
    this.kc = wasm.KC.value as number;
    this.mc = wasm.MC.value as number;
    this.nc = wasm.NC.value as number;
    this.control = alignUp(wasm.heapBase(), ALIGN);
    this.base = this.control + CONTROL_INTS * 4;
    this.ensure(this.base);
    this.pinnedTop = this.base;
    this.top = this.base;
  }

  /** float32 view of the whole memory; re-created when growth has replaced the buffer. */
  get f32(): Float32Array {
    if (this.view.buffer !== this.memory.buffer) this.view = new Float32Array(this.memory.buffer);
    return this.view;
  }

  /** Whether the memory is shared, so worker threads can work on it. */
  get shared(): boolean {
    return typeof SharedArrayBuffer === "function" && this.memory.buffer instanceof SharedArrayBuffer;
  }

  /** Int32 view of the worker control block. */
  controlView(): Int32Array {
    return new Int32Array(this.memory.buffer, this.control, CONTROL_INTS);
  }

  /** The memory itself, handed to worker threads. */
  get sharedMemory(): WebAssembly.Memory {
    return this.memory;
  }

  /** Bytes of memory the module holds now (it only grows; scratch is reused across calls). */
  get byteLength(): number {
    return this.memory.buffer.byteLength;
  }

  /** Starts a kernel call: all scratch allocations of the previous call are dropped. */
  resetScratch(): void {
    this.calls++;
    this.top = this.pinnedTop;
  }

  /** Scratch bytes for the current call, 64-byte aligned; returns the byte address. */
  alloc(bytes: number): number {
    const p = alignUp(this.top, ALIGN);
    this.ensure(p + bytes);
    this.top = p + bytes;
    return p;
  }

  /** The scratch top now; `releaseTo(mark)` frees what was allocated after it (loops reuse scratch). */
  mark(): number {
    return this.top;
  }

  releaseTo(mark: number): void {
    if (mark >= this.pinnedTop && mark <= this.top) this.top = mark;
  }

  /** A region that survives kernel calls until `unpin`; call it between kernel calls only. */
  pin(bytes: number): Pin {
    const start = alignUp(this.pinnedTop, ALIGN);
    this.ensure(start + bytes);
    const pin = { start, end: start + bytes, live: true };
    this.pins.push(pin);
    this.pinnedTop = pin.end;
    this.top = pin.end;
    return pin;
  }

  unpin(pin: Pin): void {
    pin.live = false;
    // Pins are usually released in reverse order; a region freed out of order is reclaimed once
    // every pin above it is gone.
    while (this.pins.length && !this.pins[this.pins.length - 1].live) this.pins.pop();
    this.pinnedTop = this.pins.length ? this.pins[this.pins.length - 1].end : this.base;
    if (this.top < this.pinnedTop) this.top = this.pinnedTop;
  }

  private ensure(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    // Grow geometrically so a run of growing shapes does not grow page by page.
    const want = Math.max(end, Math.min(have * 2, have + 256 * 1024 * 1024));
    try {
      this.memory.grow(Math.ceil((want - have) / PAGE));
    } catch {
      try {
        this.memory.grow(Math.ceil((end - have) / PAGE));
      } catch {
        throw new ArenaFullError(`fast backend: cannot grow WebAssembly memory to ${end} bytes`);
      }
    }
  }
}

export type { Pin };
