import { type DType, allocate, promoteTypes } from "../../core/dtype.js";
import { DTypeError, GradlabError } from "../../core/errors.js";
import { Tensor, type TensorLike } from "../tensor.js";

/** A number becomes a 0-d tensor that does not promote a float tensor (PyTorch's scalar rule). */
export function scalarTensor(value: number, like: DType): Tensor {
  const dtype: DType = like === "int32" && !Number.isInteger(value) ? "float32" : like;
  const t = new Tensor(allocate(dtype, 1), []);
  t.data[0] = value;
  return t;
}

export function asTensor(op: string, x: TensorLike, like: DType): Tensor {
  if (x instanceof Tensor) return x;
  if (typeof x === "number") return scalarTensor(x, like);
  throw new GradlabError(`${op}: expected a Tensor or a number, got ${x === null ? "null" : typeof x}`);
}

/** Result dtype of a binary op between a and b, where either may be a plain number. */
export function resultType(a: TensorLike, b: TensorLike): DType {
  if (a instanceof Tensor && b instanceof Tensor) {
    // A 0-d tensor does not promote a higher-rank one of the same kind, as in PyTorch.
    if (a.ndim === 0 && b.ndim > 0 && (a.dtype === "int32") === (b.dtype === "int32")) return b.dtype;
    if (b.ndim === 0 && a.ndim > 0 && (a.dtype === "int32") === (b.dtype === "int32")) return a.dtype;
    return promoteTypes(a.dtype, b.dtype);
  }
  if (a instanceof Tensor) return typeof b === "number" && a.dtype === "int32" && !Number.isInteger(b) ? "float32" : a.dtype;
  if (b instanceof Tensor) return typeof a === "number" && b.dtype === "int32" && !Number.isInteger(a) ? "float32" : b.dtype;
  return "float32";
}

export function requireFloat(op: string, t: Tensor): void {
  if (t.dtype === "int32") throw new DTypeError(`${op}: expected a floating-point tensor, got int32`);
}

export function requireInt(op: string, t: Tensor, what = "index"): void {
  if (t.dtype !== "int32") throw new DTypeError(`${op}: ${what} must be an int32 tensor, got ${t.dtype}`);
}
