import type { TypedArray } from "../../core/dtype.js";
import type { View } from "../../backend/kernels.js";

/**
 * Fused log-softmax + cross-entropy over the rows of logits x [N, C] (any strides), in float64
 * arithmetic whatever the storage. Per row: lse = log Σ exp(x − m) + m with m the row max (0 when
 * the max is not finite, as the composite logsumexp does), and
 *   loss = (1 − ε)·(lse − x_t) + ε·(lse − mean_c x_c).
 * The ε term is skipped entirely when ε = 0, so masked (−Inf) logits do not turn the loss NaN.
 * Rows whose target is ignoreIndex get loss 0 (PyTorch skips them) and lse is still written.
 */
export function crossEntropyForward(
  x: View, target: Int32Array, ignoreIndex: number, labelSmoothing: number, loss: TypedArray, lse: TypedArray,
): void {
  const [N, C] = x.shape;
  const [rs, cs] = x.strides;
  const d = x.data;
  const eps = labelSmoothing;
  for (let n = 0; n < N; n++) {
    const row = x.offset + n * rs;
    let m = -Infinity;
    let sawNaN = false;
    for (let c = 0; c < C; c++) {
      const v = d[row + c * cs];
      if (v > m) m = v;
      else if (v !== v) sawNaN = true;
    }
    if (sawNaN) m = NaN;
    const safe = Number.isFinite(m) ? m : 0;
    let s = 0;
    for (let c = 0; c < C; c++) s += Math.exp(d[row + c * cs] - safe);
    const l = Math.log(s) + safe;
    lse[n] = l;
    const t = target[n];
    if (t === ignoreIndex) {
      loss[n] = 0;
      continue;
    }
    let out = l - d[row + t * cs];
    if (eps !== 0) {
      let sx = 0;
      for (let c = 0; c < C; c++) sx += d[row + c * cs];
      out = (1 - eps) * out + eps * (l - sx / C);
    }
    loss[n] = out;
  }
}

/**
 * Gradient of the per-row losses: dx[n, c] = g[n]·(exp(x − lse) − (1 − ε)·[c = t] − ε/C), written
 * contiguous; rows with an ignored target get 0. `lse` is what the forward kernel wrote.
 */
export function crossEntropyBackward(
  x: View, target: Int32Array, ignoreIndex: number, labelSmoothing: number, lse: TypedArray, gLoss: TypedArray, dx: TypedArray,
): void {
  const [N, C] = x.shape;
  const [rs, cs] = x.strides;
  const d = x.data;
  const eps = labelSmoothing;
  for (let n = 0; n < N; n++) {
    const o = n * C;
    const t = target[n];
    if (t === ignoreIndex) {
      dx.fill(0, o, o + C);
      continue;
    }
    const g = gLoss[n];
    const row = x.offset + n * rs;
    const l = lse[n];
    const off = (eps / C) * g;
    for (let c = 0; c < C; c++) dx[o + c] = g * Math.exp(d[row + c * cs] - l) - off;
    dx[o + t] -= (1 - eps) * g;
  }
}
