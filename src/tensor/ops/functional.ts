import { GradlabError, ShapeError, fmtShape } from "../../core/errors.js";
import { type Generator, defaultGenerator } from "../../core/rng.js";
import { allocate } from "../../core/dtype.js";
import { requireFloat } from "../primitives/util.js";
import { Tensor } from "../tensor.js";

/** y = x Wᵀ + b with W [out, in], as torch.nn.functional.linear. */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  if (weight.ndim !== 2) throw new ShapeError(`linear: weight must be 2-d [out, in], got ${fmtShape(weight.shape)}`);
  const inF = weight.shape[1];
  if (x.shape[x.ndim - 1] !== inF) {
    throw new ShapeError(`linear: input ${fmtShape(x.shape)} has ${x.shape[x.ndim - 1]} features, weight ${fmtShape(weight.shape)} expects ${inF}`);
  }
  const y = x.matmul(weight.t());
  return bias ? y.add(bias) : y;
}

/** Inverted dropout: zeroes with probability p and scales survivors by 1/(1-p); identity when not training. */
export function dropout(x: Tensor, p = 0.5, training = true, gen: Generator = defaultGenerator): Tensor {
  if (!(p >= 0 && p <= 1)) throw new GradlabError(`dropout: p must be in [0, 1], got ${p}`);
  if (!training || p === 0) return x;
  if (p === 1) return x.mul(0);
  const mask = allocate(x.dtype, x.numel());
  const scale = 1 / (1 - p);
  for (let i = 0; i < mask.length; i++) mask[i] = gen.random() < p ? 0 : scale;
  // The mask is drawn on the host from the seeded generator, so a run is the same on every device.
  const m = new Tensor(mask, [...x.shape]);
  return x.mul(m.toDevice(x.device));
}

function normDims(x: Tensor, normalizedShape: readonly number[], op: string): number[] {
  const k = normalizedShape.length;
  const tail = x.shape.slice(x.ndim - k);
  if (k > x.ndim || tail.some((v, i) => v !== normalizedShape[i])) {
    throw new ShapeError(`${op}: input ${fmtShape(x.shape)} does not end with normalized shape ${fmtShape(normalizedShape)}`);
  }
  return normalizedShape.map((_, i) => x.ndim - k + i);
}

export function layerNorm(x: Tensor, normalizedShape: readonly number[], weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  requireFloat("layerNorm", x);
  const dims = normDims(x, normalizedShape, "layerNorm");
  const mu = x.mean(dims, true);
  const d = x.sub(mu);
  const v = d.mul(d).mean(dims, true);
  let y = d.mul(v.add(eps).rsqrt());
  if (weight) y = y.mul(weight);
  if (bias) y = y.add(bias);
  return y;
}

/** x / sqrt(mean(x²) + eps) · weight; eps defaults to the dtype's machine epsilon, as torch.nn.RMSNorm. */
export function rmsNorm(x: Tensor, normalizedShape: readonly number[], weight?: Tensor | null, eps?: number | null): Tensor {
  requireFloat("rmsNorm", x);
  const dims = normDims(x, normalizedShape, "rmsNorm");
  const e = eps ?? (x.dtype === "float64" ? 2.220446049250313e-16 : 1.1920928955078125e-7);
  const y = x.mul(x.mul(x).mean(dims, true).add(e).rsqrt());
  return weight ? y.mul(weight) : y;
}
