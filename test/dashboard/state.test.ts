import { test } from "node:test";
import assert from "node:assert/strict";
import * as gl from "../../src/index.js";
import {
  type RunInfo,
  applyRecord,
  clipThreshold,
  cumulativeNonFinite,
  layerOf,
  newRun,
  parseRecordsJson,
  rollingMean,
  smooth,
} from "../../dashboard/page/state.js";

type Rec = gl.diagnostics.DiagnosticRecord;
const info = (config: Record<string, unknown> | null = null): RunInfo => ({ id: 0, name: "r", dir: "/r", config, summary: null, modified: null });
const train = (step: number, loss: number, extra: Record<string, unknown> = {}): Rec => ({ type: "train", step, loss, ...extra }) as Rec;
const param = (name: string, gradNorm: number | null, nonFinite = 0): gl.diagnostics.ParamStats => ({
  name, shape: [1], numel: 1, gradNorm, weightNorm: 1, updateRatio: null, zeroGradFraction: 0, nonFinite,
});
const flow = (step: number, params: gl.diagnostics.ParamStats[], flags: gl.diagnostics.Flag[] = []): Rec => ({ type: "gradflow", step, params, hidden: [], flags });

test("parameters are grouped into layers, recurrent ones by their _l<k> suffix", () => {
  assert.equal(layerOf("rnn.weight_ih_l0"), "rnn l0");
  assert.equal(layerOf("rnn.bias_hh_l1_reverse"), "rnn l1 reverse");
  assert.equal(layerOf("encoder.lstm.weight_hr_l2"), "encoder.lstm l2");
  assert.equal(layerOf("weight_hh_l0"), "rnn l0");
  assert.equal(layerOf("decoder.weight"), "decoder");
  assert.equal(layerOf("blocks.0.fc.bias"), "blocks.0.fc");
  assert.equal(layerOf("scale"), "scale");
});

test("records decode non-finite numbers written as strings, but not names or messages", () => {
  const r = parseRecordsJson<{ loss: number; gradNorm: number; lr: number; flags: { message: string; value: number }[] }>(
    '{"type":"train","loss":"NaN","gradNorm":"Infinity","lr":"-Infinity","flags":[{"message":"Infinity","value":"NaN"}]}',
  );
  assert.ok(Number.isNaN(r.loss));
  assert.equal(r.gradNorm, Infinity);
  assert.equal(r.lr, -Infinity);
  assert.equal(r.flags[0].message, "Infinity");
  assert.ok(Number.isNaN(r.flags[0].value));
});

test("real gradient-flow records of an LSTM language model give per-layer norms and a ‖∂J/∂h_t‖ row per probe", () => {
  gl.manualSeed(3);
  const model = new gl.models.RNNLM({ vocabSize: 11, embeddingDim: 6, hiddenSize: 5, numLayers: 2, cell: "lstm" });
  const opt = new gl.optim.Adam(model.parameters(), { lr: 1e-2 });
  const monitor = new gl.diagnostics.GradFlowMonitor(model);
  const recorder = new gl.diagnostics.JsonlRecorder();
  const input = gl.tensor(Int32Array.from({ length: 7 * 2 }, (_, i) => i % 11), { shape: [7, 2] });
  const target = gl.tensor(Int32Array.from({ length: 7 * 2 }, (_, i) => (i + 3) % 11), { shape: [7, 2] });
  for (let step = 1; step <= 3; step++) {
    const r = model.loss(input, target, null);
    opt.zeroGrad();
    r.loss.backward();
    monitor.beforeStep();
    opt.step();
    recorder.write({ type: "train", step, loss: r.loss.item(), lr: 1e-2 });
    recorder.write(monitor.afterStep({ step, loss: r.loss.item() }));
  }
  monitor.dispose();
  const run = newRun(info());
  // Through the same text the server sends: JSON lines spliced into one array.
  const records = parseRecordsJson<Rec[]>(`[${recorder.toString().trim().split("\n").join(",")}]`);
  for (const rec of records) applyRecord(run, rec);

  assert.deepEqual(run.train.step, [1, 2, 3]);
  assert.deepEqual(run.flow.step, [1, 2, 3]);
  assert.deepEqual([...run.flow.layers.keys()].sort(), ["decoder", "embedding", "rnn l0", "rnn l1"]);
  const last = records[records.length - 1] as gl.diagnostics.GradFlowRecord;
  const l1 = last.params.filter((p) => /_l1$/.test(p.name));
  assert.equal(l1.length, 4, "weight_ih, weight_hh, bias_ih, bias_hh of layer 1");
  const expected = Math.sqrt(l1.reduce((s, p) => s + p.gradNorm! ** 2, 0));
  assert.ok(Math.abs(run.flow.layers.get("rnn l1")![2]! - expected) < 1e-12, "a layer's norm is the L2 norm of its parameters' norms");
  assert.deepEqual([...run.hidden.keys()].sort(), ["rnn l0", "rnn l1"]);
  const h = run.hidden.get("rnn l0")!;
  assert.equal(h.rows.length, 3);
  assert.equal(h.rows[0].length, 7, "one value per time step of the window");
  assert.ok(h.rows.flat().every((v) => v > 0 && Number.isFinite(v)));
});

test("a layer that appears later is padded with gaps so its values stay aligned with the probes", () => {
  const run = newRun(info());
  applyRecord(run, flow(10, [param("a.w", 3), param("a.b", 4)]));
  applyRecord(run, flow(20, [param("a.w", 1), param("b.w", 2)]));
  applyRecord(run, flow(30, [param("a.w", 1), param("b.w", null)]));
  assert.deepEqual(run.flow.step, [10, 20, 30]);
  assert.deepEqual(run.flow.layers.get("a"), [5, 1, 1]);
  assert.deepEqual(run.flow.layers.get("b"), [null, 2, null]);
});

test("non-finite losses, gradients and skipped steps become events; repeated flags collapse into one row", () => {
  const run = newRun(info());
  applyRecord(run, train(1, 2.5));
  applyRecord(run, train(2, NaN, { skipped: true, gradNorm: NaN }));
  applyRecord(run, train(3, 2.4));
  applyRecord(run, train(4, 2.3, { gradNorm: Infinity }));
  applyRecord(run, flow(4, [param("rnn.weight_hh_l0", 1e-9, 0)], [{ kind: "vanishing", target: "rnn.weight_hh_l0", value: 1e-9, threshold: 1e-7, message: "tiny at 4" }]));
  applyRecord(run, flow(8, [param("rnn.weight_hh_l0", 1e-9, 2)], [{ kind: "vanishing", target: "rnn.weight_hh_l0", value: 1e-9, threshold: 1e-7, message: "tiny at 8" }]));
  assert.deepEqual(run.train.loss, [2.5, null, 2.4, 2.3], "a NaN loss is a gap in the plot, not a point");
  assert.deepEqual(run.nonFiniteSteps, [2, 4, 8]);
  assert.deepEqual(cumulativeNonFinite(run), [0, 1, 1, 2]);
  const rows = [...run.events.values()];
  const step = rows.find((r) => r.kind === "nonFinite" && r.target === "training step")!;
  assert.deepEqual([step.first, step.last, step.count], [2, 4, 2]);
  assert.match(step.message, /gradient norm Infinity/);
  const van = rows.find((r) => r.kind === "vanishing")!;
  assert.deepEqual([van.first, van.last, van.count, van.message], [4, 8, 2, "tiny at 8"]);
  assert.ok(rows.some((r) => r.kind === "nonFinite" && r.target === "gradients" && /2 non-finite gradient values at step 8/.test(r.message)));
});

test("a resumed run that repeats steps replaces what was recorded from that step on", () => {
  const run = newRun(info());
  for (let s = 1; s <= 10; s++) applyRecord(run, train(s, 10 - s * 0.1));
  applyRecord(run, { type: "eval", step: 5, loss: 9 });
  applyRecord(run, { type: "eval", step: 10, loss: 8 });
  applyRecord(run, flow(5, [param("a.w", 1)]));
  applyRecord(run, flow(10, [param("a.w", 1)], [{ kind: "exploding", target: "a.w", value: 1e4, threshold: 1e3, message: "big" }]));
  applyRecord(run, train(7, 1)); // resumed from the checkpoint of step 6
  assert.deepEqual(run.train.step, [1, 2, 3, 4, 5, 6, 7]);
  assert.equal(run.train.loss[6], 1);
  assert.equal(run.train.lr.length, 7);
  assert.deepEqual(run.evals.step, [5]);
  assert.deepEqual(run.flow.step, [5]);
  assert.deepEqual(run.flow.layers.get("a"), [1]);
  assert.equal(run.events.size, 0, "the flag raised after the resume point is gone");
});

test("clipping comes from clipFraction, or from the config's threshold for records without it", () => {
  const a = newRun(info());
  applyRecord(a, train(1, 1, { clipFraction: 1 }));
  applyRecord(a, train(2, 1, { clipFraction: 0 }));
  applyRecord(a, train(3, 1, { gradNorm: 5 }));
  assert.deepEqual(a.train.clip, [1, 0, null]);
  const b = newRun(info({ clipNorm: 1 }));
  applyRecord(b, train(1, 1, { gradNorm: 0.5 }));
  applyRecord(b, train(2, 1, { gradNorm: 1.5 }));
  assert.deepEqual(b.train.clip, [0, 1]);
  assert.equal(clipThreshold({ clipNorm: 0, globalClipNorm: 2 }), 2, "0 means off");
  assert.equal(clipThreshold({ lr: 1 }), null);
});

test("smoothing and rolling means", () => {
  assert.deepEqual(smooth([1, null, 3], 0.5), [1, null, 2]);
  assert.deepEqual(smooth([4, 2], 0), [4, 2]);
  assert.deepEqual(rollingMean([1, 0, null, 1, 1], 2), [1, 0.5, 0.5, 0.5, 1]);
  assert.deepEqual(rollingMean([null], 3), [null]);
});
