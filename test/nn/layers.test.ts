import { test } from "node:test";
import assert from "node:assert/strict";
import * as gl from "../../src/index.js";
import { assertClose, gradcheck, randLeaf } from "../helpers/gradcheck.js";

const { Linear, Embedding, Dropout, LayerNorm, RMSNorm, Sequential, ModuleList, Identity, ReLU, Tanh, Sigmoid, GELU } = gl.nn;

/** Plain-JS reference of x Wᵀ + b for row-major x [n, in], w [out, in]. */
function refLinear(x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number> | null, n: number, inF: number, outF: number): number[] {
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let o = 0; o < outF; o++) {
      let s = b ? b[o] : 0;
      for (let k = 0; k < inF; k++) s += x[i * inF + k] * w[o * inF + k];
      y.push(s);
    }
  }
  return y;
}

test("Linear computes x Wᵀ + b over any leading dims, with PyTorch's shapes", () => {
  const lin = new Linear(5, 3, { dtype: "float64", generator: new gl.Generator(1) });
  assert.deepEqual(lin.weight.shape, [3, 5]);
  assert.deepEqual(lin.bias!.shape, [3]);
  const x = gl.randn([2, 4, 5], { dtype: "float64", generator: new gl.Generator(2) });
  const y = lin.forward(x);
  assert.deepEqual(y.shape, [2, 4, 3]);
  assertClose(y.toArray(), refLinear(x.toArray(), lin.weight.toArray(), lin.bias!.toArray(), 8, 5, 3), 1e-12, 1e-12);
  assert.deepEqual(lin.forward(x.select(0, 0).select(0, 0)).shape, [3], "a 1-d input gives a 1-d output");
  const nb = new Linear(5, 3, { bias: false, dtype: "float64" });
  assert.equal(nb.bias, null);
  assert.deepEqual(nb.namedParameters().map(([n]) => n), ["weight"]);
  assertClose(nb.forward(x).toArray(), refLinear(x.toArray(), nb.weight.toArray(), null, 8, 5, 3), 1e-12, 1e-12);
});

test("Linear rejects bad sizes, inputs of the wrong width and mixed dtypes with named errors", () => {
  const lin = new Linear(4, 2);
  assert.throws(() => lin.forward(gl.zeros([3, 5])), (e: unknown) => e instanceof gl.ShapeError && /Linear\(4 → 2\): input \[3, 5\] must end with 4 features/.test(e.message));
  assert.throws(() => lin.forward(gl.zeros([3, 4], { dtype: "float64" })), (e: unknown) => e instanceof gl.DTypeError && /input dtype float64 does not match the parameters' dtype float32/.test(e.message));
  assert.throws(() => lin.forward(gl.zeros([3, 4], { dtype: "int32" })), gl.DTypeError);
  assert.throws(() => new Linear(2.5, 3), /inFeatures must be an integer >= 0, got 2.5/);
  assert.throws(() => new Linear(2, -1), /outFeatures/);
  assert.throws(() => new Linear(2, 2, { dtype: "int32" as "float32" }), gl.DTypeError);
  assert.deepEqual(new Linear(0, 3).forward(gl.zeros([2, 0])).tolist(), [[0, 0, 0], [0, 0, 0]], "zero input features give the bias, which is 0");
});

test("Linear's init is U(-1/√in, 1/√in) for weight and bias, reproducible from a seed", () => {
  const lin = new Linear(400, 300, { dtype: "float64", generator: new gl.Generator(7) });
  const bound = 1 / Math.sqrt(400);
  for (const p of [lin.weight, lin.bias!]) {
    const v = Array.from(p.toArray());
    const max = v.reduce((a, b) => Math.max(a, Math.abs(b)), 0);
    assert.ok(max <= bound && max > 0.95 * bound, `max |value| ${max} vs bound ${bound}`);
  }
  const w = Array.from(lin.weight.toArray());
  const mean = w.reduce((a, b) => a + b, 0) / w.length;
  const std = Math.sqrt(w.reduce((a, b) => a + (b - mean) ** 2, 0) / w.length);
  assert.ok(Math.abs(mean) < 5 * (bound / Math.sqrt(3)) / Math.sqrt(w.length));
  assert.ok(Math.abs(std - bound / Math.sqrt(3)) < 0.01 * bound, `std ${std}`);
  const again = new Linear(400, 300, { dtype: "float64", generator: new gl.Generator(7) });
  assert.deepEqual(again.weight.toArray(), lin.weight.toArray());
  gl.manualSeed(3);
  const a = new Linear(4, 4);
  gl.manualSeed(3);
  const b = new Linear(4, 4);
  assert.deepEqual(a.weight.toArray(), b.weight.toArray(), "manualSeed makes the default init reproducible");
});

test("gradcheck in float64 through Linear, LayerNorm, RMSNorm and a Sequential MLP", () => {
  const lin = new Linear(4, 3, { dtype: "float64", generator: new gl.Generator(1) });
  const x = randLeaf([2, 4], 10);
  gradcheck((xx) => lin.forward(xx), [x, lin.weight, lin.bias!]);

  const ln = new LayerNorm([2, 3], { dtype: "float64" });
  gl.nn.init.normal_(ln.weight!, 1, 0.5, new gl.Generator(2));
  gl.nn.init.normal_(ln.bias!, 0, 0.5, new gl.Generator(3));
  gradcheck((xx) => ln.forward(xx), [randLeaf([2, 2, 3], 11), ln.weight!, ln.bias!]);

  const rms = new RMSNorm(5, { dtype: "float64" });
  gl.nn.init.normal_(rms.weight!, 1, 0.5, new gl.Generator(4));
  gradcheck((xx) => rms.forward(xx), [randLeaf([3, 5], 12), rms.weight!]);

  const mlp = new Sequential(new Linear(3, 4, { dtype: "float64" }), new GELU(), new Linear(4, 2, { dtype: "float64" }), new Sigmoid());
  gradcheck((xx) => mlp.forward(xx), [randLeaf([2, 3], 13), ...mlp.parameters()]);
});

test("gradcheck in float64 through Embedding; repeated ids accumulate their gradients", () => {
  const emb = new Embedding(5, 3, { dtype: "float64", generator: new gl.Generator(5) });
  const ids = gl.tensor([[1, 4, 1], [0, 2, 1]], { dtype: "int32" });
  gradcheck(() => emb.forward(ids), [emb.weight]);
  emb.weight.grad = null;
  emb.forward(ids).sum().backward();
  assert.deepEqual(emb.weight.grad!.tolist(), [[1, 1, 1], [3, 3, 3], [1, 1, 1], [0, 0, 0], [1, 1, 1]]);
});

test("Embedding looks rows up for int32 ids of any shape and rejects bad ids", () => {
  const emb = new Embedding(4, 2, { generator: new gl.Generator(1) });
  const w = emb.weight.tolist() as number[][];
  const y = emb.forward(gl.tensor([[3, 0], [1, 1]], { dtype: "int32" }));
  assert.deepEqual(y.shape, [2, 2, 2]);
  assert.deepEqual(y.tolist(), [[w[3], w[0]], [w[1], w[1]]]);
  assert.deepEqual(emb.forward(gl.tensor(2, { dtype: "int32" })).tolist(), w[2], "0-d ids give one row");
  assert.throws(() => emb.forward(gl.tensor([1, 4], { dtype: "int32" })), (e: unknown) => e instanceof gl.ShapeError && /Embedding\(4, 2\): id 4 .* out of range \[0, 4\)/.test(e.message));
  assert.throws(() => emb.forward(gl.tensor([-1], { dtype: "int32" })), /id -1/);
  assert.throws(() => emb.forward(gl.tensor([1.0])), (e: unknown) => e instanceof gl.DTypeError && /ids must be int32, got float32/.test(e.message));
  assert.throws(() => new Embedding(4, 2, { paddingIdx: 4 }), /paddingIdx must be an integer in \[-4, 4\), got 4/);
});

test("Embedding init is N(0, 1); the padding row starts at zero, keeps its value and never gets a gradient", () => {
  const big = new Embedding(1000, 50, { dtype: "float64", generator: new gl.Generator(9) });
  const v = Array.from(big.weight.toArray());
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
  assert.ok(Math.abs(mean) < 5 / Math.sqrt(v.length), `mean ${mean}`);
  assert.ok(Math.abs(std - 1) < 0.01, `std ${std}`);

  const emb = new Embedding(4, 3, { paddingIdx: -2, dtype: "float64" });
  assert.equal(emb.paddingIdx, 2);
  assert.deepEqual(emb.weight.select(0, 2).tolist(), [0, 0, 0]);
  // A padding row set to a nonzero value is still returned as it is (as in PyTorch)...
  emb.weight.select(0, 2).fill_(7);
  const ids = gl.tensor([2, 1, 2, 0], { dtype: "int32" });
  const y = emb.forward(ids);
  assert.deepEqual(y.select(0, 0).tolist(), [7, 7, 7]);
  // ... but receives no gradient, while the other rows do.
  y.mul(gl.randn([4, 3], { dtype: "float64" })).sum().backward();
  assert.deepEqual(emb.weight.grad!.select(0, 2).tolist(), [0, 0, 0]);
  assert.ok((emb.weight.grad!.select(0, 1).toArray() as Float64Array).some((g) => g !== 0));

  const frozen = Embedding.fromPretrained(gl.tensor([[1, 2], [3, 4]]));
  assert.equal(frozen.weight.requiresGrad, false);
  assert.deepEqual(frozen.forward(gl.tensor([1], { dtype: "int32" })).tolist(), [[3, 4]]);
  assert.equal(Embedding.fromPretrained(gl.tensor([[1, 2]]), { freeze: false }).weight.requiresGrad, true);
});

test("Dropout zeroes about p of the elements and scales the rest by 1/(1-p); eval mode is the identity", () => {
  const d = new Dropout(0.3, { generator: new gl.Generator(4) });
  const x = gl.ones([20000], { dtype: "float64" });
  const y = d.forward(x).toArray();
  const zeros = y.filter((v) => v === 0).length / y.length;
  assert.ok(Math.abs(zeros - 0.3) < 0.02, `zero fraction ${zeros}`);
  assert.ok(y.every((v) => v === 0 || Math.abs(v - 1 / 0.7) < 1e-12));
  d.eval();
  assert.equal(d.forward(x), x);
  assert.equal(new Dropout(1).forward(x).toArray().every((v) => v === 0), true);
  assert.throws(() => new Dropout(1.5), /p must be a probability in \[0, 1\], got 1.5/);
  assert.equal(String(new Dropout()), "Dropout(p=0.5)");
});

test("LayerNorm matches its formula (biased variance, eps inside the root) and PyTorch's parameter layout", () => {
  const ln = new LayerNorm(4, { dtype: "float64", eps: 1e-3 });
  assert.deepEqual(ln.weight!.tolist(), [1, 1, 1, 1]);
  assert.deepEqual(ln.bias!.tolist(), [0, 0, 0, 0]);
  ln.weight!.copy_(gl.tensor([1, 2, 3, 4], { dtype: "float64" }));
  ln.bias!.copy_(gl.tensor([0.5, 0, -0.5, 1], { dtype: "float64" }));
  const rows = [[1, 2, 3, 4], [-2, 0, 5, 0.5]];
  const y = ln.forward(gl.tensor(rows, { dtype: "float64" })).tolist() as number[][];
  rows.forEach((r, i) => {
    const mu = r.reduce((a, b) => a + b) / 4;
    const v = r.reduce((a, b) => a + (b - mu) ** 2, 0) / 4;
    const want = r.map((xv, j) => ((xv - mu) / Math.sqrt(v + 1e-3)) * [1, 2, 3, 4][j] + [0.5, 0, -0.5, 1][j]);
    assertClose(y[i], want, 1e-12, 1e-12);
  });
  assert.deepEqual(new LayerNorm([2, 3], { bias: false }).namedParameters().map(([n]) => n), ["weight"]);
  assert.deepEqual(new LayerNorm([2, 3], { elementwiseAffine: false }).parameters(), []);
  const plain = new LayerNorm([2, 3], { elementwiseAffine: false });
  const z = plain.forward(gl.randn([5, 2, 3], { dtype: "float64" }));
  const zr = z.reshape(5, 6);
  assertClose(zr.mean(1).toArray(), new Array(5).fill(0), 1e-12, 0);
  assertClose(zr.var(1, { correction: 0 }).toArray(), new Array(5).fill(1), 1e-4, 0);
  assert.throws(() => ln.forward(gl.zeros([2, 5], { dtype: "float64" })), (e: unknown) => e instanceof gl.ShapeError && /LayerNorm: input \[2, 5\] must end with the normalized shape \[4\]/.test(e.message));
  assert.throws(() => new LayerNorm([]), /at least one dim/);
  assert.throws(() => ln.forward(gl.zeros([2, 4])), (e: unknown) => e instanceof gl.DTypeError && /LayerNorm: input dtype float32 does not match the parameters' dtype float64/.test(e.message));
  assert.throws(() => plain.forward(gl.zeros([2, 3], { dtype: "int32" })), (e: unknown) => e instanceof gl.DTypeError && /LayerNorm: expected a floating-point input, got int32/.test(e.message));
});

test("RMSNorm matches its formula; the default eps is the dtype's machine epsilon", () => {
  const rms = new RMSNorm([3], { dtype: "float64" });
  rms.weight!.copy_(gl.tensor([1, 0.5, 2], { dtype: "float64" }));
  const x = [3, -4, 12];
  const ms = (9 + 16 + 144) / 3;
  const y = rms.forward(gl.tensor([x], { dtype: "float64" })).toArray();
  assertClose(y, x.map((v, j) => (v / Math.sqrt(ms + 2.220446049250313e-16)) * [1, 0.5, 2][j]), 1e-14, 1e-14);
  // With tiny inputs eps dominates: 1e-9 / √(1e-18 + eps).
  const tiny = rms.forward(gl.tensor([[1e-9, 1e-9, 1e-9]], { dtype: "float64" })).toArray();
  assertClose(tiny, [1, 0.5, 2].map((w) => (1e-9 / Math.sqrt(1e-18 + 2.220446049250313e-16)) * w), 1e-20, 1e-12);
  const r32 = new RMSNorm(3, { elementwiseAffine: false, eps: 0.5 });
  assertClose(r32.forward(gl.tensor([x])).toArray(), x.map((v) => v / Math.sqrt(ms + 0.5)), 1e-6, 1e-6);
  assert.deepEqual(new RMSNorm(3).forward(gl.zeros([2, 3])).tolist(), [[0, 0, 0], [0, 0, 0]], "zeros stay finite");
  assert.equal(String(new RMSNorm(3)), "RMSNorm([3], eps=null, elementwiseAffine=true)");
});

test("activation modules compute their functions; Identity returns its input", () => {
  const x = gl.tensor([-2, -0.5, 0, 1.5], { dtype: "float64" });
  assert.equal(new Identity().forward(x), x);
  assert.deepEqual(new ReLU().forward(x).tolist(), [0, 0, 0, 1.5]);
  assertClose(new Tanh().forward(x).toArray(), [-2, -0.5, 0, 1.5].map(Math.tanh), 1e-15, 1e-15);
  assertClose(new Sigmoid().forward(x).toArray(), [-2, -0.5, 0, 1.5].map((v) => 1 / (1 + Math.exp(-v))), 1e-15, 1e-15);
  const tanhGelu = [-2, -0.5, 0, 1.5].map((v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))));
  assertClose(new GELU({ approximate: "tanh" }).forward(x).toArray(), tanhGelu, 1e-15, 1e-14);
  // Exact GELU at 1.5: 1.5·Φ(1.5) with Φ(1.5) = 0.9331927987311419.
  assertClose([new GELU().forward(x).toArray()[3]], [1.5 * 0.9331927987311419], 1e-14, 1e-14);
});

test("ModuleList appends, indexes (negative from the end), iterates and names children 0, 1, ...", () => {
  const list = new ModuleList<gl.nn.Linear>();
  assert.equal(list.length, 0);
  list.append(new Linear(2, 2)).extend([new Linear(2, 3), new Linear(3, 1)]);
  assert.equal(list.length, 3);
  assert.equal(list.at(-1).outFeatures, 1);
  assert.equal(list.at(1).outFeatures, 3);
  assert.deepEqual([...list].map((l) => l.outFeatures), [2, 3, 1]);
  assert.deepEqual(list.namedParameters().map(([n]) => n), ["0.weight", "0.bias", "1.weight", "1.bias", "2.weight", "2.bias"]);
  assert.throws(() => list.at(3), /ModuleList\.at: index 3 is out of range for 3 modules/);
  assert.throws(() => list.append({} as gl.nn.Linear), /expected a Module/);
});

test("Sequential chains its modules and grows with append", () => {
  const seq = new Sequential(new Linear(3, 4, { dtype: "float64" }), new ReLU());
  seq.append(new Linear(4, 2, { dtype: "float64" }));
  const x = gl.randn([5, 3], { dtype: "float64" });
  const l0 = seq.at(0) as gl.nn.Linear;
  const l2 = seq.at(2) as gl.nn.Linear;
  const want = l2.forward(l0.forward(x).relu());
  assert.deepEqual(seq.forward(x).toArray(), want.toArray());
  assert.equal(seq.length, 3);
});
