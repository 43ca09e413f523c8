import type { RecurrentBackwardArgs, RecurrentForwardArgs, RecurrentSpec, RecurrentWeights } from "../../backend/kernels.js";
import type { TypedArray } from "../../core/dtype.js";
import { gemmAt, gemmPackedAt, packToScratch } from "./gemm.js";
import type { WasmRuntime } from "./runtime.js";
import { parallelFor } from "./threads.js";

// Whole-sequence LSTM, reset-after GRU and RNN layers inside the module's memory: the cuDNN scheme of
// the reference (src/backends/js/recurrent.ts) with everything kept in place across time steps.
// The input projection is one GEMM, W_hh is packed once per call and every step's recurrent
// product reads the packed panels, the gate kernels run on the step's rows where they lie, and
// the weight gradients are a few large GEMMs after the backward sweep. Operands are copied in
// once and results out once, so a step costs one GEMM, one gate kernel and a few row copies.

const ADD = 0; // binary op code of assembly/elementwise.ts

/** Float32 LSTM, reset-after GRU or RNN without projection; the rest stays on the reference. */
export function fastSequenceHandles(spec: RecurrentSpec, x: TypedArray, w: RecurrentWeights): boolean {
  return x instanceof Float32Array && w.wHr === null && (spec.cell !== "gru" || spec.resetAfter);
}

/** Scratch helpers over one call: byte addresses in, element counts everywhere. */
function scratch(rt: WasmRuntime, ragged: boolean) {
  return {
    put(src: TypedArray, count: number): number {
      const p = rt.alloc(count * 4);
      rt.f32.set((src as Float32Array).subarray(0, count), p >> 2);
      return p;
    },
    zeros(count: number): number {
      const p = rt.alloc(count * 4);
      rt.f32.fill(0, p >> 2, (p >> 2) + count);
      return p;
    },
    /**
     * Per-step buffers whose rows past a step's batch size must read zero. Without lengths every
     * row of every step is written, so the fill (≈1.5% of an S-LSTM training step) is skipped.
     */
    steps(count: number): number {
      return ragged ? this.zeros(count) : rt.alloc(count * 4);
    },
    copy(dst: number, src: number, count: number): void {
      rt.f32.copyWithin(dst >> 2, src >> 2, (src >> 2) + count);
    },
    take(src: number, count: number, dst: TypedArray): void {
      (dst as Float32Array).set(rt.f32.subarray(src >> 2, (src >> 2) + count));
    },
  };
}

const gatesOf = (spec: RecurrentSpec): number => (spec.cell === "lstm" ? 4 : spec.cell === "gru" ? 3 : 1);
const activeRows = (spec: RecurrentSpec, t: number): number => (spec.batchSizes ? spec.batchSizes[t] : spec.B);

/** The bias added to every row of the input projection: b_ih + b_hh, except b_hn of a reset-after GRU. */
function foldedBias(spec: RecurrentSpec, w: RecurrentWeights, GH: number): Float32Array | null {
  if (!w.bIh && !w.bHh) return null;
  const out = new Float32Array(GH);
  const hhEnd = spec.cell === "gru" ? 2 * spec.H : GH;
  for (let k = 0; k < GH; k++) out[k] = (w.bIh ? w.bIh[k] : 0) + (w.bHh && k < hhEnd ? w.bHh[k] : 0);
  return out;
}

export function sequenceForwardF32(rt: WasmRuntime, a: RecurrentForwardArgs): void {
  const { spec, w, saved } = a;
  const { T, B, I, H, P } = spec;
  const lstm = spec.cell === "lstm";
  const gru = spec.cell === "gru";
  const relu = spec.cell === "rnnRelu" ? 1 : 0;
  const GH = gatesOf(spec) * H;
  const TB = T * B;
  const wasm = rt.wasm;
  rt.resetScratch();
  const m = scratch(rt, spec.batchSizes !== null);

  const x = m.put(a.x, TB * I);
  const wIh = m.put(w.wIh, GH * I);
  const xg = rt.alloc(TB * GH * 4);
  // x · W_ihᵀ: W_ih is [GH, I], so its transpose has strides (1, I).
  gemmAt(rt, parallelFor(rt, 2 * TB * GH * I), TB, GH, I, x, I, 1, wIh, 1, I, xg, GH, false);
  const bias = foldedBias(spec, w, GH);
  if (bias) wasm.binary(ADD, xg, GH, 1, m.put(bias, GH), 0, 1, xg, TB, GH);
  const bhn = gru && w.bHh ? m.put(w.bHh.subarray(2 * H, 3 * H), H) : 0;
  const packedHh = packToScratch(rt, m.put(w.wHh, GH * P), 1, P, P, GH);
  const stepPar = parallelFor(rt, 2 * B * GH * P);

  const h = a.h0 ? m.put(a.h0, B * P) : m.zeros(B * P);
  const c = lstm ? (a.c0 ? m.put(a.c0, B * H) : m.zeros(B * H)) : 0;
  const y = m.steps(TB * P);
  const gatesAll = saved ? m.steps(TB * GH) : 0;
  // An RNN keeps no auxiliary state (its saved.aux is empty).
  const auxLen = lstm || gru ? TB * H : 0;
  const auxAll = saved ? m.steps(auxLen) : 0;
  const hPrevAll = saved ? m.steps(TB * P) : 0;
  const gatesStep = saved ? 0 : rt.alloc(B * GH * 4);
  const auxStep = saved ? 0 : rt.alloc(B * H * 4);
  const hPrevStep = saved ? 0 : rt.alloc(B * P * 4);
  const hg = rt.alloc(B * GH * 4);

  for (let t = 0; t < T; t++) {
    const n = activeRows(spec, t);
    if (n === 0) continue;
    const hPrev = saved ? hPrevAll + t * B * P * 4 : hPrevStep;
    m.copy(hPrev, h, n * P);
    const xgT = xg + t * B * GH * 4;
    const gates = saved ? gatesAll + t * B * GH * 4 : gatesStep;
    const aux = saved ? auxAll + t * B * H * 4 : auxStep;
    gemmPackedAt(rt, stepPar, n, GH, P, hPrev, P, 1, packedHh, hg, GH, false);
    if (lstm) {
      wasm.lstmForward(n, H, xgT, hg, c, gates, aux, h);
      m.copy(c, aux, n * H);
    } else if (gru) {
      wasm.gruForward(n, H, xgT, hg, bhn, hPrev, gates, aux, h);
    } else {
      wasm.rnnForward(n * H, relu, xgT, hg, gates);
      m.copy(h, gates, n * H);
    }
    m.copy(y + t * B * P * 4, h, n * P);
  }
  m.take(y, TB * P, a.y);
  m.take(h, B * P, a.hN);
  if (lstm && a.cN) m.take(c, B * H, a.cN);
  if (saved) {
    m.take(gatesAll, TB * GH, saved.gates);
    m.take(auxAll, auxLen, saved.aux);
    m.take(hPrevAll, TB * P, saved.hPrev);
  }
}

export function sequenceBackwardF32(rt: WasmRuntime, a: RecurrentBackwardArgs): void {
  const { spec, w, saved, dw } = a;
  const { T, B, I, H, P } = spec;
  const lstm = spec.cell === "lstm";
  const gru = spec.cell === "gru";
  const relu = spec.cell === "rnnRelu" ? 1 : 0;
  const GH = gatesOf(spec) * H;
  const TB = T * B;
  const wasm = rt.wasm;
  rt.resetScratch();
  const m = scratch(rt, spec.batchSizes !== null);

  const gatesAll = m.put(saved.gates, TB * GH);
  const auxAll = m.put(saved.aux, lstm || gru ? TB * H : 0);
  const hPrevAll = m.put(saved.hPrev, TB * P);
  const dy = a.dy ? m.put(a.dy, TB * P) : 0;
  const dh = a.dhN ? m.put(a.dhN, B * P) : m.zeros(B * P);
  const dc = lstm ? (a.dcN ? m.put(a.dcN, B * H) : m.zeros(B * H)) : 0;
  const c0 = lstm ? (a.c0 ? m.put(a.c0, B * H) : m.zeros(B * H)) : 0;
  // Gate gradients of every step (zero on rows past a sequence's end), kept for the weight GEMMs;
  // the GRU's recurrent product has its own (they differ in the n block).
  const dgx = m.steps(TB * GH);
  const dgh = gru ? m.steps(TB * GH) : dgx;
  const dhSteps = a.dhSteps ? rt.alloc(TB * P * 4) : 0;
  const dcSteps = a.dcSteps && lstm ? rt.alloc(TB * H * 4) : 0;
  const dhTot = rt.alloc(B * P * 4);
  const dcPrev = lstm ? rt.alloc(B * H * 4) : 0;
  const dcTot = dcSteps ? rt.alloc(B * H * 4) : 0;
  const direct = gru ? rt.alloc(B * P * 4) : 0;
  const viaHh = gru ? rt.alloc(B * P * 4) : 0;
  // dG · W_hh: W_hh is [GH, P] row-major, used as it lies.
  const packedHh = packToScratch(rt, m.put(w.wHh, GH * P), P, 1, GH, P);
  const stepPar = parallelFor(rt, 2 * B * GH * P);

  for (let t = T - 1; t >= 0; t--) {
    const n = activeRows(spec, t);
    m.copy(dhTot, dh, B * P);
    if (dy && n > 0) wasm.binary(ADD, dhTot, 0, 1, dy + t * B * P * 4, 0, 1, dhTot, 1, n * P);
    if (dhSteps) m.copy(dhSteps + t * B * P * 4, dhTot, B * P);
    if (n === 0) {
      if (dcSteps) m.copy(dcSteps + t * B * H * 4, dc, B * H);
      continue;
    }
    const gates = gatesAll + t * B * GH * 4;
    const aux = auxAll + t * B * H * 4;
    const dgxT = dgx + t * B * GH * 4;
    if (lstm) {
      const cPrev = t > 0 ? auxAll + (t - 1) * B * H * 4 : c0;
      wasm.lstmBackward(n, H, gates, cPrev, aux, dhTot, dc, dgxT, dcPrev, dcTot);
      if (dcSteps) {
        m.copy(dcSteps + t * B * H * 4, dc, B * H);
        m.copy(dcSteps + t * B * H * 4, dcTot, n * H);
      }
      m.copy(dc, dcPrev, n * H);
      gemmPackedAt(rt, stepPar, n, P, GH, dgxT, GH, 1, packedHh, dh, P, false);
    } else if (!gru) {
      wasm.rnnBackward(n * H, relu, gates, dhTot, dgxT);
      gemmPackedAt(rt, stepPar, n, P, GH, dgxT, GH, 1, packedHh, dh, P, false);
    } else {
      const dghT = dgh + t * B * GH * 4;
      wasm.gruBackward(n, H, gates, aux, hPrevAll + t * B * P * 4, dhTot, dgxT, dghT, direct);
      gemmPackedAt(rt, stepPar, n, P, GH, dghT, GH, 1, packedHh, viaHh, P, false);
      wasm.binary(ADD, direct, 0, 1, viaHh, 0, 1, dh, 1, n * P);
    }
  }
  if (a.dh0) m.take(dh, B * P, a.dh0);
  if (a.dc0 && lstm) m.take(dc, B * H, a.dc0);
  if (a.dhSteps) m.take(dhSteps, TB * P, a.dhSteps);
  if (a.dcSteps && dcSteps) m.take(dcSteps, TB * H, a.dcSteps);

  const big = parallelFor(rt, 2 * TB * GH * Math.max(I, P));
  if (a.dx) {
    const dx = rt.alloc(TB * I * 4);
    gemmAt(rt, big, TB, I, GH, dgx, GH, 1, m.put(w.wIh, GH * I), I, 1, dx, I, false);
    m.take(dx, TB * I, a.dx);
  }
  // Weight gradients: dGᵀ (strides 1, GH) times the step inputs, summed over all T·B rows.
  if (dw.wIh) {
    const out = rt.alloc(GH * I * 4);
    gemmAt(rt, big, GH, I, TB, dgx, 1, GH, m.put(a.x, TB * I), I, 1, out, I, false);
    m.take(out, GH * I, dw.wIh);
  }
  if (dw.wHh) {
    const out = rt.alloc(GH * P * 4);
    gemmAt(rt, big, GH, P, TB, dgh, 1, GH, hPrevAll, P, 1, out, P, false);
    m.take(out, GH * P, dw.wHh);
  }
  const acc = rt.alloc(GH * 8);
  const sums = rt.alloc(GH * 4);
  if (dw.bIh) {
    wasm.sumCols(dgx, TB, GH, sums, acc);
    m.take(sums, GH, dw.bIh);
  }
  if (dw.bHh) {
    wasm.sumCols(dgh, TB, GH, sums, acc);
    m.take(sums, GH, dw.bHh);
  }
}
