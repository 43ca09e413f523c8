import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as gl from "../../src/index.js";
import { assertClose } from "../helpers/gradcheck.js";

const D = gl.diagnostics;
const f64 = { dtype: "float64" as const };

class TwoLayer extends gl.nn.Module {
  w1: gl.nn.Parameter;
  w2: gl.nn.Parameter;
  constructor(seed: number) {
    super();
    const g = new gl.Generator(seed);
    this.w1 = new gl.nn.Parameter(gl.randn([4, 3], { ...f64, generator: g }));
    this.w2 = new gl.nn.Parameter(gl.randn([2, 4], { ...f64, generator: g }));
  }
  override forward(x: gl.Tensor): gl.Tensor {
    return this.w2.matmul(this.w1.matmul(x).relu());
  }
}

test("per-parameter statistics: norms, zero fraction, non-finite count, update ratio", () => {
  const m = new TwoLayer(1);
  const x = gl.randn([3, 5], { ...f64, generator: new gl.Generator(2) });
  m.forward(x).square().sum().backward();
  const mon = new D.GradFlowMonitor(m);
  mon.beforeStep();
  const w1Before = m.w1.toArray();
  const g1 = m.w1.grad!.toArray();
  const opt = new gl.optim.SGD(m.parameters(), { lr: 0.01 });
  opt.step();
  const rec = mon.afterStep({ step: 1, loss: 2.5 });
  assert.equal(rec.type, "gradflow");
  assert.equal(rec.loss, 2.5);
  assert.deepEqual(rec.params.map((p) => p.name), ["w1", "w2"]);
  const s1 = rec.params[0];
  const norm = (a: ArrayLike<number>) => Math.sqrt(Array.from(a).reduce((s, v) => s + v * v, 0));
  assertClose([s1.gradNorm!, s1.weightNorm], [norm(g1), norm(w1Before)], 1e-14, 1e-14);
  assert.equal(s1.zeroGradFraction, Array.from(g1).filter((v) => v === 0).length / 12);
  // SGD moves w by lr·g, so the ratio is lr·‖g‖/‖w‖.
  assertClose([s1.updateRatio!], [(0.01 * norm(g1)) / norm(w1Before)], 1e-14, 1e-12);
  assert.equal(s1.nonFinite, 0);
  assert.deepEqual(s1.shape, [4, 3]);
  assert.deepEqual(rec.hidden, []);
  assert.deepEqual(rec.flags, []);
  assert.throws(() => mon.afterStep({ step: 2 }), /call beforeStep\(\)/);
});

test("flags: vanishing, exploding and non-finite gradients against the documented thresholds", () => {
  const m = new TwoLayer(3);
  m.w1.grad = gl.fullLike(m.w1, 1e-9);
  m.w2.grad = gl.fullLike(m.w2, 1e4);
  const mon = new D.GradFlowMonitor(m);
  let rec = mon.collect({ step: 7 });
  assert.deepEqual(rec.flags.map((f) => [f.kind, f.target]), [["vanishing", "w1"], ["exploding", "w2"]]);
  assert.equal(rec.flags[0].threshold, D.DEFAULT_THRESHOLDS.vanishingGradNorm);
  assert.equal(rec.params[0].updateRatio, null);
  m.w2.grad = gl.tensor([[NaN, 1, 1, 1], [1, 1, Infinity, 1]], f64);
  m.w1.grad = gl.fullLike(m.w1, 1);
  rec = mon.collect({ step: 8 });
  assert.equal(rec.params[1].nonFinite, 2);
  assert.deepEqual(rec.flags.map((f) => [f.kind, f.target, f.value]), [["nonFinite", "w2", 2]]);
  // Thresholds are options.
  const strict = new D.GradFlowMonitor(m, { thresholds: { explodingGradNorm: 1 } });
  assert.deepEqual(strict.collect({ step: 9 }).flags.map((f) => f.kind), ["exploding", "nonFinite"]);
});

/**
 * The brute force: the same RNN unrolled step by step from its own parameters with primitives,
 * keeping every h_t's gradient (the total derivative through all later steps).
 */
function bruteForceDhNorms(rnn: gl.nn.RNN, x: gl.Tensor, R: gl.Tensor): number[] {
  const sd = rnn.stateDict();
  const [T, B] = x.shape;
  const H = rnn.hiddenSize;
  let h = gl.zeros([B, H], { ...f64, requiresGrad: true });
  const hs: gl.Tensor[] = [];
  let J = gl.zeros([], f64);
  for (let t = 0; t < T; t++) {
    const pre = x.select(0, t).matmul(sd.weight_ih_l0.t()).add(sd.bias_ih_l0).add(h.matmul(sd.weight_hh_l0.t())).add(sd.bias_hh_l0);
    h = pre.tanh();
    h.retainGrad();
    hs.push(h);
    J = J.add(h.mul(R.select(0, t)).sum());
  }
  J.backward();
  return hs.map((ht) => Math.sqrt(Array.from(ht.grad!.toArray()).reduce((s, v) => s + v * v, 0)));
}

test("per-time-step ‖∂J/∂h_t‖ of a vanilla RNN equal a brute-force unrolled computation", () => {
  const rnn = new gl.nn.RNN({ inputSize: 3, hiddenSize: 5, dtype: "float64", generator: new gl.Generator(4) });
  const x = gl.randn([12, 2, 3], { ...f64, generator: new gl.Generator(5) });
  const R = gl.randn([12, 2, 5], { ...f64, generator: new gl.Generator(6) });
  const mon = new D.GradFlowMonitor(rnn);
  assert.equal(mon.hookedModules, 1);
  const [y] = rnn.forward(x);
  y.mul(R).sum().backward();
  const rec = mon.collect({ step: 1 });
  assert.equal(rec.hidden.length, 1);
  const h = rec.hidden[0];
  assert.deepEqual([h.module, h.layer, h.direction], ["", 0, "forward"]);
  const want = bruteForceDhNorms(rnn, x, R);
  assertClose(h.dhNorm, want, 1e-13, 1e-11, "‖∂J/∂h_t‖");
  assertClose([h.firstOverLast!], [want[0] / want[11]], 1e-13, 1e-11);
  // Records are cleared after collection; removing the hooks stops further reports.
  mon.dispose();
  rnn.forward(x)[0].sum().backward();
  assert.deepEqual(mon.collect({ step: 2 }).hidden, []);
});

test("bidirectional two-layer LSTM inside a model: one entry per layer and direction, named by module path", () => {
  class Model extends gl.nn.Module {
    encoder = new gl.nn.LSTM({ inputSize: 2, hiddenSize: 3, numLayers: 2, bidirectional: true, dtype: "float64", generator: new gl.Generator(8) });
  }
  const m = new Model();
  const mon = new D.GradFlowMonitor(m);
  const x = gl.randn([30, 1, 2], { ...f64, generator: new gl.Generator(9) });
  // Only the last output step enters the loss, so the forward direction's gradient must travel
  // the whole sequence while the reverse direction's gets it directly at t = T−1.
  const [y] = m.encoder.forward(x);
  y.select(0, 29).sum().backward();
  const rec = mon.collect({ step: 3 });
  const keys = rec.hidden.map((h) => `${h.module}/${h.layer}/${h.direction}`).sort();
  assert.deepEqual(keys, ["encoder/0/forward", "encoder/0/reverse", "encoder/1/forward", "encoder/1/reverse"]);
  for (const h of rec.hidden) assert.equal(h.dhNorm.length, 30);
  const top = rec.hidden.find((h) => h.layer === 1 && h.direction === "forward")!;
  assert.ok(top.firstOverLast! < 1e-2, `forward ratio ${top.firstOverLast}`);
  const rev = rec.hidden.find((h) => h.layer === 1 && h.direction === "reverse")!;
  // Reverse direction: only its first processed step (t = T−1) receives gradient, so nothing
  // arrives at its last processed step and the ratio is undefined.
  assert.equal(rev.firstOverLast, null);
  assert.ok(rev.dhNorm[29] > 0);
});

test("the monitor's ‖∂J/∂h_t‖ and ratio equal PyTorch's for RNN, LSTM and GRU, and all are flagged vanishing", () => {
  for (const kind of ["rnn", "lstm", "gru"] as const) {
    const t = gl.io.readSafetensors(new Uint8Array(readFileSync(new URL(`../fixtures/gradflow/${kind}.safetensors`, import.meta.url))), kind);
    const opts = { inputSize: 8, hiddenSize: 16, dtype: "float64" as const };
    const m = kind === "lstm" ? new gl.nn.LSTM(opts) : kind === "gru" ? new gl.nn.GRU(opts) : new gl.nn.RNN(opts);
    const sd: Record<string, gl.Tensor> = {};
    for (const [k, v] of Object.entries(t)) if (k.startsWith("param.")) sd[k.slice(6)] = v;
    m.loadStateDict(sd);
    const mon = new D.GradFlowMonitor(m);
    const out = m.forward(t.x) as [gl.Tensor, gl.Tensor | [gl.Tensor, gl.Tensor]];
    const hN = Array.isArray(out[1]) ? out[1][0] : out[1];
    hN.select(0, 0).matmul(t.v).sum().backward();
    const rec = mon.collect({ step: 0 });
    const want = Array.from(t.dJ_dh_norm.toArray());
    assertClose(rec.hidden[0].dhNorm, want, 0, 1e-9, `${kind} ‖∂J/∂h_t‖`);
    assertClose([rec.hidden[0].firstOverLast!], [want[0] / want[want.length - 1]], 0, 1e-9);
    assert.deepEqual(rec.flags.map((f) => [f.kind, f.target]), [["vanishing", "<model>[layer 0, forward]"]]);
  }
});
