// Probe for 2-thread training (issue 5): one training step of config M (GRU or LSTM) with 1 and 2
// threads alternating in one process; wall and CPU time per step, forward and backward apart, and
// the CPU time the rest of the machine used meanwhile (/proc/stat): a 2-thread step only shows
// what two threads do where that is near 0. Usage:
//   node --import tsx bench/threads-probe.ts [gru|lstm] [steps] [keep] [stats]
// "keep" runs the 2-thread steps back to back (workers stay up) instead of alternating; "stats"
// prints, per split product shape, its calls, time, how long this thread waited for the workers
// after its last chunk and how many chunks it ran itself.
import { readFileSync } from "node:fs";
import * as gl from "../src/index.js";
import { threadsStarted } from "../src/backends/fast/index.js";
import { ThreadPool } from "../src/backends/fast/threads.js";
import { lcgIds } from "./common.js";

// Per product shape and chunk rows: calls, wall ms in run(), ms this thread spent waiting for
// workers after its last chunk, and how many chunks it ran itself.
const stats = new Map<string, { n: number; ms: number; wait: number; own: number; chunks: number }>();
const origRun = ThreadPool.prototype.run;
ThreadPool.prototype.run = function (this: ThreadPool, args: number[], rows: number, scratch: [number, number][]): void {
  const key = `${args[0]}x${args[1]}x${args[2]} in ${rows}-row chunks`;
  const rt = (this as unknown as { rt: { wasm: { gemm: (...a: number[]) => void } } }).rt;
  const g = rt.wasm.gemm;
  let tMain = 0;
  let own = 0;
  rt.wasm.gemm = (...a: number[]) => { const s = performance.now(); g(...a); tMain += performance.now() - s; own++; };
  const t0 = performance.now();
  try { origRun.call(this, args, rows, scratch); } finally { rt.wasm.gemm = g; }
  const ms = performance.now() - t0;
  const e = stats.get(key) ?? { n: 0, ms: 0, wait: 0, own: 0, chunks: 0 };
  e.n++; e.ms += ms; e.wait += ms - tMain; e.own += own; e.chunks += Math.ceil(args[0] / rows);
  stats.set(key, e);
};
function dump(): void {
  for (const [k, v] of [...stats].sort((a, b) => b[1].ms - a[1].ms)) {
    console.log(`   ${k}: ${v.n} calls, ${v.ms.toFixed(0)} ms, waiting ${v.wait.toFixed(0)} ms, ${v.own} of ${v.chunks} chunks on this thread`);
  }
  stats.clear();
}

const cell = process.argv[2] ?? "gru";
const steps = Number(process.argv[3] ?? 4);
const keep = process.argv.includes("keep");
const B = 64, T = 128, V = 256, E = 256, H = 512;

function ids(n: number, seed: number): gl.Tensor {
  return gl.tensor(lcgIds(n, V, seed), { dtype: "int32", shape: [n] });
}

gl.setBackend("fast");
gl.manualSeed(0);
const emb = new gl.nn.Embedding(V, E);
const rnn = cell === "lstm" ? new gl.nn.LSTM({ inputSize: E, hiddenSize: H }) : new gl.nn.GRU({ inputSize: E, hiddenSize: H });
const head = new gl.nn.Linear(H, V);
const opt = new gl.optim.Adam([...emb.parameters(), ...rnn.parameters(), ...head.parameters()], { lr: 1e-3 });
const x = ids(T * B, 1).reshape([T, B]);
const y = ids(T * B, 2);

/** Busy CPU ms of the whole machine (all processes, /proc/stat; USER_HZ = 100). */
function machineBusyMs(): number {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  return (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) * 10;
}

function step(): { fwd: number; bwd: number; wall: number; cpu: number; others: number } {
  const b0 = machineBusyMs();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const out = (rnn.forward(emb.forward(x)) as [gl.Tensor, unknown])[0];
  const loss = gl.crossEntropy(head.forward(out.reshape([T * B, H])), y);
  const t1 = performance.now();
  opt.zeroGrad();
  loss.backward();
  opt.step();
  const t2 = performance.now();
  const c = process.cpuUsage(c0);
  const cpu = (c.user + c.system) / 1000;
  return { fwd: t1 - t0, bwd: t2 - t1, wall: t2 - t0, cpu, others: machineBusyMs() - b0 - cpu };
}

const fmt = (r: ReturnType<typeof step>): string =>
  `wall ${r.wall.toFixed(0)} ms (fwd ${r.fwd.toFixed(0)}, bwd+adam ${r.bwd.toFixed(0)}), cpu ${r.cpu.toFixed(0)} ms, other processes ${Math.max(0, r.others).toFixed(0)} ms`;

async function run(threads: number): Promise<void> {
  gl.setNumThreads(threads);
  if (threads > 1) await threadsStarted();
  console.log(`${cell} ${threads} thr: ${fmt(step())}`);
  if (process.argv.includes("stats")) dump();
  if (!keep) gl.setNumThreads(1);
}

gl.setNumThreads(1);
step(); // warm-up
if (keep) {
  for (let i = 0; i < steps; i++) await run(1);
  for (let i = 0; i < steps; i++) await run(2);
} else {
  await run(2);
  for (let i = 0; i < steps; i++) {
    await run(1);
    await run(2);
  }
}
