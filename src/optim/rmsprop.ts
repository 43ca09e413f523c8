import { GradlabError } from "../core/errors.js";
import type { Tensor } from "../tensor/tensor.js";
import { type FloatArray, lerp, stateTensor } from "./arrays.js";
import { type BaseOptions, type GuardOptions, Optimizer, type ParamGroup, type ParamState, type ParamsInput } from "./optimizer.js";

export interface RMSpropOptions extends BaseOptions {
  alpha: number;
  eps: number;
  weightDecay: number;
  momentum: number;
  centered: boolean;
}

/**
 * RMSprop (torch.optim.RMSprop): divides by √(running mean of g²) + eps; centered subtracts the
 * squared running mean of g first. eps is added after the square root, as PyTorch does.
 */
export class RMSprop extends Optimizer<RMSpropOptions> {
  constructor(params: ParamsInput<RMSpropOptions>, options: Partial<RMSpropOptions> & GuardOptions = {}) {
    super("RMSprop", params, { lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false, maximize: false }, options);
  }

  protected validate(g: RMSpropOptions): void {
    for (const k of ["lr", "alpha", "eps", "weightDecay", "momentum"] as const) {
      if (!(g[k] >= 0)) throw new GradlabError(`RMSprop: invalid ${k} ${g[k]} (must be >= 0)`);
    }
  }

  protected initState(p: Tensor, group: ParamGroup<RMSpropOptions>): ParamState {
    const s: ParamState = { step: 0, squareAvg: stateTensor(p) };
    if (group.momentum > 0) s.momentumBuffer = stateTensor(p);
    if (group.centered) s.gradAvg = stateTensor(p);
    return s;
  }

  protected update(p: FloatArray, grad: FloatArray, state: ParamState, group: ParamGroup<RMSpropOptions>, param: Tensor): void {
    const { lr, alpha, eps, weightDecay: wd, momentum, centered, maximize } = group;
    const sign = maximize ? -1 : 1;
    state.step = (state.step as number) + 1;
    if (momentum > 0 && !state.momentumBuffer) state.momentumBuffer = stateTensor(param);
    if (centered && !state.gradAvg) state.gradAvg = stateTensor(param);
    const sq = (state.squareAvg as Tensor).data as FloatArray;
    const buf = momentum > 0 ? ((state.momentumBuffer as Tensor).data as FloatArray) : null;
    const gavg = centered ? ((state.gradAvg as Tensor).data as FloatArray) : null;
    for (let i = 0; i < p.length; i++) {
      let g = sign * grad[i];
      if (wd !== 0) g = g + wd * p[i];
      sq[i] = sq[i] * alpha + (1 - alpha) * g * g;
      let avg: number;
      if (gavg) {
        gavg[i] = lerp(gavg[i], g, 1 - alpha);
        avg = Math.sqrt(sq[i] + -1 * gavg[i] * gavg[i]);
      } else {
        avg = Math.sqrt(sq[i]);
      }
      avg = avg + eps;
      if (buf) {
        buf[i] = buf[i] * momentum + g / avg;
        p[i] = p[i] + -lr * buf[i];
      } else {
        p[i] = p[i] + (-lr * g) / avg;
      }
    }
  }
}
