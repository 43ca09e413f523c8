import { GradlabError } from "../../core/errors.js";
import type { WasmRuntime } from "./runtime.js";

// Worker threads that run GEMM row blocks on the runtime's shared memory. Each worker owns one
// slot of the control block: the main thread writes the job's arguments, publishes the job's
// chunks in the QUEUE word, bumps SEQ and notifies; the worker sleeps in Atomics.wait on SEQ (no
// spinning). Every thread, this one included, then claims row chunks from QUEUE until none are
// left and counts each finished chunk in FINISHED; this thread waits only for FINISHED to reach
// the chunk count. Claiming instead of a fixed half per thread matters on a machine with other
// load: a worker woken late (its core busy elsewhere) finds its chunks already done by this
// thread, instead of this thread waiting for it to be scheduled (seen as 2-thread steps slower
// than 1-thread ones). Plain wasm stores before the seq-cst Atomics.add on FINISHED are visible
// to this thread once it reads the count, so no other synchronisation is needed.

const SLOT = 32;
const SEQ = 0;
const READY = 2;
const ARGS = 4;
export const GEMM_ARGS = 16;
/** A job running longer than this means a worker is gone (the largest products take well under 1 s). */
const STALL_MS = 60000;
/** Most workers the control block has slots for. */
export const MAX_WORKERS = 63;
/** Rows per chunk (ARGS + GEMM_ARGS), the last int the worker reads from its slot. */
const ROWS = ARGS + GEMM_ARGS;
// The spare slot after the workers' holds the job's queue: QUEUE packs (tag, count, next) into
// one int so a claim is one compare-exchange, and the tag (the job's SEQ mod 2^17) makes a claim
// by a worker woken for an older job fail (only workers given this job had their slot rewritten).
const QUEUE = MAX_WORKERS * SLOT;
const FINISHED = QUEUE + 1;
/** Chunks per job are below 2^7 (next and count take 7 bits each, the tag the other 17). */
export const MAX_CHUNKS = 127;
const TAG_MASK = 0x1ffff;

// Runs inside the worker: a Node worker_threads eval'd script or a browser Worker from a Blob, so
// it imports nothing. A negative SEQ asks the worker to end.
/** Claims the next chunk of the job tagged `tag`; -1 when none is left or another job is open (the worker has its twin). */
function claim(c: Int32Array, tag: number): number {
  for (;;) {
    const v = Atomics.load(c, QUEUE);
    const next = v & 0x7f;
    if (v >>> 14 !== tag || next >= ((v >>> 7) & 0x7f)) return -1;
    if (Atomics.compareExchange(c, QUEUE, v, v + 1) === v) return next;
  }
}

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
    const tag = seq & ${TAG_MASK};
    for (;;) {
      // The arguments are read after the claim: a claim that succeeds proves the job is open
      // (it ends only when this chunk is counted), so they are not being rewritten for the next.
      const i = claim(c, tag);
      if (i < 0) break;
      const M = c[a], rsA = c[a + 4], ldc = c[a + 11], rows = c[s + ${ROWS}];
      const A = c[a + 3], C = c[a + 10];
      const m0 = i * rows;
      gemm(Math.min(rows, M - m0), c[a + 1], c[a + 2], A + m0 * rsA * 4, rsA, c[a + 5], c[a + 6], c[a + 7], c[a + 8], c[a + 9],
        C + m0 * ldc * 4, ldc, c[a + 12], c[a + 13], c[a + 14], c[a + 15]);
      Atomics.add(c, ${FINISHED}, 1);
      Atomics.notify(c, ${FINISHED});
    }
  }
}
function claim(c, tag) {
  for (;;) {
    const v = Atomics.load(c, ${QUEUE});
    const next = v & 0x7f;
    if (v >>> 14 !== tag || next >= ((v >>> 7) & 0x7f)) return -1;
    if (Atomics.compareExchange(c, ${QUEUE}, v, v + 1) === v) return next;
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
   * Runs the module's gemm over the rows of one product in chunks of `rows` rows (a multiple of
   * the tile height), claimed by this thread and by as many workers as `scratch` has entries past
   * the first; returns when every chunk is done. `args` are gemm's 16 arguments for the whole
   * product (M in args[0], A in args[3], C in args[10]); scratch[t] is thread t's [ap, edge].
   */
  run(args: number[], rows: number, scratch: [number, number][]): void {
    const c = this.ctrl;
    const M = args[0];
    const count = Math.ceil(M / rows);
    if (count > MAX_CHUNKS) throw new GradlabError(`fast backend: ${count} chunks of ${rows} rows exceed ${MAX_CHUNKS}`);
    const seq = ++this.seq;
    const tag = seq & TAG_MASK;
    for (let w = 0; w + 1 < scratch.length; w++) {
      const base = w * SLOT;
      for (let i = 0; i < GEMM_ARGS; i++) c[base + ARGS + i] = args[i];
      c[base + ARGS + 13] = scratch[w + 1][0];
      c[base + ARGS + 15] = scratch[w + 1][1];
      c[base + ROWS] = rows;
    }
    Atomics.store(c, FINISHED, 0);
    Atomics.store(c, QUEUE, (tag << 14) | (count << 7));
    for (let w = 0; w + 1 < scratch.length; w++) {
      Atomics.store(c, w * SLOT + SEQ, seq);
      Atomics.notify(c, w * SLOT + SEQ);
    }
    const g = this.rt.wasm.gemm as (...a: number[]) => void;
    const [, N, K, A, rsA, csA, B, rsB, csB, prepacked, C, ldc, acc] = args;
    const [ap, edge] = scratch[0];
    for (let i = claim(c, tag); i >= 0; i = claim(c, tag)) {
      const m0 = i * rows;
      g(Math.min(rows, M - m0), N, K, A + m0 * rsA * 4, rsA, csA, B, rsB, csB, prepacked, C + m0 * ldc * 4, ldc, acc, ap, args[14], edge);
      Atomics.add(c, FINISHED, 1);
    }
    const t0 = Date.now();
    for (let f = Atomics.load(c, FINISHED); f !== count; f = Atomics.load(c, FINISHED)) {
      if (canBlock) Atomics.wait(c, FINISHED, f, 1000);
      // A worker that died holding a chunk would leave this thread waiting forever: fail loudly instead.
      if (Date.now() - t0 > STALL_MS) {
        throw new GradlabError(`fast backend: a worker thread did not finish a GEMM block within ${STALL_MS / 1000} s`);
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
