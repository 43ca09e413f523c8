import { ShapeError } from "../../core/errors.js";
import { where } from "../primitives/binary.js";
import { reshape } from "../primitives/movement.js";
import { keepShape, max, normAxes, sum } from "../primitives/reduce.js";
import type { Dims, Tensor } from "../tensor.js";
import { requireFloat } from "../primitives/util.js";

function count(x: Tensor, axes: number[]): number {
  return axes.reduce((a, i) => a * x.shape[i], 1);
}

export function mean(x: Tensor, dim?: Dims | null, keepDim = false): Tensor {
  requireFloat("mean", x);
  const axes = normAxes("mean", dim, x.ndim);
  return sum(x, axes, keepDim).div(count(x, axes));
}

/** Variance with Bessel's correction by default (correction 1), as torch.var. */
export function variance(x: Tensor, dim: Dims | null | undefined, correction: number, keepDim: boolean): Tensor {
  requireFloat("var", x);
  const axes = normAxes("var", dim, x.ndim);
  const m = mean(x, axes, true);
  const d = x.sub(m);
  return sum(d.mul(d), axes, keepDim).div(Math.max(0, count(x, axes) - correction));
}

/** log Σ exp(x), stable: the max is subtracted first (rows of -inf stay -inf). */
export function logsumexp(x: Tensor, dim: Dims, keepDim = false): Tensor {
  requireFloat("logsumexp", x);
  const axes = normAxes("logsumexp", dim, x.ndim);
  if (x.numel() === 0) throw new ShapeError("logsumexp: empty input");
  const m = max(x.detach(), axes, true);
  const safe = where(m.isfinite(), m, 0);
  const s = sum(x.sub(safe).exp(), axes, true).log().add(safe);
  return keepDim ? s : reshape(s, x.shape.filter((_, i) => !axes.includes(i)));
}

/** p-norm over dims (all by default): 2, 1, Infinity, -Infinity or any p > 0. */
export function norm(x: Tensor, p: number, dim: Dims | null | undefined, keepDim: boolean): Tensor {
  requireFloat("norm", x);
  const axes = normAxes("norm", dim, x.ndim);
  if (p === Infinity) return max(x.abs(), axes, keepDim);
  if (p === -Infinity) return x.abs().min(axes, keepDim);
  if (p === 2) return sum(x.mul(x), axes, keepDim).sqrt();
  if (p === 1) return sum(x.abs(), axes, keepDim);
  if (p === 0) {
    // The "0-norm" counts nonzero elements. It is piecewise constant: its gradient is 0, sent
    // through a path that stays exactly 0 even where x is ±Inf or NaN.
    const zero = sum(where(x.isfinite(), x, 0).mul(0), axes, keepDim);
    return sum(x.ne(0).to(x.dtype), axes, keepDim).add(zero);
  }
  return sum(x.abs().pow(p), axes, keepDim).pow(1 / p);
}

export { keepShape };
