import { GradlabError, ShapeError, fmtShape } from "../../core/errors.js";
import type { Generator } from "../../core/rng.js";
import { Tensor } from "../../tensor/tensor.js";
import { constant_ } from "../init.js";
import { Linear, type FloatDType } from "../linear.js";
import { Module } from "../module.js";

export type HighwayActivation = "relu" | "tanh" | "sigmoid" | "identity";

export interface HighwayOptions {
  /** The nonlinearity of the transform H (default relu). */
  activation?: HighwayActivation;
  /** Initial bias of the transform gate; negative values start the layer close to carrying x through. */
  gateBias?: number;
  dtype?: FloatDType;
  generator?: Generator;
}

/**
 * A highway layer (Srivastava et al. 2015): y = T(x)·H(x) + (1 − T(x))·x with the transform
 * H(x) = act(x·W_Hᵀ + b_H) (`transform`) and the gate T(x) = σ(x·W_Tᵀ + b_T) (`gate`, bias
 * initialised to gateBias, −1 by default), so a deep stack starts near the identity and trains.
 */
export class Highway extends Module {
  readonly size: number;
  readonly activation: HighwayActivation;
  transform: Linear;
  gate: Linear;

  constructor(size: number, opts: HighwayOptions = {}) {
    super();
    const act = opts.activation ?? "relu";
    if (!["relu", "tanh", "sigmoid", "identity"].includes(act)) {
      throw new GradlabError(`Highway: activation must be "relu", "tanh", "sigmoid" or "identity", got ${JSON.stringify(act)}`);
    }
    this.size = size;
    this.activation = act;
    this.transform = new Linear(size, size, { dtype: opts.dtype, generator: opts.generator });
    this.gate = new Linear(size, size, { dtype: opts.dtype, generator: opts.generator });
    constant_(this.gate.bias!, opts.gateBias ?? -1);
  }

  override forward(x: Tensor): Tensor {
    if (!(x instanceof Tensor) || x.ndim === 0 || x.shape[x.ndim - 1] !== this.size) {
      const got = x instanceof Tensor ? fmtShape(x.shape) : typeof x;
      throw new ShapeError(`Highway(${this.size}): expected input with ${this.size} features (last dim), got ${got}`);
    }
    const pre = this.transform.forward(x);
    const h = this.activation === "identity" ? pre : pre[this.activation]();
    const t = this.gate.forward(x).sigmoid();
    return t.mul(h).add(t.neg().add(1).mul(x));
  }

  override extraRepr(): string {
    return `${this.size}, activation=${this.activation}`;
  }
}
