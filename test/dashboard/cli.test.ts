import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "../..");

test("gradlab dashboard prints its address, serves the runs, and stops cleanly on Ctrl-C", { timeout: 60_000 }, async () => {
  const dir = join(mkdtempSync(join(tmpdir(), "gradlab-dash-cli-")), "run1");
  mkdirSync(dir);
  writeFileSync(join(dir, "metrics.jsonl"), '{"type":"train","step":1,"loss":3}\n');
  const child = spawn(process.execPath, ["--import", "tsx", "cli/main.ts", "dashboard", dir, "--port", "0"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (c) => (out += c));
  child.stderr.on("data", (c) => (err += c));
  const exited = new Promise<number | null>((ok) => child.on("exit", (code) => ok(code)));
  try {
    const t0 = Date.now();
    while (!/open (http:\/\/\S+)/.test(out)) {
      if (child.exitCode !== null || Date.now() - t0 > 45_000) assert.fail(`no address printed: ${out} ${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const url = /open (http:\/\/\S+)/.exec(out)![1];
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.match(err, /gradlab dashboard: 1 run \(run1\)/);
    const runs = (await (await fetch(url + "api/runs")).json()) as { name: string; records: number }[];
    assert.deepEqual(runs.map((r) => [r.name, r.records]), [["run1", 1]]);
    child.kill("SIGINT");
    assert.equal(await exited, 0, err);
  } finally {
    child.kill();
  }
});
