import { GradlabError } from "../core/errors.js";
import type { Generator } from "../core/rng.js";
import { dropout } from "../tensor/ops/functional.js";
import type { Tensor } from "../tensor/tensor.js";
import { Module } from "./module.js";

/** Zeroes each element with probability p while training and scales survivors by 1/(1−p); identity in eval mode. */
export class Dropout extends Module {
  readonly p: number;
  private readonly _generator?: Generator;

  constructor(p = 0.5, opts: { generator?: Generator } = {}) {
    super();
    if (typeof p !== "number" || !(p >= 0 && p <= 1)) throw new GradlabError(`Dropout: p must be a probability in [0, 1], got ${p}`);
    this.p = p;
    this._generator = opts.generator;
  }

  override forward(x: Tensor): Tensor {
    return dropout(x, this.p, this.training, this._generator);
  }

  override extraRepr(): string {
    return `p=${this.p}`;
  }
}
