import type { TypedArray } from "../../core/dtype.js";
import type { AdamHyper, RmspropHyper, SgdHyper } from "../../backend/kernels.js";

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

/**
 * PyTorch's single-tensor SGD (momentum, dampening, Nesterov, L2 weight decay), op by op; `first`:
 * the momentum buffer starts as the gradient itself, without dampening.
 */
export function sgdUpdate(p: TypedArray, grad: TypedArray, buf: TypedArray | null, h: SgdHyper): void {
  if (p instanceof Float32Array) sgdF32(p, grad, buf, h);
  else sgdF64(p, grad, buf, h);
}

function sgdF64(p: TypedArray, grad: TypedArray, buf: TypedArray | null, h: SgdHyper): void {
  const { momentum: mu, weightDecay: wd, nesterov, first } = h;
  const negLr = -h.lr;
  const keep = 1 - h.dampening;
  const sign = h.maximize ? -1 : 1;
  for (let i = 0; i < p.length; i++) {
    let g = sign * grad[i];
    if (wd !== 0) g = g + wd * p[i];
    if (buf) {
      buf[i] = first ? g : buf[i] * mu + keep * g;
      g = nesterov ? g + mu * buf[i] : buf[i];
    }
    p[i] = p[i] + negLr * g;
  }
}

function sgdF32(p: Float32Array, grad: TypedArray, buf: TypedArray | null, h: SgdHyper): void {
  const r = Math.fround;
  const { nesterov, first } = h;
  const mu = r(h.momentum);
  const wd = r(h.weightDecay);
  const negLr = r(-h.lr);
  const keep = r(1 - h.dampening);
  const sign = h.maximize ? -1 : 1;
  const decays = h.weightDecay !== 0;
  for (let i = 0; i < p.length; i++) {
    let g = sign * grad[i];
    if (decays) g = r(g + r(wd * p[i]));
    if (buf) {
      buf[i] = first ? g : r(r(buf[i] * mu) + r(keep * g));
      g = nesterov ? r(g + r(mu * buf[i])) : buf[i];
    }
    p[i] = r(p[i] + r(negLr * g));
  }
}

/** PyTorch's single-tensor RMSprop (centered, momentum, L2 weight decay), op by op. */
export function rmspropUpdate(
  p: TypedArray, grad: TypedArray, sq: TypedArray, buf: TypedArray | null, gavg: TypedArray | null, h: RmspropHyper,
): void {
  if (p instanceof Float32Array) rmspropF32(p, grad, sq, buf, gavg, h);
  else rmspropF64(p, grad, sq, buf, gavg, h);
}

function rmspropF64(p: TypedArray, grad: TypedArray, sq: TypedArray, buf: TypedArray | null, gavg: TypedArray | null, h: RmspropHyper): void {
  const { alpha, eps, weightDecay: wd, momentum } = h;
  const negLr = -h.lr;
  const c = 1 - alpha;
  const small = Math.abs(c) < 0.5;
  const cc = 1 - c;
  const sign = h.maximize ? -1 : 1;
  for (let i = 0; i < p.length; i++) {
    let g = sign * grad[i];
    if (wd !== 0) g = g + wd * p[i];
    sq[i] = sq[i] * alpha + c * g * g;
    let avg: number;
    if (gavg) {
      // lerp(gavg, g, 1 − α) as PyTorch's CPU lerp.
      const d = g - gavg[i];
      gavg[i] = small ? gavg[i] + c * d : g - d * cc;
      avg = Math.sqrt(sq[i] + -1 * gavg[i] * gavg[i]);
    } else {
      avg = Math.sqrt(sq[i]);
    }
    avg = avg + eps;
    if (buf) {
      buf[i] = buf[i] * momentum + g / avg;
      p[i] = p[i] + negLr * buf[i];
    } else {
      p[i] = p[i] + (negLr * g) / avg;
    }
  }
}

function rmspropF32(p: Float32Array, grad: TypedArray, sq: TypedArray, buf: TypedArray | null, gavg: TypedArray | null, h: RmspropHyper): void {
  const r = Math.fround;
  const alpha = r(h.alpha);
  const eps = r(h.eps);
  const wd = r(h.weightDecay);
  const mom = r(h.momentum);
  const negLr = r(-h.lr);
  const c = r(1 - h.alpha);
  const small = Math.abs(c) < 0.5;
  const cc = r(1 - c);
  const sign = h.maximize ? -1 : 1;
  const decays = h.weightDecay !== 0;
  for (let i = 0; i < p.length; i++) {
    let g = sign * grad[i];
    if (decays) g = r(g + r(wd * p[i]));
    sq[i] = r(r(sq[i] * alpha) + r(r(c * g) * g));
    let avg: number;
    if (gavg) {
      const d = r(g - gavg[i]);
      gavg[i] = small ? r(gavg[i] + r(c * d)) : r(g - r(d * cc));
      avg = r(Math.sqrt(r(sq[i] + r(-gavg[i] * gavg[i]))));
    } else {
      avg = r(Math.sqrt(sq[i]));
    }
    avg = r(avg + eps);
    if (buf) {
      buf[i] = r(r(buf[i] * mom) + r(g / avg));
      p[i] = r(p[i] + r(negLr * buf[i]));
    } else {
      p[i] = r(p[i] + r(r(negLr * g) / avg));
    }
  }
}
