// Central finite differences in float64 for what has no PyTorch fixture: the reset-before GRU,
// skip connections, merge modes, goBackwards, cells. Every parameter, the input and the states.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as gl from "../../../src/index.js";
import { gradcheck } from "../../helpers/gradcheck.js";

type Layer = gl.nn.LSTM | gl.nn.GRU | gl.nn.RNN;
const f64 = "float64" as const;
const g = (seed: number) => new gl.Generator(seed);

/** Checks d(output, final states)/d(input, h0, every parameter) of a layer. */
function checkLayer(m: Layer, T: number, B: number, lengths?: number[]): void {
  const shape = m.batchFirst ? [B, T, m.inputSize] : [T, B, m.inputSize];
  const x = gl.randn(shape, { dtype: f64, generator: g(1) }).requiresGrad_(true);
  const h0 = gl.randn([m.numLayers * m.numDirections, B, m.outSize], { dtype: f64, generator: g(2) }).requiresGrad_(true);
  const c0 = gl.randn([m.numLayers * m.numDirections, B, m.hiddenSize], { dtype: f64, generator: g(3) }).requiresGrad_(true);
  const lstm = m instanceof gl.nn.LSTM;
  const f = () => {
    if (m instanceof gl.nn.LSTM) {
      const [y, [h, c]] = m.forward(x, [h0, c0], { lengths });
      return gl.cat([y.flatten(), h.flatten(), c.flatten()]);
    }
    const [y, h] = m.forward(x, h0, { lengths });
    return gl.cat([y.flatten(), h.flatten()]);
  };
  gradcheck(f, [x, h0, ...(lstm ? [c0] : []), ...m.parameters()]);
}

test("gradcheck: GRU with the reset gate before the recurrent product, 2 layers, bidirectional, lengths", () => {
  checkLayer(new gl.nn.GRU({ inputSize: 3, hiddenSize: 3, numLayers: 2, bidirectional: true, resetAfter: false, dtype: f64, generator: g(10) }), 4, 2, [4, 2]);
});

test("gradcheck: GRU reset-before without bias", () => {
  checkLayer(new gl.nn.GRU({ inputSize: 2, hiddenSize: 3, bias: false, resetAfter: false, dtype: f64, generator: g(11) }), 4, 2);
});

test("reset-before and reset-after GRUs share a layout but compute different functions", () => {
  const a = new gl.nn.GRU({ inputSize: 2, hiddenSize: 3, dtype: f64, generator: g(12) });
  const b = new gl.nn.GRU({ inputSize: 2, hiddenSize: 3, dtype: f64, resetAfter: false });
  b.loadStateDict(a.stateDict());
  const x = gl.randn([3, 2, 2], { dtype: f64, generator: g(13) });
  const h0 = gl.randn([1, 2, 3], { dtype: f64, generator: g(14) });
  const ya = a.forward(x, h0)[0].toArray();
  const yb = b.forward(x, h0)[0].toArray();
  assert.ok(ya.some((v, i) => Math.abs(v - yb[i]) > 1e-6));
  // With h0 = 0 and b_hh = 0 the recurrent product vanishes, so the first step is the same.
  for (const m of [a, b]) m.layerParams(0, 0).bHh!.fill_(0);
  const za = a.forward(x.narrow(0, 0, 1))[0].toArray();
  const zb = b.forward(x.narrow(0, 0, 1))[0].toArray();
  za.forEach((v, i) => assert.ok(Math.abs(v - zb[i]) < 1e-15));
});

for (const skip of ["residual", "dense", "highway"] as const) {
  test(`gradcheck: ${skip} skip connections between stacked LSTM layers (widths differ at the input)`, () => {
    checkLayer(new gl.nn.LSTM({ inputSize: 2, hiddenSize: 3, numLayers: 3, skip, dtype: f64, generator: g(20) }), 3, 2, [3, 2]);
  });
}

for (const mergeMode of ["concat", "sum", "mul", "ave"] as const) {
  test(`gradcheck: bidirectional GRU, merge mode ${mergeMode}`, () => {
    checkLayer(new gl.nn.GRU({ inputSize: 2, hiddenSize: 2, numLayers: 2, bidirectional: true, mergeMode, dtype: f64, generator: g(30) }), 3, 2);
  });
}

test("gradcheck: goBackwards RNN with lengths, batchFirst", () => {
  checkLayer(new gl.nn.RNN({ inputSize: 3, hiddenSize: 3, goBackwards: true, batchFirst: true, dtype: f64, generator: g(40) }), 4, 3, [2, 4, 3]);
});

test("gradcheck: LSTM with projection, bidirectional, lengths (fused node)", () => {
  checkLayer(new gl.nn.LSTM({ inputSize: 2, hiddenSize: 3, projSize: 2, bidirectional: true, dtype: f64, generator: g(50) }), 4, 2, [1, 4]);
});

test("goBackwards reads each sequence from its end and returns outputs in that order (Keras)", () => {
  const m = new gl.nn.GRU({ inputSize: 2, hiddenSize: 3, goBackwards: true, dtype: f64, generator: g(60) });
  const plain = new gl.nn.GRU({ inputSize: 2, hiddenSize: 3, dtype: f64 });
  plain.loadStateDict(m.stateDict());
  const x = gl.randn([4, 1, 2], { dtype: f64, generator: g(61) });
  const flipped = gl.stack([3, 2, 1, 0].map((t) => x.select(0, t)), 0);
  const [y, h] = m.forward(x);
  const [y2, h2] = plain.forward(flipped);
  assert.deepEqual(Array.from(y.toArray()), Array.from(y2.toArray()));
  assert.deepEqual(Array.from(h.toArray()), Array.from(h2.toArray()));
});

test("highway gates start mostly closed (negative bias): the layer starts close to carrying its input", () => {
  const m = new gl.nn.RNN({ inputSize: 3, hiddenSize: 3, numLayers: 4, skip: "highway", highwayBias: -3, dtype: f64, generator: g(70) });
  const names = m.namedParameters().map(([n]) => n);
  assert.ok(names.includes("highway_weight_l3") && names.includes("highway_bias_l0"));
  assert.ok(!names.includes("highway_proj_l0"), "no projection where widths agree");
  assert.deepEqual(Array.from((m as unknown as Record<string, gl.Tensor>).highway_bias_l2.toArray()), [-3, -3, -3]);
});

test("residual skip adds a learned projection only where widths differ", () => {
  const m = new gl.nn.LSTM({ inputSize: 5, hiddenSize: 3, numLayers: 2, bidirectional: true, skip: "residual" });
  const p = Object.fromEntries(m.namedParameters());
  assert.deepEqual(p.residual_proj_l0.shape, [6, 5]);
  assert.equal(p.residual_proj_l1, undefined);
  // PyTorch's names still come first, so a PyTorch state dict's order is a prefix.
  assert.equal(m.namedParameters()[0][0], "weight_ih_l0");
  assert.equal(m.namedParameters().at(-1)![0], "residual_proj_l0");
});

test("dense skip widens each layer's input by the earlier layers' outputs", () => {
  const m = new gl.nn.GRU({ inputSize: 4, hiddenSize: 3, numLayers: 3, skip: "dense" });
  const p = Object.fromEntries(m.namedParameters());
  assert.deepEqual([p.weight_ih_l0.shape, p.weight_ih_l1.shape, p.weight_ih_l2.shape], [[9, 4], [9, 7], [9, 10]]);
  const [y] = m.forward(gl.randn([2, 1, 4]));
  assert.deepEqual(y.shape, [2, 1, 3]);
});

for (const [name, make] of [
  ["LSTMCell", () => new gl.nn.LSTMCell(3, 4, { dtype: f64, generator: g(80) })],
  ["GRUCell reset-before", () => new gl.nn.GRUCell(3, 4, { dtype: f64, resetAfter: false, generator: g(81) })],
  ["RNNCell relu", () => new gl.nn.RNNCell(3, 4, { dtype: f64, nonlinearity: "relu", generator: g(82) })],
] as const) {
  test(`gradcheck: ${name}, fused and composite agree`, () => {
    const cell = make();
    const x = gl.randn([2, 3], { dtype: f64, generator: g(83) }).requiresGrad_(true);
    const h = gl.randn([2, 4], { dtype: f64, generator: g(84) }).requiresGrad_(true);
    const c = gl.randn([2, 4], { dtype: f64, generator: g(85) }).requiresGrad_(true);
    const f = () => {
      if (cell instanceof gl.nn.LSTMCell) return gl.cat(cell.forward(x, [h, c]), 1);
      return cell.forward(x, h);
    };
    const inputs = [x, h, ...(cell instanceof gl.nn.LSTMCell ? [c] : []), ...cell.parameters()];
    gradcheck(f, inputs);
    const fused = f().toArray();
    cell.impl = "composite";
    const comp = f().toArray();
    fused.forEach((v, i) => assert.ok(Math.abs(v - comp[i]) < 1e-13));
  });
}
