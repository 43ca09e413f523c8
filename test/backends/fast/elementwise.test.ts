import { test } from "node:test";
import assert from "node:assert/strict";
import * as gl from "../../../src/index.js";
import type { BinaryOp, UnaryOp, View } from "../../../src/backend/kernels.js";
import { kernel } from "../../../src/backend/registry.js";
import { binary as refBinary, unary as refUnary } from "../../../src/backends/js/elementwise.js";
import { reduce as refReduce } from "../../../src/backends/js/reduce.js";
import { binaryF32, plan2d, reduceSumF32, unaryF32 } from "../../../src/backends/fast/elementwise.js";
import { fastRuntime } from "../../../src/backends/fast/index.js";
import { assertNear, contiguous, forEachVariant, permutedView, randData } from "./helpers.js";

const ATOL = 1e-5;
const RTOL = 1e-4;
const SIZES = [0, 1, 3, 7, 17, 33, 65, 1000];
const UNARY: UnaryOp[] = ["exp", "tanh", "sigmoid", "relu"];
const BINARY: BinaryOp[] = ["add", "sub", "mul", "div"];

/** Values across the ranges where the approximations change regime, plus the special values. */
function hardValues(n: number, seed: number): Float32Array {
  const x = randData(n, seed);
  const special = [0, -0, 1e-30, -1e-30, 0.6249, 0.6251, -0.625, 9, -9, 20, -20, 88.5, 89, 100, -87, -103, -110, Infinity, -Infinity, NaN];
  for (let i = 0; i < n; i++) x[i] = i < special.length ? special[i] : x[i] * (i % 3 === 0 ? 30 : 3);
  return x;
}

// The module's kernels themselves: the registered ones hand small sizes to the reference.
const fastUnary = (op: UnaryOp, x: View, out: Float32Array): void => unaryF32(fastRuntime()!, op, x, out);
const fastBinary = (op: BinaryOp, a: View, b: View, out: Float32Array): boolean => binaryF32(fastRuntime()!, op, a, b, out);
const fastSum = (x: View, axes: number[], out: Float32Array): boolean => reduceSumF32(fastRuntime()!, "sum", x, axes, out);

test("fast unary exp/tanh/sigmoid/relu match the reference on odd sizes, special values and strided views", async () => {
  await forEachVariant((v) => {
    for (const op of UNARY) {
      for (const n of SIZES) {
        const x = contiguous(hardValues(n + 2, n), [n], 2);
        const expected = new Float32Array(n);
        refUnary(op, x, expected);
        const out = new Float32Array(n);
        fastUnary(op, x, out);
        assertNear(out, expected, ATOL, RTOL, `${v} ${op} n=${n}`);
      }
      const t = permutedView([13, 9], [1, 0], 4);
      const expected = new Float32Array(13 * 9);
      refUnary(op, t, expected);
      const out = new Float32Array(13 * 9);
      fastUnary(op, t, out);
      assertNear(out, expected, ATOL, RTOL, `${v} ${op} transposed`);
    }
  });
});

test("fast exp, tanh and sigmoid stay within a few float32 ulps over a dense sweep", () => {
  const n = 200001;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = -90 + (180 * i) / (n - 1);
  for (const op of ["exp", "tanh", "sigmoid"] as UnaryOp[]) {
    const expected = new Float32Array(n);
    refUnary(op, contiguous(x, [n]), expected);
    const out = new Float32Array(n);
    gl.setBackend("fast");
    kernel("unary")(op, contiguous(x, [n]), out);
    let worst = 0;
    for (let i = 0; i < n; i++) {
      const e = expected[i];
      if (out[i] === e || Math.abs(e) < 1e-37) continue; // subnormals: absolute error is what counts there
      worst = Math.max(worst, Math.abs(out[i] - e) / Math.abs(e));
    }
    assert.ok(worst < 5e-7, `${op}: worst relative error ${worst}`);
  }
});

test("fast binary ops match the reference: same shape, scalar, row and column broadcasts, odd sizes", async () => {
  await forEachVariant((v) => {
    const cases: [string, number[], number[], number[]][] = [];
    for (const n of SIZES) cases.push([`same ${n}`, [n], [n], [n]]);
    cases.push(["b scalar", [7, 33], [1, 1], [7, 33]]);
    cases.push(["a scalar", [1], [17, 5], [17, 5]]);
    cases.push(["bias row", [65, 17], [17], [65, 17]]);
    cases.push(["column", [9, 33], [9, 1], [9, 33]]);
    cases.push(["3-d folds to 2-d", [4, 6, 7], [1, 1, 7], [4, 6, 7]]);
    cases.push(["empty", [0, 5], [5], [0, 5]]);
    let seed = 1;
    for (const op of BINARY) {
      for (const [name, sa, sb, so] of cases) {
        const a = broadcastView(sa, so, seed++);
        const b = broadcastView(sb, so, seed++);
        if (op === "div") (b.data as Float32Array)[0] = 0; // x/0 → ±Inf or NaN, as the reference
        const n = so.reduce((p, d) => p * d, 1);
        const expected = new Float32Array(n);
        refBinary(op, a, b, expected);
        const out = new Float32Array(n);
        assert.ok(fastBinary(op, a, b, out), `${v} ${op} ${name}: handled by the module`);
        assertNear(out, expected, ATOL, RTOL, `${v} ${op} ${name}`);
      }
      // Not foldable to rows×cols: the module declines and the registered kernel uses the reference.
      const unfoldable: [string, View, View][] = [
        ["transposed", permutedView([5, 80], [1, 0], seed++), contiguous(randData(400, seed++), [5, 80])],
        ["middle broadcast", broadcastView([4, 1, 70], [4, 6, 70], seed++), broadcastView([4, 6, 70], [4, 6, 70], seed++)],
      ];
      for (const [name, a, b] of unfoldable) {
        assert.equal(fastBinary(op, a, b, new Float32Array(a.shape.reduce((p, d) => p * d, 1))), false, `${name} declined`);
        const n = a.shape.reduce((p, d) => p * d, 1);
        const expected = new Float32Array(n);
        refBinary(op, a, b, expected);
        const out = new Float32Array(n);
        gl.setBackend("fast");
        kernel("binary")(op, a, b, out);
        assertNear(out, expected, ATOL, RTOL, `${v} ${op} ${name}`);
      }
    }
  });
});

/** A view of `shape` broadcast to `to` (stride 0 on stretched dims), as ops hand it to kernels. */
function broadcastView(shape: number[], to: number[], seed: number): View {
  const n = shape.reduce((p, d) => p * d, 1);
  const base = contiguous(hardValues(n, seed), shape);
  const lead = to.length - shape.length;
  const strides = to.map((d, i) => {
    const j = i - lead;
    return j < 0 || shape[j] !== d ? 0 : base.strides[j];
  });
  return { data: base.data, shape: to, strides, offset: 0 };
}

test("plan2d folds shapes into a rows×cols walk and refuses what it cannot express", () => {
  assert.deepEqual(plan2d([4, 6, 7], [42, 7, 1], [0, 0, 1]), { rows: 24, cols: 7, ra: 7, ca: 1, rb: 0, cb: 1 });
  assert.deepEqual(plan2d([4, 1, 7], [7, 7, 1], [7, 7, 1]), { rows: 1, cols: 28, ra: 0, ca: 1, rb: 0, cb: 1 });
  assert.deepEqual(plan2d([9, 33], [33, 1], [1, 0]), { rows: 9, cols: 33, ra: 33, ca: 1, rb: 1, cb: 0 });
  assert.equal(plan2d([4, 6, 7], [42, 7, 1], [7, 0, 1]), null); // three dims left
  assert.equal(plan2d([5, 8], [1, 5], [8, 1]), null); // inner stride 5
});

test("fast sum over trailing or leading axes matches the reference; other reductions fall back", async () => {
  await forEachVariant((v) => {
    const shapes: [number[], number[]][] = [
      [[65, 33], [1]],
      [[65, 33], [0]],
      [[3, 7, 17], [1, 2]],
      [[3, 7, 17], [0, 1]],
      [[3, 7, 17], [0, 1, 2]],
      [[1000], [0]],
      [[5, 1, 4], [0, 1]],
      [[0, 5], [0]],
      [[5, 0], [1]],
      [[1], [0]],
    ];
    let seed = 1;
    for (const [shape, axes] of shapes) {
      const n = shape.reduce((p, d) => p * d, 1);
      const x = contiguous(randData(n + 1, seed++), shape, 1);
      const outLen = shape.reduce((p, d, i) => (axes.includes(i) ? p : p * d), 1);
      const expected = new Float32Array(outLen);
      refReduce("sum", x, axes, expected);
      const out = new Float32Array(outLen).fill(123);
      assert.ok(fastSum(x, axes, out), `${v} sum ${JSON.stringify(shape)} handled by the module`);
      assertNear(out, expected, ATOL, RTOL, `${v} sum ${JSON.stringify(shape)} over ${axes}`);
    }
    // A middle axis, a non-contiguous input and a non-sum op: declined, answered by the reference.
    const cases: [string, "sum" | "max", View, number[]][] = [
      ["middle axis", "sum", contiguous(randData(3 * 70 * 17, 1), [3, 70, 17]), [1]],
      ["transposed", "sum", permutedView([60, 10], [1, 0], 3), [1]],
      ["max", "max", contiguous(randData(600, 4), [60, 10]), [1]],
    ];
    for (const [name, op, x, axes] of cases) {
      const outLen = x.shape.reduce((p, d, i) => (axes.includes(i) ? p : p * d), 1);
      if (op === "sum") assert.equal(fastSum(x, axes, new Float32Array(outLen)), false, `${name} declined`);
      const expected = new Float32Array(outLen);
      refReduce(op, x, axes, expected);
      const out = new Float32Array(outLen);
      gl.setBackend("fast");
      kernel("reduce")(op, x, axes, out);
      assertNear(out, expected, ATOL, RTOL, `${v} ${op} ${name}`);
    }
  });
});

test("float64 and int32 stay on the reference kernels bit for bit", () => {
  const x = gl.randn([7, 9], { dtype: "float64", generator: new gl.Generator(1) });
  const y = gl.randn([9, 5], { dtype: "float64", generator: new gl.Generator(2) });
  const run = (backend: string): Float64Array[] => {
    gl.setBackend(backend);
    return [x.matmul(y).toArray(), x.tanh().toArray(), x.add(x).sum(1).toArray()] as Float64Array[];
  };
  const fast = run("fast");
  const ref = run("js");
  fast.forEach((f, i) => assert.deepEqual(Array.from(f), Array.from(ref[i])));
  gl.setBackend("fast");
  const k = gl.tensor([1, 2, 3], { dtype: "int32" });
  assert.deepEqual(Array.from(k.add(k).toArray()), [2, 4, 6]);
});
