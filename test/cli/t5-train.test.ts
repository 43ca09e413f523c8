import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as gl from "../../src/index.js";

// The reference backend: resuming must reproduce losses bit for bit, which needs kernels whose
// results do not depend on anything but their inputs.
const cli = (args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", "cli/main.ts", ...args], { encoding: "utf8", timeout: 120_000, env: { ...process.env, GRADLAB_BACKEND: "js" } });

const dir = mkdtempSync(join(tmpdir(), "gradlab-t5train-"));
const MICRO = join(dir, "micro.json");
writeFileSync(MICRO, JSON.stringify({ d_model: 32, d_kv: 8, d_ff: 64, num_layers: 1, num_heads: 4, dropout_rate: 0 }));
const SHORT = ["--config", MICRO, "--batch-size", "4", "--eval-examples", "8"];

interface LogLine {
  type: string;
  step: number;
  loss?: number;
  accuracy?: number;
  [k: string]: unknown;
}
const readLog = (out: string): LogLine[] => readFileSync(join(out, "log.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
const trainLosses = (out: string) => readLog(out).filter((l) => l.type === "train").map((l) => l.loss);

test("t5 train (span corruption) writes a Hugging Face checkpoint that fromPretrained loads and t5 generate decodes", async () => {
  const out = join(dir, "span");
  const r = cli(["t5", "train", ...SHORT, "--steps", "12", "--window", "32", "--lr", "0.03", "--save-every", "5", "--out", out]);
  assert.equal(r.status, 0, r.stderr);
  for (const f of ["config.json", "model.safetensors", "generation_config.json", "spiece.model", "train_args.json", "log.jsonl", "trainer_state-00000012.safetensors"]) {
    assert.ok(existsSync(join(out, f)), f);
  }
  assert.deepEqual(readdirSync(out).filter((f) => f.startsWith("trainer_state")), ["trainer_state-00000012.safetensors"], "older trainer states are dropped");
  const summary = JSON.parse(r.stdout);
  assert.equal(summary.step, 12);
  assert.ok(summary.tokensPerSecond > 0 && Number.isFinite(summary.eval.loss));
  const losses = trainLosses(out);
  assert.equal(losses.length, 12);
  assert.ok(losses.slice(-3).reduce((a, b) => a! + b!, 0)! < losses.slice(0, 3).reduce((a, b) => a! + b!, 0)!, `span-corruption loss falls: ${losses.join(", ")}`);
  assert.match(r.stderr, /t5 train 12\/12 steps .* loss [\d.]+ +tok\/s \d+/);

  // The Hugging Face files hold the same weights as the trainer state they were saved with.
  const model = await gl.t5.T5ForConditionalGeneration.fromPretrained(out);
  const state = gl.io.decodeCheckpoint(new Uint8Array(readFileSync(join(out, "trainer_state-00000012.safetensors"))));
  for (const [name, t] of Object.entries(model.stateDict())) {
    assert.deepEqual(Array.from(t.toArray()), Array.from(state.tensors[`model.${name}`].toArray()), name);
  }
  const tok = await gl.t5.T5Tokenizer.fromFile(join(out, "spiece.model"));
  assert.equal(tok.vocabSize, model.config.vocabSize, "from scratch, the vocabulary is the bundled tokenizer's");
  const text = "To be, or not to be";
  const g = cli(["t5", "generate", "--model", out, "--max-new-tokens", "6", text]);
  assert.equal(g.status, 0, g.stderr);
  const ids = model.generate(gl.tensor([tok.encode(text)], { dtype: "int32" }), { maxNewTokens: 6 });
  assert.equal(g.stdout, tok.decode((ids.tolist() as number[][])[0], { skipSpecialTokens: true }) + "\n");
});

test("t5 train --resume continues exactly: the same losses, data order and result as one uninterrupted run", () => {
  // 18 training lines in batches of 4: the resumed half crosses an epoch boundary (a reshuffle).
  const tsv = join(dir, "pairs.tsv");
  const lines = Array.from({ length: 20 }, (_, i) => `copy: ${"abcdefghij"[i % 10]} ${i}\t${i} ${"abcdefghij"[i % 10]}`);
  writeFileSync(tsv, lines.join("\n") + "\n");
  const common = ["t5", "train", "--objective", "tasks", "--data", tsv, ...SHORT, "--save-every", "0"];
  const whole = join(dir, "whole");
  const parts = join(dir, "parts");
  const a = cli([...common, "--steps", "8", "--out", whole]);
  assert.equal(a.status, 0, a.stderr);
  const b1 = cli([...common, "--steps", "3", "--out", parts]);
  assert.equal(b1.status, 0, b1.stderr);
  const b2 = cli(["t5", "train", "--resume", parts, "--steps", "8"]);
  assert.equal(b2.status, 0, b2.stderr);
  assert.match(b2.stderr, /resuming .* \(step 3\) to step 8/);
  const wholeLog = readLog(whole).filter((l) => l.type === "train");
  const partsLog = readLog(parts).filter((l) => l.type === "train");
  assert.deepEqual(partsLog.map((l) => [l.step, l.loss, l.lr, l.tokens]), wholeLog.map((l) => [l.step, l.loss, l.lr, l.tokens]));
  assert.deepEqual(JSON.parse(b2.stdout).eval, JSON.parse(a.stdout).eval);
  assert.deepEqual(new Uint8Array(readFileSync(join(parts, "model.safetensors"))), new Uint8Array(readFileSync(join(whole, "model.safetensors"))));
  // A run at its target has nothing to do; settings cannot change on resume.
  const again = cli(["t5", "train", "--resume", parts, "--steps", "8"]);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /nothing to do: the run is at step 8/);
  const changed = cli(["t5", "train", "--resume", parts, "--lr", "0.1"]);
  assert.notEqual(changed.status, 0);
  assert.match(changed.stderr, /only --steps and --threads may be given with it, not --lr/);
});

test("t5 train on the generated tasks scores held-out exact match per task in the log", () => {
  const out = join(dir, "tasks");
  const r = cli(["t5", "train", "--objective", "tasks", ...SHORT, "--steps", "4", "--eval-every", "2", "--out", out]);
  assert.equal(r.status, 0, r.stderr);
  const evals = readLog(out).filter((l) => l.type === "eval");
  assert.deepEqual(evals.map((e) => e.step), [2, 4]);
  for (const e of evals) {
    assert.deepEqual(Object.keys(e).filter((k) => !["type", "step"].includes(k)).sort(), ["accuracy", "add", "reverse", "sort"]);
    for (const k of ["accuracy", "add", "reverse", "sort"]) assert.ok((e[k] as number) >= 0 && (e[k] as number) <= 1, k);
  }
  assert.deepEqual(JSON.parse(r.stdout).eval, Object.fromEntries(Object.entries(evals[1]).filter(([k]) => !["type", "step"].includes(k))));
});

test("t5 train refuses bad input with errors that name the file or option", () => {
  const fails = (args: string[], pattern: RegExp) => {
    const r = cli(["t5", "train", ...args]);
    assert.notEqual(r.status, 0, `${args.join(" ")} should fail`);
    assert.match(r.stderr, pattern, args.join(" "));
    assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
  };
  const out = () => join(dir, `bad-${Math.random().toString(36).slice(2)}`);
  fails(["--data", join(dir, "nope.txt"), "--out", out()], /cannot read data file .*nope\.txt: file not found/);
  const badTsv = join(dir, "bad.tsv");
  writeFileSync(badTsv, "a\tb\nno tab here\nc\td\n");
  fails(["--objective", "tasks", "--data", badTsv, "--out", out()], /bad\.tsv:2: expected "input<TAB>target", got "no tab here"/);
  const badJson = join(dir, "bad.json");
  writeFileSync(badJson, "{ d_model: 32");
  fails(["--config", badJson, "--out", out()], /config file .*bad\.json is not valid JSON/);
  const small = join(dir, "small-vocab.json");
  writeFileSync(small, JSON.stringify({ vocab_size: 50, d_model: 16, d_kv: 4, d_ff: 16, num_layers: 1, num_heads: 4 }));
  fails(["--config", small, "--out", out()], /tokenizer has 1100 ids .* model's vocabulary is 50/);
  fails(["--model", join(dir, "no-such-model"), "--out", out()], /no-such-model\/spiece\.model: file not found/);
  fails(["--model", "a", "--config", "tiny"], /--model and --config both say where to start/);
  fails(["--objective", "mlm"], /--objective <kind>' argument 'mlm' is invalid\. Allowed choices are span, tasks/);
  fails(["--steps", "0"], /--steps must be an integer ≥ 1, got "0"/);
  fails(["--resume", join(dir, "nothing-here")], /nothing-here is not a t5 training run: .*train_args\.json is missing/);
  const badSpm = join(dir, "bad.model");
  writeFileSync(badSpm, "garbage");
  fails(["--tokenizer", badSpm, "--out", out()], /bad\.model: not a SentencePiece ModelProto/);
  const taken = out();
  mkdirSync(taken);
  writeFileSync(join(taken, "train_args.json"), "{}");
  fails([...SHORT, "--out", taken], /already holds a training run; continue it with --resume/);
});

test("t5 train --resume refuses a truncated trainer state and edited training arguments, naming the file", () => {
  const out = join(dir, "truncated");
  const r = cli(["t5", "train", ...SHORT, "--steps", "1", "--window", "16", "--eval-examples", "4", "--out", out]);
  assert.equal(r.status, 0, r.stderr);
  const state = join(out, "trainer_state-00000001.safetensors");
  writeFileSync(state, readFileSync(state).subarray(0, 1000));
  const again = cli(["t5", "train", "--resume", out, "--steps", "2"]);
  assert.notEqual(again.status, 0);
  assert.match(again.stderr, /trainer_state-00000001\.safetensors: not a readable safetensors file \(truncated or corrupt\)/);
  const argsPath = join(out, "train_args.json");
  writeFileSync(argsPath, JSON.stringify({ ...JSON.parse(readFileSync(argsPath, "utf8")), batchSize: "big" }));
  const edited = cli(["t5", "train", "--resume", out, "--steps", "2"]);
  assert.notEqual(edited.status, 0);
  assert.match(edited.stderr, /train_args\.json: "batchSize" must be an integer ≥ 1/);
});
