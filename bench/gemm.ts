// float32 GEMM sweep: reference kernel vs the fast backend's builds (plain SIMD128, relaxed SIMD),
// products against a pre-packed B (the recurrent layers' per-step W_hhᵀ), and the relaxed build
// on all threads.   npx tsx bench/gemm.ts [--quick] [--json results.json]
// Single-thread figures are GFLOP per second of this process's CPU time, so other work on a busy
// machine moves them less than wall time would; the threaded column is wall time (threads only
// pay off on a quiet machine). Each figure is the median of several timed runs.
import { writeFileSync } from "node:fs";
import * as gl from "../src/index.js";
import type { View } from "../src/backend/kernels.js";
import { kernel } from "../src/backend/registry.js";
import { backendInfo, matmulPacked, packB, setFastVariant, setNumThreads, threadsStarted, type FastVariant } from "../src/backends/fast/index.js";

interface Shape {
  name: string;
  M: number;
  K: number;
  N: number;
  /** B stored [N, K] and used transposed, as x·Wᵀ with PyTorch's weight layout. */
  bT?: boolean;
}

const shapes: Shape[] = [
  { name: "square 512³", M: 512, K: 512, N: 512 },
  { name: "linear 64×768→2048", M: 64, K: 768, N: 2048, bT: true },
  { name: "128×512×2048", M: 128, K: 512, N: 2048 },
  // Config S (batch 32, 64 steps, emb 64, hidden 128, vocab 64), one LSTM layer.
  { name: "S x·W_ihᵀ (all steps)", M: 2048, K: 64, N: 512, bT: true },
  { name: "S h·W_hhᵀ (one step)", M: 32, K: 128, N: 512, bT: true },
  { name: "S dG·W_hh (one step)", M: 32, K: 512, N: 128 },
  { name: "S dW_hh = dGᵀ·H", M: 512, K: 2048, N: 128 },
  { name: "S logits h·W_outᵀ", M: 2048, K: 128, N: 64, bT: true },
  // Config M (batch 64, 128 steps, emb 256, hidden 512, vocab 256).
  { name: "M x·W_ihᵀ (all steps)", M: 8192, K: 256, N: 2048, bT: true },
  { name: "M h·W_hhᵀ (one step)", M: 64, K: 512, N: 2048, bT: true },
  { name: "M dG·W_hh (one step)", M: 64, K: 2048, N: 512 },
  { name: "M dW_hh = dGᵀ·H", M: 2048, K: 8192, N: 512 },
  { name: "M logits h·W_outᵀ", M: 8192, K: 512, N: 256, bT: true },
];

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const jsonAt = args.indexOf("--json");
const RUNS = quick ? 3 : 7;
const MIN_MS = quick ? 40 : 150;
// The reference kernel takes seconds on the large shapes; it is timed only below this size.
const REF_MAX_FLOP = quick ? 3e8 : 3e9;

function randView(shape: number[], seed: number): View {
  const t = gl.randn(shape, { generator: new gl.Generator(seed) });
  return { data: t.data, shape, strides: t.strides, offset: 0 };
}

/** Median GFLOP/s over RUNS timings, each repeating `fn` for at least MIN_MS of CPU (or wall) time. */
function gflops(flop: number, fn: () => void, clock: "cpu" | "wall" = "cpu"): number {
  const now = clock === "cpu" ? (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; } : (): number => performance.now();
  fn();
  const rates: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    let reps = 0;
    const t0 = now();
    let t = t0;
    do {
      fn();
      reps++;
      t = now();
    } while (t - t0 < MIN_MS);
    rates.push((flop * reps) / ((t - t0) * 1e6));
  }
  rates.sort((x, y) => x - y);
  return rates[Math.floor(rates.length / 2)];
}

interface Row {
  shape: string;
  M: number;
  K: number;
  N: number;
  reference: number | null;
  simd128: number | null;
  relaxed: number | null;
  simd128Packed: number | null;
  relaxedPacked: number | null;
  /** Best build on all threads, wall-clock. */
  threaded: number | null;
}

const info = backendInfo();
const threads = info.fast.threads;
setNumThreads(1);
console.log(`fast backend: ${JSON.stringify(info.fast)}`);
console.log(`GFLOP/s, median of ${RUNS} runs of ≥ ${MIN_MS} ms; one thread per CPU time, "×${threads} thr" wall time\n`);
const rows: Row[] = [];
for (const s of shapes) {
  const { M, K, N } = s;
  const flop = 2 * M * K * N;
  const a = randView([1, M, K], 1);
  const b: View = s.bT
    ? (() => {
        const w = randView([N, K], 2);
        return { data: w.data, shape: [1, K, N], strides: [0, 1, K], offset: 0 };
      })()
    : randView([1, K, N], 2);
  const out = new Float32Array(M * N);
  const row: Row = { shape: s.name, M, K, N, reference: null, simd128: null, relaxed: null, simd128Packed: null, relaxedPacked: null, threaded: null };
  if (flop <= REF_MAX_FLOP) {
    gl.setBackend("js");
    const mm = kernel("matmul");
    row.reference = gflops(flop, () => mm(a, b, out));
  }
  gl.setBackend("fast");
  for (const v of info.fast.variants as FastVariant[]) {
    await setFastVariant(v);
    const mm = kernel("matmul");
    row[v] = gflops(flop, () => mm(a, b, out));
    const b2: View = { data: b.data, shape: [K, N], strides: [b.strides[1], b.strides[2]], offset: 0 };
    const a2: View = { data: a.data, shape: [M, K], strides: [K, 1], offset: 0 };
    const packed = packB(b2);
    row[v === "relaxed" ? "relaxedPacked" : "simd128Packed"] = gflops(flop, () => matmulPacked(a2, packed, out));
    packed.release();
  }
  if (threads > 1) {
    await setFastVariant(info.fast.variants[0] as FastVariant);
    setNumThreads(threads);
    await threadsStarted();
    const mm = kernel("matmul");
    row.threaded = gflops(flop, () => mm(a, b, out), "wall");
    setNumThreads(1);
  }
  rows.push(row);
  const f = (x: number | null): string => (x === null ? "—" : x.toFixed(1)).padStart(8);
  if (rows.length === 1) {
    console.log(`${"shape".padEnd(26)}${"M×K×N".padEnd(16)}${"ref".padStart(8)}${"simd".padStart(8)}${"relaxed".padStart(8)}${"simd+pk".padStart(8)}${"rlx+pk".padStart(8)}${`×${threads} thr`.padStart(8)}`);
  }
  console.log(`${s.name.padEnd(26)}${`${M}×${K}×${N}`.padEnd(16)}${f(row.reference)}${f(row.simd128)}${f(row.relaxed)}${f(row.simd128Packed)}${f(row.relaxedPacked)}${f(row.threaded)}`);
}
if (jsonAt >= 0 && args[jsonAt + 1]) {
  writeFileSync(args[jsonAt + 1], JSON.stringify({ backend: info, clock: "cpu (threaded: wall)", runs: RUNS, minMs: MIN_MS, rows }, null, 2) + "\n");
}
