import { GradlabError, ShapeError, fmtShape } from "../../core/errors.js";
import { broadcastShapes } from "../../core/shape.js";
import { type GpuTensor, expectDType } from "./gpu-tensor.js";
import { type Gpu, Words } from "./runtime.js";

export type GpuUnaryOp = "neg" | "exp" | "log" | "tanh" | "sigmoid" | "relu" | "sqrt" | "square" | "abs";
export type GpuBinaryOp = "add" | "sub" | "mul" | "div" | "maximum" | "minimum";

const UNARY: Record<GpuUnaryOp, string> = {
  neg: "-x",
  exp: "exp(x)",
  log: "log(x)",
  tanh: "tanh(x)",
  sigmoid: "1.0 / (1.0 + exp(-x))",
  relu: "max(x, 0.0)",
  sqrt: "sqrt(x)",
  square: "x * x",
  abs: "abs(x)",
};
const BINARY: Record<GpuBinaryOp, string> = {
  add: "x + y",
  sub: "x - y",
  mul: "x * y",
  div: "x / y",
  maximum: "max(x, y)",
  minimum: "min(x, y)",
};

const WG = 256;
/** Rank of the index decomposition: broadcasting covers up to 4-D (lower ranks are padded). */
const RANK = 4;

// Large element counts need a 2-D grid: at most 65535 workgroups per dimension.
function grid(n: number): [number, number] {
  const groups = Math.ceil(n / WG);
  const x = Math.min(groups, 32768);
  return [x, Math.ceil(groups / x)];
}

const indexFn = /* wgsl */ `
fn flat(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 { return (wg.y * nwg.x + wg.x) * ${WG}u + li; }`;

const sources = new Map<string, string>();
function cached(key: string, make: () => string): string {
  let s = sources.get(key);
  if (!s) sources.set(key, (s = make()));
  return s;
}

function unarySource(op: GpuUnaryOp): string {
  return cached(`u:${op}`, () => /* wgsl */ `
struct P { n: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
${indexFn}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = flat(wg, nwg, li);
  if (i >= p.n) { return; }
  let x = X[i];
  Y[i] = ${UNARY[op]};
}`);
}

function binarySource(op: GpuBinaryOp): string {
  return cached(`b:${op}`, () => /* wgsl */ `
struct P { n: u32, shape: vec4<u32>, sa: vec4<u32>, sb: vec4<u32> }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> Yb: array<f32>;
@group(0) @binding(3) var<storage, read_write> Z: array<f32>;
${indexFn}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = flat(wg, nwg, li);
  if (i >= p.n) { return; }
  var r = i;
  var ia = 0u;
  var ib = 0u;
  for (var d = 3; d >= 0; d--) {
    let c = r % p.shape[d];
    r = r / p.shape[d];
    ia += c * p.sa[d];
    ib += c * p.sb[d];
  }
  let x = X[ia];
  let y = Yb[ib];
  Z[i] = ${BINARY[op]};
}`);
}

function checkSame(op: string, x: GpuTensor, out: GpuTensor): void {
  if (x.size !== out.size) throw new ShapeError(`${op}: out has shape ${fmtShape(out.shape)}, the result ${fmtShape(x.shape)}`);
}

/** out = op(x), elementwise (out may be x). */
export function unary(gpu: Gpu, op: GpuUnaryOp, x: GpuTensor, out: GpuTensor): void {
  if (!(op in UNARY)) throw new GradlabError(`webgpu.unary: unknown op ${JSON.stringify(op)}`);
  expectDType("webgpu.unary", "x", x, "float32");
  expectDType("webgpu.unary", "out", out, "float32");
  checkSame(`webgpu.unary(${op})`, x, out);
  if (x.buffer === out.buffer) throw new ShapeError("webgpu.unary: out must be a different buffer than x");
  gpu.dispatch(unarySource(op), new Words().u(x.size).build(), [x.buffer, out.buffer], grid(x.size));
}

/** Strides of x broadcast to `shape` (0 on broadcast dims), padded to RANK. */
function broadcastStrides(x: readonly number[], shape: readonly number[]): number[] {
  const s = new Array<number>(RANK).fill(0);
  let stride = 1;
  for (let d = x.length - 1; d >= 0; d--) {
    const od = RANK - (x.length - d);
    s[od] = x[d] === 1 && shape[shape.length - (x.length - d)] !== 1 ? 0 : stride;
    stride *= x[d];
  }
  return s;
}

/**
 * out = x op y with NumPy broadcasting (up to 4-D), e.g. a bias row over a matrix, a column over
 * it, or a scalar (a one-element tensor). out must have the broadcast shape and its own buffer.
 */
export function binary(gpu: Gpu, op: GpuBinaryOp, x: GpuTensor, y: GpuTensor, out: GpuTensor): void {
  if (!(op in BINARY)) throw new GradlabError(`webgpu.binary: unknown op ${JSON.stringify(op)}`);
  for (const [n, t] of [["x", x], ["y", y], ["out", out]] as const) expectDType("webgpu.binary", n, t, "float32");
  const shape = broadcastShapes(`webgpu.binary(${op})`, x.shape, y.shape);
  if (shape.length > RANK) throw new ShapeError(`webgpu.binary: at most ${RANK} dimensions, got ${fmtShape(shape)}`);
  if (shape.join() !== out.shape.join()) {
    throw new ShapeError(`webgpu.binary(${op}): out has shape ${fmtShape(out.shape)}, the broadcast of ${fmtShape(x.shape)} and ${fmtShape(y.shape)} is ${fmtShape(shape)}`);
  }
  if (out.buffer === x.buffer || out.buffer === y.buffer) throw new ShapeError("webgpu.binary: out must be a different buffer than its inputs");
  const padded = [...new Array<number>(RANK - shape.length).fill(1), ...shape];
  const words = new Words()
    .u(out.size, 0, 0, 0)
    .u(...padded)
    .u(...broadcastStrides(x.shape, shape))
    .u(...broadcastStrides(y.shape, shape))
    .build();
  gpu.dispatch(binarySource(op), words, [x.buffer, y.buffer, out.buffer], grid(out.size));
}

function fillSource(): string {
  return cached("fill", () => /* wgsl */ `
struct P { n: u32, value: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
${indexFn}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = flat(wg, nwg, li);
  if (i < p.n) { Y[i] = p.value; }
}`);
}

/** Sets every element of a float32 tensor to value. */
export function fill(gpu: Gpu, out: GpuTensor, value: number): void {
  expectDType("webgpu.fill", "out", out, "float32");
  gpu.dispatch(fillSource(), new Words().u(out.size).f(value).build(), [out.buffer], grid(out.size));
}

const COPY_WITHIN = /* wgsl */ `
struct P { n: u32, src: u32, dst: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
${indexFn}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = flat(wg, nwg, li);
  if (i < p.n) { Y[p.dst + i] = Y[p.src + i]; }
}`;

/**
 * Copies n elements inside one tensor, from element srcOffset to dstOffset (the ranges must not
 * overlap). WebGPU's buffer copy refuses a buffer as both source and destination.
 */
export function copyWithin(gpu: Gpu, t: GpuTensor, srcOffset: number, dstOffset: number, n: number): void {
  if (Math.max(srcOffset, dstOffset) + n > t.size || Math.abs(srcOffset - dstOffset) < n || Math.min(srcOffset, dstOffset, n) < 0) {
    throw new ShapeError(`webgpu.copyWithin: ranges [${srcOffset}, +${n}) → [${dstOffset}, +${n}) overlap or leave a tensor of ${t.size} elements`);
  }
  gpu.dispatch(COPY_WITHIN, new Words().u(n, srcOffset, dstOffset).build(), [t.buffer], grid(n));
}
