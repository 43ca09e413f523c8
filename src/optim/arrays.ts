import type { TypedArray } from "../core/dtype.js";
import { DTypeError, DeviceError, GradlabError, ShapeError, fmtShape } from "../core/errors.js";
import { zerosOn } from "../tensor/device.js";
import { isContiguous } from "../backend/view.js";
import { Tensor } from "../tensor/tensor.js";

/**
 * Helpers for the optimizers, which work element by element on the typed arrays of parameters,
 * gradients and state. JS numbers are float64, so float64 parameters get float64 maths throughout.
 */

export type FloatArray = Float32Array | Float64Array;

/** True when `t` owns one contiguous run of its storage from offset 0, so `t.data` is its values. */
export function isDense(t: Tensor): boolean {
  return t.offset === 0 && t.storage.length === t.numel() && isContiguous(t);
}

/** Checks what paramData checks, for a parameter on any device. */
export function checkParam(op: string, p: Tensor): void {
  if (p.dev) {
    if (p.dtype !== "float32") throw new DTypeError(`${op}: parameters on ${p.device} must be float32, got ${p.dtype}`);
    if (!isDense(p)) throw new ShapeError(`${op}: parameter of shape ${fmtShape(p.shape)} is a strided view; optimizers need contiguous leaf tensors`);
  } else {
    paramData(op, p);
  }
}

/** The gradient of a device parameter as a dense tensor of its dtype (replacing p.grad when it is not). */
export function deviceGrad(op: string, p: Tensor): Tensor {
  const g = p.grad;
  if (!g) throw new GradlabError(`${op}: parameter has no gradient`);
  if (g.shape.join() !== p.shape.join()) {
    throw new ShapeError(`${op}: gradient shape ${fmtShape(g.shape)} does not match its parameter's ${fmtShape(p.shape)}`);
  }
  if (g.device !== p.device) throw new DeviceError(`${op}: a parameter on ${p.device} has a gradient on ${g.device}`);
  if (g.dtype !== p.dtype || !isDense(g)) p.grad = g.to(p.dtype).clone().detach();
  return p.grad!;
}

/** The parameter's own storage, which optimizers update in place so every holder sees the change. */
export function paramData(op: string, p: Tensor): FloatArray {
  if (p.dtype === "int32") throw new DTypeError(`${op}: parameters must be float32 or float64, got an int32 tensor of shape ${fmtShape(p.shape)}`);
  if (!isDense(p)) {
    throw new ShapeError(`${op}: parameter of shape ${fmtShape(p.shape)} is a strided view; optimizers need contiguous leaf tensors (use a Parameter or .contiguous())`);
  }
  return p.data as FloatArray;
}

/**
 * The gradient's values as a dense array that may be written in place (clipping does). A strided
 * or foreign-dtype gradient is first replaced by a dense copy in the parameter's dtype.
 */
export function gradData(op: string, p: Tensor): FloatArray {
  const g = p.grad;
  if (!g) throw new GradlabError(`${op}: parameter has no gradient`);
  if (g.shape.join() !== p.shape.join()) {
    throw new ShapeError(`${op}: gradient shape ${fmtShape(g.shape)} does not match its parameter's ${fmtShape(p.shape)}`);
  }
  if (g.dtype !== p.dtype || !isDense(g)) p.grad = new Tensor(g.to(p.dtype).toArray(), [...p.shape]);
  return p.grad!.data as FloatArray;
}

/** A fresh dense tensor in `like`'s dtype and the given shape, filled with `value`. */
export function stateTensor(like: Tensor, shape: readonly number[] = like.shape, value = 0): Tensor {
  if (like.dev) {
    const t = zerosOn(like.device, like.dtype, shape);
    return value === 0 ? t : t.fill_(value);
  }
  const n = shape.reduce((a, b) => a * b, 1);
  const data: TypedArray = like.dtype === "float32" ? new Float32Array(n) : new Float64Array(n);
  if (value !== 0) data.fill(value);
  return new Tensor(data, [...shape]);
}

/** PyTorch's CPU lerp, which switches form at weight 0.5 for accuracy; kept for bit-level agreement. */
export function lerp(start: number, end: number, weight: number): number {
  return Math.abs(weight) < 0.5 ? start + weight * (end - start) : end - (end - start) * (1 - weight);
}

/** Euclidean norm of all values, as a plain sum of squares (what torch.linalg.vector_norm computes). */
export function l2(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}
