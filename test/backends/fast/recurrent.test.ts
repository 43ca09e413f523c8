import { test } from "node:test";
import assert from "node:assert/strict";
import * as gl from "../../../src/index.js";
import type { RecurrentSpec } from "../../../src/backend/kernels.js";
import { kernel } from "../../../src/backend/registry.js";
import * as cells from "../../../src/backends/js/recurrent-cells.js";
import { fastRuntime } from "../../../src/backends/fast/index.js";
import {
  gruCellBackwardF32, gruCellForwardF32, lstmCellBackwardF32, lstmCellForwardF32,
} from "../../../src/backends/fast/recurrent.js";
import { assertNear, forEachVariant, randData } from "./helpers.js";

const ATOL = 1e-5;
const RTOL = 1e-4;
const SHAPES: [number, number][] = [
  [1, 1],
  [3, 7],
  [2, 17],
  [5, 33],
  [4, 65],
  [32, 128],
];

/** Gate pre-activations spread wide enough to reach the saturated ends of sigmoid and tanh. */
const wide = (n: number, seed: number): Float32Array => randData(n, seed).map((v) => v * 4);
/** Activated gates in (0, 1) and (−1, 1), as the forward pass leaves them. */
const unit = (n: number, seed: number): Float32Array => randData(n, seed).map((v) => Math.tanh(v));

test("fast LSTM gate kernels match the reference, forward and backward, on odd sizes", async () => {
  await forEachVariant((v) => {
    let seed = 1;
    for (const [n, H] of SHAPES) {
      const G = 4 * H;
      const xg = wide(n * G, seed++);
      const hg = wide(n * G, seed++);
      const cPrev = randData(n * H, seed++);
      const ref = { gates: new Float32Array(n * G), c: new Float32Array(n * H), h: new Float32Array(n * H) };
      cells.lstmCellForward(n, H, xg, hg, cPrev, ref.gates, ref.c, ref.h);
      const got = { gates: new Float32Array(n * G), c: new Float32Array(n * H), h: new Float32Array(n * H) };
      lstmCellForwardF32(fastRuntime()!, n, H, xg, hg, cPrev, got.gates, got.c, got.h);
      for (const k of ["gates", "c", "h"] as const) assertNear(got[k], ref[k], ATOL, RTOL, `${v} lstm fwd ${n}x${H} ${k}`);

      const dh = randData(n * H, seed++);
      const dc = randData(n * H, seed++);
      for (const withTotal of [true, false]) {
        const r = { dg: new Float32Array(n * G), dcPrev: new Float32Array(n * H), dcTot: new Float32Array(n * H) };
        cells.lstmCellBackward(n, H, ref.gates, cPrev, ref.c, dh, dc, r.dg, r.dcPrev, withTotal ? r.dcTot : null);
        const f = { dg: new Float32Array(n * G), dcPrev: new Float32Array(n * H), dcTot: new Float32Array(n * H) };
        lstmCellBackwardF32(fastRuntime()!, n, H, ref.gates, cPrev, ref.c, dh, dc, f.dg, f.dcPrev, withTotal ? f.dcTot : null);
        for (const k of ["dg", "dcPrev", "dcTot"] as const) assertNear(f[k], r[k], ATOL, RTOL, `${v} lstm bwd ${n}x${H} ${k}`);
      }
    }
  });
});

test("fast GRU gate kernels match the reference, with and without b_hn", async () => {
  await forEachVariant((v) => {
    let seed = 100;
    for (const [n, H] of SHAPES) {
      const G = 3 * H;
      for (const withBias of [true, false]) {
        const xg = wide(n * G, seed++);
        const hg = wide(n * G, seed++);
        const bhn = withBias ? randData(H, seed++) : null;
        const hPrev = unit(n * H, seed++);
        const ref = { gates: new Float32Array(n * G), ghn: new Float32Array(n * H), h: new Float32Array(n * H) };
        cells.gruCellForward(n, H, xg, hg, bhn, hPrev, ref.gates, ref.ghn, ref.h);
        const got = { gates: new Float32Array(n * G), ghn: new Float32Array(n * H), h: new Float32Array(n * H) };
        gruCellForwardF32(fastRuntime()!, n, H, xg, hg, bhn, hPrev, got.gates, got.ghn, got.h);
        for (const k of ["gates", "ghn", "h"] as const) assertNear(got[k], ref[k], ATOL, RTOL, `${v} gru fwd ${n}x${H} ${k}`);

        const dh = randData(n * H, seed++);
        const r = { dgx: new Float32Array(n * G), dgh: new Float32Array(n * G), dhPrev: new Float32Array(n * H) };
        cells.gruCellBackward(n, H, ref.gates, ref.ghn, hPrev, dh, r.dgx, r.dgh, r.dhPrev);
        const f = { dgx: new Float32Array(n * G), dgh: new Float32Array(n * G), dhPrev: new Float32Array(n * H) };
        gruCellBackwardF32(fastRuntime()!, n, H, ref.gates, ref.ghn, hPrev, dh, f.dgx, f.dgh, f.dhPrev);
        for (const k of ["dgx", "dgh", "dhPrev"] as const) assertNear(f[k], r[k], ATOL, RTOL, `${v} gru bwd ${n}x${H} ${k}`);
      }
    }
  });
});

test("fast gate kernels pass NaN through like the reference", () => {
  const [n, H] = [2, 5];
  const xg = wide(n * 4 * H, 1);
  xg[3] = NaN;
  const hg = wide(n * 4 * H, 2);
  const cPrev = randData(n * H, 3);
  const out = (f: typeof cells.lstmCellForward): Float32Array[] => {
    const o = [new Float32Array(n * 4 * H), new Float32Array(n * H), new Float32Array(n * H)];
    f(n, H, xg, hg, cPrev, o[0], o[1], o[2]);
    return o;
  };
  const ref = out(cells.lstmCellForward);
  const got = out((...a) => lstmCellForwardF32(fastRuntime()!, ...a));
  ref.forEach((r, i) => assertNear(got[i], r, ATOL, RTOL, `nan ${i}`));
  assert.ok(Number.isNaN(got[2][3]));
});

test("whole LSTM, GRU and RNN layers train the same on the fast and js backends", () => {
  for (const Layer of [gl.nn.LSTM, gl.nn.GRU, gl.nn.RNN]) {
    const run = (backend: string): Float32Array[] => {
      gl.setBackend(backend);
      gl.manualSeed(7);
      const layer = new Layer({ inputSize: 12, hiddenSize: 33, numLayers: 2, bidirectional: true });
      const x = gl.randn([9, 4, 12]).requiresGrad_(true);
      const [y] = layer.forward(x);
      y.mul(gl.randn(y.shape)).sum().backward();
      return [y.toArray(), x.grad!.toArray(), ...layer.parameters().map((p) => p.grad!.toArray())] as Float32Array[];
    };
    const fast = run("fast");
    const ref = run("js");
    assert.equal(fast.length, ref.length);
    fast.forEach((f, i) => assertNear(f, ref[i], 1e-4, 1e-3, `${Layer.name} output/grad ${i}`));
  }
});

/** One layer's arguments with random weights; batchSizes non-increasing when given. */
type SeqCell = "lstm" | "gru" | "rnnTanh" | "rnnRelu";

function layerArgs(cell: SeqCell, T: number, B: number, I: number, H: number, batchSizes: number[] | null, seed: number) {
  const G = cell === "lstm" ? 4 : cell === "gru" ? 3 : 1;
  const spec: RecurrentSpec = { cell, resetAfter: true, T, B, I, H, P: H, batchSizes: batchSizes ? Int32Array.from(batchSizes) : null };
  const w = {
    wIh: randData(G * H * I, seed).map((v) => v * 0.3),
    wHh: randData(G * H * H, seed + 1).map((v) => v * 0.3),
    bIh: randData(G * H, seed + 2),
    bHh: randData(G * H, seed + 3),
    wHr: null,
  };
  return { spec, w, x: randData(T * B * I, seed + 4), h0: randData(B * H, seed + 5), c0: cell === "lstm" ? randData(B * H, seed + 6) : null };
}

function runSequence(backend: string, cell: SeqCell, L: ReturnType<typeof layerArgs>, opts: { initial: boolean; dy: boolean; steps: boolean }) {
  const { spec, w, x } = L;
  const { T, B, I, H } = spec;
  const G = cell === "lstm" ? 4 : cell === "gru" ? 3 : 1;
  const name = cell === "lstm" || cell === "gru" ? cell : "rnn";
  gl.setBackend(backend);
  const saved = { gates: new Float32Array(T * B * G * H), aux: new Float32Array(G === 1 ? 0 : T * B * H), hPrev: new Float32Array(T * B * H), m: null };
  const f = {
    y: new Float32Array(T * B * H), hN: new Float32Array(B * H), cN: cell === "lstm" ? new Float32Array(B * H) : null,
  };
  kernel(`${name}SequenceForward`)({
    spec, x, w, h0: opts.initial ? L.h0 : null, c0: opts.initial ? L.c0 : null, y: f.y, hN: f.hN, cN: f.cN, saved,
  });
  const dw = {
    wIh: new Float32Array(w.wIh.length), wHh: new Float32Array(w.wHh.length),
    bIh: new Float32Array(G * H), bHh: new Float32Array(G * H), wHr: null,
  };
  const g = {
    dx: new Float32Array(T * B * I), dh0: new Float32Array(B * H), dc0: cell === "lstm" ? new Float32Array(B * H) : null,
    dhSteps: opts.steps ? new Float32Array(T * B * H) : null, dcSteps: opts.steps && cell === "lstm" ? new Float32Array(T * B * H) : null,
  };
  kernel(`${name}SequenceBackward`)({
    spec, x, w, c0: opts.initial ? L.c0 : null, saved,
    dy: opts.dy ? randData(T * B * H, 50) : null, dhN: randData(B * H, 51), dcN: cell === "lstm" ? randData(B * H, 52) : null,
    dx: g.dx, dw, dh0: g.dh0, dc0: g.dc0, dhSteps: g.dhSteps, dcSteps: g.dcSteps,
  });
  const out: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries({ ...f, ...saved, ...g, ...dw })) if (v) out[k] = v as Float32Array;
  return out;
}

test("fast whole-sequence LSTM, GRU and RNN kernels match the reference: lengths, initial states, step records", () => {
  const configs: [number, number, number, number, number[] | null][] = [
    [1, 1, 1, 1, null],
    [5, 3, 7, 17, null],
    [6, 4, 5, 33, [4, 4, 3, 2, 2, 1]],
    [4, 5, 9, 8, [5, 3, 3, 0]],
  ];
  let seed = 1;
  for (const cell of ["lstm", "gru", "rnnTanh", "rnnRelu"] as const) {
    for (const [T, B, I, H, lens] of configs) {
      for (const opts of [
        { initial: true, dy: true, steps: true },
        { initial: false, dy: false, steps: false },
      ]) {
        const L = layerArgs(cell, T, B, I, H, lens, (seed += 10));
        const fast = runSequence("fast", cell, L, opts);
        const ref = runSequence("js", cell, L, opts);
        assert.deepEqual(Object.keys(fast).sort(), Object.keys(ref).sort());
        for (const k of Object.keys(ref)) {
          assertNear(fast[k], ref[k], 1e-4, 1e-3, `${cell} T${T} B${B} I${I} H${H} ${JSON.stringify(lens)} ${JSON.stringify(opts)} ${k}`);
        }
      }
    }
  }
});
