import { GradlabError, ShapeError, fmtShape } from "../../core/errors.js";
import { broadcastShapes, contiguousStrides } from "../../core/shape.js";
import { type Operand, Uniform, encodeElementwise, grid } from "./device-util.js";
import { type GpuTensor, expectDType } from "./gpu-tensor.js";
import type { Gpu } from "./runtime.js";
import { EW, HELPERS, binaryExpr, perElement, unaryExpr } from "./strided-source.js";

export type GpuUnaryOp = "neg" | "exp" | "log" | "tanh" | "sigmoid" | "relu" | "sqrt" | "square" | "abs";
export type GpuBinaryOp = "add" | "sub" | "mul" | "div" | "maximum" | "minimum";

// The GpuTensor forms of the elementwise ops: the tensor device's strided shaders (strided-source.ts)
// over contiguous tensors, with broadcasting through stride-0 dims.
const UNARY_OPS = new Set<string>(["neg", "exp", "log", "tanh", "sigmoid", "relu", "sqrt", "square", "abs"]);
const BINARY_OPS = new Set<string>(["add", "sub", "mul", "div", "maximum", "minimum"]);

const dense = (t: GpuTensor, shape: readonly number[] = t.shape): Operand => ({ buffer: t.buffer, elem: "f32", strides: broadcastStrides(t.shape, shape), offset: 0 });

/** Strides of a contiguous x seen with the broadcast `shape` (0 on broadcast and new leading dims). */
function broadcastStrides(x: readonly number[], shape: readonly number[]): number[] {
  const own = contiguousStrides(x);
  const lead = shape.length - x.length;
  return shape.map((s, d) => (d < lead || (x[d - lead] === 1 && s !== 1) ? 0 : own[d - lead]));
}

function checkSame(op: string, x: GpuTensor, out: GpuTensor): void {
  if (x.size !== out.size) throw new ShapeError(`${op}: out has shape ${fmtShape(out.shape)}, the result ${fmtShape(x.shape)}`);
}

/** out = op(x), elementwise (out may be x). */
export function unary(gpu: Gpu, op: GpuUnaryOp, x: GpuTensor, out: GpuTensor): void {
  if (!UNARY_OPS.has(op)) throw new GradlabError(`webgpu.unary: unknown op ${JSON.stringify(op)}`);
  expectDType("webgpu.unary", "x", x, "float32");
  expectDType("webgpu.unary", "out", out, "float32");
  checkSame(`webgpu.unary(${op})`, x, out);
  if (x.buffer === out.buffer) throw new ShapeError("webgpu.unary: out must be a different buffer than x");
  encodeElementwise(gpu, `u:${op}`, unaryExpr(op, "f32"), "f32", x.shape, [dense(x)], dense(out, x.shape), false);
}

/**
 * out = x op y with NumPy broadcasting, e.g. a bias row over a matrix, a column over it, or a
 * scalar (a one-element tensor). out must have the broadcast shape and its own buffer.
 */
export function binary(gpu: Gpu, op: GpuBinaryOp, x: GpuTensor, y: GpuTensor, out: GpuTensor): void {
  if (!BINARY_OPS.has(op)) throw new GradlabError(`webgpu.binary: unknown op ${JSON.stringify(op)}`);
  for (const [n, t] of [["x", x], ["y", y], ["out", out]] as const) expectDType("webgpu.binary", n, t, "float32");
  const shape = broadcastShapes(`webgpu.binary(${op})`, x.shape, y.shape);
  if (shape.join() !== out.shape.join()) {
    throw new ShapeError(`webgpu.binary(${op}): out has shape ${fmtShape(out.shape)}, the broadcast of ${fmtShape(x.shape)} and ${fmtShape(y.shape)} is ${fmtShape(shape)}`);
  }
  if (out.buffer === x.buffer || out.buffer === y.buffer) throw new ShapeError("webgpu.binary: out must be a different buffer than its inputs");
  encodeElementwise(gpu, `b:${op}`, binaryExpr(op, "f32"), "f32", shape, [dense(x, shape), dense(y, shape)], dense(out), false);
}

/** Sets every element of a float32 tensor to value. */
export function fill(gpu: Gpu, out: GpuTensor, value: number): void {
  expectDType("webgpu.fill", "out", out, "float32");
  encodeElementwise(gpu, "fill", `wf(${EW.params}u)`, "f32", [out.size], [], dense(out, [out.size]), false, new Uniform().setF(EW.params, value));
}

// One read-write binding: WebGPU's buffer copy refuses a buffer as both source and destination.
const COPY_WITHIN = /* wgsl */ `${HELPERS}
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
${perElement("w(0u)")}
  Y[w(2u) + i] = Y[w(1u) + i];
}`;

/**
 * Copies n elements inside one tensor, from element srcOffset to dstOffset (the ranges must not
 * overlap). WebGPU's buffer copy refuses a buffer as both source and destination.
 */
export function copyWithin(gpu: Gpu, t: GpuTensor, srcOffset: number, dstOffset: number, n: number): void {
  if (Math.max(srcOffset, dstOffset) + n > t.size || Math.abs(srcOffset - dstOffset) < n || Math.min(srcOffset, dstOffset, n) < 0) {
    throw new ShapeError(`webgpu.copyWithin: ranges [${srcOffset}, +${n}) → [${dstOffset}, +${n}) overlap or leave a tensor of ${t.size} elements`);
  }
  gpu.dispatch(COPY_WITHIN, new Uniform().list(0, [n, srcOffset, dstOffset]).u.buffer, [t.buffer], grid(n));
}
