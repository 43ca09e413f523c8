import { GradlabError } from "../core/errors.js";
import type { Tensor } from "../tensor/tensor.js";
import { kernel } from "../backend/registry.js";
import { type FloatArray, stateTensor } from "./arrays.js";
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
    state.step = (state.step as number) + 1;
    if (momentum > 0 && !state.momentumBuffer) state.momentumBuffer = stateTensor(param);
    if (centered && !state.gradAvg) state.gradAvg = stateTensor(param);
    const sq = (state.squareAvg as Tensor).data as FloatArray;
    const buf = momentum > 0 ? ((state.momentumBuffer as Tensor).data as FloatArray) : null;
    const gavg = centered ? ((state.gradAvg as Tensor).data as FloatArray) : null;
    kernel("rmspropUpdate")(p, grad, sq, buf, gavg, { lr, alpha, eps, weightDecay: wd, momentum, maximize });
  }

  // On a device: the same arithmetic as tensor ops, written back in place.
  protected override updateOnDevice(p: Tensor, grad: Tensor, state: ParamState, group: ParamGroup<RMSpropOptions>): void {
    const { lr, alpha, eps, weightDecay: wd, momentum, centered, maximize } = group;
    state.step = (state.step as number) + 1;
    if (momentum > 0 && !state.momentumBuffer) state.momentumBuffer = stateTensor(p);
    if (centered && !state.gradAvg) state.gradAvg = stateTensor(p);
    let g = maximize ? grad.neg() : grad;
    if (wd !== 0) g = g.add(p.mul(wd));
    const sq = state.squareAvg as Tensor;
    sq.copy_(sq.mul(alpha).add(g.square().mul(1 - alpha)));
    let avg: Tensor;
    if (centered) {
      const gavg = state.gradAvg as Tensor;
      gavg.copy_(gavg.add(g.sub(gavg).mul(1 - alpha)));
      avg = sq.sub(gavg.square()).sqrt();
    } else {
      avg = sq.sqrt();
    }
    avg = avg.add(eps);
    if (momentum > 0) {
      const buf = state.momentumBuffer as Tensor;
      buf.copy_(buf.mul(momentum).add(g.div(avg)));
      p.copy_(p.sub(buf.mul(lr)));
    } else {
      p.copy_(p.sub(g.mul(lr).div(avg)));
    }
  }
}
