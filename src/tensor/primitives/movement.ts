import { type DType, promoteTypes } from "../../core/dtype.js";
import { ShapeError, fmtShape } from "../../core/errors.js";
import { contiguousStrides, normDim, numel, shapesEqual, viewStrides } from "../../core/shape.js";
import { kernel } from "../../backend/registry.js";
import { isContiguous } from "../../backend/view.js";
import { record } from "../record.js";
import { Tensor } from "../tensor.js";
import { deviceOf, dv, emptyOn, onDevice, zerosOn } from "../device.js";
import { sum } from "./reduce.js";

/** Resolves a single -1 and checks that the element count is preserved. */
export function inferShape(op: string, shape: readonly number[], n: number, from: readonly number[]): number[] {
  const out = [...shape];
  const neg = out.indexOf(-1);
  if (neg !== out.lastIndexOf(-1)) throw new ShapeError(`${op}: only one dimension can be -1, got ${fmtShape(shape)}`);
  for (const d of out) {
    if (!Number.isInteger(d) || d < -1) throw new ShapeError(`${op}: invalid shape ${fmtShape(shape)}`);
  }
  if (neg >= 0) {
    const rest = out.reduce((a, d, i) => (i === neg ? a : a * d), 1);
    if (rest === 0 || n % rest !== 0) {
      throw new ShapeError(`${op}: shape ${fmtShape(shape)} is invalid for input of shape ${fmtShape(from)} (${n} elements)`);
    }
    out[neg] = n / rest;
  }
  if (numel(out) !== n) {
    throw new ShapeError(`${op}: shape ${fmtShape(shape)} is invalid for input of shape ${fmtShape(from)} (${n} elements)`);
  }
  return out;
}

function makeView(x: Tensor, shape: readonly number[], strides: readonly number[], offset: number): Tensor {
  return new Tensor(x.storage, shape, strides, offset);
}

/** A view with a new shape; fails when x's layout does not allow one (see reshape). */
export function view(x: Tensor, shape: readonly number[]): Tensor {
  const s = inferShape("view", shape, x.numel(), x.shape);
  const st = viewStrides(x.shape, x.strides, s);
  if (!st) {
    throw new ShapeError(
      `view: a tensor of shape ${fmtShape(x.shape)} with strides ${fmtShape(x.strides)} cannot be viewed as ${fmtShape(s)}; use reshape(), which copies`,
    );
  }
  const out = makeView(x, s, st, x.offset);
  record("view", [out], [x], ([g]) => [reshape(g, x.shape)]);
  return out;
}

/** A view when the layout allows it, otherwise a copy. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const s = inferShape("reshape", shape, x.numel(), x.shape);
  if (shapesEqual(s, x.shape)) return x;
  return view(viewStrides(x.shape, x.strides, s) ? x : clone(x), s);
}

export function permute(x: Tensor, dims: readonly number[]): Tensor {
  if (dims.length !== x.ndim) {
    throw new ShapeError(`permute: got ${dims.length} dims ${fmtShape(dims)} for a tensor of shape ${fmtShape(x.shape)}`);
  }
  const d = dims.map((v) => normDim("permute", v, x.ndim));
  if (new Set(d).size !== d.length) throw new ShapeError(`permute: repeated dim in ${fmtShape(dims)}`);
  const out = makeView(x, d.map((i) => x.shape[i]), d.map((i) => x.strides[i]), x.offset);
  const inv = new Array<number>(d.length);
  d.forEach((v, i) => (inv[v] = i));
  record("permute", [out], [x], ([g]) => [permute(g, inv)]);
  return out;
}

/** Broadcasts size-1 dims (and new leading dims) to `shape` without copying; -1 keeps a size. */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  if (shapesEqual(shape, x.shape)) return x;
  const lead = shape.length - x.ndim;
  if (lead < 0) {
    throw new ShapeError(`expand: cannot expand shape ${fmtShape(x.shape)} to fewer dims ${fmtShape(shape)}`);
  }
  const outShape: number[] = [];
  const strides: number[] = [];
  for (let i = 0; i < shape.length; i++) {
    const j = i - lead;
    const want = shape[i];
    if (j < 0) {
      if (want < 0) throw new ShapeError(`expand: -1 is not allowed in a new leading dim, got ${fmtShape(shape)}`);
      outShape.push(want);
      strides.push(0);
    } else {
      const have = x.shape[j];
      if (want === -1 || want === have) {
        outShape.push(have);
        strides.push(x.strides[j]);
      } else if (have === 1) {
        outShape.push(want);
        strides.push(0);
      } else {
        throw new ShapeError(`expand: shape ${fmtShape(x.shape)} cannot be expanded to ${fmtShape(shape)} (dim ${i}: ${have} vs ${want})`);
      }
    }
  }
  const out = makeView(x, outShape, strides, x.offset);
  record("expand", [out], [x], ([g]) => [sumToShape(g, x.shape)]);
  return out;
}

/** Sums a broadcast gradient back to `shape`. */
export function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  if (shapesEqual(g.shape, shape)) return g;
  const lead = g.ndim - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.ndim; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  const s = axes.length ? sum(g, axes, true) : g;
  return reshape(s, shape);
}

/** Python-style slice along one dim: negative indices count from the end, bounds are clamped. */
export function slice(x: Tensor, dim: number, start = 0, end = Infinity, step = 1): Tensor {
  const d = normDim("slice", dim, x.ndim);
  if (x.ndim === 0) throw new ShapeError("slice: cannot slice a 0-d tensor");
  if (!Number.isInteger(step) || step <= 0) throw new ShapeError(`slice: step must be a positive integer, got ${step}`);
  const n = x.shape[d];
  const norm = (v: number) => Math.min(Math.max(v < 0 ? v + n : v, 0), n);
  const s = norm(start);
  const e = Math.max(norm(end), s);
  const len = Math.ceil((e - s) / step);
  const shape = [...x.shape];
  shape[d] = len;
  const strides = [...x.strides];
  strides[d] = x.strides[d] * step;
  const out = makeView(x, shape, strides, x.offset + s * x.strides[d]);
  record("slice", [out], [x], ([g]) => {
    const k = onDevice(g.device);
    const full = zerosOn(g.device, g.dtype, x.shape);
    const st = contiguousStrides(x.shape);
    const dstStrides = [...st];
    dstStrides[d] = st[d] * step;
    if (k) k.copy(dv(g, k), { buf: full.dev!, shape, strides: dstStrides, offset: s * st[d] });
    else kernel("copy")(g, { data: full.data, shape, strides: dstStrides, offset: s * st[d] });
    return [full];
  });
  return out;
}

export function contiguous(x: Tensor): Tensor {
  return isContiguous(x) ? x : clone(x);
}

export function clone(x: Tensor): Tensor {
  const k = onDevice(x.device);
  let out: Tensor;
  if (k) {
    out = emptyOn(x.device, x.dtype, x.shape);
    k.copy(dv(x, k), dv(out, k));
  } else {
    out = new Tensor(x.toArray(), [...x.shape]);
  }
  record("clone", [out], [x], ([g]) => [g]);
  return out;
}

export function cast(x: Tensor, dtype: DType): Tensor {
  if (x.dtype === dtype) return x;
  const k = onDevice(x.device);
  const out = emptyOn(x.device, dtype, x.shape);
  if (k) k.copy(dv(x, k), dv(out, k));
  else kernel("copy")(x, out);
  if (x.dtype !== "int32") record("cast", [out], [x], ([g]) => [cast(g, x.dtype)]);
  return out;
}

export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new ShapeError("cat: expected a non-empty list of tensors");
  const ref = tensors.find((t) => !(t.ndim === 1 && t.shape[0] === 0)) ?? tensors[0];
  const d = normDim("cat", dim, ref.ndim);
  // PyTorch skips 1-d empty tensors in cat, a common way to start an accumulation.
  const parts = tensors.filter((t) => t === ref || !(t.ndim === 1 && t.shape[0] === 0));
  const dtype = parts.map((t) => t.dtype).reduce(promoteTypes);
  let total = 0;
  for (const t of parts) {
    const bad = t.ndim !== ref.ndim || t.shape.some((v, i) => i !== d && v !== ref.shape[i]);
    if (bad) {
      throw new ShapeError(`cat: sizes must match except in dim ${d}: ${fmtShape(ref.shape)} and ${fmtShape(t.shape)}`);
    }
    total += t.shape[d];
  }
  const shape = [...ref.shape];
  shape[d] = total;
  const dev = deviceOf("cat", ...parts);
  const k = onDevice(dev);
  const out = emptyOn(dev, dtype, shape);
  let at = 0;
  for (const t of parts) {
    if (t.shape[d] > 0) {
      const part = slice(out.detach(), d, at, at + t.shape[d]);
      if (k) k.copy(dv(t, k), dv(part, k));
      else kernel("copy")(t, part);
    }
    at += t.shape[d];
  }
  const casted = parts.map((t) => (t.dtype === dtype ? t : cast(t, dtype)));
  record("cat", [out], casted, ([g]) => {
    let pos = 0;
    return casted.map((t) => {
      const gi = t.requiresGrad ? slice(g, d, pos, pos + t.shape[d]) : null;
      pos += t.shape[d];
      return gi;
    });
  });
  return out;
}
