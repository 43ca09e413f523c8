import { test } from "node:test";
import assert from "node:assert/strict";
import * as gl from "../../../src/index.js";
import type { View } from "../../../src/backend/kernels.js";
import { crossEntropyBackward as refBackward, crossEntropyForward as refForward } from "../../../src/backends/js/loss.js";
import { crossEntropyBackwardF32, crossEntropyForwardF32 } from "../../../src/backends/fast/loss.js";
import { fastRuntime } from "../../../src/backends/fast/index.js";
import { crossEntropyComposite } from "../../../src/tensor/ops/loss.js";
import { assertClose, gradcheck, randLeaf } from "../../helpers/gradcheck.js";
import { assertNear, contiguous, forEachVariant, permutedView, randData } from "./helpers.js";

const IGNORE = -100;

/** Targets in [0, C), every third row ignored. */
function targets(N: number, C: number, seed: number): Int32Array {
  const t = new Int32Array(N);
  for (let i = 0; i < N; i++) t[i] = i % 3 === 2 ? IGNORE : (i * 7 + seed) % C;
  return t;
}

function runBoth(x: View, t: Int32Array, eps: number, what: string): void {
  const [N, C] = x.shape;
  const rt = fastRuntime()!;
  const loss = new Float32Array(N), lse = new Float32Array(N);
  const rLoss = new Float64Array(N), rLse = new Float64Array(N);
  crossEntropyForwardF32(rt, x, t, IGNORE, eps, loss, lse);
  refForward(x, t, IGNORE, eps, rLoss, rLse);
  assertNear(lse, rLse, 1e-5, 1e-5, `${what} lse`);
  assertNear(loss, rLoss, 1e-5, 1e-5, `${what} loss`);
  const g = randData(N, 99);
  const dx = new Float32Array(N * C), rDx = new Float64Array(N * C);
  crossEntropyBackwardF32(rt, x, t, IGNORE, eps, lse, g, dx);
  refBackward(x, t, IGNORE, eps, rLse, g, rDx);
  assertNear(dx, rDx, 1e-6, 1e-4, `${what} dx`);
}

test("fast cross-entropy kernels match the reference on odd sizes, smoothing, ignored rows and transposed logits", async () => {
  await forEachVariant((v) => {
    for (const [N, C] of [[1, 1], [1, 5], [3, 4], [7, 3], [5, 17], [33, 64], [9, 130]]) {
      for (const eps of [0, 0.15]) {
        const t = targets(N, C, N + C);
        runBoth(contiguous(randData(N * C + 3, N * C), [N, C], 3), t, eps, `${v} [${N}, ${C}] eps=${eps}`);
        runBoth(permutedView([N, C], [1, 0], N + 2 * C), t, eps, `${v} transposed [${N}, ${C}] eps=${eps}`);
      }
    }
  });
});

test("fast cross-entropy kernels: large logits do not overflow, −Inf logits are impossible classes, NaN propagates", async () => {
  await forEachVariant((v) => {
    const C = 9;
    const rows = [
      [1000, 999, 998, -1000, 0, 1, 2, 3, 4],
      [-Infinity, 2, 1, -Infinity, 0, 0, 0, 0, -Infinity],
      [NaN, 0, 0, 0, 0, 0, 0, 0, 0],
      [-Infinity, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity],
    ];
    const x = contiguous(Float32Array.from(rows.flat()), [rows.length, C]);
    const t = Int32Array.from([0, 1, 4, 2]);
    const rt = fastRuntime()!;
    const loss = new Float32Array(4), lse = new Float32Array(4), rLoss = new Float64Array(4), rLse = new Float64Array(4);
    crossEntropyForwardF32(rt, x, t, IGNORE, 0, loss, lse);
    refForward(x, t, IGNORE, 0, rLoss, rLse);
    assertNear(loss, rLoss, 1e-5, 1e-5, `${v} special`);
    assert.ok(Math.abs(loss[0] - (Math.log(1 + Math.exp(-1) + Math.exp(-2)))) < 1e-5, `${v}: shifted by the max`);
    assert.ok(Number.isFinite(loss[1]), `${v}: −Inf logits elsewhere leave the loss finite`);
    assert.ok(Number.isNaN(loss[2]), `${v}: NaN logit gives NaN`);
  });
});

/** The fused loss and the composite twin, values and gradients, on each backend and dtype. */
function compare(shape: number[], target: number[], opts: gl.CrossEntropyOptions, dtype: "float32" | "float64"): void {
  const base = gl.randn(shape, { dtype, generator: new gl.Generator(shape.length * 31 + target.length) }).mul(3);
  const t = gl.tensor(target, { dtype: "int32", shape: shape.length > 2 ? [shape[0], ...shape.slice(2)] : [target.length] });
  const a = base.detach().requiresGrad_(true);
  const b = base.detach().requiresGrad_(true);
  const la = gl.crossEntropy(a, t, opts);
  const lb = crossEntropyComposite(b, t, opts);
  const R = gl.randn(la.shape, { dtype, generator: new gl.Generator(5) });
  la.mul(R).sum().backward();
  lb.mul(R).sum().backward();
  const [atol, rtol] = dtype === "float64" ? [1e-12, 1e-10] : [2e-6, 2e-5];
  const what = `${gl.getBackend()} ${dtype} ${JSON.stringify(shape)} ${JSON.stringify(opts)}`;
  assertClose(la.toArray(), lb.toArray(), atol, rtol, `${what} loss`);
  assertClose(a.grad!.toArray(), b.grad!.toArray(), atol, rtol, `${what} grad`);
}

test("crossEntropy (fused) agrees with its composite twin on both backends, float32 and float64", () => {
  const t40 = Array.from({ length: 40 }, (_, i) => (i % 5 === 4 ? -100 : (i * 11) % 70));
  try {
    for (const backend of ["fast", "js"]) {
      gl.setBackend(backend);
      for (const dtype of ["float32", "float64"] as const) {
        for (const reduction of ["mean", "sum", "none"] as const) {
          for (const labelSmoothing of [0, 0.2]) {
            compare([40, 70], t40, { reduction, labelSmoothing }, dtype);
            compare([4, 5], [2, 3, 3, 0], { reduction, labelSmoothing, ignoreIndex: 3 }, dtype);
          }
        }
        compare([2, 6, 5], [0, 5, 1, 2, 3, 4, 4, 3, 2, 1], { reduction: "none", labelSmoothing: 0.1 }, dtype);
      }
    }
  } finally {
    gl.setBackend("fast");
  }
});

test("crossEntropy (fused) passes a float64 finite-difference gradcheck, transposed logits and smoothing included", () => {
  const t = gl.tensor([3, 0, -100, 6, 2], { dtype: "int32" });
  for (const labelSmoothing of [0, 0.3]) {
    gradcheck((x) => gl.crossEntropy(x, t, { labelSmoothing }), [randLeaf([5, 7], 1)]);
    gradcheck((x) => gl.crossEntropy(x.transpose(0, 1), t, { labelSmoothing, reduction: "sum" }), [randLeaf([7, 5], 2)]);
    gradcheck((x) => gl.crossEntropy(x, t, { labelSmoothing, reduction: "none" }), [randLeaf([5, 7], 3)]);
  }
});

test("crossEntropy (fused) is one node: its gradient is softmax − onehot over the counted rows", () => {
  const x = gl.tensor([[1, 2, 3], [0, 0, 0], [5, 1, 1]], { requiresGrad: true });
  const loss = gl.crossEntropy(x, gl.tensor([2, 1, -100], { dtype: "int32" }));
  const names = new Set<string>();
  const stack = loss.gradFn ? [loss.gradFn] : [];
  while (stack.length) {
    const n = stack.pop()!;
    names.add(n.name);
    for (const e of n.next) if (e?.kind === "node") stack.push(e.node);
  }
  assert.ok(names.has("crossEntropy") && !names.has("exp") && !names.has("gather"), `nodes: ${[...names].join(", ")}`);
  loss.backward();
  const p0 = [1, 2, 3].map((v) => Math.exp(v) / (Math.exp(1) + Math.exp(2) + Math.exp(3)));
  const expected = [p0[0] / 2, p0[1] / 2, (p0[2] - 1) / 2, 1 / 6, (1 / 3 - 1) / 2, 1 / 6, 0, 0, 0];
  assertClose(x.grad!.toArray(), expected, 1e-6, 1e-5, "grad");
});
