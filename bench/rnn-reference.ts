// Forward and backward time of one recurrent layer over a whole sequence, config M
// (batch 64, 128 steps, input 256, hidden 512, float32), LSTM and GRU, in the reference backend.
//   npx tsx bench/rnn-reference.ts [--backend js|fast] [--reps N] [--small] [--json out.json]
// --small runs config S (batch 32, 64 steps, input 64, hidden 128) for a quick look. Timings are
// the median of N runs after a warm-up. Other work on the machine moves wall-clock figures, so the
// process's CPU time is printed beside them (the reference backend runs on one thread). Forward is timed with gradient recording on (what training runs), backward is the
// whole backward pass of sum(y · R) through the layer's single fused node.
import { writeFileSync } from "node:fs";
import * as gl from "../src/index.js";
import { cliArgs } from "./common.js";

const { has: flag, value } = cliArgs();
const backend = value("--backend", "js");
const reps = Number(value("--reps", "3"));
const cfg = flag("--small") ? { name: "S", B: 32, T: 64, E: 64, H: 128 } : { name: "M", B: 64, T: 128, E: 256, H: 512 };
gl.setBackend(backend);

interface Result {
  cell: string;
  config: string;
  backend: string;
  forwardMs: number;
  backwardMs: number;
  inferenceMs: number;
  forwardCpuMs: number;
  backwardCpuMs: number;
  gflopsForward: number;
  gflopsBackward: number;
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

function measure(cell: "LSTM" | "GRU"): Result {
  const { B, T, E, H } = cfg;
  gl.manualSeed(0);
  const opts = { inputSize: E, hiddenSize: H };
  const layer = cell === "LSTM" ? new gl.nn.LSTM(opts) : new gl.nn.GRU(opts);
  const x = gl.randn([T, B, E]).requiresGrad_(true);
  const R = gl.randn([T, B, H]);
  const run = () => (layer instanceof gl.nn.LSTM ? layer.forward(x)[0] : layer.forward(x)[0]);
  const fwd: number[] = [];
  const bwd: number[] = [];
  const inf: number[] = [];
  const fwdCpu: number[] = [];
  const bwdCpu: number[] = [];
  const cpuMs = (c: NodeJS.CpuUsage) => (c.user + c.system) / 1000;
  for (let r = 0; r <= reps; r++) {
    layer.zeroGrad();
    x.grad = null;
    let t0 = performance.now();
    let c0 = process.cpuUsage();
    const y = run();
    const f = performance.now() - t0;
    const fc = cpuMs(process.cpuUsage(c0));
    const loss = y.mul(R).sum();
    t0 = performance.now();
    c0 = process.cpuUsage();
    loss.backward();
    const b = performance.now() - t0;
    const bc = cpuMs(process.cpuUsage(c0));
    t0 = performance.now();
    gl.noGrad(run);
    const i = performance.now() - t0;
    // The first round warms up the JIT (and the fast backend's arenas): not counted.
    if (r === 0) continue;
    fwd.push(f);
    bwd.push(b);
    inf.push(i);
    fwdCpu.push(fc);
    bwdCpu.push(bc);
  }
  const G = cell === "LSTM" ? 4 : 3;
  // Multiply-adds ×2: input projection and one recurrent product per step; backward does twice each.
  const flopsF = 2 * T * B * G * H * (E + H);
  const forwardMs = median(fwd);
  const backwardMs = median(bwd);
  return {
    cell, config: cfg.name, backend, forwardMs, backwardMs, inferenceMs: median(inf),
    forwardCpuMs: median(fwdCpu), backwardCpuMs: median(bwdCpu),
    gflopsForward: flopsF / (forwardMs * 1e6), gflopsBackward: (2 * flopsF) / (backwardMs * 1e6),
  };
}

const results: Result[] = [];
console.log(`config ${cfg.name} (B ${cfg.B}, T ${cfg.T}, E ${cfg.E}, H ${cfg.H}), float32, backend ${backend}, median of ${reps}`);
for (const cell of ["LSTM", "GRU"] as const) {
  const r = measure(cell);
  results.push(r);
  console.log(
    `${cell.padEnd(4)}  forward ${r.forwardMs.toFixed(0).padStart(6)} ms (cpu ${r.forwardCpuMs.toFixed(0)} ms, ${r.gflopsForward.toFixed(2)} GFLOP/s)  ` +
      `backward ${r.backwardMs.toFixed(0).padStart(6)} ms (cpu ${r.backwardCpuMs.toFixed(0)} ms, ${r.gflopsBackward.toFixed(2)} GFLOP/s)  ` +
      `inference ${r.inferenceMs.toFixed(0)} ms`,
  );
}
const out = value("--json", "");
if (out) writeFileSync(out, JSON.stringify(results, null, 2));
