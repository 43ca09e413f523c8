import { test } from "node:test";
import assert from "node:assert/strict";
import * as gl from "../../../src/index.js";
import { assertClose, gradcheck } from "../../helpers/gradcheck.js";

const f64 = "float64" as const;
const g = (seed: number) => new gl.Generator(seed);
const randn = (shape: number[], seed: number) => gl.randn(shape, { dtype: f64, generator: g(seed) });

test("Highway: y = T·H(x) + (1 − T)·x, gradients check", () => {
  const hw = new gl.nn.Highway(4, { dtype: f64, generator: g(1), activation: "tanh" });
  assert.deepEqual(hw.namedParameters().map(([n]) => n), ["transform.weight", "transform.bias", "gate.weight", "gate.bias"]);
  assert.deepEqual(Array.from(hw.gate.bias!.toArray()), [-1, -1, -1, -1]);
  const x = randn([3, 4], 2).requiresGrad_(true);
  const t = hw.gate.forward(x).sigmoid();
  const want = t.mul(hw.transform.forward(x).tanh()).add(t.neg().add(1).mul(x));
  assertClose(hw.forward(x).toArray(), want.toArray(), 1e-15, 0, "formula");
  gradcheck((v) => hw.forward(v), [x, ...hw.parameters()]);
});

test("Highway with a very negative gate bias starts as the identity, so a deep stack passes signal", () => {
  const stack = new gl.nn.Sequential(...Array.from({ length: 20 }, (_, k) => new gl.nn.Highway(6, { dtype: f64, gateBias: -8, generator: g(10 + k) })));
  const x = randn([2, 6], 3);
  const y = stack.forward(x).toArray();
  const xa = x.toArray();
  y.forEach((v, i) => assert.ok(Math.abs(v - xa[i]) < 0.05 * (1 + Math.abs(xa[i]))));
});

test("Residual wraps any module: x + f(x); a projection fixes differing widths; mismatch is an error", () => {
  const lin = new gl.nn.Linear(4, 4, { dtype: f64, generator: g(4) });
  const r = new gl.nn.Residual(lin);
  const x = randn([2, 4], 5).requiresGrad_(true);
  assertClose(r.forward(x).toArray(), lin.forward(x).add(x).toArray(), 1e-15, 0, "x + f(x)");
  gradcheck((v) => r.forward(v).tanh(), [x, ...r.parameters()]);
  const wide = new gl.nn.Linear(4, 6, { dtype: f64 });
  assert.throws(() => new gl.nn.Residual(wide).forward(x), (e: unknown) => e instanceof gl.ShapeError && /\[2, 6\].*\[2, 4\]/.test((e as Error).message));
  const proj = new gl.nn.Residual(wide, { projection: new gl.nn.Linear(4, 6, { bias: false, dtype: f64 }) });
  assert.deepEqual(proj.forward(x).shape, [2, 6]);
  assert.deepEqual(proj.namedParameters().map(([n]) => n), ["module.weight", "module.bias", "projection.weight"]);
});

test("Residual around a recurrent layer works through a wrapper module", () => {
  class LastOutput extends gl.nn.Module {
    gru = new gl.nn.GRU({ inputSize: 3, hiddenSize: 3, dtype: f64, generator: g(6) });
    override forward(x: gl.Tensor): gl.Tensor {
      return this.gru.forward(x)[0];
    }
  }
  const r = new gl.nn.Residual(new LastOutput());
  const x = randn([4, 2, 3], 7).requiresGrad_(true);
  gradcheck((v) => r.forward(v), [x, ...r.parameters()]);
});

test("DenseBlock: each layer reads the input and all earlier outputs; output concatenates them all", () => {
  const block = gl.nn.DenseBlock.ofLinear(3, 2, 3, { dtype: f64, generator: g(8), activation: "tanh" });
  const x = randn([5, 3], 9).requiresGrad_(true);
  const y = block.forward(x);
  assert.deepEqual(y.shape, [5, 3 + 3 * 2]);
  assert.deepEqual(block.namedParameters().map(([n, p]) => [n, p.shape]), [
    ["layers.0.0.weight", [2, 3]], ["layers.0.0.bias", [2]],
    ["layers.1.0.weight", [2, 5]], ["layers.1.0.bias", [2]],
    ["layers.2.0.weight", [2, 7]], ["layers.2.0.bias", [2]],
  ]);
  // By hand: the concatenation rule.
  const layers = [...block.layers];
  const y0 = layers[0].forward(x) as gl.Tensor;
  const y1 = layers[1].forward(gl.cat([x, y0], 1)) as gl.Tensor;
  const y2 = layers[2].forward(gl.cat([x, y0, y1], 1)) as gl.Tensor;
  assertClose(y.toArray(), gl.cat([x, y0, y1, y2], 1).toArray(), 1e-15, 0, "dense");
  gradcheck((v) => block.forward(v), [x, ...block.parameters()]);
  assert.throws(() => new gl.nn.DenseBlock([new gl.nn.Linear(4, 2)]).forward(gl.randn([2, 3])), gl.ShapeError);
  assert.throws(() => new gl.nn.DenseBlock([]), gl.GradlabError);
});
