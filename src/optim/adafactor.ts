import { GradlabError } from "../core/errors.js";
import type { Tensor } from "../tensor/tensor.js";
import { type FloatArray, l2, lerp, stateTensor } from "./arrays.js";
import { type BaseOptions, type GuardOptions, Optimizer, type ParamGroup, type ParamState, type ParamsInput } from "./optimizer.js";

export interface AdafactorOptions extends BaseOptions {
  /** Decay exponent τ of β₂: 1 − β₂ at step t is t^τ. */
  beta2Decay: number;
  /** [eps1, eps2]: eps1 floors the variance estimate (null: the dtype's machine epsilon); eps2 floors RMS(p). */
  eps: readonly [number | null, number];
  /** Update clipping threshold: the update's RMS is capped at d. */
  d: number;
  weightDecay: number;
}

const MACHINE_EPS = { float32: 2 ** -23, float64: 2 ** -52 } as const;

function rowShape(shape: readonly number[]): number[] {
  return [...shape.slice(0, -1), 1];
}

function colShape(shape: readonly number[]): number[] {
  return [...shape.slice(0, -2), 1, shape[shape.length - 1]];
}

/**
 * Adafactor as torch.optim.Adafactor implements it: for tensors of two or more dims the second
 * moment is kept as a row factor and a column factor over the last two dims (memory R + C instead
 * of R·C per matrix); relative step size min(lr, 1/√t) scaled by max(eps2, RMS(p)); decoupled
 * weight decay lr·λ. Vectors and scalars keep a full second moment.
 */
export class Adafactor extends Optimizer<AdafactorOptions> {
  constructor(params: ParamsInput<AdafactorOptions>, options: Partial<AdafactorOptions> & GuardOptions = {}) {
    super("Adafactor", params, { lr: 1e-2, beta2Decay: -0.8, eps: [null, 1e-3], d: 1, weightDecay: 0, maximize: false }, options);
  }

  protected validate(g: AdafactorOptions): void {
    if (!(g.lr >= 0)) throw new GradlabError(`Adafactor: invalid lr ${g.lr} (must be >= 0)`);
    if (!(g.beta2Decay <= 0)) throw new GradlabError(`Adafactor: invalid beta2Decay ${g.beta2Decay} (must be <= 0)`);
    const e = g.eps;
    if (!Array.isArray(e) || e.length !== 2 || !(e[0] === null || e[0] >= 0) || !(e[1] >= 0)) {
      throw new GradlabError(`Adafactor: invalid eps ${JSON.stringify(e)} (a pair [eps1 >= 0 or null, eps2 >= 0])`);
    }
    if (!(g.d >= 1)) throw new GradlabError(`Adafactor: invalid clipping threshold d ${g.d} (must be >= 1)`);
    if (!(g.weightDecay >= 0)) throw new GradlabError(`Adafactor: invalid weightDecay ${g.weightDecay} (must be >= 0)`);
  }

  protected initState(p: Tensor): ParamState {
    if (p.ndim > 1) return { step: 0, rowVar: stateTensor(p, rowShape(p.shape)), colVar: stateTensor(p, colShape(p.shape)) };
    return { step: 0, variance: stateTensor(p) };
  }

  protected override stateShape(p: Tensor, name: string): readonly number[] {
    if (name === "rowVar") return rowShape(p.shape);
    if (name === "colVar") return colShape(p.shape);
    return p.shape;
  }

  protected update(p: FloatArray, grad: FloatArray, state: ParamState, group: ParamGroup<AdafactorOptions>, param: Tensor): void {
    const { lr, beta2Decay, d, weightDecay: wd, maximize } = group;
    const eps1 = group.eps[0] ?? MACHINE_EPS[param.dtype as "float32" | "float64"];
    const eps2 = group.eps[1];
    const n = p.length;
    const step = (state.step as number) + 1;
    state.step = step;
    const oneMinusBeta2 = step ** beta2Decay;
    const rho = Math.min(lr, 1 / step ** 0.5);
    const alpha = Math.max(eps2, l2(p) / n ** 0.5) * rho;
    if (wd !== 0) {
      const decay = 1 - lr * wd;
      for (let i = 0; i < n; i++) p[i] = p[i] * decay;
    }
    const g = new Float64Array(n);
    const sign = maximize ? -1 : 1;
    for (let i = 0; i < n; i++) g[i] = sign * grad[i];
    const est = new Float64Array(n);
    if (param.ndim > 1) this.factoredEstimate(g, param.shape, state, oneMinusBeta2, eps1, est);
    else {
      const v = (state.variance as Tensor).data as FloatArray;
      for (let i = 0; i < n; i++) {
        v[i] = lerp(v[i], g[i] * g[i], oneMinusBeta2);
        est[i] = v[i];
      }
    }
    // eps1 is squared because the square root is taken next.
    const floor = eps1 * eps1;
    for (let i = 0; i < n; i++) est[i] = (1 / Math.sqrt(Math.max(est[i], floor))) * g[i];
    const denom = Math.max(1, l2(est) / (n ** 0.5 * d));
    const scale = -alpha / denom;
    for (let i = 0; i < n; i++) p[i] = p[i] + scale * est[i];
  }

  // On a device: the same steps as tensor ops (nothing read back), written back in place.
  protected override updateOnDevice(p: Tensor, grad: Tensor, state: ParamState, group: ParamGroup<AdafactorOptions>): void {
    const { lr, beta2Decay, d, weightDecay: wd, maximize } = group;
    const eps1 = group.eps[0] ?? MACHINE_EPS[p.dtype as "float32" | "float64"];
    const eps2 = group.eps[1];
    const n = p.numel();
    const step = (state.step as number) + 1;
    state.step = step;
    const w = step ** beta2Decay;
    const rho = Math.min(lr, 1 / step ** 0.5);
    const lerpInto = (a: Tensor, b: Tensor) => a.copy_(a.add(b.sub(a).mul(w)));
    const alpha = p.norm().div(n ** 0.5).clamp(eps2).mul(rho);
    if (wd !== 0) p.copy_(p.mul(1 - lr * wd));
    const g = maximize ? grad.neg() : grad;
    const g2 = g.square();
    let est: Tensor;
    if (p.ndim > 1) {
      const R = p.shape[p.ndim - 2];
      const C = p.shape[p.ndim - 1];
      const row = state.rowVar as Tensor;
      const col = state.colVar as Tensor;
      lerpInto(row, g2.sum(-1, true).div(C));
      lerpInto(col, g2.sum(-2, true).div(R));
      est = row.mul(col).div(row.mean(-2, true).clamp(eps1));
    } else {
      const v = state.variance as Tensor;
      lerpInto(v, g2);
      est = v;
    }
    const update = est.clamp(eps1 * eps1).rsqrt().mul(g);
    const denom = update.norm().div(n ** 0.5 * d).clamp(1);
    p.copy_(p.sub(update.mul(alpha).div(denom)));
  }

  /** Updates the row/column factors from g and writes the rank-1 variance estimate into `est`. */
  private factoredEstimate(g: Float64Array, shape: readonly number[], state: ParamState, w: number, eps1: number, est: Float64Array): void {
    const R = shape[shape.length - 2];
    const C = shape[shape.length - 1];
    const batches = g.length / (R * C) || 0;
    const row = (state.rowVar as Tensor).data as FloatArray;
    const col = (state.colVar as Tensor).data as FloatArray;
    for (let b = 0; b < batches; b++) {
      const base = b * R * C;
      for (let i = 0; i < R; i++) {
        let s = 0;
        for (let j = 0; j < C; j++) s += g[base + i * C + j] ** 2;
        // PyTorch takes the norm, squares it and divides, rather than averaging the squares.
        const norm = Math.sqrt(s);
        row[b * R + i] = lerp(row[b * R + i], (norm * norm) / C, w);
      }
      for (let j = 0; j < C; j++) {
        let s = 0;
        for (let i = 0; i < R; i++) s += g[base + i * C + j] ** 2;
        const norm = Math.sqrt(s);
        col[b * C + j] = lerp(col[b * C + j], (norm * norm) / R, w);
      }
      let rowSum = 0;
      for (let i = 0; i < R; i++) rowSum += row[b * R + i];
      const rowMean = Math.max(rowSum / R, eps1);
      for (let i = 0; i < R; i++) {
        for (let j = 0; j < C; j++) est[base + i * C + j] = (row[b * R + i] * col[b * C + j]) / rowMean;
      }
    }
  }
}
