import { type DType, type TypedArray, allocate, dtypeOf, isDType } from "../core/dtype.js";
import { DTypeError, GradlabError, ShapeError, fmtShape } from "../core/errors.js";
import { checkShape, numel } from "../core/shape.js";
import { type Generator, defaultGenerator } from "../core/rng.js";
import { Tensor, type NestedArray } from "./tensor.js";
import { getDefaultDevice } from "../backend/device.js";

export interface CreateOptions {
  dtype?: DType;
  requiresGrad?: boolean;
  /** "cpu" or "webgpu"; default: the default device (gl.setDefaultDevice, gl.setBackend("webgpu")). */
  device?: string;
}

export interface TensorOptions extends CreateOptions {
  shape?: readonly number[];
}

export interface RandomOptions extends CreateOptions {
  generator?: Generator;
}

function finish(t: Tensor, opts: CreateOptions): Tensor {
  const dev = opts.device ?? getDefaultDevice();
  const out = dev === "cpu" || t.device === dev ? t : t.detach().toDevice(dev);
  if (opts.requiresGrad) out.requiresGrad_(true);
  return out;
}

function checkDType(op: string, dtype: unknown): DType {
  if (dtype === undefined) return "float32";
  if (!isDType(dtype)) throw new DTypeError(`${op}: unknown dtype ${String(dtype)} (float32, float64 or int32)`);
  return dtype;
}

function inferNested(op: string, data: NestedArray): number[] {
  const shape: number[] = [];
  let cur: NestedArray = data;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    cur = cur[0] as NestedArray;
    if (cur === undefined) break;
  }
  void op;
  return shape;
}

function fillNested(op: string, data: NestedArray, shape: readonly number[], out: TypedArray): void {
  let k = 0;
  const walk = (v: NestedArray, d: number): void => {
    if (d === shape.length) {
      if (Array.isArray(v)) throw new ShapeError(`${op}: ragged nested array (too deep at dim ${d})`);
      if (typeof v !== "number" && typeof v !== "boolean") {
        throw new GradlabError(`${op}: values must be numbers, got ${typeof v}`);
      }
      out[k++] = Number(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[d]) {
      throw new ShapeError(`${op}: ragged nested array: expected ${shape[d]} items at dim ${d}, got ${Array.isArray(v) ? v.length : "a number"}`);
    }
    for (const item of v) walk(item, d + 1);
  };
  walk(data, 0);
}

/** A tensor from a number, a nested array or a typed array (typed arrays keep their dtype). */
export function tensor(data: NestedArray | TypedArray | Tensor, opts: TensorOptions = {}): Tensor {
  if (data instanceof Tensor) {
    const t = data.dev ? data.detach().clone() : new Tensor(data.toArray(), [...data.shape]);
    return finish(opts.dtype && opts.dtype !== t.dtype ? t.to(opts.dtype) : t, opts);
  }
  if (ArrayBuffer.isView(data)) {
    const src = data as TypedArray;
    if (!(src instanceof Float32Array || src instanceof Float64Array || src instanceof Int32Array)) {
      throw new DTypeError("tensor: typed arrays must be Float32Array, Float64Array or Int32Array");
    }
    const dtype = opts.dtype ? checkDType("tensor", opts.dtype) : dtypeOf(src);
    const shape = opts.shape ? checkShape("tensor", opts.shape) : [src.length];
    if (numel(shape) !== src.length) throw new ShapeError(`tensor: ${src.length} values cannot have shape ${fmtShape(shape)}`);
    const out = allocate(dtype, src.length);
    out.set(src);
    return finish(new Tensor(out, shape), opts);
  }
  const dtype = checkDType("tensor", opts.dtype);
  const nestedShape = inferNested("tensor", data);
  const out = allocate(dtype, numel(nestedShape));
  fillNested("tensor", data, nestedShape, out);
  const shape = opts.shape ? checkShape("tensor", opts.shape) : nestedShape;
  if (numel(shape) !== out.length) throw new ShapeError(`tensor: ${out.length} values cannot have shape ${fmtShape(shape)}`);
  return finish(new Tensor(out, shape), opts);
}

export function full(shape: readonly number[], value: number, opts: CreateOptions = {}): Tensor {
  const s = checkShape("full", shape);
  const out = allocate(checkDType("full", opts.dtype), numel(s));
  out.fill(value);
  return finish(new Tensor(out, s), opts);
}

export const zeros = (shape: readonly number[], opts: CreateOptions = {}): Tensor => full(shape, 0, opts);
export const ones = (shape: readonly number[], opts: CreateOptions = {}): Tensor => full(shape, 1, opts);

const like = (x: Tensor, opts: CreateOptions): CreateOptions => ({ dtype: x.dtype, ...opts });
export const zerosLike = (x: Tensor, opts: CreateOptions = {}): Tensor => full(x.shape, 0, like(x, opts));
export const onesLike = (x: Tensor, opts: CreateOptions = {}): Tensor => full(x.shape, 1, like(x, opts));
export const fullLike = (x: Tensor, v: number, opts: CreateOptions = {}): Tensor => full(x.shape, v, like(x, opts));

/** Values start, start+step, ... below end; arange(n) counts 0..n-1. Integer arguments give int32 unless dtype says otherwise. */
export function arange(start: number, end?: number, step = 1, opts: CreateOptions = {}): Tensor {
  if (end === undefined) {
    end = start;
    start = 0;
  }
  if (step === 0) throw new GradlabError("arange: step must be nonzero");
  const n = Math.max(0, Math.ceil((end - start) / step));
  const ints = Number.isInteger(start) && Number.isInteger(end) && Number.isInteger(step);
  const dtype = opts.dtype ? checkDType("arange", opts.dtype) : ints ? "int32" : "float32";
  const out = allocate(dtype, n);
  for (let i = 0; i < n; i++) out[i] = start + i * step;
  return finish(new Tensor(out, [n]), opts);
}

export function linspace(start: number, end: number, steps: number, opts: CreateOptions = {}): Tensor {
  if (!Number.isInteger(steps) || steps < 0) throw new GradlabError(`linspace: steps must be a non-negative integer, got ${steps}`);
  const out = allocate(checkDType("linspace", opts.dtype), steps);
  const step = steps > 1 ? (end - start) / (steps - 1) : 0;
  // Fill from both ends so the last value is exactly `end`, as PyTorch does.
  const half = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) out[i] = i < half ? start + i * step : end - (steps - 1 - i) * step;
  // A single step is `start`, not `end` (PyTorch special-cases it the same way).
  if (steps === 1) out[0] = start;
  return finish(new Tensor(out, [steps]), opts);
}

export function eye(n: number, m = n, opts: CreateOptions = {}): Tensor {
  const out = allocate(checkDType("eye", opts.dtype), n * m);
  for (let i = 0; i < Math.min(n, m); i++) out[i * m + i] = 1;
  return finish(new Tensor(out, [n, m]), opts);
}

/** Uniform on [0, 1). */
export function rand(shape: readonly number[], opts: RandomOptions = {}): Tensor {
  const s = checkShape("rand", shape);
  const g = opts.generator ?? defaultGenerator;
  const out = allocate(checkDType("rand", opts.dtype), numel(s));
  for (let i = 0; i < out.length; i++) out[i] = g.random();
  return finish(new Tensor(out, s), opts);
}

/** Standard normal. */
export function randn(shape: readonly number[], opts: RandomOptions = {}): Tensor {
  const s = checkShape("randn", shape);
  const g = opts.generator ?? defaultGenerator;
  const out = allocate(checkDType("randn", opts.dtype), numel(s));
  for (let i = 0; i < out.length; i++) out[i] = g.normal();
  return finish(new Tensor(out, s), opts);
}

/** Integers uniform in [low, high); int32 by default. */
export function randint(low: number, high: number, shape: readonly number[], opts: RandomOptions = {}): Tensor {
  if (!(high > low)) throw new GradlabError(`randint: high (${high}) must be greater than low (${low})`);
  const s = checkShape("randint", shape);
  const g = opts.generator ?? defaultGenerator;
  const out = allocate(opts.dtype ? checkDType("randint", opts.dtype) : "int32", numel(s));
  for (let i = 0; i < out.length; i++) out[i] = g.randint(low, high);
  return finish(new Tensor(out, s), opts);
}

export const randLike = (x: Tensor, opts: RandomOptions = {}): Tensor => rand(x.shape, { dtype: x.dtype, ...opts });
export const randnLike = (x: Tensor, opts: RandomOptions = {}): Tensor => randn(x.shape, { dtype: x.dtype, ...opts });

/** Uniform on [low, high). */
export function uniform(shape: readonly number[], low: number, high: number, opts: RandomOptions = {}): Tensor {
  const s = checkShape("uniform", shape);
  const g = opts.generator ?? defaultGenerator;
  const out = allocate(checkDType("uniform", opts.dtype), numel(s));
  for (let i = 0; i < out.length; i++) out[i] = low + (high - low) * g.random();
  return finish(new Tensor(out, s), opts);
}
