import { GradlabError } from "../../core/errors.js";
import type { WasmRuntime } from "./runtime.js";

// Worker threads that run GEMM row blocks on the runtime's shared memory. Each worker owns one
// slot of the control block: the main thread writes the job's arguments, bumps SEQ and notifies;
// the worker sleeps in Atomics.wait on SEQ (no spinning), runs the job, stores SEQ into DONE and
// notifies. Plain wasm stores before that seq-cst Atomics.store are visible to the main thread
// once it reads DONE, so no other synchronisation is needed.

const SLOT = 32;
const SEQ = 0;
const DONE = 1;
const READY = 2;
const ARGS = 4;
export const GEMM_ARGS = 16;
/** A job running longer than this means a worker is gone (the largest products take well under 1 s). */
const STALL_MS = 60000;
/** Most workers the control block has slots for. */
export const MAX_WORKERS = 63;

// Runs inside the worker: a Node worker_threads eval'd script or a browser Worker from a Blob, so
// it imports nothing. A negative SEQ asks the worker to end.
const WORKER_SOURCE = `
"use strict";
function start(msg) {
  const inst = new WebAssembly.Instance(msg.module, { env: { memory: msg.memory } });
  const gemm = inst.exports.gemm;
  const c = new Int32Array(msg.memory.buffer, msg.control, ${SLOT} * ${MAX_WORKERS + 1});
  const s = msg.slot * ${SLOT};
  const a = s + ${ARGS};
  // Read the current SEQ before announcing readiness: the first job may follow at once.
  let seen = Atomics.load(c, s + ${SEQ});
  Atomics.store(c, s + ${READY}, 1);
  Atomics.notify(c, s + ${READY});
  for (;;) {
    Atomics.wait(c, s + ${SEQ}, seen);
    const seq = Atomics.load(c, s + ${SEQ});
    if (seq === seen) continue;
    if (seq < 0) break;
    seen = seq;
    gemm(c[a], c[a + 1], c[a + 2], c[a + 3], c[a + 4], c[a + 5], c[a + 6], c[a + 7], c[a + 8], c[a + 9],
      c[a + 10], c[a + 11], c[a + 12], c[a + 13], c[a + 14], c[a + 15]);
    Atomics.store(c, s + ${DONE}, seq);
    Atomics.notify(c, s + ${DONE});
  }
}
if (typeof process === "object" && process.versions && process.versions.node) {
  import("node:worker_threads").then((wt) => wt.parentPort.once("message", start));
} else {
  self.onmessage = (e) => start(e.data);
}
`;

interface WorkerLike {
  postMessage(msg: unknown): void;
  terminate(): unknown;
}

/** Starts a worker; onError runs (on this thread's event loop) if it fails. */
type Spawn = (onError: (e: unknown) => void) => WorkerLike;

/** How this engine starts a worker from source text; null when it cannot. Set by init(). */
let spawn: Spawn | null = null;
/** Whether this thread may block in Atomics.wait (browsers' main threads may not). */
let canBlock = true;

/** Finds the worker API: Node's worker_threads (imported lazily, as browsers lack it) or Web Workers. */
export async function initWorkers(): Promise<void> {
  const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
  if (proc?.versions?.node) {
    try {
      const name = "node:worker_threads";
      const wt = (await import(/* @vite-ignore */ /* webpackIgnore: true */ name)) as {
        Worker: new (src: string, opts: { eval: boolean; execArgv: string[] }) => WorkerLike & {
          unref(): void;
          on(event: "error", fn: (e: unknown) => void): void;
        };
      };
      spawn = (onError) => {
        // No inherited flags: the worker is plain JavaScript and must not pick up the parent's
        // loaders or --input-type.
        const w = new wt.Worker(WORKER_SOURCE, { eval: true, execArgv: [] });
        w.on("error", onError);
        // Idle workers must not keep the process alive.
        w.unref();
        return w;
      };
    } catch {
      spawn = null;
    }
  } else if (typeof Worker === "function" && typeof Blob === "function" && typeof URL?.createObjectURL === "function") {
    const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "text/javascript" }));
    spawn = (onError) => {
      const w = new Worker(url);
      w.onerror = onError;
      return w;
    };
  }
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
  } catch {
    canBlock = false;
  }
}

export function workersSupported(): boolean {
  return spawn !== null;
}

/** The logical cores this engine reports (Node: os.availableParallelism), at least 1. */
export async function coreCount(): Promise<number> {
  const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
  if (proc?.versions?.node) {
    try {
      const name = "node:os";
      const os = (await import(/* @vite-ignore */ /* webpackIgnore: true */ name)) as {
        availableParallelism?: () => number;
        cpus(): unknown[];
      };
      return Math.max(1, os.availableParallelism ? os.availableParallelism() : os.cpus().length);
    } catch {
      return 1;
    }
  }
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  return Math.max(1, nav?.hardwareConcurrency ?? 1);
}

/** Worker threads bound to one runtime's shared memory. */
export class ThreadPool {
  private readonly workers: WorkerLike[] = [];
  private readonly ctrl: Int32Array;
  private seq = 0;
  /** Why a worker failed to start, if one did. */
  failed: string | null = null;

  constructor(private readonly rt: WasmRuntime) {
    this.ctrl = rt.controlView();
  }

  /** Workers started (ready or not). */
  get size(): number {
    return this.workers.length;
  }

  /** Workers that have instantiated the module and wait for jobs; only these get work. */
  get ready(): number {
    let n = 0;
    while (n < this.workers.length && Atomics.load(this.ctrl, n * SLOT + READY) === 1) n++;
    return n;
  }

  /** Starts or ends workers until there are `n`; new ones become ready asynchronously. */
  resize(n: number): void {
    if (!spawn) return;
    while (this.workers.length > n) {
      const slot = this.workers.length - 1;
      Atomics.store(this.ctrl, slot * SLOT + SEQ, -1);
      Atomics.notify(this.ctrl, slot * SLOT + SEQ);
      Atomics.store(this.ctrl, slot * SLOT + READY, 0);
      this.workers.pop()!.terminate();
    }
    while (this.workers.length < n) {
      const slot = this.workers.length;
      const base = slot * SLOT;
      Atomics.store(this.ctrl, base + READY, 0);
      Atomics.store(this.ctrl, base + SEQ, this.seq);
      Atomics.store(this.ctrl, base + DONE, this.seq);
      // A worker that fails to start never reports ready, so it never gets work.
      const w = spawn((e) => {
        this.failed = e instanceof Error ? e.message : String(e);
      });
      w.postMessage({ module: this.rt.module, memory: this.rt.sharedMemory, control: this.rt.control, slot });
      this.workers.push(w);
    }
  }

  /** Resolves when every started worker is ready (tests and benchmarks wait on it). */
  async whenReady(timeoutMs = 10000): Promise<void> {
    const t0 = Date.now();
    while (this.ready < this.workers.length) {
      if (Date.now() - t0 > timeoutMs) throw new Error(`fast backend: worker threads did not start within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  /**
   * Runs jobs[0] on this thread and jobs[1..] on workers 0.., then waits for all. Each job is the
   * 16 arguments of the module's gemm; jobs must write disjoint parts of memory.
   */
  run(jobs: number[][]): void {
    const c = this.ctrl;
    const seq = ++this.seq;
    for (let w = 0; w + 1 < jobs.length; w++) {
      const base = w * SLOT;
      const args = jobs[w + 1];
      for (let i = 0; i < GEMM_ARGS; i++) c[base + ARGS + i] = args[i];
      Atomics.store(c, base + SEQ, seq);
      Atomics.notify(c, base + SEQ);
    }
    const g = this.rt.wasm.gemm as (...a: number[]) => void;
    g(...jobs[0]);
    const t0 = Date.now();
    for (let w = 0; w + 1 < jobs.length; w++) {
      const at = w * SLOT + DONE;
      while (Atomics.load(c, at) !== seq) {
        if (canBlock) Atomics.wait(c, at, Atomics.load(c, at), 1000);
        // A worker that died would leave this thread waiting forever: fail loudly instead.
        if (Date.now() - t0 > STALL_MS) {
          throw new GradlabError(`fast backend: worker thread ${w} did not finish a GEMM block within ${STALL_MS / 1000} s`);
        }
      }
    }
  }
}

// ---- how many threads, and the pool of each runtime ----

let cores = 1;
let requested: number | null = null;
const pools = new Map<WasmRuntime, ThreadPool>();

/**
 * Products below this many flops run on one thread. Waking a worker costs 10–75 µs, and a worker
 * descheduled by other load stalls the whole product, so only products of ≈0.4 ms and more are
 * split: config M's per-step GEMMs (134 MFLOP) are, config S's (4 MFLOP) are not.
 */
export const PARALLEL_MIN_FLOP = 16e6;

/** Learns the core count and the worker API; called once when the backend loads. */
export async function initThreads(): Promise<void> {
  cores = Math.min(await coreCount(), MAX_WORKERS + 1);
  await initWorkers();
}

/**
 * Compute threads a runtime may use: the request, never more than the cores. The default is one
 * until a quiet machine shows two threads paying off: on a loaded machine every split product
 * waits for its slowest, descheduled worker (seen as runs that crawled and, once, stalled).
 */
export function threadCount(rt: WasmRuntime | null): number {
  if (!rt || !rt.shared || !workersSupported()) return 1;
  return Math.max(1, Math.min(requested ?? 1, cores));
}

export function coresSeen(): number {
  return cores;
}

export function requestThreads(n: number | null): void {
  requested = n;
  // Pools resize now; runtimes without one yet start theirs at their first large product.
  for (const [rt, pool] of pools) pool.resize(threadCount(rt) - 1);
}

function poolOf(rt: WasmRuntime): ThreadPool {
  let pool = pools.get(rt);
  if (!pool) {
    pool = new ThreadPool(rt);
    pools.set(rt, pool);
  }
  pool.resize(threadCount(rt) - 1);
  return pool;
}

/** The threads for one product: none below the size that pays for waking workers. */
export function parallelFor(rt: WasmRuntime, flop: number): { pool: ThreadPool | null; threads: number; minFlop: number } {
  const threads = threadCount(rt);
  if (threads < 2 || flop < PARALLEL_MIN_FLOP) return { pool: null, threads: 1, minFlop: PARALLEL_MIN_FLOP };
  return { pool: poolOf(rt), threads, minFlop: PARALLEL_MIN_FLOP };
}

/** Starts the runtime's workers if threads are on and waits until they take work. */
export async function threadsReady(rt: WasmRuntime): Promise<number> {
  if (threadCount(rt) < 2) return 1;
  const pool = poolOf(rt);
  await pool.whenReady();
  return pool.ready + 1;
}
