// Side-by-side benchmark of a recurrent language model (issue 5):
//   npm run bench -- [--quick] [--configs S,M] [--cells rnn,lstm,gru] [--reps N] [--no-torch]
//                    [--no-tfjs] [--tfjs-cap seconds] [--no-gemm] [--no-ref] [--json out.json]
//                    [--python path]
//   npm run bench -- --table bench/results/<date>.json    (print a saved result's tables again)
// One step is Embedding → RNN/LSTM/GRU → Linear on every step → cross-entropy → backward → Adam
// ("train"), or the forward pass without recording ("infer"); figures are tokens (batch × steps)
// per second of wall time, the median over the repetitions. gradlab runs on the fast backend with
// 1 and 2 threads and on the reference backend (config S only: it is slow). When python3 can
// import torch, bench/torch_lm.py runs the same step in PyTorch (1 and 2 threads,
// OMP_WAIT_POLICY=PASSIVE) and the repetitions alternate between the two libraries, so a change of
// load on the machine hits both. TensorFlow.js 4.22 (wasm backend, 1 thread; bench/tfjs_lm.ts)
// runs the same step in a child process of its own, in the same alternation; it takes about a
// minute per training step on M, so on M it times one step (after a warm-up step) and on S at most
// three, and a step past --tfjs-cap seconds (default 240) is dropped and shown as "—". Results go to bench/results/<date>.json (<date>-2.json, ... when
// that exists) and a Markdown table.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import * as gl from "../src/index.js";
import { cliArgs, lcgIds } from "./common.js";
import { threadsStarted } from "../src/backends/fast/index.js";

const args = process.argv.slice(2);
const { has, value } = cliArgs(args);
const quick = has("--quick");
const configNames = value("--configs", quick ? "S" : "S,M").split(",");
const cells = value("--cells", "rnn,lstm,gru").split(",") as Cell[];
const reps = Number(value("--reps", quick ? "3" : "5"));

type Cell = "rnn" | "lstm" | "gru";
interface Config { name: string; B: number; T: number; V: number; E: number; H: number }
const CONFIGS: Record<string, Config> = {
  S: { name: "S", B: 32, T: 64, V: 64, E: 64, H: 128 },
  M: { name: "M", B: 64, T: 128, V: 256, E: 256, H: 512 },
};
for (const c of configNames) if (!CONFIGS[c]) throw new Error(`unknown config ${c} (S or M)`);
for (const c of cells) if (!["rnn", "lstm", "gru"].includes(c)) throw new Error(`unknown cell ${c} (rnn, lstm or gru)`);

/** The PyTorch side, one process answering one JSON line per request. */
class Torch {
  private readonly proc;
  private readonly waiting: ((line: string) => void)[] = [];

  constructor(python: string) {
    this.proc = spawn(python, [join(import.meta.dirname, "torch_lm.py")], {
      env: { ...process.env, OMP_WAIT_POLICY: "PASSIVE" },
      stdio: ["pipe", "pipe", "inherit"],
    });
    createInterface({ input: this.proc.stdout }).on("line", (line) => this.waiting.shift()?.(line));
  }

  request(msg: object): Promise<Record<string, unknown>> {
    return new Promise((resolve) => {
      this.waiting.push((line) => resolve(JSON.parse(line)));
      this.proc.stdin.write(JSON.stringify(msg) + "\n");
    });
  }

  close(): void {
    this.proc.stdin.end();
  }
}

/**
 * The TensorFlow.js side: a child process per model (its wasm memory only grows), answering one
 * JSON line per request. A request that outlives the cap kills the process; later ones get null.
 */
class Tfjs {
  private readonly proc;
  private readonly waiting: ((line: string | null) => void)[] = [];
  private dead = false;

  constructor() {
    this.proc = spawn(process.execPath, ["--import", "tsx", join(import.meta.dirname, "tfjs_lm.ts")], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    createInterface({ input: this.proc.stdout }).on("line", (line) => this.waiting.shift()?.(line));
    this.proc.on("exit", () => {
      this.dead = true;
      for (const w of this.waiting.splice(0)) w(null);
    });
  }

  request(msg: object, capSeconds = Infinity): Promise<Record<string, unknown> | null> {
    if (this.dead) return Promise.resolve(null);
    return new Promise((resolve) => {
      const timer = Number.isFinite(capSeconds) ? setTimeout(() => this.close(), capSeconds * 1000) : undefined;
      this.waiting.push((line) => {
        clearTimeout(timer);
        resolve(line === null ? null : JSON.parse(line));
      });
      this.proc.stdin.write(JSON.stringify(msg) + "\n");
    });
  }

  close(): void {
    this.dead = true;
    this.proc.kill();
  }
}

/** Whether the TF.js packages (devDependencies) are installed. */
function tfjsPresent(): boolean {
  if (has("--no-tfjs")) return false;
  try {
    for (const p of ["@tensorflow/tfjs-core", "@tensorflow/tfjs-backend-wasm", "@tensorflow/tfjs-layers"]) import.meta.resolve(p);
    return true;
  } catch {
    return false;
  }
}
const tfjsCap = Number(value("--tfjs-cap", "240"));

/** The first Python that imports torch: --python, then python3 on the PATH, then Debian's own (a pyenv or venv python3 may shadow it). */
function torchPython(): string | null {
  if (has("--no-torch")) return null;
  const candidates = [value("--python", ""), "python3", "/usr/bin/python3"].filter((p) => p !== "");
  for (const py of candidates) {
    if (spawnSync(py, ["-c", "import torch"], { stdio: "ignore" }).status === 0) return py;
  }
  return null;
}

function ids(n: number, V: number, seed: number): gl.Tensor {
  return gl.tensor(lcgIds(n, V, seed), { dtype: "int32", shape: [n] });
}

interface Model { step(): void; infer(): void }

function gradlabModel(cfg: Config, cell: Cell): Model {
  const { B, T, V, E, H } = cfg;
  gl.manualSeed(0);
  const emb = new gl.nn.Embedding(V, E);
  const opts = { inputSize: E, hiddenSize: H };
  const rnn = cell === "lstm" ? new gl.nn.LSTM(opts) : cell === "gru" ? new gl.nn.GRU(opts) : new gl.nn.RNN(opts);
  const head = new gl.nn.Linear(H, V);
  const params = [...emb.parameters(), ...rnn.parameters(), ...head.parameters()];
  const opt = new gl.optim.Adam(params, { lr: 1e-3 });
  const x = ids(T * B, V, 1).reshape([T, B]);
  const y = ids(T * B, V, 2);
  const forward = (): gl.Tensor => {
    const out = (rnn.forward(emb.forward(x)) as [gl.Tensor, unknown])[0];
    return head.forward(out.reshape([T * B, H]));
  };
  return {
    step() {
      const loss = gl.crossEntropy(forward(), y);
      opt.zeroGrad();
      loss.backward();
      opt.step();
    },
    infer() {
      gl.noGrad(forward);
    },
  };
}

type Mode = "train" | "infer";
/** One timed repetition of one side: wall seconds and the process's CPU seconds (all its threads). */
interface Timing { seconds: number; cpuSeconds: number }
type Runner = (mode: Mode) => Promise<Timing | null>;

function gradlabRunner(model: Model, backend: "fast" | "js", threads: number): Runner {
  return async (mode) => {
    gl.setBackend(backend);
    gl.setNumThreads(threads);
    if (backend === "fast" && threads > 1) await threadsStarted();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    if (mode === "train") model.step();
    else model.infer();
    const seconds = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    gl.setNumThreads(1);
    return { seconds, cpuSeconds: (c.user + c.system) / 1e6 };
  };
}

function torchRunner(torch: Torch, threads: number): Runner {
  return async (mode) => (await torch.request({ cmd: "time", mode, threads })) as unknown as Timing;
}

/** null once a step has passed the cap (the process is gone then). */
function tfjsRunner(tfjs: Tfjs): Runner {
  return async (mode) => {
    const t = await tfjs.request({ cmd: "time", mode }, tfjsCap);
    return t && typeof t.seconds === "number" ? (t as unknown as Timing) : null;
  };
}

const median = (v: number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

interface Row {
  config: string;
  cell: Cell;
  mode: Mode;
  /** Tokens per second (median), by side. */
  tokensPerSecond: Record<string, number>;
  /**
   * Tokens per second of the process's CPU time (median): on a machine shared with other work this
   * moves less than wall time; for one thread it is the kernel speed, for two it shows the overhead.
   */
  tokensPerCpuSecond: Record<string, number>;
  /** Every repetition's wall and CPU seconds, by side. */
  seconds: Record<string, number[]>;
  cpuSeconds: Record<string, number[]>;
  /**
   * CPU seconds the rest of the machine used during each repetition (all processes, from
   * /proc/stat, less the side's own): a 2-thread figure is only a 2-thread figure where this is
   * near 0, since a split product waits for its descheduled half. Empty where /proc/stat is missing.
   */
  otherCpuSeconds: Record<string, number[]>;
}

/** CPU seconds the whole machine has been busy (Linux /proc/stat, USER_HZ = 100); null elsewhere. */
function machineBusySeconds(): number | null {
  try {
    const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system (idle iowait) irq softirq steal
    return (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) / 100;
  } catch {
    return null;
  }
}

const SIDES = {
  fast1: "gradlab fast 1 thr", fast2: "gradlab fast 2 thr", js: "gradlab reference", torch1: "PyTorch 1 thr", torch2: "PyTorch 2 thr",
  tfjs: "TF.js wasm 1 thr",
} as const;
type Side = keyof typeof SIDES;

async function measure(cfg: Config, cell: Cell, torch: Torch | null, withTfjs: boolean): Promise<Row[]> {
  const model = gradlabModel(cfg, cell);
  const runners: [Side, Runner][] = [["fast1", gradlabRunner(model, "fast", 1)]];
  if (torch) {
    await torch.request({ cmd: "setup", cell, ...cfg });
    runners.push(["torch1", torchRunner(torch, 1)]);
  }
  runners.push(["fast2", gradlabRunner(model, "fast", 2)]);
  if (torch) runners.push(["torch2", torchRunner(torch, 2)]);
  // The reference backend takes seconds per step on S and minutes on M.
  if (cfg.name === "S" && !has("--no-ref")) runners.push(["js", gradlabRunner(model, "js", 1)]);
  const tfjs = withTfjs ? new Tfjs() : null;
  if (tfjs && (await tfjs.request({ cmd: "setup", cell, ...cfg }, tfjsCap))) runners.push(["tfjs", tfjsRunner(tfjs)]);
  // TF.js takes about a minute per training step on M: one timed step there, at most three on S.
  const repsOf = (side: Side): number => (side === "tfjs" ? Math.min(reps, cfg.name === "S" ? 3 : 1) : reps);
  const rows: Row[] = [];
  for (const mode of ["train", "infer"] as const) {
    const seconds: Record<string, number[]> = {};
    const cpuSeconds: Record<string, number[]> = {};
    const otherCpuSeconds: Record<string, number[]> = {};
    const live = new Set<Side>();
    for (const [side, run] of runners) {
      // warm-up: JIT, arenas, worker start, PyTorch's allocator; a side past its cap drops out
      if ((await run(mode)) !== null) live.add(side);
      seconds[side] = [];
      cpuSeconds[side] = [];
      otherCpuSeconds[side] = [];
    }
    for (let r = 0; r < reps; r++) {
      for (const [side, run] of runners) {
        if (!live.has(side) || r >= repsOf(side)) continue;
        const busy0 = machineBusySeconds();
        const t = await run(mode);
        const busy1 = machineBusySeconds();
        if (t === null) {
          live.delete(side);
          continue;
        }
        seconds[side].push(t.seconds);
        cpuSeconds[side].push(t.cpuSeconds);
        if (busy0 !== null && busy1 !== null) otherCpuSeconds[side].push(Math.max(0, busy1 - busy0 - t.cpuSeconds));
      }
    }
    const tokens = cfg.B * cfg.T;
    const tokensPerSecond: Record<string, number> = {};
    const tokensPerCpuSecond: Record<string, number> = {};
    for (const side of Object.keys(seconds)) {
      if (seconds[side].length === 0) continue;
      tokensPerSecond[side] = tokens / median(seconds[side]);
      tokensPerCpuSecond[side] = tokens / median(cpuSeconds[side]);
    }
    rows.push({ config: cfg.name, cell, mode, tokensPerSecond, tokensPerCpuSecond, seconds, cpuSeconds, otherCpuSeconds });
    const line = Object.entries(tokensPerSecond).map(([s, v]) => `${s} ${Math.round(v)}`).join("  ");
    const others = Object.entries(otherCpuSeconds).filter(([, v]) => v.length > 0);
    const busy = others.length ? `; other processes used ${others.map(([k, v]) => `${k} ${median(v).toFixed(2)}`).join(", ")} CPU-s per rep` : "";
    console.error(`  ${cfg.name}-${cell.toUpperCase()} ${mode}: ${line} tokens/s${busy}`);
  }
  tfjs?.close();
  gl.setBackend("fast");
  return rows;
}

function gemmSweep(): unknown {
  const out = join(tmpdir(), `gradlab-gemm-${process.pid}.json`);
  const res = spawnSync(process.execPath, ["--import", "tsx", join(import.meta.dirname, "gemm.ts"), "--quick", "--json", out], {
    stdio: ["ignore", "inherit", "inherit"],
  });
  if (res.status !== 0) return { error: `bench/gemm.ts exited with ${res.status}` };
  const data = JSON.parse(readFileSync(out, "utf8"));
  rmSync(out);
  return data;
}

const fmt = (x: number | undefined): string => (x === undefined ? "—" : Math.round(x).toLocaleString("en-US"));
const ratio = (a: number | undefined, b: number | undefined): string => (a === undefined || b === undefined ? "—" : `${(a / b).toFixed(2)}×`);

/** Ratios per thread count, and the best gradlab figure against the best PyTorch one. */
function table(rows: Row[], key: "tokensPerSecond" | "tokensPerCpuSecond"): string {
  const head = [
    "", "fast 1 thr", "fast 2 thr", "reference", "PyTorch 1 thr", "PyTorch 2 thr", "TF.js wasm 1 thr",
    "fast 1 / PT 1", "fast 2 / PT 2", "best / best", "fast best / TF.js",
  ];
  const lines = [`| ${head.join(" | ")} |`, `|${head.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`];
  for (const r of rows) {
    const t = r[key];
    const best = (a: number | undefined, b: number | undefined): number | undefined => (a === undefined && b === undefined ? undefined : Math.max(a ?? 0, b ?? 0));
    lines.push(
      `| ${r.config}-${r.cell.toUpperCase()} ${r.mode} | ${fmt(t.fast1)} | ${fmt(t.fast2)} | ${fmt(t.js)} | ${fmt(t.torch1)} | ${fmt(t.torch2)} | ${fmt(t.tfjs)} | ` +
        `${ratio(t.fast1, t.torch1)} | ${ratio(t.fast2, t.torch2)} | ${ratio(best(t.fast1, t.fast2), best(t.torch1, t.torch2))} | ` +
        `${ratio(best(t.fast1, t.fast2), t.tfjs)} |`,
    );
  }
  return lines.join("\n");
}

/** bench/results/<date>.json, or <date>-2.json, -3, ... so a second run on one day keeps the first. */
function freshResultPath(day: string): string {
  const dir = join(import.meta.dirname, "results");
  let path = join(dir, `${day}.json`);
  for (let k = 2; existsSync(path); k++) path = join(dir, `${day}-${k}.json`);
  return path;
}

/** Prints the tables of a saved result file again (`--table bench/results/<date>.json`). */
function reprint(path: string): void {
  const record = JSON.parse(readFileSync(path, "utf8")) as { command: string; rows: Row[] };
  console.log(`command: ${record.command}\n\ntokens per second of wall time\n\n${table(record.rows, "tokensPerSecond")}`);
  console.log(`\ntokens per second of the process's CPU time (all its threads)\n\n${table(record.rows, "tokensPerCpuSecond")}`);
}

async function main(): Promise<void> {
  if (has("--table")) {
    reprint(value("--table", ""));
    return;
  }
  const python = torchPython();
  const torch = python ? new Torch(python) : null;
  const torchInfo = torch ? await torch.request({ cmd: "info" }) : null;
  const withTfjs = tfjsPresent();
  let tfjsInfo: Record<string, unknown> | null = null;
  if (withTfjs) {
    const probe = new Tfjs();
    tfjsInfo = await probe.request({ cmd: "info" }, 60);
    probe.close();
  }
  const info = gl.backendInfo();
  console.error(`gradlab: ${JSON.stringify(info.fast)}`);
  console.error(torch ? `PyTorch ${torchInfo?.torch}` : "PyTorch: not found (python3 -c 'import torch' failed), gradlab only");
  console.error(tfjsInfo ? `TF.js ${JSON.stringify(tfjsInfo)}` : "TF.js: off (--no-tfjs, or its devDependencies are not installed)");
  console.error(`median of ${reps} repetitions after one warm-up each; tokens/s of wall time`);
  const rows: Row[] = [];
  for (const name of configNames) {
    for (const cell of cells) rows.push(...(await measure(CONFIGS[name], cell, torch, tfjsInfo !== null)));
  }
  torch?.close();
  const gemm = has("--no-gemm") ? null : gemmSweep();
  const md = table(rows, "tokensPerSecond");
  const mdCpu = table(rows, "tokensPerCpuSecond");
  console.log(`\ncommand: npm run bench -- ${args.join(" ")}\n\ntokens per second of wall time\n\n${md}`);
  console.log(`\ntokens per second of the process's CPU time (all its threads)\n\n${mdCpu}`);
  const date = new Date().toISOString();
  const jsonPath = value("--json", freshResultPath(date.slice(0, 10)));
  mkdirSync(join(jsonPath, ".."), { recursive: true });
  const record = {
    date, command: `npm run bench -- ${args.join(" ")}`.trim(), reps,
    machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version, loadAverage: loadavg() },
    gradlab: info, torch: torchInfo, tfjs: tfjsInfo, sides: SIDES, configs: configNames.map((c) => CONFIGS[c]), rows, gemm, table: md, tableCpu: mdCpu,
  };
  writeFileSync(jsonPath, JSON.stringify(record, null, 2) + "\n");
  console.log(`\nwritten: ${jsonPath}`);
  // Worker threads of the fast backend keep the event loop alive.
  process.exit(0);
}

await main();
