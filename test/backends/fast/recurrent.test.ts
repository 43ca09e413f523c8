import { test } from "node:test";
import assert from "node:assert/strict";
import * as gl from "../../../src/index.js";
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

test("whole LSTM and GRU layers train the same on the fast and js backends", () => {
  for (const Layer of [gl.nn.LSTM, gl.nn.GRU]) {
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
