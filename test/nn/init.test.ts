import { test } from "node:test";
import assert from "node:assert/strict";
import * as gl from "../../src/index.js";
import { assertClose } from "../helpers/gradcheck.js";

const init = gl.nn.init;

function stats(t: gl.Tensor): { mean: number; std: number; min: number; max: number } {
  const v = Array.from(t.toArray());
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
  return { mean, std, min: Math.min(...v), max: Math.max(...v) };
}

/** Checks a U(-bound, bound) sample: range, mean and std (bound/√3), the last two within 5 standard errors. */
function assertUniform(t: gl.Tensor, bound: number, what: string): void {
  const s = stats(t);
  const n = t.numel();
  assert.ok(s.min >= -bound && s.max <= bound, `${what}: range [${s.min}, ${s.max}] vs ±${bound}`);
  assert.ok(s.max > 0.99 * bound && s.min < -0.99 * bound, `${what}: the sample should reach near ±${bound}`);
  const std = bound / Math.sqrt(3);
  assert.ok(Math.abs(s.mean) < (5 * std) / Math.sqrt(n), `${what}: mean ${s.mean}`);
  // The std of the sample std of a uniform is ≈ std·0.45/√n.
  assert.ok(Math.abs(s.std - std) < (5 * 0.45 * std) / Math.sqrt(n), `${what}: std ${s.std} vs ${std}`);
}

function assertNormal(t: gl.Tensor, mean: number, std: number, what: string): void {
  const s = stats(t);
  const n = t.numel();
  assert.ok(Math.abs(s.mean - mean) < (5 * std) / Math.sqrt(n), `${what}: mean ${s.mean} vs ${mean}`);
  assert.ok(Math.abs(s.std - std) < (5 * std) / Math.sqrt(2 * n), `${what}: std ${s.std} vs ${std}`);
}

const g = (seed: number) => new gl.Generator(seed);
const f64 = (shape: number[]) => gl.zeros(shape, { dtype: "float64" });

test("fans and gains follow torch.nn.init", () => {
  assert.deepEqual(init.calculateFanInAndFanOut(gl.zeros([3, 5])), [5, 3]);
  assert.deepEqual(init.calculateFanInAndFanOut(gl.zeros([8, 4, 3, 3])), [36, 72]);
  assert.throws(() => init.calculateFanInAndFanOut(gl.zeros([5])), (e: unknown) => e instanceof gl.ShapeError && /at least 2 dims, got \[5\]/.test(e.message));
  assert.equal(init.calculateGain("linear"), 1);
  assert.equal(init.calculateGain("sigmoid"), 1);
  assert.equal(init.calculateGain("tanh"), 5 / 3);
  assert.equal(init.calculateGain("relu"), Math.SQRT2);
  assert.equal(init.calculateGain("leaky_relu"), Math.sqrt(2 / (1 + 0.01 ** 2)));
  assert.equal(init.calculateGain("leaky_relu", Math.sqrt(5)), Math.sqrt(1 / 3));
  assert.equal(init.calculateGain("selu"), 0.75);
  assert.throws(() => init.calculateGain("swish" as "relu"), /unsupported nonlinearity "swish"/);
});

test("uniform_, normal_, constant_, zeros_ and ones_ fill in place with the requested distribution", () => {
  const t = f64([200, 100]);
  assert.equal(init.uniform_(t, -2, 3, g(1)), t);
  const s = stats(t);
  assert.ok(s.min >= -2 && s.max < 3);
  assert.ok(Math.abs(s.mean - 0.5) < 0.05);
  assertNormal(init.normal_(f64([200, 100]), 3, 0.5, g(2)), 3, 0.5, "normal_");
  assert.deepEqual(init.constant_(gl.zeros([2]), 7).tolist(), [7, 7]);
  assert.deepEqual(init.ones_(gl.zeros([2])).tolist(), [1, 1]);
  assert.deepEqual(init.zeros_(gl.ones([2])).tolist(), [0, 0]);
  assert.deepEqual(init.uniform_(f64([3]), 0, 1, g(5)).toArray(), init.uniform_(f64([3]), 0, 1, g(5)).toArray(), "a seeded generator repeats");
  assert.throws(() => init.uniform_(gl.zeros([2], { dtype: "int32" })), (e: unknown) => e instanceof gl.DTypeError && /uniform_: expected a floating-point tensor/.test(e.message));
  assert.throws(() => init.normal_(gl.zeros([2]), 0, -1), /std must be non-negative/);
});

test("initialisers write through views: only the viewed elements change", () => {
  const t = gl.zeros([3, 4]);
  init.constant_(t.narrow(1, 1, 2), 5);
  assert.deepEqual(t.tolist(), [[0, 5, 5, 0], [0, 5, 5, 0], [0, 5, 5, 0]]);
  const w = gl.zeros([4, 6], { dtype: "float64" });
  init.orthogonal_(w.t(), 1, g(3));
  // w.t() is [6, 4] with orthonormal columns, so w has orthonormal rows.
  assertClose(w.matmul(w.t()).toArray(), gl.eye(4, 4, { dtype: "float64" }).toArray(), 1e-12, 0);
});

test("xavierUniform_ and xavierNormal_ use gain·√(2/(fanIn+fanOut))", () => {
  assertUniform(init.xavierUniform_(f64([300, 200]), 1, g(1)), Math.sqrt(6 / 500), "xavierUniform_");
  assertUniform(init.xavierUniform_(f64([30, 20, 3, 3]), 2, g(2)), 2 * Math.sqrt(6 / 450), "xavierUniform_ conv");
  assertNormal(init.xavierNormal_(f64([300, 200]), 5 / 3, g(3)), 0, (5 / 3) * Math.sqrt(2 / 500), "xavierNormal_");
});

test("kaimingUniform_ and kaimingNormal_ use gain/√fan with PyTorch's defaults (leaky_relu, a=0, fan_in)", () => {
  assertUniform(init.kaimingUniform_(f64([300, 200]), { generator: g(1) }), Math.sqrt(6 / 200), "kaimingUniform_ default");
  assertUniform(init.kaimingUniform_(f64([300, 200]), { mode: "fan_out", nonlinearity: "relu", generator: g(2) }), Math.sqrt(6 / 300), "fan_out relu");
  // a = √5 is Linear's scheme: bound 1/√fanIn.
  assertUniform(init.kaimingUniform_(f64([300, 200]), { a: Math.sqrt(5), generator: g(3) }), 1 / Math.sqrt(200), "a=√5");
  assertNormal(init.kaimingNormal_(f64([300, 200]), { generator: g(4) }), 0, Math.sqrt(2 / 200), "kaimingNormal_");
  assertNormal(init.kaimingNormal_(f64([30, 20, 3, 3]), { mode: "fan_out", nonlinearity: "tanh", generator: g(5) }), 0, (5 / 3) / Math.sqrt(270), "kaimingNormal_ conv");
  assert.deepEqual(init.kaimingUniform_(gl.zeros([0, 3])).shape, [0, 3], "zero-element tensors are left alone");
  assert.throws(() => init.kaimingUniform_(gl.zeros([3])), gl.ShapeError);
  assert.throws(() => init.kaimingUniform_(gl.zeros([3, 3]), { mode: "fan_avg" as "fan_in" }), /mode must be "fan_in" or "fan_out"/);
});

/** ‖MᵀM − I‖_F for a row-major [r, c] matrix with r ≥ c (columns orthonormal). */
function orthError(m: gl.Tensor): number {
  const q = m.to("float64");
  const tall = q.shape[0] >= q.shape[1];
  const gram = tall ? q.t().matmul(q) : q.matmul(q.t());
  const n = gram.shape[0];
  return gram.sub(gl.eye(n, n, { dtype: "float64" })).square().sum().sqrt().item();
}

test("orthogonal_ gives orthonormal columns (tall), rows (wide) or both (square), scaled by gain", () => {
  for (const shape of [[64, 64], [100, 30], [30, 100], [6, 4, 5], [1, 7], [7, 1]]) {
    const t = init.orthogonal_(f64(shape), 1, g(shape[0]));
    const flat = t.reshape(shape[0], -1);
    assert.ok(orthError(flat) < 1e-12, `${shape}: ${orthError(flat)}`);
  }
  const sq = init.orthogonal_(f64([20, 20]), 1, g(1));
  assertClose(sq.matmul(sq.t()).toArray(), gl.eye(20, 20, { dtype: "float64" }).toArray(), 1e-12, 0);
  const scaled = init.orthogonal_(f64([10, 10]), 2.5, g(1));
  assertClose(scaled.t().matmul(scaled).toArray(), gl.eye(10, 10, { dtype: "float64" }).mul(6.25).toArray(), 1e-11, 0);
  const f32 = init.orthogonal_(gl.zeros([128, 64]), 1, g(2));
  assert.ok(orthError(f32) < 1e-5, `float32 ${orthError(f32)}`);
  assert.throws(() => init.orthogonal_(gl.zeros([5])), (e: unknown) => e instanceof gl.ShapeError && /2 or more dims/.test(e.message));
  assert.deepEqual(init.orthogonal_(gl.zeros([0, 4])).shape, [0, 4]);
});

/** The normal matrix orthogonal_ draws from generator state `seed`, row-major [rows, cols]. */
function drawn(rows: number, cols: number, seed: number): gl.Tensor {
  return gl.randn([rows, cols], { dtype: "float64", generator: g(seed) });
}

test("orthogonal_ is the Q of A = QR with R's diagonal made positive, as PyTorch's sign correction", () => {
  // Tall: R = QᵀA must be upper triangular with a positive diagonal; then Q is unique.
  const a = drawn(9, 5, 42);
  const q = init.orthogonal_(f64([9, 5]), 1, g(42));
  const r = q.t().matmul(a).tolist() as number[][];
  for (let i = 0; i < 5; i++) {
    assert.ok(r[i][i] > 0, `R[${i}][${i}] = ${r[i][i]}`);
    for (let j = 0; j < i; j++) assert.ok(Math.abs(r[i][j]) < 1e-12, `R[${i}][${j}] = ${r[i][j]}`);
  }
  // So the first column of Q is A's first column normalised.
  const a0 = a.select(1, 0);
  assertClose(q.select(1, 0).toArray(), a0.div(a0.norm()).toArray(), 1e-14, 1e-12);
  // Wide: PyTorch factorises Aᵀ and returns Qᵀ, so W·Aᵀ is upper triangular with a positive diagonal.
  const b = drawn(4, 7, 43);
  const w = init.orthogonal_(f64([4, 7]), 1, g(43));
  const l = w.matmul(b.t()).tolist() as number[][];
  for (let i = 0; i < 4; i++) {
    assert.ok(l[i][i] > 0);
    for (let j = 0; j < i; j++) assert.ok(Math.abs(l[i][j]) < 1e-12);
  }
});

test("orthogonal_ is Haar-distributed: entries of a 3×3 draw have mean 0 and variance 1/3", () => {
  // Without the sign correction Q[0][0] = −|a₀₀|/‖a₀‖ would always be negative.
  const gen = g(7);
  const n = 1500;
  let sum = 0;
  let sq = 0;
  for (let k = 0; k < n; k++) {
    const v = init.orthogonal_(f64([3, 3]), 1, gen).toArray()[0];
    sum += v;
    sq += v * v;
  }
  assert.ok(Math.abs(sum / n) < 5 * Math.sqrt(1 / 3 / n), `mean ${sum / n}`);
  assert.ok(Math.abs(sq / n - 1 / 3) < 0.03, `variance ${sq / n}`);
});

test("orthogonal_ of a 2048×512 matrix takes well under the time of one reflector at a time", (t) => {
  const w = gl.zeros([2048, 512]);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  init.orthogonal_(w, 1, g(1));
  const cpu = process.cpuUsage(c0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  t.diagnostic(`orthogonal_ 2048x512 float32: ${(performance.now() - t0).toFixed(0)} ms wall, ${cpuMs.toFixed(0)} ms CPU`);
  // About 0.5 s on one quiet core (unblocked Householder: 2.5–3 s). CPU time, not wall time, so
  // other processes on a shared machine do not make this fail.
  assert.ok(cpuMs < 2000, `${cpuMs} ms CPU`);
  const cols = w.narrow(1, 0, 64).to("float64");
  assert.ok(orthError(cols) < 1e-5, `‖QᵀQ − I‖ ${orthError(cols)}`);
});
