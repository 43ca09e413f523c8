import type { TypedArray } from "../../core/dtype.js";
import type { AdamHyper } from "../../backend/kernels.js";

/**
 * PyTorch's single-tensor Adam/AdamW, one tensor op at a time: for float32 every op's result is
 * rounded to float32 (Math.fround; one rounding of an exact float64 result is the float32 result
 * for +, −, ×, ÷ and √), and the python-float scalars are cast to float32 as torch casts them.
 * For float64 this is plain double arithmetic. torch's vectorised CPU kernels may fuse a
 * multiply-add where the build has FMA, so agreement with torch is to rounding, not bit for bit.
 * The two loops are written out apart so that each stays monomorphic (a rounding function passed
 * in made the float32 loop 5× slower).
 */
export function adamUpdate(p: TypedArray, grad: TypedArray, m: TypedArray, v: TypedArray, vmax: TypedArray | null, h: AdamHyper): void {
  if (p instanceof Float32Array) adamF32(p, grad, m, v, vmax, h);
  else adamF64(p, grad, m, v, vmax, h);
}

function adamF64(p: TypedArray, grad: TypedArray, m: TypedArray, v: TypedArray, vmax: TypedArray | null, h: AdamHyper): void {
  const { beta1, beta2, step, eps, decoupled } = h;
  const negStep = -(h.lr / (1 - beta1 ** step));
  const bc2Sqrt = Math.sqrt(1 - beta2 ** step);
  const decay = 1 - h.lr * h.weightDecay;
  const wd = h.weightDecay;
  const w = 1 - beta1;
  const small = Math.abs(w) < 0.5;
  const wc = 1 - w;
  const c2 = 1 - beta2;
  const sign = h.maximize ? -1 : 1;
  const decays = wd !== 0;
  for (let i = 0; i < p.length; i++) {
    let g = sign * grad[i];
    if (decays) {
      if (decoupled) p[i] = p[i] * decay;
      else g = g + wd * p[i];
    }
    // lerp(m, g, 1 − β1), switching form at weight 0.5 as PyTorch's CPU lerp does.
    const d = g - m[i];
    m[i] = small ? m[i] + w * d : g - d * wc;
    v[i] = v[i] * beta2 + c2 * g * g;
    let second = v[i];
    if (vmax) {
      vmax[i] = Math.max(vmax[i], second);
      second = vmax[i];
    }
    const denom = Math.sqrt(second) / bc2Sqrt + eps;
    p[i] = p[i] + (negStep * m[i]) / denom;
  }
}

function adamF32(p: Float32Array, grad: TypedArray, m: TypedArray, v: TypedArray, vmax: TypedArray | null, h: AdamHyper): void {
  const r = Math.fround;
  const { beta1, beta2, step, decoupled } = h;
  const negStep = r(-(h.lr / (1 - beta1 ** step)));
  const bc2Sqrt = r(Math.sqrt(1 - beta2 ** step));
  const decay = r(1 - h.lr * h.weightDecay);
  const wd = r(h.weightDecay);
  const w = r(1 - beta1);
  const small = Math.abs(w) < 0.5;
  const wc = r(1 - w);
  const b2 = r(beta2);
  const c2 = r(1 - beta2);
  const eps = r(h.eps);
  const sign = h.maximize ? -1 : 1;
  const decays = h.weightDecay !== 0;
  for (let i = 0; i < p.length; i++) {
    let g = sign * grad[i];
    if (decays) {
      if (decoupled) p[i] = r(p[i] * decay);
      else g = r(g + r(wd * p[i]));
    }
    const d = r(g - m[i]);
    m[i] = small ? r(m[i] + r(w * d)) : r(g - r(d * wc));
    v[i] = r(r(v[i] * b2) + r(r(c2 * g) * g));
    let second = v[i];
    if (vmax) {
      vmax[i] = Math.max(vmax[i], second);
      second = vmax[i];
    }
    const denom = r(r(r(Math.sqrt(second)) / bc2Sqrt) + eps);
    p[i] = r(p[i] + r(r(negStep * m[i]) / denom));
  }
}
