// The fused node (hand-written backward) against its composite twin (autograd through
// primitives): outputs, final states and every gradient, on random configurations.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as gl from "../../../src/index.js";
import { assertClose } from "../../helpers/gradcheck.js";

type Layer = gl.nn.LSTM | gl.nn.GRU | gl.nn.RNN;

interface Case {
  name: string;
  make: () => Layer;
  T: number;
  B: number;
  lengths?: number[];
  withState?: boolean;
}

const g = (seed: number) => new gl.Generator(seed);
const f64 = "float64" as const;
const cases: Case[] = [
  {
    name: "LSTM, 2 layers, bidirectional, projSize, lengths, given state",
    make: () => new gl.nn.LSTM({ inputSize: 3, hiddenSize: 5, projSize: 2, numLayers: 2, bidirectional: true, dtype: f64, generator: g(1) }),
    T: 6, B: 4, lengths: [3, 6, 1, 5], withState: true,
  },
  {
    name: "LSTM without bias, batchFirst, forgetBias and orthogonal init",
    make: () => new gl.nn.LSTM({ inputSize: 2, hiddenSize: 4, bias: false, batchFirst: true, forgetBias: 1, init: { recurrent: "orthogonal" }, dtype: f64, generator: g(2) }),
    T: 5, B: 3,
  },
  {
    name: "GRU reset-before (Cho et al.), 2 layers, bidirectional, lengths",
    make: () => new gl.nn.GRU({ inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true, resetAfter: false, dtype: f64, generator: g(3) }),
    T: 5, B: 3, lengths: [2, 5, 4], withState: true,
  },
  {
    name: "GRU reset-after, no bias, 3 layers",
    make: () => new gl.nn.GRU({ inputSize: 2, hiddenSize: 3, numLayers: 3, bias: false, dtype: f64, generator: g(4) }),
    T: 4, B: 2, withState: true,
  },
  {
    name: "RNN relu, bidirectional, lengths, batchFirst",
    make: () => new gl.nn.RNN({ inputSize: 3, hiddenSize: 4, nonlinearity: "relu", bidirectional: true, batchFirst: true, dtype: f64, generator: g(5) }),
    T: 5, B: 3, lengths: [5, 1, 3],
  },
  {
    name: "LSTM, bidirectional 'ave' merge, residual skip, goBackwards, lengths",
    make: () => new gl.nn.LSTM({ inputSize: 3, hiddenSize: 3, numLayers: 2, bidirectional: true, mergeMode: "ave", skip: "residual", goBackwards: true, dtype: f64, generator: g(6) }),
    T: 4, B: 3, lengths: [4, 2, 3],
  },
  {
    name: "GRU, dense skip, 'mul' merge",
    make: () => new gl.nn.GRU({ inputSize: 2, hiddenSize: 3, numLayers: 3, bidirectional: true, mergeMode: "mul", skip: "dense", dtype: f64, generator: g(7) }),
    T: 4, B: 2,
  },
  {
    name: "RNN tanh, highway skip, 'sum' merge, lengths",
    make: () => new gl.nn.RNN({ inputSize: 4, hiddenSize: 3, numLayers: 2, bidirectional: true, mergeMode: "sum", skip: "highway", dtype: f64, generator: g(8) }),
    T: 4, B: 3, lengths: [1, 4, 2],
  },
];

interface Run {
  out: Float64Array[];
  grads: Float64Array[];
}

function run(m: Layer, c: Case, impl: gl.nn.RecurrentImpl): Run {
  m.impl = impl;
  m.zeroGrad();
  const I = m.inputSize;
  const shape = m.batchFirst ? [c.B, c.T, I] : [c.T, c.B, I];
  const x = gl.randn(shape, { dtype: f64, generator: g(100) }).requiresGrad_(true);
  const LD = m.numLayers * m.numDirections;
  const h0 = c.withState ? gl.randn([LD, c.B, m.outSize], { dtype: f64, generator: g(101) }).requiresGrad_(true) : null;
  const c0 = c.withState ? gl.randn([LD, c.B, m.hiddenSize], { dtype: f64, generator: g(102) }).requiresGrad_(true) : null;
  const opts = { lengths: c.lengths };
  let outs: gl.Tensor[];
  if (m instanceof gl.nn.LSTM) {
    const [y, [h, cc]] = m.forward(x, h0 && c0 ? [h0, c0] : null, opts);
    outs = [y, h, cc];
  } else {
    const [y, h] = m.forward(x, h0, opts);
    outs = [y, h];
  }
  let loss = gl.zeros([], { dtype: f64 });
  outs.forEach((o, i) => (loss = loss.add(o.mul(gl.randn(o.shape, { dtype: f64, generator: g(200 + i) })).sum())));
  loss.backward();
  const leaves = [x, ...(h0 ? [h0] : []), ...(c0 && m instanceof gl.nn.LSTM ? [c0] : []), ...m.parameters()];
  return {
    out: outs.map((o) => o.toArray() as Float64Array),
    grads: leaves.map((t) => (t.grad ? (t.grad.toArray() as Float64Array) : new Float64Array(t.numel()))),
  };
}

for (const c of cases) {
  test(`fused == composite: ${c.name}`, () => {
    const m = c.make();
    const a = run(m, c, "fused");
    const b = run(m, c, "composite");
    a.out.forEach((v, i) => assertClose(v, b.out[i], 1e-12, 1e-9, `output ${i}`));
    assert.equal(a.grads.length, b.grads.length);
    a.grads.forEach((v, i) => assertClose(v, b.grads[i], 1e-12, 1e-9, `gradient ${i}`));
    // Nothing vacuous: every gradient carries signal.
    for (const v of a.grads) assert.ok(v.some((e) => e !== 0));
  });
}

test("outputs are zero past each length and the final state is each sequence's last valid one", () => {
  const m = new gl.nn.GRU({ inputSize: 2, hiddenSize: 3, dtype: f64, generator: g(9) });
  const x = gl.randn([5, 2, 2], { dtype: f64, generator: g(10) });
  const [y, h] = m.forward(x, null, { lengths: [3, 5] });
  for (let t = 3; t < 5; t++) assert.deepEqual(Array.from(y.select(0, t).select(0, 0).toArray()), [0, 0, 0]);
  // Sequence 0 alone, cut to its length, gives the same state.
  const [y0, h0] = m.forward(x.narrow(0, 0, 3).narrow(1, 0, 1));
  assertClose(h.select(1, 0).toArray(), h0.select(1, 0).toArray(), 1e-15, 0, "h of sequence 0");
  assertClose(y.narrow(0, 0, 3).narrow(1, 0, 1).toArray(), y0.toArray(), 1e-15, 0, "y of sequence 0");
});

test("the reverse direction starts at each sequence's own end", () => {
  const m = new gl.nn.LSTM({ inputSize: 2, hiddenSize: 3, bidirectional: true, dtype: f64, generator: g(11) });
  const x = gl.randn([6, 2, 2], { dtype: f64, generator: g(12) });
  const [y, [h]] = m.forward(x, null, { lengths: [6, 4] });
  const [yAlone, [hAlone]] = m.forward(x.narrow(0, 0, 4).narrow(1, 1, 1));
  assertClose(y.narrow(0, 0, 4).narrow(1, 1, 1).toArray(), yAlone.toArray(), 1e-15, 0, "y of sequence 1");
  assertClose(h.narrow(1, 1, 1).toArray(), hAlone.toArray(), 1e-15, 0, "h of sequence 1");
});

test("float32 on the default backend: fused == composite to float32 tolerance (LSTM and GRU, lengths, bidirectional)", () => {
  for (const make of [
    () => new gl.nn.LSTM({ inputSize: 7, hiddenSize: 24, numLayers: 2, bidirectional: true, generator: g(20) }),
    () => new gl.nn.GRU({ inputSize: 7, hiddenSize: 24, numLayers: 2, bidirectional: true, generator: g(21) }),
    () => new gl.nn.GRU({ inputSize: 7, hiddenSize: 24, resetAfter: false, generator: g(22) }),
  ]) {
    const m = make();
    const res = (["fused", "composite"] as const).map((impl) => {
      m.impl = impl;
      m.zeroGrad();
      const x = gl.randn([9, 5, 7], { generator: g(23) }).requiresGrad_(true);
      const y = m.forward(x, null, { lengths: [9, 3, 7, 1, 8] })[0];
      y.mul(gl.randn(y.shape, { generator: g(24) })).sum().backward();
      return [y.toArray(), x.grad!.toArray(), ...m.parameters().map((p) => p.grad!.toArray())];
    });
    res[0].forEach((v, i) => assertClose(v, res[1][i], 1e-5, 1e-4, `${m.constructor.name} tensor ${i}`));
  }
});
