import { DTypeError, GradlabError, ShapeError, fmtShape } from "../core/errors.js";
import type { Generator } from "../core/rng.js";
import { linear } from "../tensor/ops/functional.js";
import { Tensor, empty } from "../tensor/tensor.js";
import { kaimingUniform_, calculateFanInAndFanOut, uniform_ } from "./init.js";
import { Module } from "./module.js";
import { Parameter } from "./parameter.js";

export type FloatDType = "float32" | "float64";

export interface LinearOptions {
  bias?: boolean;
  dtype?: FloatDType;
  /** Draws the initial values (default: the global generator that manualSeed seeds). */
  generator?: Generator;
}

export function checkFloatDType(op: string, dtype: unknown): FloatDType {
  if (dtype === undefined) return "float32";
  if (dtype !== "float32" && dtype !== "float64") throw new DTypeError(`${op}: dtype must be "float32" or "float64", got ${String(dtype)}`);
  return dtype;
}

export function checkCount(op: string, what: string, n: unknown, min = 0): number {
  if (typeof n !== "number" || !Number.isInteger(n) || n < min) {
    throw new GradlabError(`${op}: ${what} must be an integer >= ${min}, got ${String(n)}`);
  }
  return n;
}

/** Checks that x is a Tensor of the parameter's floating dtype, as PyTorch refuses mixed dtypes. */
export function checkInput(op: string, x: unknown, dtype: FloatDType): asserts x is Tensor {
  if (!(x instanceof Tensor)) throw new GradlabError(`${op}: input must be a Tensor, got ${x === null ? "null" : typeof x}`);
  if (x.dtype !== dtype) throw new DTypeError(`${op}: input dtype ${x.dtype} does not match the parameters' dtype ${dtype}`);
}

/** y = x Wᵀ + b with W [outFeatures, inFeatures], initialised as torch.nn.Linear. */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  weight: Parameter;
  bias: Parameter | null;

  constructor(inFeatures: number, outFeatures: number, opts: LinearOptions = {}) {
    super();
    this.inFeatures = checkCount("Linear", "inFeatures", inFeatures);
    this.outFeatures = checkCount("Linear", "outFeatures", outFeatures);
    const dtype = checkFloatDType("Linear", opts.dtype);
    this.weight = new Parameter(empty([outFeatures, inFeatures], dtype));
    this.bias = opts.bias ?? true ? new Parameter(empty([outFeatures], dtype)) : null;
    this.resetParameters(opts.generator);
  }

  /** PyTorch's scheme: kaiming_uniform(a=√5) gives W ~ U(−1/√in, 1/√in); b ~ U(−1/√in, 1/√in). */
  resetParameters(generator?: Generator): void {
    kaimingUniform_(this.weight, { a: Math.sqrt(5), generator });
    if (this.bias) {
      const [fanIn] = calculateFanInAndFanOut(this.weight);
      const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
      uniform_(this.bias, -bound, bound, generator);
    }
  }

  override forward(x: Tensor): Tensor {
    checkInput("Linear", x, this.weight.dtype as FloatDType);
    if (x.ndim === 0 || x.shape[x.ndim - 1] !== this.inFeatures) {
      throw new ShapeError(`Linear(${this.inFeatures} → ${this.outFeatures}): input ${fmtShape(x.shape)} must end with ${this.inFeatures} features`);
    }
    return linear(x, this.weight, this.bias);
  }

  override extraRepr(): string {
    return `inFeatures=${this.inFeatures}, outFeatures=${this.outFeatures}, bias=${this.bias !== null}`;
  }
}
