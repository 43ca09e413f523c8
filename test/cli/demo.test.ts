import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const cli = (args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", "cli/main.ts", ...args], { encoding: "utf8", timeout: 120_000 });

test("gradlab demo trains, samples and writes a run directory with metrics, plots and a report", () => {
  const out = join(mkdtempSync(join(tmpdir(), "gradlab-demo-")), "run");
  const r = cli(["demo", "--seconds", "3", "--hidden", "32", "--batch", "8", "--bptt", "16", "--sample-length", "40", "--out", out]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /validation loss: \d+\.\d+ nats\/char/);
  assert.match(r.stdout, /^ROMEO:\n/);
  for (const f of ["config.json", "metrics.jsonl", "summary.json", "loss.svg", "gradnorm.svg", "hidden-grad.svg", "report.html"]) {
    assert.ok(existsSync(join(out, f)), `${f} missing`);
  }
  const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8"));
  // Untrained, the loss is ln(65) ≈ 4.17 nats per character; a few steps already lower it.
  assert.ok(summary.valLoss < 4.0, `validation loss ${summary.valLoss}`);
  const lines = readFileSync(join(out, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.ok(lines.some((l) => l.type === "gradflow" && l.hidden.length === 1 && l.hidden[0].dhNorm.length === 16));
  assert.match(readFileSync(join(out, "report.html"), "utf8"), /<svg[\s\S]*<svg[\s\S]*<svg/);
});

test("bad flags exit non-zero with a message naming the flag", () => {
  const r = cli(["demo", "--hidden", "-3"]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /--hidden must be an integer ≥ 1, got "-3"/);
  const u = cli(["nonsense"]);
  assert.notEqual(u.status, 0);
  assert.match(u.stderr, /unknown command 'nonsense'/);
});
