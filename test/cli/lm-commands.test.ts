import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as gl from "../../src/index.js";

const cli = (args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", "cli/main.ts", ...args], { encoding: "utf8", timeout: 120_000 });
const small = ["--hidden", "16", "--embedding", "8", "--batch", "4", "--bptt", "8", "--eval-every", "0"];

test("train N steps = train N/2, then resume in a new process to N: identical weights, optimizer state and losses", async () => {
  const root = mkdtempSync(join(tmpdir(), "gradlab-resume-"));
  const a = join(root, "a");
  const b = join(root, "b");
  let r = cli(["train", ...small, "--steps", "12", "--checkpoint-every", "6", "--out", a]);
  assert.equal(r.status, 0, r.stderr);
  r = cli(["train", ...small, "--steps", "6", "--checkpoint-every", "6", "--out", b]);
  assert.equal(r.status, 0, r.stderr);
  r = cli(["resume", b, "--steps", "12"]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /resuming .* \(step 6\) to step 12/);
  const ta = await gl.io.loadSafetensors(join(a, "checkpoints", "checkpoint-00000012.safetensors"));
  const tb = await gl.io.loadSafetensors(join(b, "checkpoints", "checkpoint-00000012.safetensors"));
  assert.deepEqual(Object.keys(ta).sort(), Object.keys(tb).sort());
  for (const k of Object.keys(ta)) assert.deepEqual(Array.from(ta[k].toArray()), Array.from(tb[k].toArray()), k);
  const losses = (dir: string) =>
    readFileSync(join(dir, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l)).filter((x) => x.type === "train").map((x) => x.loss);
  assert.deepEqual(losses(b), losses(a));
  assert.equal(JSON.parse(readFileSync(join(a, "summary.json"), "utf8")).steps, 12);
  assert.equal(losses(a).length, 12);

  const e = cli(["eval", a]);
  assert.equal(e.status, 0, e.stderr);
  const ev = JSON.parse(e.stdout);
  assert.equal(ev.step, 12);
  assert.ok(ev.loss > 0 && Math.abs(ev.perplexity - Math.exp(ev.loss)) < 1e-9 && Math.abs(ev.bitsPerChar - ev.loss / Math.LN2) < 1e-12);
  const s = cli(["sample", a, "--prompt", "KING:", "--length", "30", "--seed", "1"]);
  assert.equal(s.status, 0, s.stderr);
  assert.equal(Array.from(s.stdout.replace(/\n$/, "")).length, "KING:".length + 30);
});

test("config files are checked field by field; bad runs and files are named in errors", () => {
  const root = mkdtempSync(join(tmpdir(), "gradlab-config-"));
  const cfg = join(root, "c.json");
  writeFileSync(cfg, JSON.stringify({ cell: "lstmm", hiddenSize: 8 }));
  let r = cli(["train", "--config", cfg, "--out", join(root, "x")]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /"cell" must be one of lstm, gru, rnn, got "lstmm"/);
  writeFileSync(cfg, JSON.stringify({ hidenSize: 8 }));
  r = cli(["train", "--config", cfg]);
  assert.match(r.stderr, /unknown field "hidenSize"/);
  writeFileSync(cfg, "{ not json");
  r = cli(["train", "--config", cfg]);
  assert.match(r.stderr, /is not valid JSON/);
  r = cli(["train", "--data", join(root, "missing.txt"), "--steps", "1", "--out", join(root, "y")]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /cannot read data file .*missing\.txt: ENOENT/);
  r = cli(["resume", root]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /is not a run directory: .*config\.json is missing/);
  r = cli(["train", "--lr", "-1"]);
  assert.match(r.stderr, /--lr must be a number > 0, got "-1"/);
});

test("Ctrl-C during train finishes the step, writes a checkpoint, and resume continues from it", async () => {
  const { spawn } = await import("node:child_process");
  const dir = join(mkdtempSync(join(tmpdir(), "gradlab-sigint-")), "run");
  const child = spawn(process.execPath, ["--import", "tsx", "cli/main.ts", "train", ...small, "--steps", "1000000", "--checkpoint-every", "0", "--out", dir]);
  let err = "";
  child.stderr.setEncoding("utf8");
  const exited = new Promise<number | null>((res) => child.on("exit", (code) => res(code)));
  // Interrupt once training has started (the run's announcement), then give it a moment to step.
  await new Promise<void>((res) => child.stderr.on("data", (d: string) => {
    err += d;
    if (/training a 1-layer LSTM/.test(err)) res();
  }));
  await new Promise((r) => setTimeout(r, 1500));
  child.kill("SIGINT");
  assert.equal(await exited, 0, err);
  assert.match(err, /interrupted: finishing the current step and writing a checkpoint/);
  const m = /stopped at step (\d+); continue with: gradlab resume/.exec(err);
  assert.ok(m, err);
  const step = Number(m[1]);
  assert.ok(existsSync(join(dir, "checkpoints", `checkpoint-${String(step).padStart(8, "0")}.safetensors`)));
  const r = cli(["resume", dir, "--steps", String(step + 3)]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`\\(step ${step}\\) to step ${step + 3}`));
});
