import { ShapeError, fmtShape } from "../../core/errors.js";
import { normDim } from "../../core/shape.js";
import type { ReduceOp } from "../../backend/kernels.js";
import { kernel } from "../../backend/registry.js";
import { record } from "../record.js";
import { Tensor, type Dims } from "../tensor.js";
import { div, where } from "./binary.js";
import { expand, reshape } from "./movement.js";
import { dv, emptyOn, onDevice } from "../device.js";

/** Sorted, unique, non-negative axes; undefined/null means all. */
export function normAxes(op: string, dim: Dims | null | undefined, rank: number): number[] {
  if (dim === undefined || dim === null) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof dim === "number" ? [dim] : [...dim];
  const axes = [...new Set(list.map((d) => normDim(op, d, rank)))].sort((a, b) => a - b);
  return rank === 0 ? [] : axes;
}

export function keepShape(shape: readonly number[], axes: readonly number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

function outShape(shape: readonly number[], axes: readonly number[], keepDim: boolean): number[] {
  return keepDim ? keepShape(shape, axes) : shape.filter((_, i) => !axes.includes(i));
}

function runReduce(op: ReduceOp, x: Tensor, axes: number[], keepDim: boolean): Tensor {
  const ks = keepShape(x.shape, axes);
  const dtype = x.dtype;
  const k = onDevice(x.device);
  const out = emptyOn(x.device, dtype, ks);
  if (k) k.reduce(op, dv(x, k), axes, out.dev!);
  else kernel("reduce")(op, x, axes, out.data);
  return keepDim ? out : new Tensor(out.storage, outShape(x.shape, axes, false));
}

export function sum(x: Tensor, dim?: Dims | null, keepDim = false): Tensor {
  const axes = normAxes("sum", dim, x.ndim);
  const out = runReduce("sum", x, axes, keepDim);
  record("sum", [out], [x], ([g]) => [expand(reshape(g, keepShape(x.shape, axes)), x.shape)]);
  return out;
}

function extreme(op: "max" | "min", x: Tensor, dim: Dims | null | undefined, keepDim: boolean): Tensor {
  const axes = normAxes(op, dim, x.ndim);
  for (const a of axes) {
    if (x.shape[a] === 0) {
      throw new ShapeError(`${op}: cannot reduce over dim ${a} of size 0 (shape ${fmtShape(x.shape)})`);
    }
  }
  if (x.numel() === 0 && axes.length === 0 && x.ndim === 0) throw new ShapeError(`${op}: empty tensor`);
  const out = runReduce(op, x, axes, keepDim);
  record(op, [out], [x], ([g]) => {
    const ks = keepShape(x.shape, axes);
    const mask = x.eq(reshape(out.detach(), ks));
    const count = sum(mask, axes, true);
    return [where(mask, div(reshape(g, ks), count), 0)];
  });
  return out;
}

export const max = (x: Tensor, dim?: Dims | null, keepDim = false): Tensor => extreme("max", x, dim, keepDim);
export const min = (x: Tensor, dim?: Dims | null, keepDim = false): Tensor => extreme("min", x, dim, keepDim);

export function argReduce(op: "argmax" | "argmin", x: Tensor, dim: number | undefined, keepDim: boolean): Tensor {
  if (x.numel() === 0) throw new ShapeError(`${op}: the input of shape ${fmtShape(x.shape)} is empty`);
  if (dim === undefined) {
    const flat = reshape(x, [-1]);
    const r = argReduce(op, flat, 0, false);
    return keepDim ? reshape(r, x.shape.map(() => 1)) : r;
  }
  const axis = normDim(op, dim, x.ndim);
  const xs = x.ndim === 0 ? reshape(x, [1]) : x;
  const ks = keepShape(xs.shape, [axis]);
  const k = onDevice(x.device);
  const out = emptyOn(x.device, "int32", ks);
  if (k) k.argReduce(op, dv(xs, k), axis, out.dev!);
  else kernel("argReduce")(op, xs, axis, out.data as Int32Array);
  const shape = x.ndim === 0 ? [] : keepDim ? ks : outShape(xs.shape, [axis], false);
  return new Tensor(out.storage, shape);
}

