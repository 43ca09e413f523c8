import { test } from "node:test";
import assert from "node:assert/strict";
import * as gl from "../../src/index.js";
import { type OpSpec, checkSpecs } from "./opspec.js";
import { type Nd, erfRef, map, zip, zipN } from "./reference.js";

const UNARY_CASES = [[[3, 4]], [[]], [[0]], [[1]], [[2, 1, 3]]];
const BINARY_CASES = [
  [[3, 4], [3, 4]],
  [[2, 3, 4], [4]], // broadcast a trailing row
  [[3, 1], [1, 4]], // both sides broadcast
  [[], [2, 3]], // 0-d with a matrix
  [[0, 3], [3]], // size 0
  [[1], [1]],
];

const positive = (v: number): number => Math.abs(v) + 0.2;
/** Keeps draws away from kinks and ties, where finite differences are meaningless. */
const awayFromZero = (v: number): number => (Math.abs(v) < 0.05 ? v + 0.1 : v);

function unary(name: string, f: (x: gl.Tensor) => gl.Tensor, ref: (v: number) => number, extra: Partial<OpSpec> = {}): OpSpec {
  return { name, cases: UNARY_CASES, f, ref: (x: Nd) => map(x, ref), specials: true, ...extra };
}

function binary(name: string, f: (a: gl.Tensor, b: gl.Tensor) => gl.Tensor, ref: (a: number, b: number) => number, extra: Partial<OpSpec> = {}): OpSpec {
  return { name, cases: BINARY_CASES, f, ref: (a: Nd, b: Nd) => zip(a, b, ref), specials: true, ...extra };
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
const geluRef = (x: number): number => 0.5 * x * (1 + erfRef(x / Math.SQRT2));
const geluTanhRef = (x: number): number => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
/** PyTorch's maximum/minimum: NaN wins. */
const nanOr = (f: (a: number, b: number) => number) => (a: number, b: number): number =>
  Number.isNaN(a) || Number.isNaN(b) ? NaN : f(a, b);

checkSpecs([
  unary("neg", (x) => x.neg(), (v) => -v),
  unary("exp", (x) => x.exp(), Math.exp),
  unary("log", (x) => x.log(), Math.log, { domain: positive }),
  unary("sqrt", (x) => x.sqrt(), Math.sqrt, { domain: positive }),
  unary("rsqrt", (x) => x.rsqrt(), (v) => 1 / Math.sqrt(v), { domain: positive }),
  unary("abs", (x) => x.abs(), Math.abs, { domain: awayFromZero }),
  unary("tanh", (x) => x.tanh(), Math.tanh),
  unary("sigmoid", (x) => x.sigmoid(), sigmoid),
  unary("relu", (x) => x.relu(), (v) => (Number.isNaN(v) ? NaN : Math.max(v, 0)), { domain: awayFromZero }),
  unary("gelu", (x) => x.gelu(), geluRef, { specials: false }),
  unary("gelu tanh", (x) => x.gelu("tanh"), geluTanhRef, { specials: false }),
  unary("erf", (x) => x.erf(), erfRef),
  unary("sin", (x) => x.sin(), Math.sin),
  unary("cos", (x) => x.cos(), Math.cos),
  unary("log1p", (x) => x.log1p(), Math.log1p, { domain: positive }),
  unary("expm1", (x) => x.expm1(), Math.expm1),
  unary("reciprocal", (x) => x.reciprocal(), (v) => 1 / v, { domain: positive }),
  unary("square", (x) => x.square(), (v) => v * v),
  unary("clamp", (x) => x.clamp(-0.5, 0.7), (v) => (Number.isNaN(v) ? NaN : Math.min(Math.max(v, -0.5), 0.7)), {
    domain: (v) => (Math.abs(v + 0.5) < 0.05 || Math.abs(v - 0.7) < 0.05 ? v + 0.13 : v),
  }),
  unary("clamp min only", (x) => x.clamp(0.1), (v) => (Number.isNaN(v) ? NaN : Math.max(v, 0.1)), {
    domain: (v) => (Math.abs(v - 0.1) < 0.05 ? v + 0.13 : v),
  }),
  unary("sign", (x) => x.sign(), (v) => (v > 0 ? 1 : v < 0 ? -1 : v), { grad: false }),
  unary("floor", (x) => x.floor(), Math.floor, { grad: false }),
  unary("ceil", (x) => x.ceil(), Math.ceil, { grad: false }),
  binary("add", (a, b) => a.add(b), (a, b) => a + b),
  binary("add with alpha", (a, b) => a.add(b, 2.5), (a, b) => a + 2.5 * b),
  binary("sub", (a, b) => a.sub(b), (a, b) => a - b),
  binary("mul", (a, b) => a.mul(b), (a, b) => a * b),
  binary("div", (a, b) => a.div(b), (a, b) => a / b, { domain: (v, k) => (k === 1 ? positive(v) : v) }),
  binary("pow", (a, b) => a.pow(b), Math.pow, { domain: (v, k) => (k === 0 ? positive(v) : v) }),
  binary("maximum", (a, b) => a.maximum(b), nanOr(Math.max)),
  binary("minimum", (a, b) => a.minimum(b), nanOr(Math.min)),
  binary("atan2", (a, b) => a.atan2(b), Math.atan2),
  {
    name: "where",
    cases: [
      [[3, 4], [3, 4], [3, 4]],
      [[2, 1], [1, 3], [2, 3]],
      [[], [3], [2, 3]],
      [[0, 2], [2], [1]],
    ],
    // The first input is turned into the condition (x > 0); the gradient flows to the other two.
    f: (c, a, b) => gl.where(c.detach().gt(0), a, b),
    ref: (c, a, b) => zipN([c, a, b], (cv, av, bv) => (cv > 0 ? av : bv)),
  },
  {
    name: "maskedFill",
    cases: [[[3, 4], [3, 4]], [[2, 3], [3]], [[2, 3], []]],
    f: (x, m) => x.maskedFill(m.detach().lt(0), -7.5),
    ref: (x, m) => zip(x, m, (xv, mv) => (mv < 0 ? -7.5 : xv)),
  },
]);

test("pow follows PyTorch at a zero base: d/db 0^b = 0 for b >= 0", () => {
  const a = gl.tensor([0, 0, 2], { dtype: "float64", requiresGrad: true });
  const b = gl.tensor([2, 0.5, 3], { dtype: "float64", requiresGrad: true });
  a.pow(b).sum().backward();
  assert.deepEqual(Array.from(b.grad!.toArray()), [0, 0, 8 * Math.log(2)]);
  assert.deepEqual(Array.from(a.grad!.toArray()), [0, Infinity, 12]);
});

test("maximum and minimum split the gradient evenly on ties", () => {
  const a = gl.tensor([1, 2, 3], { dtype: "float64", requiresGrad: true });
  const b = gl.tensor([1, 5, 0], { dtype: "float64", requiresGrad: true });
  a.maximum(b).sum().backward();
  assert.deepEqual(Array.from(a.grad!.toArray()), [0.5, 0, 1]);
  assert.deepEqual(Array.from(b.grad!.toArray()), [0.5, 1, 0]);
});

test("round halves to even, as PyTorch", () => {
  const x = gl.tensor([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4, -2.6]);
  assert.deepEqual(Array.from(x.round().toArray()), [0, 2, 2, -0, -2, -2, 2, -3]);
});

test("erf matches known values to 1e-15", () => {
  const xs = [0.5, 1, 2, 3, -1.5, 4, 6.5];
  const known = [0.5204998778130465, 0.8427007929497149, 0.9953222650189527, 0.9999779095030014, -0.9661051464753108, 0.9999999845827421, 1];
  const got = gl.tensor(xs, { dtype: "float64" }).erf().toArray();
  known.forEach((k, i) => assert.ok(Math.abs(got[i] - k) <= 1e-15, `erf(${xs[i]}) = ${got[i]}, expected ${k}`));
});

test("comparisons give int32 masks and carry no gradient", () => {
  const a = gl.tensor([1, 2, NaN], { requiresGrad: true });
  const m = a.gt(1.5);
  assert.equal(m.dtype, "int32");
  assert.equal(m.requiresGrad, false);
  assert.deepEqual(Array.from(m.toArray()), [0, 1, 0]);
  assert.deepEqual(Array.from(a.ne(a).toArray()), [0, 0, 1]);
  assert.deepEqual(Array.from(a.isnan().toArray()), [0, 0, 1]);
  assert.deepEqual(Array.from(gl.tensor([1, Infinity, -Infinity, NaN]).isfinite().toArray()), [1, 0, 0, 0]);
  assert.deepEqual(Array.from(gl.compare("le", a, 2).toArray()), [1, 1, 0]);
});

test("numbers are accepted wherever a tensor is, without promoting the tensor's dtype", () => {
  const x = gl.tensor([1, 2, 4]);
  const cases: [gl.Tensor, number[]][] = [
    [x.mul(0.5), [0.5, 1, 2]],
    [gl.add(2, x), [3, 4, 6]],
    [gl.sub(1, x), [0, -1, -3]],
    [gl.div(1, x), [1, 0.5, 0.25]],
    [gl.pow(2, x), [2, 4, 16]],
    [x.pow(2), [1, 4, 16]],
    [gl.maximum(x, 2), [2, 2, 4]],
    [gl.minimum(3, x), [1, 2, 3]],
    [gl.where(x.gt(1), 0, x), [1, 0, 0]],
    [gl.where(x.gt(1), x, -1), [-1, 2, 4]],
  ];
  for (const [t, want] of cases) {
    assert.equal(t.dtype, "float32");
    assert.deepEqual(Array.from(t.toArray()), want);
  }
  // An int tensor with a fractional number becomes float, as in PyTorch.
  const i = gl.tensor([1, 2], { dtype: "int32" });
  assert.equal(i.add(1).dtype, "int32");
  assert.equal(i.mul(0.5).dtype, "float32");
  assert.equal(i.div(2).dtype, "float32");
  assert.deepEqual(Array.from(i.div(2).toArray()), [0.5, 1]);
});

test("dtype promotion: float64 wins, a 0-d tensor does not promote a higher-rank one", () => {
  const f32 = gl.tensor([1, 2]);
  const f64 = gl.tensor([1, 2], { dtype: "float64" });
  assert.equal(f32.add(f64).dtype, "float64");
  assert.equal(f32.add(gl.tensor(1, { dtype: "float64" })).dtype, "float32");
  assert.equal(gl.tensor([1], { dtype: "int32" }).add(f32).dtype, "float32");
});

test("binary ops name the op and both shapes when they cannot broadcast", () => {
  const a = gl.zeros([2, 3]);
  const b = gl.zeros([4]);
  for (const [name, f] of [
    ["add", () => a.add(b)],
    ["sub", () => a.sub(b)],
    ["mul", () => a.mul(b)],
    ["div", () => a.div(b)],
    ["pow", () => a.pow(b)],
    ["maximum", () => a.maximum(b)],
    ["where", () => gl.where(a.gt(0), a, b)],
  ] as const) {
    assert.throws(f, (e: Error) => {
      assert.ok(e instanceof gl.ShapeError, `${name}: ${e}`);
      assert.match(e.message, new RegExp(`^${name}\\b`));
      assert.ok(e.message.includes("[2, 3]") && e.message.includes("[4]"), e.message);
      return true;
    });
  }
});

test("a non-tensor, non-number operand is a clear error", () => {
  assert.throws(() => gl.tensor([1]).add("2" as unknown as number), /add: expected a Tensor or a number, got string/);
});
