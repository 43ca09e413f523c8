import { GradlabError } from "../core/errors.js";
import type { Tensor } from "../tensor/tensor.js";
import { type FloatArray, stateTensor } from "./arrays.js";
import { type BaseOptions, type GuardOptions, Optimizer, type ParamGroup, type ParamState, type ParamsInput } from "./optimizer.js";

export interface AdagradOptions extends BaseOptions {
  lrDecay: number;
  weightDecay: number;
  initialAccumulatorValue: number;
  eps: number;
}

/** Adagrad (torch.optim.Adagrad): per-value step lr / (1 + (t − 1)·lrDecay) / (√Σg² + eps). */
export class Adagrad extends Optimizer<AdagradOptions> {
  constructor(params: ParamsInput<AdagradOptions>, options: Partial<AdagradOptions> & GuardOptions = {}) {
    super("Adagrad", params, { lr: 1e-2, lrDecay: 0, weightDecay: 0, initialAccumulatorValue: 0, eps: 1e-10, maximize: false }, options);
  }

  protected validate(g: AdagradOptions): void {
    for (const k of ["lr", "lrDecay", "weightDecay", "initialAccumulatorValue", "eps"] as const) {
      if (!(g[k] >= 0)) throw new GradlabError(`Adagrad: invalid ${k} ${g[k]} (must be >= 0)`);
    }
  }

  // PyTorch creates the accumulator when the optimizer is built; creating it at the first step
  // gives the same values because nothing reads it before.
  protected initState(p: Tensor, group: ParamGroup<AdagradOptions>): ParamState {
    return { step: 0, sum: stateTensor(p, p.shape, group.initialAccumulatorValue) };
  }

  protected update(p: FloatArray, grad: FloatArray, state: ParamState, group: ParamGroup<AdagradOptions>): void {
    const { lr, lrDecay, weightDecay: wd, eps, maximize } = group;
    const sign = maximize ? -1 : 1;
    const step = (state.step as number) + 1;
    state.step = step;
    const sum = (state.sum as Tensor).data as FloatArray;
    const clr = lr / (1 + (step - 1) * lrDecay);
    for (let i = 0; i < p.length; i++) {
      let g = sign * grad[i];
      if (wd !== 0) g = g + wd * p[i];
      sum[i] = sum[i] + g * g;
      const std = Math.sqrt(sum[i]) + eps;
      p[i] = p[i] + (-clr * g) / std;
    }
  }

  // On a device: the same arithmetic as tensor ops, written back in place.
  protected override updateOnDevice(p: Tensor, grad: Tensor, state: ParamState, group: ParamGroup<AdagradOptions>): void {
    const { lr, lrDecay, weightDecay: wd, eps, maximize } = group;
    const step = (state.step as number) + 1;
    state.step = step;
    const sum = state.sum as Tensor;
    let g = maximize ? grad.neg() : grad;
    if (wd !== 0) g = g.add(p.mul(wd));
    sum.copy_(sum.add(g.square()));
    const clr = lr / (1 + (step - 1) * lrDecay);
    p.copy_(p.add(g.mul(-clr).div(sum.sqrt().add(eps))));
  }
}
