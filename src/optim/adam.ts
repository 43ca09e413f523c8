import { GradlabError } from "../core/errors.js";
import type { Tensor } from "../tensor/tensor.js";
import { type FloatArray, lerp, stateTensor } from "./arrays.js";
import { type BaseOptions, type GuardOptions, Optimizer, type ParamGroup, type ParamState, type ParamsInput } from "./optimizer.js";

export interface AdamOptions extends BaseOptions {
  betas: readonly [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
}

/**
 * Adam and AdamW share one update; AdamW decays the weights directly instead of adding λ·p to the
 * gradient. The arithmetic follows PyTorch's single-tensor implementation operation by operation.
 */
abstract class AdamBase extends Optimizer<AdamOptions> {
  protected constructor(
    name: string,
    params: ParamsInput<AdamOptions>,
    options: Partial<AdamOptions> & GuardOptions,
    private readonly decoupled: boolean,
  ) {
    super(name, params, adamDefaults(decoupled ? 1e-2 : 0), options);
  }

  protected validate(g: AdamOptions): void {
    validateAdam(this.name, g);
  }

  protected initState(p: Tensor, group: ParamGroup<AdamOptions>): ParamState {
    const s: ParamState = { step: 0, expAvg: stateTensor(p), expAvgSq: stateTensor(p) };
    if (group.amsgrad) s.maxExpAvgSq = stateTensor(p);
    return s;
  }

  protected update(p: FloatArray, grad: FloatArray, state: ParamState, group: ParamGroup<AdamOptions>, param: Tensor): void {
    const { lr, eps, weightDecay: wd, amsgrad, maximize } = group;
    const [beta1, beta2] = group.betas;
    const sign = maximize ? -1 : 1;
    const step = (state.step as number) + 1;
    state.step = step;
    const m = (state.expAvg as Tensor).data as FloatArray;
    const v = (state.expAvgSq as Tensor).data as FloatArray;
    if (amsgrad && !state.maxExpAvgSq) state.maxExpAvgSq = stateTensor(param);
    const vmax = amsgrad ? ((state.maxExpAvgSq as Tensor).data as FloatArray) : null;
    const biasCorrection1 = 1 - beta1 ** step;
    const biasCorrection2 = 1 - beta2 ** step;
    const stepSize = lr / biasCorrection1;
    const bc2Sqrt = Math.sqrt(biasCorrection2);
    const decay = 1 - lr * wd;
    for (let i = 0; i < p.length; i++) {
      let g = sign * grad[i];
      if (wd !== 0) {
        if (this.decoupled) p[i] = p[i] * decay;
        else g = g + wd * p[i];
      }
      m[i] = lerp(m[i], g, 1 - beta1);
      v[i] = v[i] * beta2 + (1 - beta2) * g * g;
      let second = v[i];
      if (vmax) {
        vmax[i] = Math.max(vmax[i], v[i]);
        second = vmax[i];
      }
      const denom = Math.sqrt(second) / bc2Sqrt + eps;
      p[i] = p[i] + (-stepSize * m[i]) / denom;
    }
  }
}

/** torch.optim.Adam: weight decay is added to the gradient (L2 penalty). */
export class Adam extends AdamBase {
  constructor(params: ParamsInput<AdamOptions>, options: Partial<AdamOptions> & GuardOptions = {}) {
    super("Adam", params, options, false);
  }
}

/** torch.optim.AdamW: p ← p·(1 − lr·λ) before the Adam step (default λ = 0.01). */
export class AdamW extends AdamBase {
  constructor(params: ParamsInput<AdamOptions>, options: Partial<AdamOptions> & GuardOptions = {}) {
    super("AdamW", params, options, true);
  }
}

function adamDefaults(weightDecay: number): AdamOptions {
  return { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay, amsgrad: false, maximize: false };
}

function validateAdam(name: string, g: AdamOptions): void {
  if (!(g.lr >= 0)) throw new GradlabError(`${name}: invalid lr ${g.lr} (must be >= 0)`);
  if (!(g.eps >= 0)) throw new GradlabError(`${name}: invalid eps ${g.eps} (must be >= 0)`);
  const b = g.betas;
  if (!Array.isArray(b) || b.length !== 2 || !(b[0] >= 0 && b[0] < 1) || !(b[1] >= 0 && b[1] < 1)) {
    throw new GradlabError(`${name}: invalid betas ${JSON.stringify(b)} (two numbers in [0, 1))`);
  }
  if (!(g.weightDecay >= 0)) throw new GradlabError(`${name}: invalid weightDecay ${g.weightDecay} (must be >= 0)`);
}
