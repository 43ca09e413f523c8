import { test } from "node:test";
import assert from "node:assert/strict";
import * as gl from "../../src/index.js";
import { assertClose } from "../helpers/gradcheck.js";

const { SGD, Adam, AdamW, Adagrad, RMSprop, Adafactor } = gl.optim;

/** A small least-squares problem with a matrix and a bias, so factored and plain state both occur. */
function problem(seed: number, dtype: gl.DType = "float64") {
  const g = new gl.Generator(seed);
  const W = gl.randn([3, 4], { dtype, generator: g }).requiresGrad_(true);
  const bias = gl.randn([3], { dtype, generator: g }).requiresGrad_(true);
  const x = gl.randn([4, 5], { dtype, generator: g });
  const y = gl.randn([3, 5], { dtype, generator: g });
  const loss = () => W.matmul(x).add(bias.unsqueeze(1)).sub(y).square().mean();
  return { W, bias, loss };
}

function train(opt: gl.optim.Optimizer, loss: () => gl.Tensor, steps: number): number {
  let last = NaN;
  for (let i = 0; i < steps; i++) {
    opt.zeroGrad();
    const l = loss();
    l.backward();
    opt.step();
    last = l.item();
  }
  return last;
}

const makers: [string, (ps: gl.Tensor[]) => gl.optim.Optimizer][] = [
  ["SGD", (ps) => new SGD(ps, { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-3 })],
  ["Adam", (ps) => new Adam(ps, { lr: 0.05, amsgrad: true })],
  ["AdamW", (ps) => new AdamW(ps, { lr: 0.05 })],
  ["Adagrad", (ps) => new Adagrad(ps, { lr: 0.2, lrDecay: 0.01 })],
  ["RMSprop", (ps) => new RMSprop(ps, { lr: 0.01, momentum: 0.5, centered: true })],
  ["Adafactor", (ps) => new Adafactor(ps, { lr: 0.05, weightDecay: 0.01 })],
];

for (const [name, make] of makers) {
  test(`${name}: state dict round trip continues bit-identically`, () => {
    const a = problem(1);
    const b = problem(1);
    const optA = make([a.W, a.bias]);
    const optB = make([b.W, b.bias]);
    train(optA, a.loss, 3);
    train(optB, b.loss, 3);
    // A third optimizer over b's parameters takes over from optB's saved state.
    const optC = make([b.W, b.bias]);
    optC.loadStateDict(optB.stateDict());
    train(optA, a.loss, 4);
    train(optC, b.loss, 4);
    assert.deepEqual(b.W.toArray(), a.W.toArray());
    assert.deepEqual(b.bias.toArray(), a.bias.toArray());
    const sa = optA.stateDict();
    const sc = optC.stateDict();
    for (const k of Object.keys(sa.state)) {
      for (const [n, v] of Object.entries(sa.state[k])) {
        const w = sc.state[k][n];
        if (typeof v === "number") assert.equal(w, v, `${k}.${n}`);
        else assert.deepEqual((w as gl.Tensor).toArray(), v.toArray(), `${k}.${n}`);
      }
    }
    assert.deepEqual(JSON.parse(JSON.stringify(sc.paramGroups)), JSON.parse(JSON.stringify(sa.paramGroups)));
  });

  test(`${name}: learns a least-squares fit, also in float32`, () => {
    for (const dtype of ["float64", "float32"] as const) {
      const pr = problem(2, dtype);
      const opt = make([pr.W, pr.bias]);
      const first = pr.loss().item();
      const last = train(opt, pr.loss, 60);
      assert.ok(last < 0.7 * first, `${name} ${dtype}: loss ${first} -> ${last}`);
      assert.equal(pr.W.dtype, dtype);
      for (const s of opt.state.values()) for (const v of Object.values(s)) if (v instanceof gl.Tensor) assert.equal(v.dtype, dtype);
    }
  });
}

test("parameter groups take their own options over the defaults", () => {
  const a = gl.tensor([1, 1], { dtype: "float64", requiresGrad: true });
  const b = gl.tensor([1, 1], { dtype: "float64", requiresGrad: true });
  const opt = new SGD([{ params: [a] }, { params: [b], lr: 0.5 }], { lr: 0.1 });
  a.grad = gl.tensor([1, 2], { dtype: "float64" });
  b.grad = gl.tensor([1, 2], { dtype: "float64" });
  opt.step();
  assertClose(a.toArray(), [0.9, 0.8], 1e-15, 0);
  assertClose(b.toArray(), [0.5, 0], 1e-15, 0);
  assert.equal(opt.paramGroups[0].lr, 0.1);
  assert.equal(opt.paramGroups[1].lr, 0.5);
});

test("a parameter without a gradient is left alone and gets no state", () => {
  const a = gl.tensor([1], { dtype: "float64", requiresGrad: true });
  const b = gl.tensor([1], { dtype: "float64", requiresGrad: true });
  const opt = new Adam([a, b], { lr: 0.1 });
  a.grad = gl.tensor([1], { dtype: "float64" });
  opt.step();
  assert.equal(b.item(), 1);
  assert.equal(opt.state.has(b), false);
  assert.deepEqual(Object.keys(opt.stateDict().state), ["0"]);
});

test("maximize ascends", () => {
  const p = gl.tensor([0], { dtype: "float64", requiresGrad: true });
  const opt = new SGD([p], { lr: 0.1, maximize: true });
  p.grad = gl.tensor([2], { dtype: "float64" });
  opt.step();
  assertClose(p.toArray(), [0.2], 1e-15, 0);
});

test("zeroGrad drops gradients, or zeroes them in place", () => {
  const p = gl.tensor([1, 2], { dtype: "float64", requiresGrad: true });
  const opt = new SGD([p], { lr: 0.1 });
  p.grad = gl.tensor([3, 4], { dtype: "float64" });
  const g = p.grad;
  opt.zeroGrad(false);
  assert.equal(p.grad, g);
  assert.deepEqual(Array.from(g.toArray()), [0, 0]);
  opt.zeroGrad();
  assert.equal(p.grad, null);
});

test("bad options are refused with the option's name", () => {
  const p = gl.tensor([1], { requiresGrad: true });
  assert.throws(() => new Adam([p], { weight_decay: 0.1 } as never), /unknown option "weight_decay".*did you mean "weightDecay"/);
  assert.throws(() => new Adam([p], { lr: -1 }), /Adam: invalid lr -1/);
  assert.throws(() => new Adam([p], { betas: [1.2, 0.9] }), /invalid betas \[1.2,0.9\]/);
  assert.throws(() => new SGD([p], { nesterov: true }), /nesterov needs momentum > 0/);
  assert.throws(() => new Adafactor([p], { d: 0.5 }), /clipping threshold d 0.5/);
  assert.throws(() => new SGD([p], { clipNorm: 1, globalClipNorm: 1 }), /exclusive/);
  assert.throws(() => new SGD([p, p]), /more than one group/);
  assert.throws(() => new SGD([gl.tensor([1], { dtype: "int32" })]), /int32/);
  assert.throws(() => new SGD([p.mul(2)]), /non-leaf/);
  assert.throws(() => new SGD([]), /empty parameter list/);
});

test("loadStateDict refuses state from a differently shaped optimizer", () => {
  const p = gl.zeros([2, 3], { dtype: "float64", requiresGrad: true });
  const opt = new Adam([p]);
  p.grad = gl.onesLike(p);
  opt.step();
  const q = gl.zeros([3, 2], { dtype: "float64", requiresGrad: true });
  const other = new Adam([q]);
  assert.throws(() => other.loadStateDict(opt.stateDict()), /state "expAvg" of parameter 0 has shape \[2, 3\], expected \[3, 2\]/);
  const two = new Adam([{ params: [q] }, { params: [gl.zeros([1], { requiresGrad: true })] }]);
  assert.throws(() => two.loadStateDict(opt.stateDict()), /1 parameter groups, this optimizer has 2/);
});

test("the state dict is JSON-able apart from its tensors", () => {
  const p = gl.zeros([2, 3], { dtype: "float64", requiresGrad: true });
  const opt = new Adafactor([p]);
  p.grad = gl.onesLike(p);
  opt.step();
  const sd = opt.stateDict();
  assert.deepEqual(JSON.parse(JSON.stringify(sd.paramGroups)), [
    { lr: 0.01, beta2Decay: -0.8, eps: [null, 0.001], d: 1, weightDecay: 0, maximize: false, params: [0] },
  ]);
  assert.equal(sd.state["0"].step, 1);
});
