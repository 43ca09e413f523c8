import { test } from "node:test";
import assert from "node:assert/strict";
import * as gl from "../../src/index.js";

const arr = (t: gl.Tensor) => Array.from(t.toArray());

test("first values are pinned, so a change of algorithm or platform is caught", () => {
  const g = new gl.Generator(0);
  assert.deepEqual([g.nextUint32(), g.nextUint32(), g.nextUint32(), g.nextUint32()], [3809008728, 1133695204, 53579671, 2891528803]);
  const h = new gl.Generator(42);
  assert.deepEqual([h.random(), h.random(), h.random()], [0.6606157208001621, 0.1117019639532224, 0.0791056456144914]);
  assert.deepEqual([h.normal(), h.normal(), h.normal()], [2.117721376234048, -1.9715376804885307, 1.8067649500396574]);
  gl.manualSeed(1234);
  assert.deepEqual(arr(gl.rand([3], { dtype: "float64" })), [0.44881061946429535, 0.3171622996346791, 0.27170484004337236]);
  assert.deepEqual(arr(gl.randn([3], { dtype: "float64" })), [0.3894225484944571, 0.6822485654669856, -1.1913557741212555]);
  assert.deepEqual(arr(gl.randint(0, 100, [4])), [20, 14, 49, 13]);
});

test("manualSeed makes the default generator reproducible", () => {
  gl.manualSeed(7);
  const a = [arr(gl.randn([5])), arr(gl.rand([2, 2])), arr(gl.randint(-3, 3, [6]))];
  gl.manualSeed(7);
  const b = [arr(gl.randn([5])), arr(gl.rand([2, 2])), arr(gl.randint(-3, 3, [6]))];
  assert.deepEqual(a, b);
  gl.manualSeed(8);
  assert.notDeepEqual(arr(gl.randn([5])), a[0]);
});

test("seeds are distinct streams, including negative and large seeds", () => {
  const first = (s: number) => new gl.Generator(s).nextUint32();
  const seeds = [0, 1, -1, 2, 2 ** 32, 2 ** 32 + 1, -(2 ** 32), 123456789, 2 ** 40 + 5];
  const values = seeds.map(first);
  assert.equal(new Set(values).size, seeds.length, `first values ${values}`);
  assert.equal(first(3.7), first(3));
  assert.throws(() => new gl.Generator(NaN), /Generator.seed: the seed must be a finite number/);
});

test("getState/setState round-trips, including a pending Box-Muller spare", () => {
  const g = new gl.Generator(99);
  g.normal(); // leaves the second normal of the pair pending
  const state = g.getState();
  assert.equal(state.length, 6);
  const want = [g.normal(), g.random(), g.normal(), g.nextUint32()];
  const h = new gl.Generator(1);
  h.setState(state);
  assert.deepEqual([h.normal(), h.random(), h.normal(), h.nextUint32()], want);
  // The state is plain JSON-serialisable numbers.
  const k = new gl.Generator();
  k.setState(JSON.parse(JSON.stringify(state)));
  assert.equal(k.normal(), want[0]);
  assert.throws(() => g.setState([1, 2, 3]), /expected 6 numbers, got 3/);
  assert.throws(() => g.setState([0, 0, 0, 0, 0, 0]), /not all 0/);
  assert.throws(() => g.setState([1.5, 0, 0, 0, 0, 0]), /32-bit unsigned words/);
});

test("a tensor-level generator option leaves the default generator alone", () => {
  gl.manualSeed(5);
  const ref = arr(gl.rand([3]));
  gl.manualSeed(5);
  gl.rand([10], { generator: new gl.Generator(3) });
  assert.deepEqual(arr(gl.rand([3])), ref);
});

test("rand is in [0, 1) with mean 1/2 and variance 1/12 over 1e5 samples", () => {
  const v = gl.rand([100_000], { dtype: "float64", generator: new gl.Generator(10) }).toArray();
  let s = 0;
  let s2 = 0;
  for (const x of v) {
    assert.ok(x >= 0 && x < 1);
    s += x;
    s2 += x * x;
  }
  const mean = s / v.length;
  const variance = s2 / v.length - mean * mean;
  // Standard errors: 0.29/√n ≈ 9e-4 for the mean, ≈ 2.7e-4 for the variance.
  assert.ok(Math.abs(mean - 0.5) < 5e-3, `mean ${mean}`);
  assert.ok(Math.abs(variance - 1 / 12) < 2e-3, `variance ${variance}`);
});

test("randn has mean 0, std 1, and normal tails over 1e5 samples", () => {
  const v = gl.randn([100_000], { dtype: "float64", generator: new gl.Generator(11) }).toArray();
  let s = 0;
  let s2 = 0;
  let beyond2 = 0;
  for (const x of v) {
    s += x;
    s2 += x * x;
    if (Math.abs(x) > 2) beyond2++;
  }
  const mean = s / v.length;
  const std = Math.sqrt(s2 / v.length - mean * mean);
  assert.ok(Math.abs(mean) < 0.016, `mean ${mean}`); // 5 standard errors
  assert.ok(Math.abs(std - 1) < 0.012, `std ${std}`);
  // P(|z| > 2) = 0.0455.
  assert.ok(Math.abs(beyond2 / v.length - 0.0455) < 0.004, `tail ${beyond2 / v.length}`);
});

test("randint covers [low, high) uniformly and nothing else", () => {
  const v = gl.randint(-3, 4, [70_000], { generator: new gl.Generator(12) });
  assert.equal(v.dtype, "int32");
  const counts = new Map<number, number>();
  for (const x of v.toArray()) counts.set(x, (counts.get(x) ?? 0) + 1);
  assert.deepEqual([...counts.keys()].sort((a, b) => a - b), [-3, -2, -1, 0, 1, 2, 3]);
  for (const c of counts.values()) assert.ok(Math.abs(c - 10_000) < 500, `count ${c}`);
  assert.equal(gl.randint(0, 5, [3], { dtype: "float64" }).dtype, "float64");
  assert.throws(() => gl.randint(3, 3, [2]), /randint: high \(3\) must be greater than low \(3\)/);
});

test("uniform, randLike and randnLike follow shape, dtype and range", () => {
  const u = gl.uniform([1000], -2, 3, { generator: new gl.Generator(1) }).toArray();
  assert.ok(u.every((x) => x >= -2 && x < 3));
  const x = gl.zeros([2, 3], { dtype: "float64" });
  const r = gl.randLike(x);
  assert.deepEqual([...r.shape], [2, 3]);
  assert.equal(r.dtype, "float64");
  assert.equal(gl.randnLike(x, { dtype: "float32" }).dtype, "float32");
});
