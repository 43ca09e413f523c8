import { test } from "node:test";
import assert from "node:assert/strict";
import * as gl from "../../src/index.js";
import { assertClose, gradcheck, randLeaf } from "../helpers/gradcheck.js";
import { type OpSpec, checkSpecs } from "./opspec.js";
import { type Nd, at, map, matmulNd, nd, permuteNd, reduce, sumOf, zipN } from "./reference.js";

const ids = (data: number[], shape = [data.length]) => gl.tensor(data, { dtype: "int32", shape });

/**
 * Cross-entropy by hand, as PyTorch defines it: log-softmax over dim 1, pick the target, blend
 * with the mean over classes for label smoothing: (1−ε)·(−log p_t) + ε/C·Σ_c(−log p_c). Ignored
 * targets contribute 0 and are not counted by the mean.
 */
function crossEntropyRef(x: Nd, target: number[], o: { ignoreIndex?: number; reduction?: string; ls?: number } = {}): Nd {
  const { ignoreIndex = -100, reduction = "mean", ls = 0 } = o;
  // Classes last, rows flattened: [N, C, d...] → [N·d..., C].
  const r = x.shape.length;
  const xl = r > 2 ? permuteNd(x, [0, ...Array.from({ length: r - 2 }, (_, i) => i + 2), 1]) : x;
  const C = x.shape[1];
  const rows = xl.data.length / C;
  const losses: number[] = [];
  let count = 0;
  for (let i = 0; i < rows; i++) {
    const row = Array.from(xl.data.subarray(i * C, (i + 1) * C));
    const m = Math.max(...row);
    const lse = m + Math.log(sumOf(row.map((v) => Math.exp(v - m))));
    const logp = row.map((v) => v - lse);
    if (target[i] === ignoreIndex) {
      losses.push(0);
      continue;
    }
    count++;
    losses.push((1 - ls) * -logp[target[i]] + (ls / C) * sumOf(logp.map((v) => -v)));
  }
  if (reduction === "sum") return nd([], [sumOf(losses)]);
  if (reduction === "mean") return nd([], [sumOf(losses) / count]);
  return nd([x.shape[0], ...x.shape.slice(2)], losses);
}

const t4 = [2, 0, 4, 1];
const t4ignored = [2, -100, 4, -100];
const tSpatial = [0, 2, 1, 1, 0, 2]; // [2, 3] targets for logits [2, 3(classes), 3]

const ceSpecs: OpSpec[] = [];
for (const reduction of ["mean", "sum", "none"] as const) {
  for (const ls of [0, 0.1]) {
    for (const [label, target] of [["", t4], [" ignoreIndex", t4ignored]] as const) {
      ceSpecs.push({
        name: `crossEntropy reduction=${reduction} labelSmoothing=${ls}${label}`,
        cases: [[[4, 5]]],
        f: (x) => gl.crossEntropy(x, ids(target), { reduction, labelSmoothing: ls }),
        ref: (x) => crossEntropyRef(x, target, { reduction, ls }),
      });
    }
  }
}

checkSpecs([
  ...ceSpecs,
  {
    name: "crossEntropy custom ignoreIndex",
    cases: [[[4, 5]]],
    f: (x) => gl.crossEntropy(x, ids([2, 3, 3, 0]), { ignoreIndex: 3, labelSmoothing: 0.2 }),
    ref: (x) => crossEntropyRef(x, [2, 3, 3, 0], { ignoreIndex: 3, ls: 0.2 }),
  },
  {
    name: "crossEntropy [N, C, d] logits",
    cases: [[[2, 3, 3]]],
    f: (x) => gl.crossEntropy(x, ids(tSpatial, [2, 3]), { reduction: "none", labelSmoothing: 0.3 }),
    ref: (x) => crossEntropyRef(x, tSpatial, { reduction: "none", ls: 0.3 }),
  },
  {
    name: "crossEntropy 1-d logits, 0-d target",
    cases: [[[5]]],
    f: (x) => gl.crossEntropy(x, ids([3], [])),
    ref: (x) => crossEntropyRef(nd([1, 5], x.data), [3]),
  },
  {
    name: "nllLoss",
    cases: [[[4, 5]]],
    f: (x) => gl.nllLoss(x, ids(t4ignored)),
    ref: (x) => nd([], [-(at(x, [0, 2]) + at(x, [2, 4])) / 2]),
  },
  ...(["mean", "sum", "none"] as const).map(
    (reduction): OpSpec => ({
      name: `mseLoss reduction=${reduction}`,
      cases: [[[3, 4], [3, 4]], [[], []]],
      f: (a, b) => gl.mseLoss(a, b, { reduction }),
      ref: (a, b) => {
        const sq = zipN([a, b], (x, y) => (x - y) ** 2);
        if (reduction === "none") return sq;
        const s = sumOf(Array.from(sq.data));
        return nd([], [reduction === "sum" ? s : s / sq.data.length]);
      },
    }),
  ),
  {
    name: "linear",
    cases: [[[2, 3], [4, 3], [4]], [[3], [4, 3], [4]], [[2, 5, 3], [4, 3], [4]]],
    f: (x, w, b) => gl.linear(x, w, b),
    ref: (x, w, b) => zipN([matmulNd(x, permuteNd(w, [1, 0])), b], (u, v) => u + v),
  },
  {
    name: "linear without bias",
    cases: [[[2, 3], [4, 3]]],
    f: (x, w) => gl.linear(x, w),
    ref: (x, w) => matmulNd(x, permuteNd(w, [1, 0])),
  },
  {
    name: "layerNorm",
    cases: [[[2, 3, 4], [4], [4]]],
    f: (x, w, b) => gl.layerNorm(x, [4], w, b),
    ref: (x, w, b) => {
      const mu = reduce(x, [-1], true, (v) => sumOf(v) / v.length);
      const va = reduce(x, [-1], true, (v) => sumOf(v.map((u) => u * u)) / v.length - (sumOf(v) / v.length) ** 2);
      return zipN([x, mu, va, w, b], (xv, m, v, wv, bv) => ((xv - m) / Math.sqrt(v + 1e-5)) * wv + bv);
    },
    rtol: 1e-9,
  },
  {
    name: "layerNorm over two dims, no affine",
    cases: [[[2, 3, 4]]],
    f: (x) => gl.layerNorm(x, [3, 4]),
    ref: (x) => {
      const mu = reduce(x, [1, 2], true, (v) => sumOf(v) / v.length);
      const va = reduce(x, [1, 2], true, (v) => sumOf(v.map((u) => u * u)) / v.length - (sumOf(v) / v.length) ** 2);
      return zipN([x, mu, va], (xv, m, v) => (xv - m) / Math.sqrt(v + 1e-5));
    },
    rtol: 1e-9,
  },
  {
    name: "rmsNorm",
    cases: [[[2, 3, 4], [4]]],
    f: (x, w) => gl.rmsNorm(x, [4], w, 1e-6),
    ref: (x, w) => {
      const ms = reduce(x, [-1], true, (v) => sumOf(v.map((u) => u * u)) / v.length);
      return zipN([x, ms, w], (xv, m, wv) => (xv / Math.sqrt(m + 1e-6)) * wv);
    },
  },
  {
    name: "silu",
    cases: [[[3, 4]]],
    f: (x) => gl.silu(x),
    ref: (x) => map(x, (v) => v / (1 + Math.exp(-v))),
  },
]);

test("crossEntropy equals log-softmax then pick, by hand, on fixed numbers", () => {
  const x = gl.tensor([[1, 2, 3], [0, 0, 0]], { dtype: "float64" });
  const t = ids([2, 0]);
  const lse0 = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3));
  const l0 = lse0 - 3;
  const l1 = Math.log(3);
  assertClose([gl.crossEntropy(x, t).item()], [(l0 + l1) / 2], 1e-15, 1e-15);
  // Smoothing 0.3: 0.7·nll + 0.3·mean over classes of −log p.
  const s0 = 0.7 * l0 + 0.1 * (3 * lse0 - 6);
  const s1 = 0.7 * l1 + 0.3 * l1;
  assertClose(gl.crossEntropy(x, t, { labelSmoothing: 0.3, reduction: "none" }).toArray(), [s0, s1], 1e-15, 1e-14);
});

test("crossEntropy: all targets ignored gives NaN for the mean (0/0) and 0 for the sum, as PyTorch", () => {
  const x = randLeaf([2, 3], 5);
  assert.ok(Number.isNaN(gl.crossEntropy(x, ids([-100, -100])).item()));
  assert.equal(gl.crossEntropy(x, ids([-100, -100]), { reduction: "sum" }).item(), 0);
});

test("crossEntropy of float32 logits is float32 and its gradient is softmax − onehot over N", () => {
  const x = gl.tensor([[0.5, -1, 2], [1, 1, 1]], { requiresGrad: true });
  const loss = gl.crossEntropy(x, ids([2, 1]));
  assert.equal(loss.dtype, "float32");
  loss.backward();
  const sm = x.detach().softmax(1).toArray();
  const want = Array.from(sm, (v, i) => (v - (i === 2 || i === 4 ? 1 : 0)) / 2);
  assertClose(x.grad!.toArray(), want, 1e-7, 1e-6);
});

test("loss errors name the op and both shapes or the bad value", () => {
  const x = gl.zeros([4, 5]);
  const cases: [() => unknown, RegExp][] = [
    [() => gl.crossEntropy(x, ids([0, 1, 2])), /crossEntropy: target shape \[3\] does not match logits \[4, 5\] \(expected \[4\]\)/],
    [() => gl.crossEntropy(x, ids([0, 1, 2, 5])), /crossEntropy: target 5 is out of range for 5 classes/],
    [() => gl.crossEntropy(x, ids([0, 1, 2, -1])), /crossEntropy: target -1 is out of range/],
    [() => gl.crossEntropy(x, gl.zeros([4])), /crossEntropy: target must be an int32 tensor, got float32/],
    [() => gl.crossEntropy(x, ids([0, 1, 2, 3]), { labelSmoothing: 1.5 }), /crossEntropy: labelSmoothing must be in \[0, 1\], got 1.5/],
    [() => gl.crossEntropy(x, ids([0, 1, 2, 3]), { reduction: "avg" as "mean" }), /crossEntropy: reduction must be "mean", "sum" or "none", got avg/],
    [() => gl.mseLoss(x, gl.zeros([5, 4])), /mseLoss: input \[4, 5\] and target \[5, 4\] must have the same shape/],
    [() => gl.linear(x, gl.zeros([3, 4])), /linear: input \[4, 5\] has 5 features, weight \[3, 4\] expects 4/],
    [() => gl.layerNorm(x, [4]), /layerNorm: input \[4, 5\] does not end with normalized shape \[4\]/],
  ];
  for (const [f, re] of cases) assert.throws(f, (e: Error) => e instanceof gl.GradlabError && re.test(e.message), String(re));
});

test("dropout: the drop rate is p, survivors are scaled by 1/(1−p), the gradient is the mask", () => {
  const n = 100_000;
  const p = 0.3;
  const x = gl.ones([n], { dtype: "float64", requiresGrad: true });
  const y = gl.dropout(x, p, true, new gl.Generator(11));
  const v = y.toArray();
  let zeros = 0;
  for (const e of v) {
    if (e === 0) zeros++;
    else assert.ok(Math.abs(e - 1 / (1 - p)) < 1e-15, `survivor ${e}`);
  }
  // Binomial(n, p): 5 standard deviations is ~0.007 here.
  const sd = Math.sqrt(p * (1 - p) / n);
  assert.ok(Math.abs(zeros / n - p) < 5 * sd, `drop rate ${zeros / n}`);
  const R = gl.randn([n], { dtype: "float64", generator: new gl.Generator(12) });
  y.backward(R);
  const g = x.grad!.toArray();
  const r = R.toArray();
  for (let i = 0; i < n; i += 97) assert.equal(g[i], r[i] * v[i]);
  // Same generator state, same mask; eval mode and p = 0 are the identity; p = 1 drops all.
  assert.deepEqual(gl.dropout(x, p, true, new gl.Generator(11)).toArray(), v);
  assert.equal(gl.dropout(x, p, false), x);
  assert.equal(gl.dropout(x, 0), x);
  assert.deepEqual(Array.from(gl.dropout(gl.ones([3]), 1).toArray()), [0, 0, 0]);
  assert.throws(() => gl.dropout(x, 1.2), /dropout: p must be in \[0, 1\], got 1.2/);
});

test("gradcheck of a small classifier loss end to end", () => {
  const w = randLeaf([5, 3], 21);
  const xin = gl.randn([4, 3], { dtype: "float64", generator: new gl.Generator(22) });
  gradcheck((wt) => gl.crossEntropy(gl.linear(xin, wt).tanh(), ids([1, 4, -100, 0]), { labelSmoothing: 0.1 }), [w]);
});
