import { GradlabError } from "../core/errors.js";
import type { Tensor } from "../tensor/tensor.js";
import { kernel } from "../backend/registry.js";
import { deviceKernels } from "../backend/device.js";
import { type FloatArray, stateTensor } from "./arrays.js";
import { type BaseOptions, type GuardOptions, Optimizer, type ParamGroup, type ParamState, type ParamsInput } from "./optimizer.js";

export interface AdamOptions extends BaseOptions {
  betas: readonly [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
}

/**
 * Adam and AdamW share one update; AdamW decays the weights directly instead of adding λ·p to the
 * gradient. The arithmetic follows PyTorch's single-tensor implementation operation by operation,
 * in one pass over each parameter by the "adamUpdate" kernel (SIMD in the fast backend).
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
    const step = (state.step as number) + 1;
    state.step = step;
    const m = (state.expAvg as Tensor).data as FloatArray;
    const v = (state.expAvgSq as Tensor).data as FloatArray;
    if (amsgrad && !state.maxExpAvgSq) state.maxExpAvgSq = stateTensor(param);
    const vmax = amsgrad ? ((state.maxExpAvgSq as Tensor).data as FloatArray) : null;
    kernel("adamUpdate")(p, grad, m, v, vmax, { lr, beta1, beta2, eps, weightDecay: wd, decoupled: this.decoupled, maximize, step });
  }

  protected override updateOnDevice(p: Tensor, grad: Tensor, state: ParamState, group: ParamGroup<AdamOptions>): void {
    const { lr, eps, weightDecay: wd, amsgrad, maximize } = group;
    const [beta1, beta2] = group.betas;
    const step = (state.step as number) + 1;
    state.step = step;
    if (amsgrad && !state.maxExpAvgSq) state.maxExpAvgSq = stateTensor(p);
    const buf = (t: unknown) => (t as Tensor).dev!;
    deviceKernels(p.device).adamUpdate(p.dev!, grad.dev!, buf(state.expAvg), buf(state.expAvgSq), amsgrad ? buf(state.maxExpAvgSq) : null, {
      lr, beta1, beta2, eps, weightDecay: wd, decoupled: this.decoupled, maximize, step,
    });
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
