import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as gl from "../../src/index.js";
import { assertClose } from "../helpers/gradcheck.js";

// torch.optim trajectories on 0.5·pᵀAp + bᵀp, a 4×5 Adafactor run and clip_grad_* results.
const fx = JSON.parse(readFileSync(new URL("../fixtures/optim/trajectories.json", import.meta.url), "utf8"));

const camel = (k: string) => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
const camelKeys = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [camel(k), v]));

type Ctor = new (params: gl.Tensor[], opts: Record<string, unknown>) => gl.optim.Optimizer;
const classes: Record<string, Ctor> = {
  SGD: gl.optim.SGD as unknown as Ctor,
  Adam: gl.optim.Adam as unknown as Ctor,
  AdamW: gl.optim.AdamW as unknown as Ctor,
  Adagrad: gl.optim.Adagrad as unknown as Ctor,
  RMSprop: gl.optim.RMSprop as unknown as Ctor,
  Adafactor: gl.optim.Adafactor as unknown as Ctor,
};

const f64 = (x: unknown) => gl.tensor(x as number[], { dtype: "float64" });

for (const [name, c] of Object.entries(fx.cases) as [string, { class: string; kwargs: Record<string, unknown>; trajectory: number[][] }][]) {
  test(`${name}: ${c.class} follows torch.optim step for step to 1e-10`, () => {
    const A = f64(fx.A);
    const b = f64(fx.b);
    const p = f64(fx.p0).requiresGrad_(true);
    const opt = new classes[c.class]([p], camelKeys(c.kwargs));
    const data = p.data;
    c.trajectory.forEach((expected, k) => {
      opt.zeroGrad();
      const loss = p.mul(A.matmul(p.unsqueeze(1)).squeeze(1)).sum().mul(0.5).add(b.mul(p).sum());
      loss.backward();
      opt.step();
      assertClose(p.toArray(), expected, 1e-10, 1e-10, `${name} step ${k + 1}`);
    });
    assert.equal(p.data, data, "the parameter is updated in place");
  });
}

test("Adafactor on a 4×5 matrix keeps factored second moments and matches PyTorch", () => {
  const a = fx.adafactor_matrix;
  const W = f64(a.W0).requiresGrad_(true);
  const target = f64(a.target);
  const opt = new gl.optim.Adafactor([W], camelKeys(a.kwargs));
  a.trajectory.forEach((expected: number[][], k: number) => {
    opt.zeroGrad();
    W.sub(target).square().sum().backward();
    opt.step();
    assertClose(W.toArray(), expected.flat(), 1e-10, 1e-10, `adafactor matrix step ${k + 1}`);
  });
  const s = opt.stateDict().state["0"];
  assert.deepEqual((s.rowVar as gl.Tensor).shape, [4, 1]);
  assert.deepEqual((s.colVar as gl.Tensor).shape, [1, 5]);
  assert.equal(s.step, a.trajectory.length);
});

function clipGrads(): gl.Tensor[] {
  return fx.clip.grads.map((g: number[] | number[][]) => {
    const grad = f64(g);
    const p = gl.zeros(grad.shape, { dtype: "float64", requiresGrad: true });
    p.grad = grad;
    return p;
  });
}

for (const [key, normType] of [["2.0", 2], ["1.0", 1], ["inf", Infinity]] as const) {
  test(`clipGradNorm with norm ${key} returns PyTorch's total norm and clipped gradients`, () => {
    const ps = clipGrads();
    const ref = fx.clip.by_norm[key];
    const total = gl.optim.clipGradNorm(ps, fx.clip.max_norm, normType);
    assertClose([total], [ref.total_norm], 1e-10, 1e-10, "total norm");
    ps.forEach((p, i) => assertClose(p.grad!.toArray(), [ref.clipped[i]].flat(2), 1e-10, 1e-10, `clipped grad ${i}`));
  });
}

test("clipGradValue clamps like clip_grad_value_", () => {
  const ps = clipGrads();
  gl.optim.clipGradValue(ps, 0.7);
  ps.forEach((p, i) => assertClose(p.grad!.toArray(), [fx.clip["by_value_0.7"][i]].flat(2), 0, 0, `grad ${i}`));
});
