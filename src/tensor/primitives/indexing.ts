import { DTypeError, ShapeError, fmtShape } from "../../core/errors.js";
import { normDim } from "../../core/shape.js";
import { kernel } from "../../backend/registry.js";
import { record } from "../record.js";
import { Tensor } from "../tensor.js";
import { clone, slice } from "./movement.js";
import { requireInt } from "./util.js";
import { DeviceError } from "../../core/errors.js";
import { deviceOf, dv, emptyOn, onDevice, zerosOn } from "../device.js";

function hostIndex(op: string, index: Tensor): void {
  if (index.dev) {
    throw new DeviceError(`${op}: the index must be a CPU tensor (its bounds are checked on the host before the kernel runs), got one on ${index.device}`);
  }
}


function checkRange(op: string, index: Tensor, size: number, dim: number): void {
  if (index.numel() === 0) return;
  const v = index.toArray();
  for (let i = 0; i < v.length; i++) {
    const k = v[i];
    if (k < 0 || k >= size) {
      throw new ShapeError(`${op}: index ${k} is out of bounds for dim ${dim} with size ${size}`);
    }
  }
}

/** out[i][j] = x[index[i][j]][j] (dim 0), etc.; index has x's rank. Gradient: scatter-add. */
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  requireInt("gather", index);
  hostIndex("gather", index);
  const d = normDim("gather", dim, x.ndim);
  if (index.ndim !== x.ndim) {
    throw new ShapeError(`gather: index ${fmtShape(index.shape)} must have the same number of dims as the input ${fmtShape(x.shape)}`);
  }
  for (let i = 0; i < x.ndim; i++) {
    if (i !== d && index.shape[i] > x.shape[i]) {
      throw new ShapeError(`gather: index ${fmtShape(index.shape)} is larger than the input ${fmtShape(x.shape)} in dim ${i}`);
    }
  }
  checkRange("gather", index, x.shape[d] ?? 1, d);
  const k = onDevice(x.device);
  const out = emptyOn(x.device, x.dtype, index.shape);
  if (k) k.gather(dv(x, k), d, index.toArray() as Int32Array, index.shape, out.dev!);
  else kernel("gather")(x, d, index, out.data);
  record("gather", [out], [x], ([g]) => [scatterAdd(zerosOn(g.device, g.dtype, x.shape), d, index, g)]);
  return out;
}

/** A copy of `base` with src added at the positions index gives along dim (autograd-aware). */
export function scatterAdd(base: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  requireInt("scatterAdd", index);
  hostIndex("scatterAdd", index);
  const dev = deviceOf("scatterAdd", base, src);
  const d = normDim("scatterAdd", dim, base.ndim);
  if (src.dtype !== base.dtype) {
    throw new DTypeError(`scatterAdd: src must have the input's dtype ${base.dtype}, got ${src.dtype}`);
  }
  if (index.ndim !== base.ndim || src.ndim !== base.ndim) {
    throw new ShapeError(
      `scatterAdd: index ${fmtShape(index.shape)}, src ${fmtShape(src.shape)} and input ${fmtShape(base.shape)} must have the same number of dims`,
    );
  }
  for (let i = 0; i < base.ndim; i++) {
    if (index.shape[i] > src.shape[i]) {
      throw new ShapeError(`scatterAdd: index ${fmtShape(index.shape)} is larger than src ${fmtShape(src.shape)} in dim ${i}`);
    }
    if (i !== d && index.shape[i] > base.shape[i]) {
      throw new ShapeError(`scatterAdd: index ${fmtShape(index.shape)} is larger than the input ${fmtShape(base.shape)} in dim ${i}`);
    }
  }
  checkRange("scatterAdd", index, base.shape[d] ?? 1, d);
  // Only the index-shaped corner of src is added (PyTorch's rule); slicing keeps its gradient.
  let part = src;
  for (let i = 0; i < src.ndim; i++) if (src.shape[i] > index.shape[i]) part = slice(part, i, 0, index.shape[i]);
  const k = onDevice(dev);
  const out = k ? clone(base.detach()) : new Tensor(base.toArray(), [...base.shape]);
  if (k) k.scatterAdd(out.dev!, out.shape, d, index.toArray() as Int32Array, index.shape, dv(part, k));
  else kernel("scatterAdd")(out.data, out.shape, d, index, part);
  record("scatterAdd", [out], [base, part], ([g]) => [g, part.requiresGrad ? gather(g, d, index) : null]);
  return out;
}

/** Rows (slices along dim) of x picked by a 1-d int32 index; gradient: index-add. */
export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  requireInt("indexSelect", index);
  hostIndex("indexSelect", index);
  if (index.ndim > 1) throw new ShapeError(`indexSelect: index must be 0-d or 1-d, got ${fmtShape(index.shape)}`);
  const d = normDim("indexSelect", dim, x.ndim);
  const size = x.ndim === 0 ? 1 : x.shape[d];
  checkRange("indexSelect", index, size, d);
  const ids = index.toArray() as Int32Array;
  const shape = x.ndim === 0 ? [] : [...x.shape];
  if (x.ndim) shape[d] = ids.length;
  const k = onDevice(x.device);
  const out = emptyOn(x.device, x.dtype, shape);
  if (k) {
    const xv = dv(x.ndim === 0 ? x.reshape([1]) : x, k);
    k.indexSelect(xv, d, ids, out.dev!);
  } else {
    const xv = x.ndim === 0 ? { data: x.data, shape: [1], strides: [1], offset: x.offset } : x;
    kernel("indexSelect")(xv, d, ids, out.data);
  }
  record("indexSelect", [out], [x], ([g]) => {
    const gk = onDevice(g.device);
    const gx = zerosOn(g.device, g.dtype, x.shape);
    if (gk) {
      gk.indexAdd(gx.dev!, x.ndim ? x.shape : [1], d, ids, dv(g.ndim === 0 ? g.reshape([1]) : g, gk));
    } else {
      const gv = g.ndim === 0 ? { data: g.data, shape: [1], strides: [1], offset: g.offset } : g;
      kernel("indexAdd")(gx.data, x.ndim ? x.shape : [1], d, ids, gv);
    }
    return [gx];
  });
  return out;
}

/** Embedding lookup: rows of weight [V, E] for int32 ids of any shape → [...ids.shape, E]. */
export function embedding(weight: Tensor, ids: Tensor): Tensor {
  requireInt("embedding", ids, "input ids");
  hostIndex("embedding", ids);
  if (weight.ndim !== 2) throw new ShapeError(`embedding: weight must be 2-d [num, dim], got ${fmtShape(weight.shape)}`);
  const flat = new Tensor(ids.toArray(), [ids.numel()]);
  const rows = indexSelect(weight, 0, flat);
  return rows.reshape([...ids.shape, weight.shape[1]]);
}
