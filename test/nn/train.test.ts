import { test } from "node:test";
import assert from "node:assert/strict";
import * as gl from "../../src/index.js";

/** Two interleaved one-turn spirals, 2 classes, points with a little noise; seeded. */
function spirals(n: number, gen: gl.Generator): { x: gl.Tensor; y: gl.Tensor } {
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < n; i++) {
    const cls = i % 2;
    const r = 0.1 + 0.9 * gen.random();
    const angle = 2 * Math.PI * r + cls * Math.PI;
    xs.push(r * Math.cos(angle) + 0.02 * gen.normal(), r * Math.sin(angle) + 0.02 * gen.normal());
    ys.push(cls);
  }
  return { x: gl.tensor(xs, { shape: [n, 2] }), y: gl.tensor(ys, { dtype: "int32" }) };
}

test("a Linear→Tanh→Linear MLP learns two spirals with plain SGD", () => {
  const gen = new gl.Generator(0);
  const { x, y } = spirals(200, gen);
  const { Sequential, Linear, Tanh } = gl.nn;
  const model = new Sequential(new Linear(2, 32, { generator: gen }), new Tanh(), new Linear(32, 2, { generator: gen }));
  const lr = 1;
  const lossAt = () => gl.noGrad(() => gl.crossEntropy(model.forward(x), y).item());
  const initial = lossAt();
  let loss = initial;
  for (let step = 0; step < 600; step++) {
    model.zeroGrad();
    const l = gl.crossEntropy(model.forward(x), y);
    l.backward();
    gl.noGrad(() => {
      for (const p of model.parameters()) p.copy_(p.sub(p.grad!.mul(lr)));
    });
    loss = l.item();
  }
  const final = lossAt();
  const acc = gl.noGrad(() => model.forward(x).argmax(1).eq(y).float().mean().item());
  // Chance is ln 2 ≈ 0.693; a linear model stays near it on spirals.
  assert.ok(initial > 0.6, `initial loss ${initial}`);
  assert.ok(final < 0.15, `final loss ${final} (last step ${loss})`);
  assert.ok(acc > 0.95, `training accuracy ${acc}`);
});
