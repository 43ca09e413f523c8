// registerGradHook: ∂J/∂h_t (and ∂J/∂c_t) per layer and direction, checked against PyTorch's
// gradient-flow fixtures and against the composite twin.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as gl from "../../../src/index.js";
import { assertClose } from "../../helpers/gradcheck.js";

const dir = new URL("../../fixtures/gradflow/", import.meta.url);

function stepNorms(dh: gl.Tensor): number[] {
  const [T, B, H] = dh.shape;
  const a = dh.toArray();
  return Array.from({ length: T }, (_, t) => {
    let s = 0;
    for (let k = t * B * H; k < (t + 1) * B * H; k++) s += a[k] * a[k];
    return Math.sqrt(s);
  });
}

for (const kind of ["rnn", "lstm", "gru"] as const) {
  for (const impl of ["fused", "composite"] as const) {
    test(`${kind} (${impl}): the hook's ‖∂J/∂h_t‖ equals PyTorch's for t = 1..T`, () => {
      const t = gl.io.readSafetensors(new Uint8Array(readFileSync(new URL(`${kind}.safetensors`, dir))), kind);
      const opts = { inputSize: 8, hiddenSize: 16, dtype: "float64" as const, impl };
      const m = kind === "lstm" ? new gl.nn.LSTM(opts) : kind === "gru" ? new gl.nn.GRU(opts) : new gl.nn.RNN(opts);
      const sd: Record<string, gl.Tensor> = {};
      for (const [k, v] of Object.entries(t)) if (k.startsWith("param.")) sd[k.slice(6)] = v;
      m.loadStateDict(sd);
      const seen: gl.nn.RecurrentGrad[] = [];
      m.registerGradHook((g) => seen.push(g));
      const w = m.layerParams(0, 0).wIh;
      w.requiresGrad_(true);
      const hN = m instanceof gl.nn.LSTM ? m.forward(t.x)[1][0] : m.forward(t.x)[1];
      hN.select(0, 0).matmul(t.v).sum().backward();
      assert.equal(seen.length, 1);
      assert.equal(seen[0].layer, 0);
      assert.equal(seen[0].direction, "forward");
      assert.deepEqual(seen[0].dh.shape, [40, 4, 16]);
      assert.equal(seen[0].dc !== undefined, kind === "lstm");
      const norms = stepNorms(seen[0].dh);
      const want = t.dJ_dh_norm.toArray();
      assertClose(norms, want, 0, 1e-9, `${kind} dJ/dh norms`);
      // The fixture's point: gradients vanish over 40 steps, by orders of magnitude.
      assert.ok(norms[0] / norms[39] < 1e-7, `ratio ${norms[0] / norms[39]}`);
    });
  }
}

function randomLSTM(impl: "fused" | "composite"): gl.nn.LSTM {
  return new gl.nn.LSTM({
    inputSize: 3, hiddenSize: 5, projSize: 2, numLayers: 2, bidirectional: true, dtype: "float64", impl,
    generator: new gl.Generator(7),
  });
}

test("hooks: one call per layer and direction, equal in the fused node and the composite twin, with lengths", () => {
  const x = gl.randn([6, 3, 3], { dtype: "float64", generator: new gl.Generator(1) }).requiresGrad_(true);
  const R = gl.randn([6, 3, 4], { dtype: "float64", generator: new gl.Generator(2) });
  const got: Record<string, gl.nn.RecurrentGrad[]> = {};
  for (const impl of ["fused", "composite"] as const) {
    const m = randomLSTM(impl);
    const calls: gl.nn.RecurrentGrad[] = [];
    m.registerGradHook((g) => calls.push(g));
    const [y, [h, c]] = m.forward(x, null, { lengths: [4, 6, 2] });
    y.mul(R).sum().add(h.sum()).add(c.mul(c).sum()).backward();
    got[impl] = calls;
  }
  const key = (g: gl.nn.RecurrentGrad) => `${g.layer}/${g.direction}`;
  assert.deepEqual(got.fused.map(key).sort(), ["0/forward", "0/reverse", "1/forward", "1/reverse"]);
  assert.deepEqual(got.composite.map(key).sort(), got.fused.map(key).sort());
  for (const g of got.fused) {
    const twin = got.composite.find((c) => key(c) === key(g))!;
    assert.deepEqual(g.dh.shape, [6, 3, 2]);
    assert.deepEqual(g.dc!.shape, [6, 3, 5]);
    assertClose(g.dh.toArray(), twin.dh.toArray(), 1e-12, 1e-9, `dh ${key(g)}`);
    assertClose(g.dc!.toArray(), twin.dc!.toArray(), 1e-12, 1e-9, `dc ${key(g)}`);
  }
});

test("a removed hook is no longer called, and a forward made without hooks reports nothing", () => {
  const m = new gl.nn.GRU({ inputSize: 2, hiddenSize: 3, dtype: "float64" });
  let calls = 0;
  const remove = m.registerGradHook(() => calls++);
  const x = gl.randn([4, 2, 2], { dtype: "float64" });
  m.forward(x)[0].sum().backward();
  assert.equal(calls, 1);
  remove();
  m.forward(x)[0].sum().backward();
  assert.equal(calls, 1);
});

test("the hook's dh at step t is the gradient of the state h_t (checked against retained per-step states)", () => {
  // A one-layer GRU unrolled by hand through GRUCell shares the parameters; its h_t.grad is ∂J/∂h_t.
  const m = new gl.nn.GRU({ inputSize: 2, hiddenSize: 3, dtype: "float64", generator: new gl.Generator(3) });
  const cell = new gl.nn.GRUCell(2, 3, { dtype: "float64" });
  cell.loadStateDict({
    weight_ih: m.layerParams(0, 0).wIh, weight_hh: m.layerParams(0, 0).wHh,
    bias_ih: m.layerParams(0, 0).bIh!, bias_hh: m.layerParams(0, 0).bHh!,
  });
  const x = gl.randn([5, 2, 2], { dtype: "float64", generator: new gl.Generator(4) });
  const R = gl.randn([5, 2, 3], { dtype: "float64", generator: new gl.Generator(5) });
  let dh: gl.Tensor | null = null;
  m.registerGradHook((g) => (dh = g.dh));
  x.requiresGrad_(true);
  m.forward(x)[0].mul(R).sum().backward();
  const hs: gl.Tensor[] = [];
  let h: gl.Tensor | null = null;
  for (let t = 0; t < 5; t++) {
    h = cell.forward(x.select(0, t), h);
    h.retainGrad();
    hs.push(h);
  }
  gl.stack(hs, 0).mul(R).sum().backward();
  for (let t = 0; t < 5; t++) assertClose(dh!.select(0, t).toArray(), hs[t].grad!.toArray(), 1e-12, 1e-9, `dh[${t}]`);
});
