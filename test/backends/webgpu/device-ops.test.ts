import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as gl from "../../../src/index.js";
import { crossEntropyComposite } from "../../../src/tensor/ops/loss.js";
import type { Tensor } from "../../../src/index.js";
import { assertNear as near, rand, skip, useGpu } from "./helpers.js";

/** assertNear, where equal infinities and NaN against NaN also agree. */
function assertNear(got: ArrayLike<number>, want: ArrayLike<number>, atol: number, rtol: number, what: string): void {
  const g = Array.from(got);
  const w = Array.from(want);
  for (let i = 0; i < w.length; i++) {
    if (!Number.isFinite(w[i]) && (g[i] === w[i] || (Number.isNaN(g[i]) && Number.isNaN(w[i])))) g[i] = w[i] = 0;
  }
  near(g, w, atol, rtol, what);
}

// The op conformance suite on the "webgpu" device: every primitive (and the composites built on
// them) runs on the CPU reference backend and on the GPU from the same float32 inputs, and the
// values and the gradients of a weighted sum of the output must agree.

const gpuOf = useGpu();

describe("webgpu device: setup", { skip }, () => {
  test("init registers the device", async () => {
    const r = await gl.webgpu.init({ gpu: gpuOf(), setDefault: false });
    assert.equal(r.device, "webgpu");
    assert.deepEqual(gl.listDevices(), ["cpu", "webgpu"]);
    assert.equal(gl.getDefaultDevice(), "cpu");
  });
});

function t(shape: number[], seed: number, opts: { lo?: number; hi?: number; int?: boolean } = {}): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const lo = opts.lo ?? -2;
  const hi = opts.hi ?? 2;
  const u = rand(n, seed, 1);
  if (opts.int) return gl.tensor(Int32Array.from(u, (v) => Math.floor(((v + 1) / 2) * (hi - lo)) + lo), { shape });
  return gl.tensor(Float32Array.from(u, (v) => lo + ((v + 1) / 2) * (hi - lo)), { shape });
}

interface Case {
  inputs: () => Tensor[];
  fn: (...xs: Tensor[]) => Tensor;
  /** Differentiate through the float inputs (default: when the output is float). */
  grad?: boolean;
  rtol?: number;
}

/** Runs a case on both devices and compares values and (for float outputs) input gradients. */
async function conform(name: string, c: Case): Promise<void> {
  const cpuIn = c.inputs();
  const want = (() => {
    gl.setBackend("js");
    try {
      const xs = cpuIn.map((x) => (x.dtype === "int32" ? x : x.detach().requiresGrad_()));
      const y = c.fn(...xs);
      return { xs, y };
    } finally {
      gl.setBackend(gl.listBackends().includes("fast") ? "fast" : "js");
    }
  })();
  const gxs = cpuIn.map((x) => {
    const g = x.detach().to("webgpu");
    return x.dtype === "int32" ? g : g.requiresGrad_();
  });
  const got = c.fn(...gxs);
  assert.equal(got.device, "webgpu", `${name}: output device`);
  assert.deepEqual(got.shape, want.y.shape, `${name}: shape`);
  assert.equal(got.dtype, want.y.dtype, `${name}: dtype`);
  const rtol = c.rtol ?? 2e-5;
  const wv = want.y.toArray();
  const scale = Math.max(1e-3, ...Array.from(wv, (v) => (Number.isFinite(v) ? Math.abs(v) : 0)));
  const gv = await got.toArrayAsync();
  if (want.y.dtype === "int32") assert.deepEqual(Array.from(gv), Array.from(wv), `${name}: values`);
  else assertNear(gv, wv, 2e-6 * scale, rtol, `${name}: values`);
  const doGrad = c.grad ?? (want.y.dtype !== "int32" && want.y.requiresGrad);
  if (!doGrad) return;
  const weights = t([...want.y.shape], 99);
  gl.setBackend("js");
  try {
    want.y.mul(weights).sum().backward();
  } finally {
    gl.setBackend(gl.listBackends().includes("fast") ? "fast" : "js");
  }
  got.mul(weights.to("webgpu")).sum().backward();
  for (let i = 0; i < want.xs.length; i++) {
    const wg = want.xs[i].grad;
    if (!wg) continue;
    const gg = gxs[i].grad;
    assert.ok(gg, `${name}: input ${i} got no gradient on the GPU`);
    assert.equal(gg.device, "webgpu");
    const w = wg.toArray();
    const s = Math.max(1e-3, ...Array.from(w, (v) => Math.abs(v)));
    assertNear(await gg.toArrayAsync(), w, 2e-6 * s, rtol * 5, `${name}: gradient of input ${i}`);
  }
}

const UNARY: [string, (x: Tensor) => Tensor, { lo?: number; hi?: number }][] = [
  ["neg", (x) => x.neg(), {}], ["exp", (x) => x.exp(), {}], ["log", (x) => x.log(), { lo: 0.1, hi: 3 }],
  ["sqrt", (x) => x.sqrt(), { lo: 0.1, hi: 3 }], ["rsqrt", (x) => x.rsqrt(), { lo: 0.1, hi: 3 }], ["abs", (x) => x.abs(), {}],
  ["sign", (x) => x.sign(), {}], ["tanh", (x) => x.tanh(), { lo: -12, hi: 12 }], ["sigmoid", (x) => x.sigmoid(), { lo: -20, hi: 20 }],
  ["relu", (x) => x.relu(), {}], ["erf", (x) => x.erf(), { lo: -3, hi: 3 }], ["sin", (x) => x.sin(), {}], ["cos", (x) => x.cos(), {}],
  ["log1p", (x) => x.log1p(), { lo: -0.5, hi: 3 }], ["expm1", (x) => x.expm1(), { lo: -1, hi: 1 }], ["floor", (x) => x.floor(), {}],
  ["ceil", (x) => x.ceil(), {}], ["round", (x) => x.round(), {}], ["reciprocal", (x) => x.reciprocal(), { lo: 0.5, hi: 2 }],
  ["square", (x) => x.square(), {}], ["isfinite", (x) => x.isfinite(), {}], ["isnan", (x) => x.isnan(), {}],
  ["clamp", (x) => x.clamp(-0.5, 0.7), {}], ["clamp min", (x) => x.clamp(0.2), {}], ["clamp max", (x) => x.clamp(null, 0.1), {}],
  ["gelu", (x) => x.gelu(), {}], ["gelu tanh", (x) => x.gelu("tanh"), {}], ["softmax", (x) => x.softmax(1), {}],
  ["logSoftmax", (x) => x.logSoftmax(0), {}],
];

describe("webgpu device: elementwise ops equal the reference", { skip }, () => {
  for (const [name, fn, range] of UNARY) {
    // A transposed view, so every op also reads strided input.
    test(name, () => conform(name, { inputs: () => [t([5, 7], 3, range).t()], fn, rtol: name === "erf" || name.startsWith("gelu") ? 2e-5 : 2e-5 }));
  }
  const BIN: [string, (a: Tensor, b: Tensor) => Tensor][] = [
    ["add", (a, b) => a.add(b)], ["sub", (a, b) => a.sub(b)], ["mul", (a, b) => a.mul(b)], ["div", (a, b) => a.div(b.abs().add(0.5))],
    ["pow", (a, b) => a.abs().add(0.1).pow(b)], ["maximum", (a, b) => a.maximum(b)], ["minimum", (a, b) => a.minimum(b)],
    ["atan2", (a, b) => a.atan2(b)], ["eq", (a, b) => a.round().eq(b.round())], ["ne", (a, b) => a.round().ne(b.round())],
    ["lt", (a, b) => a.lt(b)], ["le", (a, b) => a.le(b)], ["gt", (a, b) => a.gt(b)], ["ge", (a, b) => a.ge(b)],
    ["where", (a, b) => a.where(a.gt(b), b.mul(3))], ["maskedFill", (a, b) => a.maskedFill(b.gt(0), -1.5)],
  ];
  for (const [name, fn] of BIN) {
    test(`${name}, broadcast [3, 1, 4] with [5, 4]`, () => conform(name, { inputs: () => [t([3, 1, 4], 5), t([5, 4], 6)], fn }));
  }
  test("scalars on either side, and a 0-d CPU tensor with a GPU one", () =>
    conform("scalars", { inputs: () => [t([4, 3], 7)], fn: (a) => gl.sub(3, a.mul(2).sub(0.5)).div(4).add(gl.tensor(1.5)).pow(2) }));
  test("negative bases with integer exponents, zero exponents and 0^negative", () =>
    conform("pow edge", { inputs: () => [gl.tensor([-2, -1.5, 0, 0, 3, -3]), gl.tensor([3, 2, 0, -1, 0.5, 2])], fn: (a, b) => a.pow(b), grad: false }));
  test("int32 arithmetic stays integer; true division and int/float promotion give floats", () =>
    conform("ints", {
      inputs: () => [t([4, 5], 8, { int: true, lo: -9, hi: 9 }), t([5], 9, { int: true, lo: -4, hi: 4 }), t([4, 5], 10)],
      fn: (a, b, f) => gl.cat([a.add(b).mul(a).sub(3).to("float32"), a.div(b.abs().add(1)), a.add(f), a.maximum(b).to("float32"), a.pow(2).to("float32"), a.neg().abs().to("float32")], 1),
    }));
  test("comparisons of ints, and casts float → int truncate toward zero", () =>
    conform("int compare", {
      inputs: () => [t([6, 3], 11, { int: true, lo: -3, hi: 3 }), t([6, 3], 12, { lo: -3, hi: 3 })],
      fn: (a, f) => gl.cat([a.lt(1), a.eq(0), f.to("int32"), f.mul(-1).to("int32"), a.clamp(-1, 1)], 1),
    }));
  test("NaN and infinity pass through like the reference", () =>
    conform("nan", {
      inputs: () => [gl.tensor([NaN, 1, -Infinity, Infinity, 0, -2]), gl.tensor([0, NaN, 1, 2, -0.5, 3])],
      fn: (a, b) => gl.stack([a.maximum(b), a.minimum(b), a.relu(), a.isnan().to("float32"), a.isfinite().to("float32"), a.clamp(-1, 1), a.mul(b), a.sigmoid(), a.tanh(), a.exp()], 0),
      grad: false,
    }));
});

describe("webgpu device: reductions equal the reference", { skip }, () => {
  const cases: [string, (x: Tensor) => Tensor][] = [
    ["sum all", (x) => x.sum()], ["sum dim 1", (x) => x.sum(1)], ["sum dims 0, 2 keepDim", (x) => x.sum([0, 2], true)],
    ["mean", (x) => x.mean(-1)], ["max dim 2", (x) => x.max(2)], ["min all", (x) => x.min()], ["var", (x) => x.var(1)],
    ["std", (x) => x.std([0, 1], { correction: 0 })], ["logsumexp", (x) => x.logsumexp(2)], ["norm", (x) => x.norm(2, 1)],
    ["norm 1", (x) => x.norm(1)],
    ["argmax", (x) => x.argmax(1)], ["argmin all", (x) => x.argmin()], ["argmax keepDim", (x) => x.argmax(2, true)],
  ];
  for (const [name, fn] of cases) {
    test(`${name} over a permuted [4, 6, 5]`, () => conform(name, { inputs: () => [t([6, 5, 4], 20).permute(2, 0, 1)], fn }));
  }
  test("long reductions (a workgroup per output) and many short ones (a thread per output)", () =>
    conform("long", { inputs: () => [t([3, 5000], 21)], fn: (x) => gl.cat([x.sum(1), x.max(1), x.t().sum(1).sum(0, true)], 0), rtol: 1e-4 }));
  test("ties: max splits the gradient, argmax takes the first", () =>
    conform("ties", { inputs: () => [gl.tensor([[1, 3, 3], [2, 2, 0]])], fn: (x) => gl.cat([x.max(1), x.argmax(1).to("float32")], 0) }));
  test("an int32 sum and max", () =>
    conform("int sum", { inputs: () => [t([7, 9], 22, { int: true, lo: -50, hi: 50 })], fn: (x) => gl.cat([x.sum(0), x.max(0), x.min(0)], 0) }));
});

describe("webgpu device: products, movement and indexing equal the reference", { skip }, () => {
  test("matmul: 2-D, batched, broadcast batch, transposed and sliced operands, vectors", () =>
    conform("matmul", {
      inputs: () => [t([6, 5], 30), t([5, 7], 31), t([3, 6, 5], 32), t([7, 5], 33), t([5], 34)],
      fn: (a, b, c, d, v) =>
        gl.cat([
          a.matmul(b).flatten(), c.matmul(b).flatten(), c.matmul(d.t()).flatten(), a.t().t().matmul(d.t()).flatten(),
          a.matmul(v), v.matmul(b), c.slice(2, 0, 5, 2).matmul(b.slice(0, 0, 5, 2)).flatten(), c.transpose(1, 2).transpose(1, 2).matmul(b).flatten(),
        ], 0),
      rtol: 1e-4,
    }));
  test("bmm with a batch of transposed right operands", () =>
    conform("bmm", { inputs: () => [t([4, 3, 8], 35), t([4, 6, 8], 36)], fn: (a, b) => a.matmul(b.transpose(1, 2)), rtol: 1e-4 }));
  test("reshape of a non-contiguous view copies; permute, expand, narrow, select, flip through slices", () =>
    conform("movement", {
      inputs: () => [t([4, 6], 40)],
      fn: (x) => gl.cat([
        x.t().reshape([-1]), x.permute(1, 0).contiguous().flatten(), x.narrow(1, 1, 3).flatten(), x.select(0, 2),
        x.unsqueeze(0).expand(3, 4, 6).sum(0).flatten(), x.slice(1, 5, 0, 1).flatten(), x.slice(0, 0, 4, 3).flatten(),
      ], 0),
    }));
  test("cat, stack, split, chunk and clone", () =>
    conform("cat", {
      inputs: () => [t([3, 4], 41), t([2, 4], 42)],
      fn: (a, b) => {
        const c = gl.cat([a, b, a.mul(2)], 0);
        const [p, q] = c.split([3, 5], 0);
        const [r, s] = c.chunk(2, 1);
        return gl.cat([gl.stack([p.sum(0), q.sum(0)], 0).flatten(), r.clone().flatten(), s.flatten()], 0);
      },
    }));
  test("indexSelect along dims 0 and 1 with repeats (the gradient is an index-add), and embedding", () =>
    conform("indexSelect", {
      inputs: () => [t([5, 4], 43)],
      fn: (w) => {
        const ids = gl.tensor([3, 0, 3, 4, 3], { dtype: "int32", device: "cpu" });
        const ids2 = gl.tensor([[1, 1], [2, 0]], { dtype: "int32", device: "cpu" });
        return gl.cat([w.indexSelect(0, ids).flatten(), w.indexSelect(1, ids.slice(0, 0, 3).sub(2).abs()).flatten(), gl.embedding(w, ids2).flatten()], 0);
      },
    }));
});

describe("webgpu device: gather and scatter-add equal the reference", { skip }, () => {
  const idx = (rows: number[][]) => gl.tensor(rows, { dtype: "int32", device: "cpu" });
  test("gather along dims 0 and 1 with repeats (its gradient is a scatter-add)", () =>
    conform("gather", {
      inputs: () => [t([4, 5], 60)],
      fn: (x) => gl.cat([x.gather(0, idx([[3, 0, 3, 1, 3], [0, 0, 2, 2, 1]])).flatten(), x.t().gather(1, idx([[1, 1], [0, 3], [2, 2]])).flatten()], 0),
    }));
  test("scatterAdd into a base from a larger src (only the index-shaped corner adds)", () =>
    conform("scatterAdd", {
      inputs: () => [t([3, 4], 61), t([3, 5], 62)],
      fn: (base, src) => gl.scatterAdd(base.mul(2), 1, idx([[0, 0, 3], [2, 1, 2], [3, 3, 3]]), src).mul(base),
    }));
  test("nllLoss and the composite cross-entropy (gather-based) with an ignored target", () =>
    conform("nll", {
      inputs: () => [t([5, 4], 63)],
      fn: (x) => {
        const target = gl.tensor([1, 0, 3, -100, 2], { dtype: "int32", device: "cpu" });
        return gl.cat([gl.nllLoss(x.logSoftmax(1), target).reshape([1]), crossEntropyComposite(x, target, { labelSmoothing: 0.2 }).reshape([1])], 0);
      },
    }));
});

describe("webgpu device: losses and layers' functions equal the reference", { skip }, () => {
  const targets = () => gl.tensor([2, 0, 4, 1, -100, 3], { dtype: "int32", device: "cpu" });
  for (const opts of [{}, { reduction: "sum" as const }, { reduction: "none" as const }, { labelSmoothing: 0.1 }]) {
    test(`crossEntropy ${JSON.stringify(opts)} with an ignored row`, () =>
      conform("ce", { inputs: () => [t([6, 5], 50, { lo: -4, hi: 4 })], fn: (x) => gl.crossEntropy(x, targets(), opts) }));
  }
  test("crossEntropy over [N, C, d] logits (classes moved last first)", () =>
    conform("ce3", {
      inputs: () => [t([2, 5, 3], 51)],
      fn: (x) => gl.crossEntropy(x, gl.tensor([[0, 4, 2], [1, 1, 3]], { dtype: "int32", device: "cpu" })),
    }));
  test("mseLoss, layerNorm, rmsNorm and linear", () =>
    conform("layers", {
      inputs: () => [t([4, 6], 52), t([4, 6], 53), t([6], 54), t([6], 55), t([3, 6], 56), t([3], 57)],
      fn: (x, y, w, b, W, bb) => {
        return gl.cat([gl.mseLoss(x, y).reshape([1]), gl.layerNorm(x, [6], w, b).flatten(), gl.rmsNorm(x, [6], w).flatten(), gl.linear(x, W, bb).flatten()], 0);
      },
      rtol: 1e-4,
    }));
});

describe("webgpu device: errors and transfers", { skip }, () => {
  test("synchronous reads of a device tensor name the tensor and the way out", () => {
    const g = gl.tensor([[1, 2]]).to("webgpu");
    for (const f of [() => g.item(), () => g.toArray(), () => g.tolist(), () => g.data]) {
      assert.throws(f, (e: Error) => e instanceof gl.DeviceError && /\[1, 2\] is on webgpu/.test(e.message) && /await t\.cpu\(\)/.test(e.message));
    }
    assert.equal(String(g), "tensor(shape=[1, 2], dtype=float32, device=webgpu)");
  });
  test("mixing devices, float64 on the GPU, device index tensors and CPU-only ops are refused clearly", () => {
    const g = gl.tensor([1, 2, 3]).to("webgpu");
    assert.throws(() => g.add(gl.tensor([1, 2, 3])), /expected all tensors on one device, got webgpu and cpu .*\.to\("webgpu"\)/);
    assert.throws(() => gl.tensor([1], { dtype: "float64" }).to("webgpu"), /float64 stays on the CPU/);
    assert.throws(() => g.to("float64"), /float64/);
    const ids = gl.tensor([0, 1], { dtype: "int32" }).to("webgpu");
    assert.throws(() => g.indexSelect(0, ids), /index must be a CPU tensor/);
    assert.throws(() => g.to("cpu"), /await t\.cpu\(\)/);
    assert.throws(() => g.to("tpu"), /unknown device "tpu"/);
    assert.throws(() => gl.tensor([1]).requiresGrad_().mul(2).to("webgpu"), /cannot flow back/);
  });
  test("copy_ and fill_ write into device views in place; cpu() reads strided views", async () => {
    const g = gl.zeros([3, 4]).to("webgpu");
    g.slice(1, 1, 3).copy_(gl.tensor([[1, 2], [3, 4], [5, 6]]));
    g.select(0, 2).fill_(7);
    g.t().slice(0, 3, 4).copy_(g.t().slice(0, 1, 2));
    assert.deepEqual(await g.tolistAsync(), [[0, 1, 2, 1], [0, 3, 4, 3], [7, 7, 7, 7]]);
    assert.deepEqual(await g.t().slice(0, 1, 3).tolistAsync(), [[1, 3, 7], [2, 4, 7]]);
    assert.equal(await g.sum().itemAsync(), 42);
  });
  test("gradients accumulate across backward calls and retainGrad keeps a non-leaf's", async () => {
    const x = gl.tensor([1, 2, 3]).to("webgpu").requiresGrad_();
    const y = x.mul(x);
    y.retainGrad();
    y.sum().backward();
    x.mul(3).sum().backward();
    assert.deepEqual(Array.from(await x.grad!.toArrayAsync()), [5, 7, 9]);
    assert.deepEqual(Array.from(await y.grad!.toArrayAsync()), [1, 1, 1]);
  });
  test("without an adapter init() leaves everything on the CPU and says why", async () => {
    const r = await gl.webgpu.init({ backend: "no-such-backend" });
    assert.equal(r.device, "cpu");
    assert.match((r as { reason: string }).reason, /no WebGPU device, tensors stay on the CPU: .*no-such-backend/);
    assert.equal(gl.getDefaultDevice(), "cpu");
    assert.equal(gl.zeros([1]).device, "cpu");
  });

  test("setBackend('webgpu') makes the GPU the default device of factories; a CPU backend undoes it", async () => {
    gl.setBackend("webgpu");
    try {
      const z = gl.zeros([2, 2]);
      const r = gl.randn([3], { generator: gl.manualSeed(1) });
      assert.equal(z.device, "webgpu");
      assert.equal(r.device, "webgpu");
      assert.equal(gl.tensor([1, 2], { device: "cpu" }).device, "cpu");
      assert.deepEqual(Array.from(await r.toArrayAsync()), Array.from(gl.randn([3], { generator: gl.manualSeed(1), device: "cpu" }).toArray()));
    } finally {
      gl.setBackend(gl.listBackends().includes("fast") ? "fast" : "js");
    }
    assert.equal(gl.getDefaultDevice(), "cpu");
    assert.equal(gl.zeros([1]).device, "cpu");
  });
});
