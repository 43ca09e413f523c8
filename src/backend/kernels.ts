import type { TypedArray } from "../core/dtype.js";

/** A strided window on a typed array: what every kernel reads. Tensors satisfy it structurally. */
export interface View {
  readonly data: TypedArray;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
}

export type UnaryOp =
  | "neg" | "exp" | "log" | "sqrt" | "rsqrt" | "abs" | "sign" | "tanh" | "sigmoid" | "relu"
  | "erf" | "sin" | "cos" | "log1p" | "expm1" | "floor" | "ceil" | "round" | "reciprocal" | "square"
  | "isfinite" | "isnan";

export type BinaryOp =
  | "add" | "sub" | "mul" | "div" | "pow" | "maximum" | "minimum" | "atan2"
  | "eq" | "ne" | "lt" | "le" | "gt" | "ge";

export type ReduceOp = "sum" | "max" | "min" | "prod";

/**
 * The signature of every kernel, by name. A backend implements any subset; the registry falls
 * back to the reference ("js") kernel for the rest. Kernels write into `out`, which the caller
 * allocates contiguous, and never allocate tensors themselves.
 */
export interface KernelSignatures {
  /** out[i] = op(x[i]); x has out's shape. */
  unary(op: UnaryOp, x: View, out: TypedArray): void;
  /** a and b are already broadcast to out's shape (stride 0 on broadcast dims). */
  binary(op: BinaryOp, a: View, b: View, out: TypedArray): void;
  clamp(x: View, min: number, max: number, out: TypedArray): void;
  /** out[i] = cond[i] != 0 ? a[i] : b[i]; all three broadcast to out's shape. */
  where(cond: View, a: View, b: View, out: TypedArray): void;
  /** Reduces x over `axes`; out is contiguous with x's shape where reduced axes have size 1. */
  reduce(op: ReduceOp, x: View, axes: readonly number[], out: TypedArray): void;
  /** Index of the first max/min along `axis`; out has x's shape with that axis of size 1. */
  argReduce(op: "argmax" | "argmin", x: View, axis: number, out: Int32Array): void;
  /** Batched product: a is [B, M, K], b is [B, K, N] (any strides); out is contiguous [B, M, N]. */
  matmul(a: View, b: View, out: TypedArray): void;
  /** Strided copy (and dtype conversion) from src into dst of the same shape. */
  copy(src: View, dst: View): void;
  /** out[...idx] = x[... index[...idx] ... at dim]; out has index's shape. */
  gather(x: View, dim: number, index: View, out: TypedArray): void;
  /** dst (contiguous, shape dstShape) [... index[i] at dim ...] += src[i]. */
  scatterAdd(dst: TypedArray, dstShape: readonly number[], dim: number, index: View, src: View): void;
  /** out = x taken at `index` along dim (out contiguous). */
  indexSelect(x: View, dim: number, index: Int32Array, out: TypedArray): void;
  /** dst (contiguous, shape dstShape) rows index[i] along dim += src slice i. */
  indexAdd(dst: TypedArray, dstShape: readonly number[], dim: number, index: Int32Array, src: View): void;
}

export type KernelName = keyof KernelSignatures;
