import { type DType, type TypedArray, allocate } from "../../core/dtype.js";
import { DTypeError } from "../../core/errors.js";
import type { RecurrentCell, RecurrentSaved, RecurrentSpec } from "../../backend/kernels.js";
import { kernel } from "../../backend/registry.js";
import { isContiguous } from "../../backend/view.js";
import { isGradEnabled } from "../../autograd/mode.js";
import { record } from "../../tensor/record.js";
import { Tensor } from "../../tensor/tensor.js";

/** One layer and direction's parameters, PyTorch shapes (see RecurrentWeights). */
export interface LayerParams {
  wIh: Tensor;
  wHh: Tensor;
  bIh: Tensor | null;
  bHh: Tensor | null;
  wHr: Tensor | null;
}

export interface LayerOptions {
  cell: RecurrentCell;
  resetAfter: boolean;
  /** Run from each sequence's own last step back to its first. */
  reverse: boolean;
  /** Valid steps of each sequence (1..T); null: all T. */
  lengths: Int32Array | null;
  /** Receives ∂J/∂h_t [T, B, P] (and ∂J/∂c_t [T, B, H] for LSTM) in natural time order during backward. */
  onGrad?: ((dh: Tensor, dc: Tensor | null) => void) | null;
}

export interface LayerResult {
  y: Tensor;
  h: Tensor;
  c: Tensor | null;
}

/**
 * How the caller's [T, B] grid maps to the kernel's step order: rows sorted by length (longest
 * first, stable), and for a reverse direction each sequence read from its own end. `rowMap[k]`
 * is the natural row (t·B + b) of step row k, a bijection: gathering through it puts values in
 * step order, scattering through it puts them back. `order` does the same for [B, ·] states.
 */
interface StepOrder {
  identity: boolean;
  order: Int32Array;
  rowMap: Int32Array;
  batchSizes: Int32Array | null;
}

function stepOrder(T: number, B: number, lengths: Int32Array | null, reverse: boolean): StepOrder {
  const len = (b: number) => (lengths ? lengths[b] : T);
  const order = Int32Array.from({ length: B }, (_, b) => b);
  if (lengths) order.sort((p, q) => lengths[q] - lengths[p] || p - q);
  const rowMap = new Int32Array(T * B);
  let identity = true;
  for (let s = 0; s < T; s++) {
    for (let r = 0; r < B; r++) {
      const b = order[r];
      const L = len(b);
      const t = reverse && s < L ? L - 1 - s : s;
      const k = s * B + r;
      rowMap[k] = t * B + b;
      if (rowMap[k] !== k) identity = false;
    }
  }
  let batchSizes: Int32Array | null = null;
  if (lengths && lengths.some((L) => L !== T)) {
    batchSizes = new Int32Array(T);
    for (let s = 0; s < T; s++) for (let b = 0; b < B; b++) if (lengths[b] > s) batchSizes[s]++;
  }
  return { identity, order, rowMap, batchSizes };
}

/** out row k (width F) = src row map[k]. */
function gatherRows(src: TypedArray, map: Int32Array, F: number, out: TypedArray): TypedArray {
  for (let k = 0; k < map.length; k++) out.set(src.subarray(map[k] * F, (map[k] + 1) * F), k * F);
  return out;
}

/** out row map[k] = src row k. */
function scatterRows(src: TypedArray, map: Int32Array, F: number, out: TypedArray): TypedArray {
  for (let k = 0; k < map.length; k++) out.set(src.subarray(k * F, (k + 1) * F), map[k] * F);
  return out;
}

/** Zeroes the rows of a [T, B, F] array past each sequence's length: no state exists there. */
export function zeroPadding<A extends TypedArray>(a: A, lengths: Int32Array | null, B: number, F: number): A {
  if (!lengths) return a;
  const T = a.length / (B * F);
  for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) if (t >= lengths[b]) a.fill(0, (t * B + b) * F, (t * B + b + 1) * F);
  return a;
}

/** The tensor's values as a dense row-major array, without copying when they already are. */
function dense(t: Tensor): TypedArray {
  return isContiguous(t) && t.offset === 0 && t.data.length === t.numel() ? t.data : t.toArray();
}

/** Values in step order: rows permuted through `map` unless the order is the identity. */
function toSteps(t: TypedArray, so: StepOrder, map: Int32Array, F: number, dtype: DType): TypedArray {
  return so.identity ? t : gatherRows(t, map, F, allocate(dtype, map.length * F));
}

function fromSteps(t: TypedArray, so: StepOrder, map: Int32Array, F: number, dtype: DType): TypedArray {
  return so.identity ? t : scatterRows(t, map, F, allocate(dtype, map.length * F));
}

const GATES: Record<RecurrentCell, number> = { lstm: 4, gru: 3, rnnTanh: 1, rnnRelu: 1 };
const SEQUENCE = { lstm: "lstm", gru: "gru", rnnTanh: "rnn", rnnRelu: "rnn" } as const;

/**
 * One recurrent layer and direction over a whole sequence as ONE autograd node with a hand-written
 * backward (the sequence kernels). x [T, B, I]; h0 [B, P] and c0 [B, H] may be null (zeros).
 * Returns y [T, B, P] (zero past each length), the final h [B, P] and (LSTM) c [B, H].
 */
export function fusedLayer(x: Tensor, p: LayerParams, h0: Tensor | null, c0: Tensor | null, o: LayerOptions): LayerResult {
  const [T, B, I] = x.shape;
  const H = p.wHh.shape[0] / GATES[o.cell];
  const P = p.wHh.shape[1];
  const dtype = x.dtype;
  const lstm = o.cell === "lstm";
  const inputs = [x, p.wIh, p.wHh, p.bIh, p.bHh, p.wHr, h0, lstm ? c0 : null];
  for (const t of inputs) {
    if (t && t.dtype !== dtype) throw new DTypeError(`recurrent layer: all tensors must be ${dtype}, got a ${t.dtype} tensor of shape [${t.shape.join(", ")}]`);
  }
  const so = stepOrder(T, B, o.lengths, o.reverse);
  const spec: RecurrentSpec = { cell: o.cell, resetAfter: o.resetAfter, T, B, I, H, P, batchSizes: so.batchSizes };
  const w = {
    wIh: dense(p.wIh),
    wHh: dense(p.wHh),
    bIh: p.bIh ? dense(p.bIh) : null,
    bHh: p.bHh ? dense(p.bHh) : null,
    wHr: p.wHr ? dense(p.wHr) : null,
  };
  const xs = toSteps(dense(x), so, so.rowMap, I, dtype);
  const h0s = h0 ? toSteps(dense(h0), so, so.order, P, dtype) : null;
  const c0s = lstm && c0 ? toSteps(dense(c0), so, so.order, H, dtype) : null;
  const present = inputs.filter((t): t is Tensor => t !== null);
  const needGrad = isGradEnabled() && present.some((t) => t.requiresGrad);
  const GH = GATES[o.cell] * H;
  const saved: RecurrentSaved | null = needGrad
    ? {
        gates: allocate(dtype, T * B * GH),
        aux: allocate(dtype, o.cell === "rnnTanh" || o.cell === "rnnRelu" ? 0 : T * B * H),
        hPrev: allocate(dtype, T * B * P),
        m: p.wHr ? allocate(dtype, T * B * H) : null,
      }
    : null;
  const ys = allocate(dtype, T * B * P);
  const hNs = allocate(dtype, B * P);
  const cNs = lstm ? allocate(dtype, B * H) : null;
  const name = SEQUENCE[o.cell];
  kernel(`${name}SequenceForward`)({ spec, x: xs, w, h0: h0s, c0: c0s, y: ys, hN: hNs, cN: cNs, saved });

  const y = new Tensor(fromSteps(ys, so, so.rowMap, P, dtype), [T, B, P]);
  const h = new Tensor(fromSteps(hNs, so, so.order, P, dtype), [B, P]);
  const c = cNs ? new Tensor(fromSteps(cNs, so, so.order, H, dtype), [B, H]) : null;
  if (!saved) return { y, h, c };

  const outputs = c ? [y, h, c] : [y, h];
  record(`${name}Layer`, outputs, present, (grads) => {
    const want = (t: Tensor | null) => !!t && t.requiresGrad;
    const arr = (t: Tensor | null, n: number) => (want(t) ? allocate(dtype, n) : null);
    const dw = {
      wIh: arr(p.wIh, p.wIh.numel()),
      wHh: arr(p.wHh, p.wHh.numel()),
      bIh: arr(p.bIh, GH),
      bHh: arr(p.bHh, GH),
      wHr: arr(p.wHr, P * H),
    };
    const dxs = arr(x, T * B * I);
    const dh0s = arr(h0, B * P);
    const dc0s = lstm ? arr(c0, B * H) : null;
    const dhSteps = o.onGrad ? allocate(dtype, T * B * P) : null;
    const dcSteps = o.onGrad && lstm ? allocate(dtype, T * B * H) : null;
    kernel(`${name}SequenceBackward`)({
      spec, x: xs, w, c0: c0s, saved,
      dy: toSteps(dense(grads[0]), so, so.rowMap, P, dtype),
      dhN: toSteps(dense(grads[1]), so, so.order, P, dtype),
      dcN: c ? toSteps(dense(grads[2]), so, so.order, H, dtype) : null,
      dx: dxs, dw, dh0: dh0s, dc0: dc0s, dhSteps, dcSteps,
    });
    if (o.onGrad && dhSteps) {
      const dh = new Tensor(zeroPadding(fromSteps(dhSteps, so, so.rowMap, P, dtype), o.lengths, B, P), [T, B, P]);
      const dc = dcSteps ? new Tensor(zeroPadding(fromSteps(dcSteps, so, so.rowMap, H, dtype), o.lengths, B, H), [T, B, H]) : null;
      o.onGrad(dh, dc);
    }
    const wrap = (a: TypedArray | null, t: Tensor | null, map: Int32Array | null, F: number) =>
      a && t ? new Tensor(map ? fromSteps(a, so, map, F, dtype) : a, [...t.shape]) : null;
    const all = [
      wrap(dxs, x, so.rowMap, I),
      wrap(dw.wIh, p.wIh, null, 0),
      wrap(dw.wHh, p.wHh, null, 0),
      wrap(dw.bIh, p.bIh, null, 0),
      wrap(dw.bHh, p.bHh, null, 0),
      wrap(dw.wHr, p.wHr, null, 0),
      wrap(dh0s, h0, so.order, P),
      wrap(dc0s, lstm ? c0 : null, so.order, H),
    ];
    return all.filter((_, i) => inputs[i] !== null);
  });
  return { y, h, c };
}
