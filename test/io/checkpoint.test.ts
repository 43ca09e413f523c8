import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as gl from "../../src/index.js";
import { runMode } from "./checkpoint-child.js";

const CHILD = "test/io/checkpoint-child.ts";

function tmp(): string {
  return mkdtempSync(join(tmpdir(), "gradlab-ckpt-"));
}

class Small extends gl.nn.Module {
  lin: gl.nn.Linear;
  drop = new gl.nn.Dropout(0.5, { generator: new gl.Generator(9) });
  constructor(seed: number, out = 2) {
    super();
    this.lin = new gl.nn.Linear(3, out, { dtype: "float64", generator: new gl.Generator(seed) });
  }
}

function setup(seed: number, out = 2) {
  const model = new Small(seed, out);
  const optimizer = new gl.optim.Adam(model.parameters(), { lr: 0.1, amsgrad: true });
  const scheduler = new gl.optim.lrScheduler.StepLR(optimizer, { stepSize: 2, gamma: 0.5 });
  return { model, optimizer, scheduler };
}

function trainSteps(t: ReturnType<typeof setup>, n: number): void {
  for (let i = 0; i < n; i++) {
    const x = gl.randn([4, 3], { dtype: "float64" });
    t.optimizer.zeroGrad();
    t.model.drop.forward(t.model.lin.forward(x)).square().sum().backward();
    t.optimizer.step();
    t.scheduler.step();
  }
}

test("encode → restore continues bit-identically in one process, RNG states included", () => {
  gl.manualSeed(3);
  const a = setup(1);
  trainSteps(a, 3);
  const bytes = gl.io.encodeCheckpoint(a, { step: 3, dataPosition: { epoch: 0, batch: 3 }, extra: { note: "x" } });
  const b = setup(2);
  gl.manualSeed(99);
  const progress = gl.io.restoreCheckpoint(gl.io.decodeCheckpoint(bytes), b);
  assert.deepEqual(progress, { step: 3, dataPosition: { epoch: 0, batch: 3 }, extra: { note: "x" } });
  assert.deepEqual(gl.io.encodeCheckpoint(b, progress), bytes, "restored state re-encodes to the same bytes");
  // Both continue from the same global RNG state, restored by the checkpoint.
  const rng = gl.defaultGenerator.getState();
  trainSteps(a, 3);
  gl.defaultGenerator.setState(rng);
  trainSteps(b, 3);
  assert.deepEqual(gl.io.encodeCheckpoint(b, { step: 6 }), gl.io.encodeCheckpoint(a, { step: 6 }));
});

test("corrupt, truncated and foreign files are refused with a clear error before anything changes", () => {
  const a = setup(1);
  trainSteps(a, 2);
  const bytes = gl.io.encodeCheckpoint(a, { step: 2 });
  const flipped = bytes.slice();
  flipped[flipped.length - 5] ^= 0x10;
  assert.throws(() => gl.io.decodeCheckpoint(flipped, "f.safetensors"), /checkpoint f.safetensors: checksum mismatch .* the file is corrupt/);
  assert.throws(() => gl.io.decodeCheckpoint(bytes.slice(0, bytes.length - 100), "t.safetensors"), /checkpoint t.safetensors: not a readable safetensors file \(truncated or corrupt\)/);
  assert.throws(() => gl.io.decodeCheckpoint(bytes.slice(0, 5)), /truncated or corrupt/);
  const foreign = gl.io.writeSafetensors({ w: gl.zeros([2]) });
  assert.throws(() => gl.io.decodeCheckpoint(foreign), /not a gradlab checkpoint/);
  // A checkpoint of another architecture is refused and leaves the target as it was.
  const other = setup(5, 4);
  const before = other.model.lin.weight.toArray();
  assert.throws(() => gl.io.restoreCheckpoint(gl.io.decodeCheckpoint(bytes), other), /does not fit the model: shape mismatch for lin.weight \(checkpoint \[2,3\] vs model \[4,3\]\)/);
  assert.deepEqual(other.model.lin.weight.toArray(), before);
  const sgd = { model: setup(1).model, optimizer: new gl.optim.SGD(setup(1).model.parameters(), { lr: 1 }), scheduler: setup(1).scheduler };
  assert.throws(() => gl.io.restoreCheckpoint(gl.io.decodeCheckpoint(bytes), sgd), /holds Adam state, the optimizer is SGD/);
  assert.throws(() => gl.io.restoreCheckpoint(gl.io.decodeCheckpoint(bytes), { model: setup(1).model }), /has optimizer state but no optimizer was given/);
  assert.throws(() => gl.io.encodeCheckpoint(a, { step: 1, extra: { bad: NaN } }), /"bad" is NaN/);
});

test("saveCheckpoint keeps the newest K; loadLatestCheckpoint skips a truncated newer file", async () => {
  const dir = tmp();
  try {
    const a = setup(1);
    for (let s = 1; s <= 5; s++) {
      trainSteps(a, 1);
      await gl.io.saveCheckpoint(dir, a, { step: s }, { keepLast: 2 });
    }
    assert.deepEqual((await gl.io.listCheckpoints(dir)).map((c) => c.step), [4, 5]);
    const good = readFileSync(join(dir, "checkpoint-00000005.safetensors"));
    // A crash of a non-atomic writer: the step-6 file holds only part of its bytes, and a
    // temporary file of an interrupted atomic save lies beside it.
    trainSteps(a, 1);
    const next = gl.io.encodeCheckpoint(a, { step: 6 });
    writeFileSync(join(dir, "checkpoint-00000006.safetensors"), next.slice(0, next.length >> 1));
    writeFileSync(join(dir, ".checkpoint-00000007.safetensors.1234.x.tmp"), next.slice(0, 100));
    const b = setup(7);
    const r = await gl.io.loadLatestCheckpoint(dir, b);
    assert.equal(r!.step, 5);
    assert.equal(r!.skipped.length, 1);
    assert.match(r!.skipped[0].error, /checkpoint-00000006.safetensors: not a readable safetensors file \(truncated or corrupt\)/);
    assert.deepEqual(gl.io.encodeCheckpoint(b, { step: 5 }), new Uint8Array(good));
    await assert.rejects(gl.io.loadCheckpoint(join(dir, "checkpoint-00000006.safetensors"), b), /truncated or corrupt/);
    // The next save replaces the broken file and clears the stray temporary file.
    await gl.io.saveCheckpoint(dir, a, { step: 6 }, { keepLast: 2 });
    assert.deepEqual(readdirSync(dir).sort(), ["checkpoint-00000005.safetensors", "checkpoint-00000006.safetensors"]);
    assert.equal(await gl.io.loadLatestCheckpoint(tmp(), b), null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a process killed while writing a checkpoint leaves the last good one loadable", async (t) => {
  const dir = tmp();
  try {
    const child = spawn(process.execPath, ["--import", "tsx", CHILD, "big", dir, "0", ""], { stdio: ["ignore", "pipe", "inherit"] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (d: Buffer) => d.toString().includes("ready") && resolve());
      child.on("exit", (code) => reject(new Error(`child exited early with ${code}`)));
    });
    // Kill it as soon as a temporary file shows that the next save is under way.
    const deadline = Date.now() + 20_000;
    let midWrite = false;
    while (Date.now() < deadline) {
      if (readdirSync(dir).some((n) => n.endsWith(".tmp"))) {
        midWrite = true;
        break;
      }
    }
    child.kill("SIGKILL");
    await new Promise((r) => child.on("close", r));
    t.diagnostic(`killed ${midWrite ? "while a temporary file was being written" : "without seeing a temporary file"}; files: ${readdirSync(dir).join(", ")}`);
    gl.manualSeed(1);
    const model = new gl.nn.Linear(1000, 1000, { dtype: "float64" });
    const initial = model.weight.data[0];
    model.weight.data[0] = -1;
    const r = await gl.io.loadLatestCheckpoint(dir, { model });
    assert.ok(r && r.step >= 1);
    assert.deepEqual(r.skipped, [], "every checkpoint file present reads back whole");
    // The child marks each save's weights with its step number.
    assert.equal(model.weight.data[0], r.step === 1 ? initial : r.step);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("resume in a new process is bitwise identical to an uninterrupted run", async () => {
  const dir = tmp();
  try {
    const run = (...args: string[]) =>
      new Promise<void>((resolve, reject) => {
        const c = spawn(process.execPath, ["--import", "tsx", CHILD, ...args], { stdio: ["ignore", "ignore", "pipe"] });
        let err = "";
        c.stderr.on("data", (d: Buffer) => (err += d.toString()));
        c.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`child ${args[0]} failed (${code}): ${err}`))));
      });
    // The uninterrupted run and the first half run here; the second half in a fresh process.
    await runMode("full", dir, 12, join(dir, "full.bin"));
    await runMode("first", join(dir, "ckpt"), 12, "");
    assert.ok(existsSync(join(dir, "ckpt", "checkpoint-00000006.safetensors")));
    await run("second", join(dir, "ckpt"), "12", join(dir, "resumed.bin"));
    const full = gl.io.decodeCheckpoint(new Uint8Array(readFileSync(join(dir, "full.bin"))));
    const resumed = gl.io.decodeCheckpoint(new Uint8Array(readFileSync(join(dir, "resumed.bin"))));
    // Parameters, optimizer moments and steps, schedule, RNG states and data position, bit for bit.
    assert.deepEqual(Object.keys(resumed.tensors).sort(), Object.keys(full.tensors).sort());
    for (const [k, v] of Object.entries(full.tensors)) assert.deepEqual(resumed.tensors[k].toArray(), v.toArray(), k);
    assert.deepEqual(resumed.meta, full.meta);
    assert.ok(Object.keys(full.meta.rng).length >= 3, `generators saved: ${Object.keys(full.meta.rng)}`);
    assert.ok(full.meta.optimizer!.numbers["0"].step === 12);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
