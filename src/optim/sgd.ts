import { GradlabError } from "../core/errors.js";
import type { Tensor } from "../tensor/tensor.js";
import { kernel } from "../backend/registry.js";
import { deviceKernels } from "../backend/device.js";
import { type FloatArray, stateTensor } from "./arrays.js";
import { type BaseOptions, type GuardOptions, Optimizer, type ParamGroup, type ParamState, type ParamsInput } from "./optimizer.js";

export interface SGDOptions extends BaseOptions {
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
}

/** Stochastic gradient descent with optional momentum (torch.optim.SGD; PyTorch's defaults). */
export class SGD extends Optimizer<SGDOptions> {
  constructor(params: ParamsInput<SGDOptions>, options: Partial<SGDOptions> & GuardOptions = {}) {
    super("SGD", params, { lr: 1e-3, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false }, options);
  }

  protected validate(g: SGDOptions): void {
    if (!(g.lr >= 0)) throw new GradlabError(`SGD: invalid lr ${g.lr} (must be >= 0)`);
    if (!(g.momentum >= 0)) throw new GradlabError(`SGD: invalid momentum ${g.momentum} (must be >= 0)`);
    if (!(g.weightDecay >= 0)) throw new GradlabError(`SGD: invalid weightDecay ${g.weightDecay} (must be >= 0)`);
    if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0)) {
      throw new GradlabError(`SGD: nesterov needs momentum > 0 and dampening 0 (got momentum ${g.momentum}, dampening ${g.dampening})`);
    }
  }

  protected initState(): ParamState {
    return {};
  }

  protected update(p: FloatArray, grad: FloatArray, state: ParamState, group: ParamGroup<SGDOptions>, param: Tensor): void {
    const { lr, momentum: mu, dampening, weightDecay: wd, nesterov, maximize } = group;
    let buf: FloatArray | null = null;
    let first = false;
    if (mu !== 0) {
      let b = state.momentumBuffer as Tensor | undefined;
      if (!b) {
        state.momentumBuffer = b = stateTensor(param);
        first = true;
      }
      buf = b.data as FloatArray;
    }
    kernel("sgdUpdate")(p, grad, buf, { lr, momentum: mu, dampening, weightDecay: wd, nesterov, maximize, first });
  }

  protected override updateOnDevice(p: Tensor, grad: Tensor, state: ParamState, group: ParamGroup<SGDOptions>): void {
    const { lr, momentum: mu, dampening, weightDecay: wd, nesterov, maximize } = group;
    let first = false;
    if (mu !== 0 && !state.momentumBuffer) {
      state.momentumBuffer = stateTensor(p);
      first = true;
    }
    const buf = mu !== 0 ? (state.momentumBuffer as Tensor).dev! : null;
    deviceKernels(p.device).sgdUpdate(p.dev!, grad.dev!, buf, { lr, momentum: mu, dampening, weightDecay: wd, nesterov, maximize, first });
  }
}
