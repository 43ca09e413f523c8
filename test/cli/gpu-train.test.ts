import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as gl from "../../src/index.js";
import { GPU_LOG_EVERY, pickDevice } from "../../cli/gputrain.js";
import { LM_DEFAULTS, resolveConfig } from "../../cli/lmconfig.js";

// Like the other WebGPU tests: without an adapter these fail, unless GRADLAB_NO_WEBGPU=1 says so.
const noGpu = process.env.GRADLAB_NO_WEBGPU === "1" ? "GRADLAB_NO_WEBGPU=1" : false;
const cli = (args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", "cli/main.ts", ...args], { encoding: "utf8", timeout: 120_000 });
// --clip-norm below the gradient norm (~0.4 at the start) so clipping is part of what is compared.
const small = ["--hidden", "16", "--embedding", "8", "--batch", "4", "--bptt", "8", "--eval-every", "0", "--seed", "3", "--clip-norm", "0.3"];

type Rec = { type: string; step: number; loss: number; gradNorm: number };
const trainRecords = (dir: string): Map<number, Rec> =>
  new Map(readFileSync(join(dir, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Rec).filter((r) => r.type === "train").map((r) => [r.step, r]));
/** Every tensor of two checkpoints within 1e-3 of the largest magnitude of the CPU's. */
function checkpointsClose(tc: Record<string, gl.Tensor>, tg: Record<string, gl.Tensor>): void {
  for (const k of Object.keys(tc)) {
    const [a, b] = [tc[k].toArray(), tg[k].toArray()];
    let scale = 1e-3;
    for (const v of a) scale = Math.max(scale, Math.abs(v));
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= 1e-3 * scale, `${k}[${i}]: GPU ${b[i]} vs CPU ${a[i]}`);
  }
}
const close = (got: number, want: number, what: string, rtol = 1e-4) =>
  assert.ok(Math.abs(got - want) <= rtol * Math.abs(want), `${what}: ${got} vs ${want}`);

test("--device webgpu: losses and weights equal a CPU run's; checkpoints resume across devices; eval and sample read them", { skip: noGpu }, async () => {
  assert.equal(GPU_LOG_EVERY, 10, "the steps compared below are the GPU's logging steps");
  const root = mkdtempSync(join(tmpdir(), "gradlab-gpu-"));
  const [c, g, c2] = ["c", "g", "c2"].map((d) => join(root, d));
  let r = cli(["train", ...small, "--steps", "20", "--checkpoint-every", "10", "--out", c]);
  assert.equal(r.status, 0, r.stderr);
  r = cli(["train", ...small, "--steps", "10", "--checkpoint-every", "10", "--device", "webgpu", "--out", g]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /device: webgpu \(/);
  assert.match(r.stderr, /tok\/s \d+/);
  assert.equal(JSON.parse(readFileSync(join(g, "summary.json"), "utf8")).backend, "webgpu");
  const cpu = trainRecords(c);
  const gpu = trainRecords(g);
  assert.deepEqual([...gpu.keys()], [10], "the GPU reads the loss back only at logging steps");
  // The last logging step's loss arrives after the loop (one step late): the summary still has it.
  assert.equal(JSON.parse(readFileSync(join(g, "summary.json"), "utf8")).trainLoss, gpu.get(10)!.loss);
  close(gpu.get(10)!.loss, cpu.get(10)!.loss, "loss at step 10");
  close(gpu.get(10)!.gradNorm, cpu.get(10)!.gradNorm, "gradient norm at step 10", 1e-3);
  // Same checkpoint format, same names; weights and Adam's moments agree to float32 drift.
  const ck = (dir: string) => gl.io.loadSafetensors(join(dir, "checkpoints", "checkpoint-00000010.safetensors"));
  const [tc, tg] = [await ck(c), await ck(g)];
  assert.deepEqual(Object.keys(tg).sort(), Object.keys(tc).sort());
  checkpointsClose(tc, tg);

  const e = cli(["eval", g]);
  assert.equal(e.status, 0, e.stderr);
  assert.equal(JSON.parse(e.stdout).step, 10);
  const s = cli(["sample", g, "--prompt", "KING:", "--length", "20", "--seed", "1"]);
  assert.equal(s.status, 0, s.stderr);
  assert.equal(Array.from(s.stdout.replace(/\n$/, "")).length, "KING:".length + 20);

  // The GPU checkpoint (weights, Adam state, carried state, data position) continues on the CPU
  // with the CPU run's next losses.
  r = cli(["resume", g, "--steps", "20", "--device", "cpu"]);
  assert.equal(r.status, 0, r.stderr);
  const resumed = trainRecords(g);
  for (const step of [11, 12, 20]) close(resumed.get(step)!.loss, cpu.get(step)!.loss, `loss at step ${step} after resuming on the CPU`);

  // And a CPU checkpoint continues on the GPU ("auto" picks it for this configuration).
  r = cli(["train", ...small, "--steps", "10", "--checkpoint-every", "10", "--out", c2]);
  assert.equal(r.status, 0, r.stderr);
  r = cli(["resume", c2, "--steps", "20", "--device", "auto"]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /device: webgpu/);
  close(trainRecords(c2).get(20)!.loss, cpu.get(20)!.loss, "loss at step 20 after resuming on the GPU");
});

test("--device webgpu --layers 2: the same losses and weights as the CPU run; the carried [layers, B, H] state resumes on either device", { skip: noGpu }, async () => {
  const root = mkdtempSync(join(tmpdir(), "gradlab-gpu-l2-"));
  const [c, g, c2] = ["c", "g", "c2"].map((d) => join(root, d));
  const two = [...small, "--layers", "2", "--checkpoint-every", "10"];
  let r = cli(["train", ...two, "--steps", "20", "--out", c]);
  assert.equal(r.status, 0, r.stderr);
  r = cli(["train", ...two, "--steps", "10", "--device", "webgpu", "--out", g]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /device: webgpu \(/);
  const cpu = trainRecords(c);
  close(trainRecords(g).get(10)!.loss, cpu.get(10)!.loss, "2-layer loss at step 10");
  const ck = (dir: string) => gl.io.loadSafetensors(join(dir, "checkpoints", "checkpoint-00000010.safetensors"));
  const [tc, tg] = [await ck(c), await ck(g)];
  assert.ok("model.rnn.weight_ih_l1" in tg, "the second layer's weights, by PyTorch name");
  assert.deepEqual(Object.keys(tg).sort(), Object.keys(tc).sort());
  checkpointsClose(tc, tg);
  r = cli(["resume", g, "--steps", "12", "--device", "cpu"]);
  assert.equal(r.status, 0, r.stderr);
  for (const step of [11, 12]) close(trainRecords(g).get(step)!.loss, cpu.get(step)!.loss, `loss at step ${step} after resuming on the CPU`);
  r = cli(["train", ...two, "--steps", "10", "--out", c2]);
  assert.equal(r.status, 0, r.stderr);
  r = cli(["resume", c2, "--steps", "20", "--device", "webgpu"]);
  assert.equal(r.status, 0, r.stderr);
  close(trainRecords(c2).get(20)!.loss, cpu.get(20)!.loss, "2-layer loss at step 20 after resuming on the GPU");
});

test("--device webgpu with options the fused trainer lacks trains through the tensor ops on the GPU, as the CPU does", { skip: noGpu }, async () => {
  const root = mkdtempSync(join(tmpdir(), "gradlab-gpu-tensor-"));
  const [c, g] = ["c", "g"].map((d) => join(root, d));
  // Dropout (masks drawn on the host from the run's seed), a residual 2-layer RNN, SGD with
  // momentum and clipping by value: none of it in GpuRNNLM.
  const opts = [...small, "--cell", "rnn", "--layers", "2", "--skip", "residual", "--dropout", "0.1", "--optimizer", "sgd", "--lr", "0.05", "--clip-value", "0.05", "--checkpoint-every", "10"];
  let r = cli(["train", ...opts, "--steps", "22", "--out", c]);
  assert.equal(r.status, 0, r.stderr);
  r = cli(["train", ...opts, "--steps", "20", "--device", "webgpu", "--out", g]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /the fused GPU trainer lacks cell rnn .*; dropout 0.1 .*: training through gradlab's tensor ops on the GPU/);
  const cpu = trainRecords(c);
  const gpu = trainRecords(g);
  assert.deepEqual([...gpu.keys()], [10, 20], "the loss is read back at logging steps");
  for (const step of [10, 20]) close(gpu.get(step)!.loss, cpu.get(step)!.loss, `loss at step ${step}`, 1e-3);
  const ck = (dir: string) => gl.io.loadSafetensors(join(dir, "checkpoints", "checkpoint-00000020.safetensors"));
  const [tc, tg] = [await ck(c), await ck(g)];
  assert.deepEqual(Object.keys(tg).sort(), Object.keys(tc).sort());
  checkpointsClose(tc, tg);
  // The GPU run's checkpoint (weights, momentum buffers, carried state) continues on the CPU.
  r = cli(["resume", g, "--steps", "22", "--device", "cpu"]);
  assert.equal(r.status, 0, r.stderr);
  for (const step of [21, 22]) close(trainRecords(g).get(step)!.loss, cpu.get(step)!.loss, `loss at step ${step} after resuming on the CPU`, 1e-3);
  const s = cli(["sample", g, "--prompt", "KING:", "--length", "10", "--seed", "1"]);
  assert.equal(s.status, 0, s.stderr);
});

test("--device must name a device", () => {
  const out = join(mkdtempSync(join(tmpdir(), "gradlab-gpu-bad-")), "x");
  const r = cli(["train", "--device", "tpu", "--out", out]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /"device" must be one of cpu, webgpu, auto, got "tpu"/);
  assert.ok(!existsSync(out), "nothing written");
});

test("no GPU adapter: --device webgpu fails with requestGpu's reason; auto says it uses the CPU", async () => {
  const config = resolveConfig({});
  const none = { requestGpu: async () => null, reason: () => "Dawn found no adapter (tried backends: default, opengles)" };
  const lines: string[] = [];
  await assert.rejects(pickDevice(config, "webgpu", (l) => lines.push(l), none), /--device webgpu: no GPU adapter: Dawn found no adapter \(tried backends/);
  await assert.rejects(pickDevice({ ...config, dropout: 0.5 }, "webgpu", () => {}, none), /no GPU adapter/);
  assert.equal(await pickDevice(config, "auto", (l) => lines.push(l), none), null);
  assert.deepEqual(lines, ["device: cpu (no GPU: Dawn found no adapter (tried backends: default, opengles))"]);
  assert.equal(await pickDevice(config, "cpu", (l) => lines.push(l), none), null);
  assert.equal(LM_DEFAULTS.device, "cpu", "runs stay on the CPU unless asked");
});
