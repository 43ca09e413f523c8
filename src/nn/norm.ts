import { DTypeError, GradlabError, ShapeError, fmtShape } from "../core/errors.js";
import { layerNorm, rmsNorm } from "../tensor/ops/functional.js";
import { Tensor, empty } from "../tensor/tensor.js";
import { ones_, zeros_ } from "./init.js";
import { checkCount, checkFloatDType, checkInput, type FloatDType } from "./linear.js";
import { Module } from "./module.js";
import { Parameter } from "./parameter.js";

function normShape(op: string, s: number | readonly number[]): number[] {
  const shape = typeof s === "number" ? [s] : [...s];
  if (shape.length === 0) throw new ShapeError(`${op}: normalizedShape must have at least one dim`);
  shape.forEach((d) => checkCount(op, "each normalizedShape dim", d, 1));
  return shape;
}

/** Input checks shared by both norms: a float Tensor of the parameters' dtype ending with normalizedShape. */
function checkNormInput(op: string, x: unknown, weight: Parameter | null, shape: readonly number[]): asserts x is Tensor {
  if (weight) checkInput(op, x, weight.dtype as FloatDType);
  else if (!(x instanceof Tensor)) throw new GradlabError(`${op}: input must be a Tensor, got ${x === null ? "null" : typeof x}`);
  else if (x.dtype === "int32") throw new DTypeError(`${op}: expected a floating-point input, got int32`);
  const k = shape.length;
  if (x.ndim < k || x.shape.slice(x.ndim - k).some((d, i) => d !== shape[i])) {
    throw new ShapeError(`${op}: input ${fmtShape(x.shape)} must end with the normalized shape ${fmtShape(shape)}`);
  }
}

export interface LayerNormOptions {
  eps?: number;
  elementwiseAffine?: boolean;
  /** Only with elementwiseAffine: whether to learn an additive bias too. */
  bias?: boolean;
  dtype?: FloatDType;
}

/** Normalises over the trailing normalizedShape dims (biased variance), then scales and shifts, as torch.nn.LayerNorm. */
export class LayerNorm extends Module {
  readonly normalizedShape: number[];
  readonly eps: number;
  readonly elementwiseAffine: boolean;
  weight: Parameter | null;
  bias: Parameter | null;

  constructor(normalizedShape: number | readonly number[], opts: LayerNormOptions = {}) {
    super();
    this.normalizedShape = normShape("LayerNorm", normalizedShape);
    this.eps = opts.eps ?? 1e-5;
    this.elementwiseAffine = opts.elementwiseAffine ?? true;
    const dtype = checkFloatDType("LayerNorm", opts.dtype);
    this.weight = this.elementwiseAffine ? new Parameter(ones_(empty(this.normalizedShape, dtype))) : null;
    this.bias = this.elementwiseAffine && (opts.bias ?? true) ? new Parameter(zeros_(empty(this.normalizedShape, dtype))) : null;
  }

  override forward(x: Tensor): Tensor {
    checkNormInput("LayerNorm", x, this.weight, this.normalizedShape);
    return layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }

  override extraRepr(): string {
    return `${fmtShape(this.normalizedShape)}, eps=${this.eps}, elementwiseAffine=${this.elementwiseAffine}`;
  }
}

export interface RMSNormOptions {
  /** Default (null): the machine epsilon of the input's dtype, as torch.nn.RMSNorm. */
  eps?: number | null;
  elementwiseAffine?: boolean;
  dtype?: FloatDType;
}

/** x / √(mean(x²) + eps) · weight over the trailing normalizedShape dims, as torch.nn.RMSNorm. */
export class RMSNorm extends Module {
  readonly normalizedShape: number[];
  readonly eps: number | null;
  readonly elementwiseAffine: boolean;
  weight: Parameter | null;

  constructor(normalizedShape: number | readonly number[], opts: RMSNormOptions = {}) {
    super();
    this.normalizedShape = normShape("RMSNorm", normalizedShape);
    this.eps = opts.eps ?? null;
    this.elementwiseAffine = opts.elementwiseAffine ?? true;
    const dtype = checkFloatDType("RMSNorm", opts.dtype);
    this.weight = this.elementwiseAffine ? new Parameter(ones_(empty(this.normalizedShape, dtype))) : null;
  }

  override forward(x: Tensor): Tensor {
    checkNormInput("RMSNorm", x, this.weight, this.normalizedShape);
    return rmsNorm(x, this.normalizedShape, this.weight, this.eps);
  }

  override extraRepr(): string {
    return `${fmtShape(this.normalizedShape)}, eps=${this.eps}, elementwiseAffine=${this.elementwiseAffine}`;
  }
}
