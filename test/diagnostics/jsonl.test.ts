import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as gl from "../../src/index.js";

const D = gl.diagnostics;

const flow: gl.diagnostics.GradFlowRecord = {
  type: "gradflow",
  step: 3,
  loss: NaN,
  params: [{ name: "NaN", shape: [2], numel: 2, gradNorm: Infinity, weightNorm: 1, updateRatio: null, zeroGradFraction: 0, nonFinite: 1 }],
  hidden: [{ module: "rnn", layer: 0, direction: "forward", dhNorm: [1e-300, 2, -Infinity], firstOverLast: null }],
  flags: [{ kind: "nonFinite", target: "Infinity", value: 1, threshold: 0, message: "NaN" }],
};

test("JSONL keeps non-finite numbers and leaves names alone", () => {
  const lines: string[] = [];
  const rec = new D.JsonlRecorder({ sink: (l) => lines.push(l) });
  rec.write({ type: "train", step: 1, loss: 0.5, lr: 1e-3 });
  rec.write(flow);
  assert.equal(lines.length, 2);
  assert.match(lines[1], /"loss":"NaN"/);
  assert.match(lines[1], /"dhNorm":\[1e-300,2,"-Infinity"\]/);
  const back = D.parseJsonl(rec.toString());
  assert.deepEqual(back, [{ type: "train", step: 1, loss: 0.5, lr: 1e-3 }, flow]);
  assert.deepEqual(D.parseJsonl(lines.join("\n") + "\n\n"), back);
  assert.deepEqual(rec.records, back);
  assert.throws(() => D.parseJsonl('{"type":"train"}\n{oops'), /line 2 is not JSON/);
});

test("the Node file sink appends one line per record", async () => {
  const dir = mkdtempSync(join(tmpdir(), "gradlab-jsonl-"));
  try {
    const path = join(dir, "sub", "run.jsonl");
    const rec = new D.JsonlRecorder({ sink: await D.openJsonlFile(path, { append: false }), keep: false });
    rec.write({ type: "train", step: 1, loss: 2 });
    rec.write({ type: "eval", step: 1, loss: 3, metrics: { acc: 0.5 } });
    assert.equal(rec.records.length, 0);
    const text = readFileSync(path, "utf8");
    assert.equal(text.split("\n").length, 3);
    assert.deepEqual(D.parseJsonl(text)[1], { type: "eval", step: 1, loss: 3, metrics: { acc: 0.5 } });
    const again = new D.JsonlRecorder({ sink: await D.openJsonlFile(path) });
    again.write({ type: "train", step: 2, loss: 1 });
    assert.equal(D.parseJsonl(readFileSync(path, "utf8")).length, 3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
