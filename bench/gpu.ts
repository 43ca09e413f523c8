// GPU benchmark (issue 9): the WebGPU GEMM sweep and the S/M LSTM language-model training step.
//   node --import tsx bench/gpu.ts [--quick] [--json out.json] [--no-torch] [--python path]
//        [--gemm 8192x768x2048,...] [--configs S,M] [--cells lstm,gru] [--backend vulkan|opengles]
//        [--timeout s] [--no-api]   (--no-api: skip the LM through the tensor API on the device)
//   node --import tsx bench/gpu.ts --sweep [--quick] [--json out.json] [--sweep-shapes MxKxN[:A][:B],...]
//        [--sweep-budget s]   (matmul tile × split-K sweep and per-dispatch costs; bench/gpu-sweep.ts)
// GEMM shapes are M×K×N (C[M,N] = A[M,K]·B[K,N], float32), figures in TFLOP/s. The LM step is
// bench/run.ts's (Embedding → LSTM/GRU → Linear on every step → cross-entropy → backward → Adam) in
// tokens (batch × steps) per second, each step one submit, the loss read once at the end of a run.
// Every figure runs in its own Node process (one abort loses one figure), which writes its result
// before it destroys the device and exits. When python3 has torch with CUDA, bench/torch_gpu.py
// runs the same GEMMs (TF32 off) and LM steps (cuDNN nn.LSTM + Adam) and the ratios are printed.
// Results are written after every figure, so a run cut short keeps what it measured.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import * as gl from "../src/index.js";
import { cliArgs, lcgIds as lcg } from "./common.js";
import { gpuChecks } from "./gpu-check.js";
import { FULL_SWEEP, QUICK_SWEEP, chainTimes, parseSpec, sweepShape, sweepTable } from "./gpu-sweep.js";

const { has, value } = cliArgs();
const quick = has("--quick");

interface LMConfig { name: string; B: number; T: number; V: number; E: number; H: number }
const CONFIGS: Record<string, LMConfig> = {
  Q: { name: "Q", B: 8, T: 16, V: 32, E: 16, H: 32 },
  S: { name: "S", B: 32, T: 64, V: 64, E: 64, H: 128 },
  M: { name: "M", B: 64, T: 128, V: 256, E: 256, H: 512 },
};
const FULL_GEMMS = "8192x768x2048,4096x4096x4096,2048x2048x2048,1024x1024x1024,8192x256x2048,8192x512x256,64x768x2048,64x512x2048,32x128x512";
const QUICK_GEMMS = "17x33x65,64x48x80,128x128x128";

function log(msg: string): void {
  console.error(`[gpu-bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);
}

// ---------- child: one figure ----------

async function openGpu(): Promise<gl.webgpu.Gpu> {
  const backend = value("--backend", "") || undefined;
  const gpu = await gl.webgpu.requestGpu({ backend, powerPreference: "high-performance" });
  if (!gpu) throw new Error(`no WebGPU device: ${gl.webgpu.gpuUnavailableReason()}`);
  return gpu;
}

async function timeGemm(gpu: gl.webgpu.Gpu, M: number, K: number, N: number): Promise<Record<string, number>> {
  const { GpuTensor, matmul } = gl.webgpu;
  const rand = (n: number): Float32Array => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 0.5);
  const a = GpuTensor.fromArray(gpu, rand(M * K), [M, K]);
  const b = GpuTensor.fromArray(gpu, rand(K * N), [K, N]);
  const c = GpuTensor.empty(gpu, [M, N]);
  const flops = 2 * M * N * K;
  // Enough products per submit that the submit and sync overheads are a small share.
  const perSubmit = Math.max(1, Math.min(200, Math.round(5e10 / flops)));
  const run = async (n: number): Promise<number> => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) matmul(gpu, a, b, c);
    await gpu.sync();
    return (performance.now() - t0) / 1000;
  };
  await run(1);
  const first = await run(1);
  // Each submit holds at least ≈30 ms of work, and ≈0.3 s of it runs before timing: one short
  // product per submit with a sync between leaves the GPU at idle clocks (seen on an H200: 4096³
  // at 7.6 TFLOP/s one per submit, 43 TFLOP/s in 20 ms submits).
  const enough = Math.ceil(0.03 / Math.max(first, 1e-6));
  const iters = quick ? Math.max(1, Math.min(perSubmit, Math.round(0.3 / Math.max(first, 1e-6)))) : Math.min(200, Math.max(perSubmit, enough));
  if (!quick) for (let w = 0; w < 10; w++) await run(iters);
  const reps = quick ? 2 : 5;
  const times: number[] = [];
  for (let r = 0; r < reps; r++) times.push((await run(iters)) / iters);
  times.sort((x, y) => x - y);
  return { seconds: times[0], median: times[Math.floor(times.length / 2)], tflops: flops / times[0] / 1e12, itersPerSubmit: iters };
}

/**
 * Times `step` (encoding one training step) in runs of equal length, each ended by `loss()` (the
 * read that waits for the GPU): tokens/s of the best and median run, host time spent encoding,
 * dispatches per step, and the loss before and after.
 */
async function timeSteps(gpu: gl.webgpu.Gpu, tokens: number, step: () => void, loss: () => Promise<number>): Promise<Record<string, number>> {
  step();
  const loss0 = await loss();
  const one = performance.now();
  step();
  await loss();
  const firstSeconds = (performance.now() - one) / 1000;
  const steps = Math.max(2, Math.min(quick ? 5 : 50, Math.round((quick ? 1 : 3) / Math.max(firstSeconds, 1e-4))));
  const dispatches0 = gpu.dispatches;
  let hostSeconds = 0; // encoding and submitting, on the CPU
  const runs: number[] = [];
  for (let r = 0; r < (quick ? 2 : 3); r++) {
    const t0 = performance.now();
    for (let s = 0; s < steps; s++) {
      const e0 = performance.now();
      step();
      hostSeconds += (performance.now() - e0) / 1000;
    }
    const l = await loss();
    if (!Number.isFinite(l)) throw new Error(`the loss became ${l}`);
    runs.push((performance.now() - t0) / 1000 / steps);
  }
  const dispatchesPerStep = (gpu.dispatches - dispatches0) / (steps * runs.length);
  runs.sort((p, q) => p - q);
  return {
    secondsPerStep: runs[0],
    tokensPerSecond: tokens / runs[0],
    medianTokensPerSecond: tokens / runs[Math.floor(runs.length / 2)],
    hostSecondsPerStep: hostSeconds / (steps * runs.length),
    dispatchesPerStep,
    stepsPerRun: steps,
    lossFirst: loss0,
    lossLast: await loss(),
  };
}

async function timeLM(gpu: gl.webgpu.Gpu, cfg: LMConfig, cell: "lstm" | "gru"): Promise<Record<string, number>> {
  const { B, T, V, E, H } = cfg;
  gl.manualSeed(0);
  const model = gl.webgpu.GpuRNNLM.create(gpu, { vocabSize: V, embeddingDim: E, hiddenSize: H, lr: 1e-3, cell });
  const x = gl.tensor(lcg(T * B, V, 1), { dtype: "int32", shape: [T, B] });
  const y = gl.tensor(lcg(T * B, V, 2), { dtype: "int32", shape: [T * B] });
  return timeSteps(gpu, B * T, () => model.step(x, y), () => model.loss());
}

/**
 * The same LM through the tensor API on the "webgpu" device (nn.Embedding → nn.LSTM/GRU, fused
 * there → nn.Linear → crossEntropy → backward → optim.Adam): what a user writing PyTorch-style
 * code gets, against GpuRNNLM's hand-built step. The host encodes every op, so host time counts.
 */
async function timeDeviceLM(gpu: gl.webgpu.Gpu, cfg: LMConfig, cell: "lstm" | "gru"): Promise<Record<string, number>> {
  const { B, T, V, E, H } = cfg;
  await gl.webgpu.init({ gpu, setDefault: false });
  const g = gl.manualSeed(0);
  const emb = new gl.nn.Embedding(V, E, { generator: g }).to({ device: "webgpu" });
  const rnn = (cell === "lstm" ? new gl.nn.LSTM({ inputSize: E, hiddenSize: H, generator: g }) : new gl.nn.GRU({ inputSize: E, hiddenSize: H, generator: g })).to({ device: "webgpu" });
  const head = new gl.nn.Linear(H, V, { generator: g }).to({ device: "webgpu" });
  const opt = new gl.optim.Adam([...emb.parameters(), ...rnn.parameters(), ...head.parameters()], { lr: 1e-3 });
  const x = gl.tensor(lcg(T * B, V, 1), { dtype: "int32", shape: [T, B], device: "cpu" });
  const y = gl.tensor(lcg(T * B, V, 2), { dtype: "int32", shape: [T * B], device: "cpu" });
  let last: gl.Tensor | null = null;
  const step = (): void => {
    opt.zeroGrad();
    const [out] = rnn.forward(emb.forward(x)) as [gl.Tensor, unknown];
    last = gl.crossEntropy(head.forward(out).reshape([-1, V]), y);
    last.backward();
    opt.step();
  };
  const r = await timeSteps(gpu, B * T, step, () => last!.itemAsync());
  const mem = gl.webgpu.deviceMemory()!;
  return { ...r, deviceBytesHeld: mem.liveBytes + mem.pooledBytes };
}

/** Prints the adapter, its limits and numerical checks on it: the smoke test before a long run. */
async function probe(): Promise<void> {
  const gpu = await openGpu();
  const limits: Record<string, number> = {};
  for (const k in gpu.limits) limits[k] = (gpu.limits as unknown as Record<string, number>)[k];
  const { GpuTensor, matmul } = gl.webgpu;
  const a = GpuTensor.fromArray(gpu, Float32Array.from({ length: 6 }, (_, i) => i + 1), [2, 3]);
  const c = GpuTensor.empty(gpu, [2, 2]);
  matmul(gpu, a, a, c, { transB: true });
  const got = Array.from(await c.read());
  const ok = got.join() === [14, 32, 32, 77].join();
  const checks = ok && !has("--no-check") ? await gpuChecks(gpu) : [];
  process.stdout.write(`RESULT ${JSON.stringify({ backend: gpu.backend, ...gpu.info, matmulOk: ok, got, checks, limits })}\n`);
  for (const c of checks) log(`check ${c.name}: ${c.ok ? "ok" : "FAILED"} (max error ${c.maxError.toExponential(2)})${c.error ? ` ${c.error}` : ""}`);
  gpu.destroy();
  process.exit(ok ? 0 : 1);
}

async function child(): Promise<void> {
  const kind = value("--child", "");
  const gpu = await openGpu();
  let result: Record<string, unknown>;
  try {
    if (kind === "sweep") {
      const spec = parseSpec(value("--shape", ""));
      const rows = await sweepShape(gpu, spec, quick, Number(value("--budget", "20")), (r) => process.stdout.write(`PARTIAL ${JSON.stringify(r)}\n`));
      result = { kind, shape: spec.name, rows };
    } else if (kind === "chain") {
      result = { kind, ...(await chainTimes(gpu, quick, Number(value("--budget", "20")))) };
    } else if (kind === "gemm") {
      const [M, K, N] = value("--shape", "").split("x").map(Number);
      result = { kind, shape: `${M}x${K}x${N}`, M, K, N, ...(await timeGemm(gpu, M, K, N)) };
    } else {
      const cfg = CONFIGS[value("--config", "")];
      if (!cfg) throw new Error(`unknown config ${value("--config", "")}`);
      const cell = value("--cell", "lstm") as "lstm" | "gru";
      const api = kind === "device-lm";
      const r = api ? await timeDeviceLM(gpu, cfg, cell) : await timeLM(gpu, cfg, cell);
      result = { kind: "lm", api: api ? "tensor device" : "GpuRNNLM", cell, config: cfg.name, key: `${cell}-${cfg.name}`, ...cfg, ...r };
    }
    result.adapter = { backend: gpu.backend, ...gpu.info };
  } catch (e) {
    result = { kind, error: String((e as Error).stack ?? e) };
  }
  // The result goes out before the device is torn down: an abort in teardown loses nothing.
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
  gpu.destroy();
  process.exit(0);
}

// ---------- parent: the sweep ----------

interface Figure { args: string[]; label: string }

function runChild(f: Figure, timeoutS: number): Promise<Record<string, unknown>> {
  return new Promise((done) => {
    const p = spawn(process.execPath, [...process.execArgv, process.argv[1], ...f.args, ...passThrough()], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => p.kill("SIGKILL"), timeoutS * 1000);
    p.on("close", (code, signal) => {
      clearTimeout(timer);
      const line = out.split("\n").find((l) => l.startsWith("RESULT "));
      const r: Record<string, unknown> = line ? JSON.parse(line.slice(7)) : { error: `no result (exit ${code}, signal ${signal})` };
      // A sweep child killed midway: keep the rows it finished.
      const partial = out.split("\n").filter((l) => l.startsWith("PARTIAL ")).map((l) => JSON.parse(l.slice(8)));
      if (!line && partial.length) r.rows = partial;
      if (code !== 0 || signal) r.exit = signal ? `signal ${signal}${signal === "SIGKILL" ? ` (timeout ${timeoutS}s?)` : ""}` : `code ${code}`;
      if (!line || code !== 0) r.stderrTail = err.split("\n").filter((l) => !/^Warning|^\s+at operator|^$/.test(l)).slice(-8).join("\n");
      done(r);
    });
  });
}

function passThrough(): string[] {
  const out: string[] = [];
  if (quick) out.push("--quick");
  const b = value("--backend", "");
  if (b) out.push("--backend", b);
  return out;
}

function torchPython(): string | null {
  if (has("--no-torch")) return null;
  for (const py of [value("--python", ""), "python3", "/usr/bin/python3"].filter((p) => p)) {
    const r = spawnSync(py, ["-c", "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 3)"], { stdio: "ignore", timeout: 120_000 });
    if (r.status === 0) return py;
  }
  return null;
}

function torchScript(): string {
  const explicit = value("--torch-script", "");
  if (explicit) return explicit;
  const beside = join(import.meta.dirname, "torch_gpu.py");
  return existsSync(beside) ? beside : resolve("bench", "torch_gpu.py");
}

function runTorch(py: string, gemms: string[], configs: (LMConfig & { cell: string })[], timeoutS: number): Record<string, unknown> {
  const r = spawnSync(py, [torchScript(), "--gemm", gemms.join(","), "--configs", JSON.stringify(configs), ...(quick ? ["--quick"] : [])], {
    encoding: "utf8",
    timeout: timeoutS * 1000,
    maxBuffer: 16 << 20,
  });
  const line = (r.stdout ?? "").split("\n").find((l) => l.startsWith("RESULT "));
  if (!line) return { error: `torch_gpu.py gave no result (status ${r.status}, ${r.error ?? ""})`, stderrTail: (r.stderr ?? "").slice(-2000) };
  return JSON.parse(line.slice(7));
}

async function parent(): Promise<void> {
  const gemms = value("--gemm", quick ? QUICK_GEMMS : FULL_GEMMS).split(",").filter((s) => s);
  const configs = value("--configs", quick ? "Q" : "S,M").split(",").filter((s) => s).map((c) => {
    if (!CONFIGS[c]) throw new Error(`unknown config ${c} (Q, S or M)`);
    return CONFIGS[c];
  });
  const cells = value("--cells", "lstm,gru").split(",").filter((c) => c);
  for (const c of cells) if (c !== "lstm" && c !== "gru") throw new Error(`unknown cell ${c} (lstm or gru)`);
  const timeoutS = Number(value("--timeout", quick ? "120" : "150"));
  const out = value("--json", join("bench", "results", `gpu-${new Date().toISOString().slice(0, 10)}.json`));
  mkdirSync(dirname(out), { recursive: true });
  const results: Record<string, unknown> = { date: new Date().toISOString(), node: process.version, quick, gemm: [], lm: [], torch: null };
  const save = (): void => writeFileSync(out, JSON.stringify(results, null, 2) + "\n");
  // LSTM (the issue's figure) first, then the GEMMs, then PyTorch, then GRU: a run cut short loses
  // the least important figures.
  // Each LM figure twice: GpuRNNLM's hand-built step, then the same model through the tensor API on the device.
  const lm = (cell: string): Figure[] =>
    configs.flatMap((c) => [
      { args: ["--child", "lm", "--config", c.name, "--cell", cell], label: `LM ${cell} ${c.name}` },
      ...(has("--no-api") ? [] : [{ args: ["--child", "device-lm", "--config", c.name, "--cell", cell], label: `LM ${cell} ${c.name} (tensor API)` }]),
    ]);
  const before: Figure[] = [...(cells.includes("lstm") ? lm("lstm") : []), ...gemms.map((g) => ({ args: ["--child", "gemm", "--shape", g], label: `GEMM ${g}` }))];
  const after: Figure[] = cells.includes("gru") ? lm("gru") : [];
  const runFigure = async (f: Figure): Promise<void> => {
    log(`${f.label} ...`);
    const r = await runChild(f, timeoutS);
    (r.kind === "lm" || f.args[1].endsWith("lm") ? (results.lm as unknown[]) : (results.gemm as unknown[])).push({ label: f.label, ...r });
    save();
    log(`${f.label}: ${r.error ? `FAILED ${String(r.error).split("\n")[0]}` : r.tflops !== undefined ? `${((r.tflops as number) * 1000).toFixed(2)} GFLOP/s` : `${Math.round(r.tokensPerSecond as number)} tokens/s`}${r.exit ? ` (exit ${r.exit})` : ""}`);
  };
  for (const f of before) await runFigure(f);
  const py = torchPython();
  if (py) {
    log("PyTorch (CUDA) ...");
    const torchConfigs = cells.flatMap((cell) => configs.map((c) => ({ ...c, cell })));
    results.torch = runTorch(py, gemms, torchConfigs, Number(value("--torch-timeout", "300")));
    save();
  } else {
    results.torch = { skipped: "no python3 with torch.cuda (or --no-torch)" };
  }
  for (const f of after) await runFigure(f);
  printTable(results);
  save();
  log(`results in ${out}`);
}

function printTable(results: Record<string, unknown>): void {
  const torch = results.torch as { gemm?: Record<string, { tflops: number }>; lm?: Record<string, { tokensPerSecond: number }> } | null;
  const lines = ["", "| figure | gradlab WebGPU | PyTorch CUDA | ratio |", "|---|---|---|---|"];
  for (const r of results.lm as Record<string, unknown>[]) {
    const ours = r.tokensPerSecond as number | undefined;
    const theirs = torch?.lm?.[r.key as string]?.tokensPerSecond;
    lines.push(`| LM ${String(r.key ?? r.label)}${r.api === "tensor device" ? " tensor API" : ""} train (tokens/s) | ${ours ? Math.round(ours) : "failed"} | ${theirs ? Math.round(theirs) : "–"} | ${ours && theirs ? (ours / theirs).toFixed(3) : "–"} |`);
  }
  for (const r of results.gemm as Record<string, unknown>[]) {
    const ours = r.tflops as number | undefined;
    const theirs = torch?.gemm?.[r.shape as string]?.tflops;
    lines.push(`| GEMM ${String(r.shape ?? r.label)} (TFLOP/s) | ${ours ? ours.toFixed(3) : "failed"} | ${theirs ? theirs.toFixed(2) : "–"} | ${ours && theirs ? (ours / theirs).toFixed(3) : "–"} |`);
  }
  console.log(lines.join("\n"));
}

/** The sweep: one process per shape, the whole run bounded by --sweep-budget seconds. */
async function sweepParent(): Promise<void> {
  const shapes = value("--sweep-shapes", quick ? QUICK_SWEEP : FULL_SWEEP).split(",").filter((x) => x);
  for (const sh of shapes) parseSpec(sh);
  const budget = Number(value("--sweep-budget", quick ? "120" : "150"));
  const end = performance.now() + budget * 1000;
  const out = value("--json", join("bench", "results", `gpu-sweep-${new Date().toISOString().slice(0, 10)}.json`));
  mkdirSync(dirname(out), { recursive: true });
  const results: { date: string; quick: boolean; chain: unknown; sweep: Record<string, unknown>[] } = { date: new Date().toISOString(), quick, chain: null, sweep: [] };
  const save = (): void => writeFileSync(out, JSON.stringify(results) + "\n");
  const left = (): number => (end - performance.now()) / 1000;
  log("chain: per-step products and the LSTM forward sweep ...");
  const chainS = Math.max(5, Math.min(30, 0.2 * budget));
  results.chain = await runChild({ args: ["--child", "chain", "--budget", (chainS * 0.6).toFixed(1)], label: "chain" }, chainS);
  save();
  log(`chain: ${JSON.stringify(results.chain)}`);
  for (const [i, sh] of shapes.entries()) {
    // An even share of what is left, of which the child spends at most 80% timing (compiles and
    // process start take the rest).
    const share = left() / (shapes.length - i);
    if (share < 3) {
      results.sweep.push({ shape: sh, error: "skipped: sweep budget spent" });
      continue;
    }
    log(`sweep ${sh} (${share.toFixed(0)} s) ...`);
    const r = await runChild({ args: ["--child", "sweep", "--shape", sh, "--budget", (share * 0.7).toFixed(1)], label: sh }, share);
    results.sweep.push({ shape: sh, ...r });
    save();
  }
  console.log(sweepTable(results.sweep as { shape: string }[]));
  log(`results in ${out}`);
}

if (has("--probe")) await probe();
else if (has("--sweep")) await sweepParent();
else if (has("--child")) await child();
else await parent();
