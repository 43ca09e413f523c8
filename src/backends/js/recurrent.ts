import { type TypedArray, allocate, dtypeOf } from "../../core/dtype.js";
import type { RecurrentBackwardArgs, RecurrentForwardArgs, RecurrentSpec } from "../../backend/kernels.js";
import { kernel } from "../../backend/registry.js";

// Reference whole-sequence kernels, the cuDNN scheme: the input projection of every step is one
// GEMM, each step is one recurrent GEMM plus one pointwise gate kernel, and backward sweeps the
// steps once, keeping the gate gradients so that the weight gradients are a few large GEMMs at
// the end. Every GEMM and gate kernel is dispatched through the registry, so a backend that only
// provides "matmul" and the cell kernels already speeds up the whole sequence.

/** A row-major matrix window: element (i, j) is data[offset + i·rs + j·cs]. */
interface Mat {
  data: TypedArray;
  offset: number;
  rs: number;
  cs: number;
}

const rows = (data: TypedArray, offset: number, cols: number): Mat => ({ data, offset, rs: cols, cs: 1 });
/** The transpose of a row-major matrix with `cols` columns stored at offset. */
const trans = (data: TypedArray, offset: number, cols: number): Mat => ({ data, offset, rs: 1, cs: cols });

/** out[0 .. M·N) = A (M×K) · B (K×N). */
function gemm(M: number, N: number, K: number, a: Mat, b: Mat, out: TypedArray): void {
  if (M === 0 || N === 0) return;
  if (K === 0) {
    out.fill(0, 0, M * N);
    return;
  }
  kernel("matmul")(
    { data: a.data, shape: [1, M, K], strides: [0, a.rs, a.cs], offset: a.offset },
    { data: b.data, shape: [1, K, N], strides: [0, b.rs, b.cs], offset: b.offset },
    out,
  );
}

function gateCount(spec: RecurrentSpec): number {
  return spec.cell === "lstm" ? 4 : spec.cell === "gru" ? 3 : 1;
}

const activeRows = (spec: RecurrentSpec, t: number): number => (spec.batchSizes ? spec.batchSizes[t] : spec.B);

/** The bias added to every row of the input projection: all of b_ih and b_hh, except b_hn of a reset-after GRU. */
function foldedBias(spec: RecurrentSpec, bIh: TypedArray | null, bHh: TypedArray | null, GH: number, like: TypedArray): TypedArray | null {
  if (!bIh && !bHh) return null;
  const out = allocate(dtypeOf(like), GH);
  const hhEnd = spec.cell === "gru" && spec.resetAfter ? 2 * spec.H : GH;
  for (let k = 0; k < GH; k++) out[k] = (bIh ? bIh[k] : 0) + (bHh && k < hhEnd ? bHh[k] : 0);
  return out;
}

export function recurrentSequenceForward(a: RecurrentForwardArgs): void {
  const { spec, x, w, saved } = a;
  const { T, B, I, H, P, cell } = spec;
  const GH = gateCount(spec) * H;
  const dtype = dtypeOf(x);
  const xg = allocate(dtype, T * B * GH);
  gemm(T * B, GH, I, rows(x, 0, I), trans(w.wIh, 0, I), xg);
  const bias = foldedBias(spec, w.bIh, w.bHh, GH, x);
  if (bias) for (let r = 0; r < T * B; r++) for (let k = 0; k < GH; k++) xg[r * GH + k] += bias[k];
  const bhn = cell === "gru" && spec.resetAfter && w.bHh ? w.bHh.subarray(2 * H, 3 * H) : null;

  const h = allocate(dtype, B * P);
  if (a.h0) h.set(a.h0.subarray(0, B * P));
  const c = cell === "lstm" ? allocate(dtype, B * H) : null;
  if (c && a.c0) c.set(a.c0.subarray(0, B * H));
  // Per-step scratch; with `saved` the step's slices of the saved arrays are used instead.
  const hg = allocate(dtype, B * GH);
  const hn = allocate(dtype, B * H);
  const gatesStep = saved ? null : allocate(dtype, B * GH);
  const auxStep = saved ? null : allocate(dtype, B * H);
  const hPrevStep = saved ? null : allocate(dtype, B * P);
  const mStep = w.wHr && !saved?.m ? allocate(dtype, B * H) : null;

  for (let t = 0; t < T; t++) {
    const n = activeRows(spec, t);
    if (n === 0) continue;
    const hPrev = saved ? saved.hPrev.subarray(t * B * P, (t * B + n) * P) : hPrevStep!;
    hPrev.set(h.subarray(0, n * P));
    const xgT = xg.subarray(t * B * GH, (t * B + n) * GH);
    const gates = saved ? saved.gates.subarray(t * B * GH, (t * B + n) * GH) : gatesStep!;
    const aux = saved ? saved.aux.subarray(t * B * H, (t * B + n) * H) : auxStep!;
    if (cell === "lstm") {
      gemm(n, GH, P, rows(hPrev, 0, P), trans(w.wHh, 0, P), hg);
      const m = w.wHr ? (saved?.m ? saved.m.subarray(t * B * H, (t * B + n) * H) : mStep!) : h;
      kernel("lstmCellForward")(n, H, xgT, hg, c!, gates, aux, m);
      c!.set(aux.subarray(0, n * H));
      if (w.wHr) gemm(n, P, H, rows(m, 0, H), trans(w.wHr, 0, H), h);
    } else if (cell === "gru" && spec.resetAfter) {
      gemm(n, GH, P, rows(hPrev, 0, P), trans(w.wHh, 0, P), hg);
      kernel("gruCellForward")(n, H, xgT, hg, bhn, hPrev, gates, aux, h);
    } else if (cell === "gru") {
      gemm(n, 2 * H, H, rows(hPrev, 0, H), trans(w.wHh, 0, H), hg);
      kernel("gruRbGatesForward")(n, H, xgT, hg, hPrev, gates, aux);
      gemm(n, H, H, rows(aux, 0, H), trans(w.wHh, 2 * H * H, H), hn);
      kernel("gruRbOutputForward")(n, H, xgT, hn, hPrev, gates, h);
    } else {
      gemm(n, H, H, rows(hPrev, 0, H), trans(w.wHh, 0, H), hg);
      kernel("rnnCellForward")(n, H, cell === "rnnRelu", xgT, hg, gates);
      h.set(gates.subarray(0, n * H));
    }
    a.y.set(h.subarray(0, n * P), t * B * P);
  }
  a.hN.set(h);
  if (a.cN && c) a.cN.set(c);
}

export function recurrentSequenceBackward(a: RecurrentBackwardArgs): void {
  const { spec, x, w, saved, dw } = a;
  const { T, B, I, H, P, cell } = spec;
  const GH = gateCount(spec) * H;
  const dtype = dtypeOf(x);
  const resetAfter = cell === "gru" && spec.resetAfter;
  const resetBefore = cell === "gru" && !spec.resetAfter;

  const dh = allocate(dtype, B * P);
  if (a.dhN) dh.set(a.dhN.subarray(0, B * P));
  const dc = cell === "lstm" ? allocate(dtype, B * H) : null;
  if (dc && a.dcN) dc.set(a.dcN.subarray(0, B * H));
  // Gate gradients of every step, kept for the weight GEMMs after the sweep; a reset-after GRU
  // also needs those of the recurrent product, which differ in the n block.
  const dgx = allocate(dtype, T * B * GH);
  const dgh = resetAfter ? allocate(dtype, T * B * GH) : dgx;
  // ∂J/∂h_t of every step, needed for the projection's weight gradient and by hooks.
  const dhAll = a.dhSteps ?? (w.wHr ? allocate(dtype, T * B * P) : null);
  const dhTot = allocate(dtype, B * P);
  const dm = w.wHr ? allocate(dtype, B * H) : null;
  const dcPrev = dc ? allocate(dtype, B * H) : null;
  const dcTot = a.dcSteps ? allocate(dtype, B * H) : null;
  const direct = allocate(dtype, B * P);
  const mm = allocate(dtype, B * Math.max(P, H));
  const c0 = cell === "lstm" ? (a.c0 ?? allocate(dtype, B * H)) : null;

  for (let t = T - 1; t >= 0; t--) {
    const n = activeRows(spec, t);
    dhTot.set(dh);
    if (a.dy && n > 0) {
      const base = t * B * P;
      for (let k = 0; k < n * P; k++) dhTot[k] += a.dy[base + k];
    }
    if (dhAll) dhAll.set(dhTot, t * B * P);
    if (n === 0) {
      if (a.dcSteps && dc) a.dcSteps.set(dc, t * B * H);
      continue;
    }
    const gates = saved.gates.subarray(t * B * GH, (t * B + n) * GH);
    const aux = saved.aux.subarray(t * B * H, (t * B + n) * H);
    const hPrev = saved.hPrev.subarray(t * B * P, (t * B + n) * P);
    const dgxT = dgx.subarray(t * B * GH, (t * B + n) * GH);
    if (cell === "lstm") {
      let dhCell = dhTot;
      if (w.wHr) {
        gemm(n, H, P, rows(dhTot, 0, P), rows(w.wHr, 0, H), dm!);
        dhCell = dm!;
      }
      const cPrev = t > 0 ? saved.aux.subarray((t - 1) * B * H, ((t - 1) * B + n) * H) : c0!;
      kernel("lstmCellBackward")(n, H, gates, cPrev, aux, dhCell, dc!, dgxT, dcPrev!, dcTot);
      if (a.dcSteps) {
        a.dcSteps.set(dc!, t * B * H);
        a.dcSteps.set(dcTot!.subarray(0, n * H), t * B * H);
      }
      dc!.set(dcPrev!.subarray(0, n * H));
      gemm(n, P, GH, rows(dgxT, 0, GH), rows(w.wHh, 0, P), dh);
      continue;
    }
    if (resetAfter) {
      const dghT = dgh.subarray(t * B * GH, (t * B + n) * GH);
      kernel("gruCellBackward")(n, H, gates, aux, hPrev, dhTot, dgxT, dghT, direct);
      gemm(n, P, GH, rows(dghT, 0, GH), rows(w.wHh, 0, P), mm);
    } else if (resetBefore) {
      kernel("gruRbOutputBackward")(n, H, gates, hPrev, dhTot, dgxT, direct);
      // d(r·h) = dn_pre · W_hn, then the r block and the reset path into h_{t-1}.
      gemm(n, H, H, rows(dgxT, 2 * H, GH), rows(w.wHh, 2 * H * H, H), mm);
      kernel("gruRbGatesBackward")(n, H, gates, hPrev, mm, dgxT, direct);
      gemm(n, H, 2 * H, rows(dgxT, 0, GH), rows(w.wHh, 0, H), mm);
    } else {
      kernel("rnnCellBackward")(n, H, cell === "rnnRelu", gates, dhTot, dgxT);
      gemm(n, H, H, rows(dgxT, 0, H), rows(w.wHh, 0, H), dh);
      continue;
    }
    for (let k = 0; k < n * P; k++) dh[k] = direct[k] + mm[k];
  }
  if (a.dh0) a.dh0.set(dh);
  if (a.dc0 && dc) a.dc0.set(dc);

  const TB = T * B;
  if (a.dx) gemm(TB, I, GH, rows(dgx, 0, GH), rows(w.wIh, 0, I), a.dx);
  if (dw.wIh) gemm(GH, I, TB, trans(dgx, 0, GH), rows(x, 0, I), dw.wIh);
  if (dw.wHh) {
    if (resetBefore) {
      gemm(2 * H, H, TB, trans(dgx, 0, GH), rows(saved.hPrev, 0, H), dw.wHh);
      gemm(H, H, TB, trans(dgx, 2 * H, GH), rows(saved.aux, 0, H), dw.wHh.subarray(2 * H * H));
    } else {
      gemm(GH, P, TB, trans(dgh, 0, GH), rows(saved.hPrev, 0, P), dw.wHh);
    }
  }
  if (dw.bIh) columnSums(dgx, TB, GH, dw.bIh);
  if (dw.bHh) columnSums(dgh, TB, GH, dw.bHh);
  if (dw.wHr) gemm(P, H, TB, trans(dhAll!, 0, P), rows(saved.m!, 0, H), dw.wHr);
}

function columnSums(m: TypedArray, R: number, C: number, out: TypedArray): void {
  out.fill(0);
  for (let r = 0; r < R; r++) {
    const o = r * C;
    for (let k = 0; k < C; k++) out[k] += m[o + k];
  }
}
