import { normDim } from "../../core/shape.js";
import { logsumexp } from "./reduction.js";
import { max } from "../primitives/reduce.js";
import { requireFloat } from "../primitives/util.js";
import type { Tensor } from "../tensor.js";

export function softmax(x: Tensor, dim: number): Tensor {
  requireFloat("softmax", x);
  const d = normDim("softmax", dim, x.ndim);
  if (x.ndim === 0) return x.sub(x).add(1);
  const m = max(x.detach(), d, true);
  const e = x.sub(m.where(m.isfinite(), 0)).exp();
  return e.div(e.sum(d, true));
}

export function logSoftmax(x: Tensor, dim: number): Tensor {
  requireFloat("logSoftmax", x);
  const d = normDim("logSoftmax", dim, x.ndim);
  if (x.ndim === 0) return x.sub(x);
  return x.sub(logsumexp(x, d, true));
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** GELU: x Φ(x) with the exact erf, or the tanh approximation (T5 v1.1's "gelu_new"). */
export function gelu(x: Tensor, approximate: "none" | "tanh" = "none"): Tensor {
  requireFloat("gelu", x);
  if (approximate === "tanh") {
    const inner = x.add(x.pow(3).mul(0.044715)).mul(SQRT_2_OVER_PI);
    return x.mul(0.5).mul(inner.tanh().add(1));
  }
  return x.mul(0.5).mul(x.mul(Math.SQRT1_2).erf().add(1));
}

export function silu(x: Tensor): Tensor {
  return x.mul(x.sigmoid());
}
