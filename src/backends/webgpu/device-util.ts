import type { DType } from "../../core/dtype.js";
import { ShapeError, fmtShape } from "../../core/errors.js";
import { contiguousStrides, numel } from "../../core/shape.js";
import type { Gpu } from "./runtime.js";
import { EW, type Elem, MAX_RANK, WG, elementwiseSource } from "./strided-source.js";

export const elem = (d: DType): Elem => (d === "int32" ? "i32" : "f32");

/** 64 words: the size every shader declares for its uniform. */
export class Uniform {
  readonly u = new Uint32Array(64);
  private readonly f = new Float32Array(this.u.buffer);
  private readonly i = new Int32Array(this.u.buffer);
  set(k: number, v: number): this {
    this.u[k] = v >>> 0;
    return this;
  }
  setF(k: number, v: number): this {
    this.f[k] = v;
    return this;
  }
  setI(k: number, v: number): this {
    this.i[k] = v;
    return this;
  }
  list(k: number, vs: readonly number[]): this {
    vs.forEach((v, j) => this.set(k + j, v));
    return this;
  }
}

export function grid(n: number): [number, number] {
  const groups = Math.ceil(n / WG);
  const x = Math.min(groups, 32768);
  return [Math.max(1, x), Math.ceil(groups / Math.max(1, x))];
}
export function rows(n: number): [number, number] {
  const x = Math.min(n, 32768);
  return [Math.max(1, x), Math.ceil(n / Math.max(1, x))];
}

/**
 * Merges dims that every operand walks contiguously (stride[d] = stride[d+1]·shape[d+1]) and drops
 * size-1 dims, so most views reach the shader as one or two dims.
 */
export function collapse(shape: readonly number[], strides: readonly (readonly number[])[]): { shape: number[]; strides: number[][] } {
  const keep = shape.map((s, d) => [s, d] as const).filter(([s]) => s !== 1);
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (const [s, d] of keep) {
    const last = outShape.length - 1;
    if (last >= 0 && strides.every((st, k) => outStrides[k][last] === st[d] * s)) {
      outShape[last] *= s;
      strides.forEach((st, k) => (outStrides[k][last] = st[d]));
    } else {
      outShape.push(s);
      strides.forEach((st, k) => outStrides[k].push(st[d]));
    }
  }
  return { shape: outShape, strides: outStrides };
}

/** One operand of an elementwise shader: a buffer seen through strides from an offset. */
export interface Operand {
  buffer: GPUBuffer;
  elem: Elem;
  strides: readonly number[];
  offset: number;
}

const sources = new Map<string, string>();

/**
 * Encodes an elementwise shader over `shape`: `expr` of x, y, z (the inputs, in the compute type
 * `ct`) written to `out`, contiguous unless `stridedOut`. Dims every operand walks contiguously
 * are merged first. `u` may carry the shader's flags and parameters.
 */
export function encodeElementwise(
  gpu: Gpu, key: string, expr: string, ct: Elem, shape: readonly number[], ins: readonly Operand[], out: Operand, stridedOut: boolean, u = new Uniform(),
): void {
  const n = numel(shape);
  if (n === 0) return;
  const c = collapse(shape, [...ins.map((v) => v.strides), stridedOut ? out.strides : contiguousStrides(shape)]);
  if (c.shape.length > MAX_RANK) throw new ShapeError(`webgpu: views of more than ${MAX_RANK} dims that cannot be merged are not supported (shape ${fmtShape(shape)})`);
  const inElems = ins.map((v) => v.elem);
  const skey = `${key}|${inElems.join()}|${out.elem}|${ct}|${stridedOut}`;
  let code = sources.get(skey);
  if (!code) sources.set(skey, (code = elementwiseSource(inElems, out.elem, ct, expr, stridedOut)));
  u.set(EW.n, n).set(EW.rank, c.shape.length).list(EW.shape, c.shape);
  ins.forEach((v, k) => u.set(EW.off + k, v.offset).list(EW.strides[k], c.strides[k]));
  u.set(EW.off + 3, stridedOut ? out.offset : 0).list(EW.strides[3], c.strides[ins.length]);
  gpu.dispatch(code, u.u.buffer, [...ins.map((v) => v.buffer), out.buffer], grid(n));
}
