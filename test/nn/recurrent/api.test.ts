// Layer API: shapes and layouts, bad input, initialisation, stateful use, truncated BPTT.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as gl from "../../../src/index.js";
import { assertClose } from "../../helpers/gradcheck.js";

const f64 = "float64" as const;
const g = (seed: number) => new gl.Generator(seed);
const randn = (shape: number[], seed: number) => gl.randn(shape, { dtype: f64, generator: g(seed) });

test("output and state shapes: batchFirst, bidirectional, projSize, unbatched input", () => {
  const lstm = new gl.nn.LSTM({ inputSize: 3, hiddenSize: 5, numLayers: 2, bidirectional: true, projSize: 2, batchFirst: true });
  const [y, [h, c]] = lstm.forward(gl.randn([4, 7, 3]));
  assert.deepEqual([y.shape, h.shape, c.shape], [[4, 7, 4], [4, 4, 2], [4, 4, 5]]);
  const gru = new gl.nn.GRU({ inputSize: 3, hiddenSize: 5, numLayers: 2 });
  const [yu, hu] = gru.forward(gl.randn([7, 3]));
  assert.deepEqual([yu.shape, hu.shape], [[7, 5], [2, 5]]);
  // Unbatched equals a batch of one.
  const x = randn([6, 3], 1);
  const m = new gl.nn.RNN({ inputSize: 3, hiddenSize: 4, dtype: f64 });
  assert.deepEqual(Array.from(m.forward(x)[0].toArray()), Array.from(m.forward(x.unsqueeze(1))[0].toArray()));
});

test("batchFirst gives the transposed layout of the same computation", () => {
  const a = new gl.nn.LSTM({ inputSize: 3, hiddenSize: 4, dtype: f64, generator: g(2) });
  const b = new gl.nn.LSTM({ inputSize: 3, hiddenSize: 4, dtype: f64, batchFirst: true });
  b.loadStateDict(a.stateDict());
  const x = randn([5, 2, 3], 3);
  const [ya, [ha]] = a.forward(x);
  const [yb, [hb]] = b.forward(x.transpose(0, 1).contiguous());
  assert.deepEqual(Array.from(yb.transpose(0, 1).toArray()), Array.from(ya.toArray()));
  assert.deepEqual(Array.from(hb.toArray()), Array.from(ha.toArray()));
});

test("unsorted lengths give each sequence the result it gets alone", () => {
  const m = new gl.nn.LSTM({ inputSize: 2, hiddenSize: 3, bidirectional: true, dtype: f64, generator: g(4) });
  const x = randn([5, 3, 2], 5);
  const lengths = [2, 5, 3];
  const [y, [h]] = m.forward(x, null, { lengths: gl.tensor(lengths, { dtype: "int32" }) });
  lengths.forEach((L, b) => {
    const [yb, [hb]] = m.forward(x.narrow(0, 0, L).narrow(1, b, 1));
    assertClose(y.narrow(0, 0, L).narrow(1, b, 1).toArray(), yb.toArray(), 1e-15, 0, `y of ${b}`);
    assertClose(h.narrow(1, b, 1).toArray(), hb.toArray(), 1e-15, 0, `h of ${b}`);
  });
});

function throwsWith(fn: () => unknown, type: new (...a: never[]) => Error, ...parts: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof type, `expected ${type.name}, got ${String(e)}`);
    for (const p of parts) assert.ok((e as Error).message.includes(p), `message "${(e as Error).message}" lacks "${p}"`);
    return true;
  });
}

test("bad input: rank, feature size, state shapes, lengths, dtypes — errors name expected and actual", () => {
  const m = new gl.nn.LSTM({ inputSize: 3, hiddenSize: 4, numLayers: 2 });
  const x = gl.randn([5, 2, 3]);
  throwsWith(() => m.forward(gl.randn([5, 2, 3, 1])), gl.ShapeError, "LSTM.forward", "rank 3", "rank 4", "[5, 2, 3, 1]");
  throwsWith(() => m.forward(gl.randn([5, 2, 6])), gl.ShapeError, "3 features", "[5, 2, 6]", "6");
  throwsWith(() => m.forward(x, [gl.zeros([1, 2, 4]), gl.zeros([2, 2, 4])]), gl.ShapeError, "h0", "[2, 2, 4]", "[1, 2, 4]");
  throwsWith(() => m.forward(x, [gl.zeros([2, 2, 4]), gl.zeros([2, 3, 4])]), gl.ShapeError, "c0", "[2, 2, 4]", "[2, 3, 4]");
  throwsWith(() => m.forward(x, [gl.zeros([2, 2, 4])] as never), gl.GradlabError, "[h0, c0]");
  throwsWith(() => m.forward(x, null, { lengths: [5, 6] }), gl.GradlabError, "lengths[1] = 6", "1..5");
  throwsWith(() => m.forward(x, null, { lengths: [0, 5] }), gl.GradlabError, "lengths[0] = 0", "1..5");
  throwsWith(() => m.forward(x, null, { lengths: [2.5, 5] }), gl.GradlabError, "lengths[0] = 2.5");
  throwsWith(() => m.forward(x, null, { lengths: [5] }), gl.ShapeError, "expected 2 lengths", "got 1");
  throwsWith(() => m.forward(gl.randn([5, 2, 3], { dtype: f64 })), gl.DTypeError, "float64", "float32");
  throwsWith(() => m.forward(x, [gl.zeros([2, 2, 4], { dtype: f64 }), gl.zeros([2, 2, 4])]), gl.DTypeError, "h0", "float64", "float32");
  throwsWith(() => m.forward("x" as never), gl.GradlabError, "must be a Tensor");
  throwsWith(() => m.forward(gl.randn([0, 2, 3])), gl.ShapeError, "no time steps", "[0, 2, 3]");
  const cell = new gl.nn.GRUCell(3, 4);
  throwsWith(() => cell.forward(gl.randn([2, 5])), gl.ShapeError, "GRUCell.forward", "3 features", "[2, 5]");
  throwsWith(() => cell.forward(gl.randn([2, 3]), gl.randn([2, 5])), gl.ShapeError, "hx", "[2, 4]", "[2, 5]");
});

test("bad options are rejected with the allowed values", () => {
  throwsWith(() => new gl.nn.LSTM({ inputSize: 3, hiddenSize: 4, projSize: 4 }), gl.GradlabError, "projSize", "0..hiddenSize-1", "got 4");
  throwsWith(() => new gl.nn.GRU({ inputSize: 3, hiddenSize: 4, mergeMode: "max" as never }), gl.GradlabError, "mergeMode", '"ave"', '"max"');
  throwsWith(() => new gl.nn.RNN({ inputSize: 3, hiddenSize: 4, skip: "gated" as never }), gl.GradlabError, "skip", '"highway"');
  throwsWith(() => new gl.nn.RNN({ inputSize: 3, hiddenSize: 4, nonlinearity: "sigmoid" as never }), gl.GradlabError, "nonlinearity", '"relu"');
  throwsWith(() => new gl.nn.GRU({ inputSize: 3, hiddenSize: 4, forgetBias: 1 } as never), gl.GradlabError, "forgetBias", "LSTM");
  throwsWith(() => new gl.nn.LSTM({ inputSize: 0, hiddenSize: 4 }), gl.GradlabError, "inputSize", "got 0");
  throwsWith(() => new gl.nn.LSTM({ inputSize: 3, hiddenSize: 4, dropout: 1.5 }), gl.GradlabError, "dropout", "1.5");
});

test("initialisation: PyTorch's U(±1/√H) by default, orthogonal recurrent blocks, forget bias", () => {
  const H = 8;
  const m = new gl.nn.LSTM({ inputSize: 5, hiddenSize: H, dtype: f64, generator: g(6) });
  const bound = 1 / Math.sqrt(H);
  let spread = 0;
  for (const p of m.parameters()) {
    for (const v of p.toArray()) {
      assert.ok(Math.abs(v) <= bound);
      spread = Math.max(spread, Math.abs(v));
    }
  }
  assert.ok(spread > 0.9 * bound);
  const o = new gl.nn.LSTM({ inputSize: 5, hiddenSize: H, dtype: f64, init: { recurrent: "orthogonal" }, forgetBias: 1, generator: g(7) });
  const w = o.layerParams(0, 0).wHh;
  for (let gate = 0; gate < 4; gate++) {
    const blk = w.narrow(0, gate * H, H);
    assertClose(blk.matmul(blk.t()).toArray(), gl.eye(H, H, { dtype: f64 }).toArray(), 1e-12, 0, `gate ${gate} block is orthogonal`);
  }
  const { bIh, bHh } = o.layerParams(0, 0);
  assert.deepEqual(Array.from(bIh!.narrow(0, H, H).toArray()), new Array(H).fill(1));
  assert.deepEqual(Array.from(bHh!.narrow(0, H, H).toArray()), new Array(H).fill(0));
  // Same seed, same weights.
  gl.manualSeed(3);
  const a = new gl.nn.GRU({ inputSize: 2, hiddenSize: 3 }).stateDict();
  gl.manualSeed(3);
  const b = new gl.nn.GRU({ inputSize: 2, hiddenSize: 3 }).stateDict();
  for (const k of Object.keys(a)) assert.deepEqual(Array.from(a[k].toArray()), Array.from(b[k].toArray()));
});

test("stateful: consecutive calls continue the sequence with a detached state; resetStates starts over", () => {
  const m = new gl.nn.LSTM({ inputSize: 2, hiddenSize: 3, numLayers: 2, stateful: true, dtype: f64, generator: g(8) });
  const x = randn([6, 2, 2], 9);
  const [yAll, [hAll]] = m.forward(x);
  m.resetStates();
  const x1 = x.narrow(0, 0, 4).contiguous().requiresGrad_(true);
  const [y1] = m.forward(x1);
  const [y2, [h2]] = m.forward(x.narrow(0, 4, 2));
  assertClose(gl.cat([y1, y2], 0).toArray(), yAll.toArray(), 1e-14, 0, "chunked outputs");
  assertClose(h2.toArray(), hAll.toArray(), 1e-14, 0, "final state");
  y2.sum().backward();
  assert.equal(x1.grad, null, "the carried state is detached");
  m.resetStates();
  assertClose(m.forward(x.narrow(0, 0, 4))[0].toArray(), y1.toArray(), 0, 0, "after resetStates");
  throwsWith(() => m.forward(randn([2, 3, 2], 10)), gl.ShapeError, "batch size 2", "batch size 3", "resetStates");
});

test("truncatedBPTT: the forward pass sees the whole history, gradients span at most k steps", () => {
  const m = new gl.nn.GRU({ inputSize: 2, hiddenSize: 3, dtype: f64, generator: g(11) });
  const x = randn([7, 2, 2], 12).requiresGrad_(true);
  const [yAll, hAll] = m.forward(x);
  const ranges: [number, number][] = [];
  const ys: gl.Tensor[] = [];
  let afters = 0;
  const state = gl.nn.truncatedBPTT(m, x, {
    k: 3,
    onChunk: (y, { start, end }) => {
      ranges.push([start, end]);
      ys.push(y);
      return end === 7 ? y.sum() : null;
    },
    afterBackward: () => afters++,
  });
  assert.deepEqual(ranges, [[0, 3], [3, 6], [6, 7]]);
  assert.equal(afters, 1);
  assertClose(gl.cat(ys, 0).toArray(), yAll.toArray(), 1e-14, 0, "outputs");
  assertClose((state as gl.Tensor).toArray(), hAll.toArray(), 1e-14, 0, "final state");
  const gx = x.grad!.toArray();
  const perStep = 2 * 2;
  for (let i = 0; i < 6 * perStep; i++) assert.equal(gx[i], 0, "no gradient reaches steps before the last chunk");
  assert.ok(gx.slice(6 * perStep).some((v) => v !== 0));
});

test("dropout between layers only in training mode", () => {
  const m = new gl.nn.GRU({ inputSize: 3, hiddenSize: 8, numLayers: 2, dropout: 0.5, dtype: f64, generator: g(13) });
  const x = randn([4, 2, 3], 14);
  const a = m.forward(x)[0].toArray();
  const b = m.forward(x)[0].toArray();
  assert.ok(a.some((v, i) => v !== b[i]), "training: different masks");
  m.eval();
  assert.deepEqual(Array.from(m.forward(x)[0].toArray()), Array.from(m.forward(x)[0].toArray()));
});

test("cells take PyTorch's names and default to zero state; unbatched input", () => {
  const cell = new gl.nn.LSTMCell(3, 4, { dtype: f64, generator: g(15) });
  assert.deepEqual(cell.namedParameters().map(([n, p]) => [n, p.shape]), [
    ["weight_ih", [16, 3]], ["weight_hh", [16, 4]], ["bias_ih", [16]], ["bias_hh", [16]],
  ]);
  const x = randn([2, 3], 16);
  const [h, c] = cell.forward(x);
  const [h0, c0] = cell.forward(x, [gl.zeros([2, 4], { dtype: f64 }), gl.zeros([2, 4], { dtype: f64 })]);
  assert.deepEqual(Array.from(h.toArray()), Array.from(h0.toArray()));
  assert.deepEqual(Array.from(c.toArray()), Array.from(c0.toArray()));
  const [hu] = cell.forward(x.select(0, 1));
  assert.deepEqual(hu.shape, [4]);
  assertClose(hu.toArray(), h.select(0, 1).toArray(), 1e-15, 0, "unbatched row");
  // One LSTM step equals the cell with the same weights.
  const lstm = new gl.nn.LSTM({ inputSize: 3, hiddenSize: 4, dtype: f64 });
  lstm.loadStateDict(Object.fromEntries(Object.entries(cell.stateDict()).map(([k, v]) => [`${k}_l0`, v])));
  assertClose(lstm.forward(x.unsqueeze(0))[1][0].toArray(), h.toArray(), 1e-15, 0, "LSTM step");
});

test("Module.to converts the layer and its forward follows the new dtype", () => {
  const m = new gl.nn.GRU({ inputSize: 2, hiddenSize: 3 }).to({ dtype: "float64" });
  const [y] = m.forward(randn([3, 1, 2], 17));
  assert.equal(y.dtype, "float64");
});

test("backward twice with retainGraph doubles the gradients (the fused node keeps its saved values)", () => {
  const m = new gl.nn.LSTM({ inputSize: 2, hiddenSize: 3, projSize: 2, dtype: f64, generator: g(18) });
  const x = randn([4, 2, 2], 19).requiresGrad_(true);
  const loss = m.forward(x, null, { lengths: [4, 2] })[0].square().sum();
  loss.backward(undefined, { retainGraph: true });
  const once = m.parameters().map((p) => p.grad!.toArray());
  loss.backward();
  m.parameters().forEach((p, i) => assertClose(p.grad!.toArray(), once[i].map((v) => 2 * v), 1e-14, 1e-12, "twice"));
});

test("a NaN in the input propagates to the outputs it reaches, and no further", () => {
  const m = new gl.nn.GRU({ inputSize: 2, hiddenSize: 3, dtype: f64, generator: g(20) });
  const x = randn([3, 2, 2], 21);
  x.data[(1 * 2 + 0) * 2] = NaN; // step 1, sequence 0
  const [y, h] = m.forward(x);
  assert.ok(y.select(0, 0).select(0, 0).toArray().every((v) => Number.isFinite(v)));
  assert.ok(y.select(0, 1).select(0, 0).toArray().every((v) => Number.isNaN(v)));
  assert.ok(h.select(1, 1).toArray().every((v) => Number.isFinite(v)), "the other sequence is untouched");
});
