import { type DType, type TypedArray, allocate, dtypeOf } from "../core/dtype.js";
import { AutogradError, DeviceError, GradlabError, ShapeError, fmtShape } from "../core/errors.js";
import { contiguousStrides, numel } from "../core/shape.js";
import type { Hook, Node } from "../autograd/graph.js";
import { type BackwardOptions, checkBackwardRoot, runBackward } from "../autograd/engine.js";
import { isContiguous } from "../backend/view.js";
import { kernel } from "../backend/registry.js";
import { type DeviceBuffer, deviceKernels, hasDevice } from "../backend/device.js";
import { checkDeviceDType, dv, emptyOn, onDevice, zerosOn } from "./device.js";
import * as bin from "./primitives/binary.js";
import * as un from "./primitives/unary.js";
import * as red from "./primitives/reduce.js";
import * as mv from "./primitives/movement.js";
import * as idx from "./primitives/indexing.js";
import { matmul } from "./primitives/matmul.js";
import * as act from "./ops/activation.js";
import * as rd from "./ops/reduction.js";
import * as sh from "./ops/shape.js";
import { formatTensor } from "./print.js";

export type Scalar = number;
export type TensorLike = Tensor | Scalar;
export type NestedArray = number | boolean | NestedArray[];
export type Dims = number | readonly number[];

/**
 * An n-dimensional array: a strided view on a typed array owned by the JS heap (no dispose()),
 * or on a device buffer (`device` is then not "cpu"), with the autograd fields of PyTorch's
 * tensors. A device tensor's values come back only asynchronously: `await t.cpu()`.
 */
export class Tensor {
  private _data: TypedArray | null;
  /** The device buffer of a device tensor; null on the CPU. */
  dev: DeviceBuffer | null;
  shape: readonly number[];
  strides: readonly number[];
  offset: number;
  requiresGrad = false;
  grad: Tensor | null = null;
  gradFn: Node<Tensor> | null = null;
  outputIndex = 0;
  leafHooks: Hook<Tensor>[] = [];
  /** Set on tensors whose .grad is kept although they are not leaves (retainGrad). */
  retainsGrad = false;
  private retainHook: Hook<Tensor> | null = null;

  constructor(data: TypedArray | DeviceBuffer, shape: readonly number[], strides?: readonly number[], offset = 0) {
    if (ArrayBuffer.isView(data)) {
      this._data = data;
      this.dev = null;
    } else {
      this._data = null;
      this.dev = data;
    }
    this.shape = shape;
    this.strides = strides ?? contiguousStrides(shape);
    this.offset = offset;
    if (!strides && offset === 0 && numel(shape) !== data.length) {
      throw new ShapeError(`Tensor: ${data.length} values cannot have shape ${fmtShape(shape)}`);
    }
  }

  /** The CPU typed array behind this tensor; a device tensor has none (use `await t.cpu()`). */
  get data(): TypedArray {
    if (this._data === null) throw this.onDeviceError("data");
    return this._data;
  }
  set data(d: TypedArray) {
    this._data = d;
    this.dev = null;
  }
  /** What this tensor views: a typed array or a device buffer. */
  get storage(): TypedArray | DeviceBuffer {
    return this._data ?? this.dev!;
  }
  /** "cpu", or the device holding the values ("webgpu"). */
  get device(): string {
    return this.dev ? this.dev.device : "cpu";
  }
  /** Points this tensor at new storage in place (Module.to keeps parameter identities). */
  setStorage(s: TypedArray | DeviceBuffer, strides: readonly number[], offset: number): void {
    if (ArrayBuffer.isView(s)) this.data = s;
    else {
      this._data = null;
      this.dev = s;
    }
    this.strides = strides;
    this.offset = offset;
  }
  private onDeviceError(what: string): DeviceError {
    return new DeviceError(
      `${what}: this tensor of shape ${fmtShape(this.shape)} is on ${this.device}, whose values come back asynchronously; ` +
        `use \`await t.cpu()\` (or itemAsync(), toArrayAsync())`,
    );
  }

  get dtype(): DType {
    return this.dev ? this.dev.dtype : dtypeOf(this._data!);
  }
  get ndim(): number {
    return this.shape.length;
  }
  get isLeaf(): boolean {
    return this.gradFn === null;
  }
  dim(): number {
    return this.shape.length;
  }
  numel(): number {
    return numel(this.shape);
  }
  size(dim?: number): number | readonly number[] {
    return dim === undefined ? this.shape : this.shape[sh.dimIndex("size", dim, this.ndim)];
  }
  isContiguous(): boolean {
    return isContiguous(this);
  }

  // ---- data out ----
  /** A flat, contiguous typed-array copy of the values in row-major order. */
  toArray(): TypedArray {
    if (this.dev) throw this.onDeviceError("toArray()");
    const out = allocate(this.dtype, this.numel());
    kernel("copy")(this, { data: out, shape: this.shape, strides: contiguousStrides(this.shape), offset: 0 });
    return out;
  }
  tolist(): NestedArray {
    const flat = this.toArray();
    const build = (d: number, off: number): NestedArray => {
      if (d === this.ndim) return flat[off];
      const n = this.shape[d];
      const step = numel(this.shape.slice(d + 1));
      return Array.from({ length: n }, (_, i) => build(d + 1, off + i * step));
    };
    return build(0, 0);
  }
  item(): number {
    if (this.dev) throw this.onDeviceError("item()");
    if (this.numel() !== 1) {
      throw new ShapeError(`item(): only a tensor with one element can be converted to a number, got shape ${fmtShape(this.shape)}`);
    }
    return this.data[this.offset];
  }
  toString(): string {
    return this.dev ? `tensor(shape=${fmtShape(this.shape)}, dtype=${this.dtype}, device=${this.device})` : formatTensor(this);
  }

  // ---- devices ----
  /**
   * This tensor on `device` ("cpu" or "webgpu"): itself when it is there already, else a copy cut
   * off from the graph: a new leaf, requiring grad when this tensor does (PyTorch would return a
   * non-leaf whose gradient flows back, which needs a synchronous read). Leaving a device reads
   * back, which is asynchronous: use cpu().
   */
  toDevice(device: string): Tensor {
    if (device === this.device) return this;
    if (!hasDevice(device)) deviceKernels(device);
    if (device === "cpu") throw new DeviceError(`toDevice("cpu"): reading a ${this.device} tensor back is asynchronous; use \`await t.cpu()\``);
    if (this.dev) throw new DeviceError(`toDevice("${device}"): move ${this.device} tensors through the CPU (await t.cpu())`);
    if (this.requiresGrad && !this.isLeaf) {
      throw new AutogradError(
        `toDevice("${device}"): the gradient cannot flow back from ${device} synchronously; move leaves before building the graph (x.detach().toDevice("${device}").requiresGrad_())`,
      );
    }
    const k = deviceKernels(device);
    checkDeviceDType(`toDevice("${device}")`, k, this.dtype);
    const out = new Tensor(k.upload(this), [...this.shape]);
    if (this.requiresGrad) out.requiresGrad_(true);
    return out;
  }
  /** A CPU copy of the values (this tensor itself when it is on the CPU), cut off from the graph. */
  async cpu(): Promise<Tensor> {
    if (!this.dev) return this;
    const c = this.isContiguous() && this.offset === 0 && this.dev.length === this.numel() ? this : mv.clone(this.detach());
    const data = await deviceKernels(this.device).download(c.dev!);
    return new Tensor(data, [...this.shape]);
  }
  /**
   * Frees a device tensor's buffer now, for every view of it, rather than when the garbage
   * collector finds it dropped; using any of them afterwards is an error. No-op on the CPU.
   */
  dispose(): void {
    if (this.dev) deviceKernels(this.device).dispose?.(this.dev);
  }
  async toArrayAsync(): Promise<TypedArray> {
    return (await this.cpu()).toArray();
  }
  async itemAsync(): Promise<number> {
    if (this.numel() !== 1) {
      throw new ShapeError(`itemAsync(): only a tensor with one element can be converted to a number, got shape ${fmtShape(this.shape)}`);
    }
    return (await this.cpu()).item();
  }
  async tolistAsync(): Promise<NestedArray> {
    return (await this.cpu()).tolist();
  }
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return formatTensor(this);
  }

  // ---- autograd ----
  backward(grad?: Tensor, opts: BackwardOptions = {}): void {
    checkBackwardRoot(this.shape, grad !== undefined, this.requiresGrad);
    let g: Tensor;
    if (grad) {
      if (grad.shape.join() !== this.shape.join()) {
        throw new ShapeError(`backward(): gradient shape ${fmtShape(grad.shape)} does not match the tensor's ${fmtShape(this.shape)}`);
      }
      g = grad.dtype === this.dtype ? grad : grad.to(this.dtype);
    } else {
      g = this.dev ? constantOn(this.device, this.dtype, 1, this.shape) : new Tensor(allocate(this.dtype, 1).fill(1), this.shape);
    }
    runBackward<Tensor>(this, g, gradOps, opts);
  }
  /** A tensor sharing these values, cut off from the graph. */
  detach(): Tensor {
    return new Tensor(this.storage, this.shape, this.strides, this.offset);
  }
  requiresGrad_(on = true): this {
    if (!this.isLeaf && !on) {
      throw new AutogradError("requiresGrad_(false) on a non-leaf tensor: use detach() instead");
    }
    if (on && this.dtype === "int32") {
      throw new AutogradError("only floating-point tensors can require gradients (this one is int32)");
    }
    this.requiresGrad = on;
    return this;
  }
  /** Keeps .grad on a non-leaf tensor after backward. */
  retainGrad(): void {
    if (this.isLeaf || this.retainsGrad) return;
    this.retainsGrad = true;
    this.retainHook = (g) => {
      this.grad = this.grad ? this.grad.add(g) : g.clone();
    };
    this.registerHook(this.retainHook);
  }
  /** Called with this tensor's gradient during backward; may return a replacement. Returns a remover. */
  registerHook(fn: Hook<Tensor>): () => void {
    if (!this.requiresGrad) {
      throw new AutogradError("registerHook: cannot register a hook on a tensor that does not require grad");
    }
    const list = this.gradFn ? this.gradFn.outputHooks[this.outputIndex] : this.leafHooks;
    // retainGrad's hook stays last, so .grad is the gradient after every other hook (PyTorch 2).
    const at = this.retainHook ? list.indexOf(this.retainHook) : -1;
    if (at >= 0) list.splice(at, 0, fn);
    else list.push(fn);
    return () => {
      const i = list.indexOf(fn);
      if (i >= 0) list.splice(i, 1);
    };
  }

  /** Copies src's values into this tensor in place (no autograd); shapes must match or broadcast. */
  copy_(src: Tensor): this {
    const b = mv.expand(src.detach(), this.shape);
    const k = onDevice(this.device);
    if (!k) {
      if (src.dev) throw new DeviceError(`copy_: cannot copy a ${src.device} tensor into a CPU one synchronously; use \`await src.cpu()\``);
      kernel("copy")(b, this);
    } else {
      const view = src.dev || src.ndim === 0 ? b : mv.expand(src.toDevice(this.device), this.shape);
      k.copy(dv(view, k), dv(this, k));
    }
    return this;
  }
  /** Sets every element to `value` in place (no autograd). */
  fill_(value: number): this {
    const c = new Tensor(allocate(this.dtype, 1).fill(value), []);
    return this.copy_(c);
  }

  // ---- elementwise ----
  add(o: TensorLike, alpha?: number): Tensor {
    return bin.add(this, alpha === undefined ? o : bin.mul(o, alpha));
  }
  sub(o: TensorLike, alpha?: number): Tensor {
    return bin.sub(this, alpha === undefined ? o : bin.mul(o, alpha));
  }
  mul(o: TensorLike): Tensor {
    return bin.mul(this, o);
  }
  div(o: TensorLike): Tensor {
    return bin.div(this, o);
  }
  pow(o: TensorLike): Tensor {
    return bin.pow(this, o);
  }
  maximum(o: TensorLike): Tensor {
    return bin.maximum(this, o);
  }
  minimum(o: TensorLike): Tensor {
    return bin.minimum(this, o);
  }
  atan2(o: TensorLike): Tensor {
    return bin.atan2(this, o);
  }
  eq(o: TensorLike): Tensor {
    return bin.compare("eq", this, o);
  }
  ne(o: TensorLike): Tensor {
    return bin.compare("ne", this, o);
  }
  lt(o: TensorLike): Tensor {
    return bin.compare("lt", this, o);
  }
  le(o: TensorLike): Tensor {
    return bin.compare("le", this, o);
  }
  gt(o: TensorLike): Tensor {
    return bin.compare("gt", this, o);
  }
  ge(o: TensorLike): Tensor {
    return bin.compare("ge", this, o);
  }
  neg(): Tensor {
    return un.neg(this);
  }
  exp(): Tensor {
    return un.exp(this);
  }
  log(): Tensor {
    return un.log(this);
  }
  sqrt(): Tensor {
    return un.sqrt(this);
  }
  rsqrt(): Tensor {
    return un.rsqrt(this);
  }
  abs(): Tensor {
    return un.abs(this);
  }
  sign(): Tensor {
    return un.sign(this);
  }
  tanh(): Tensor {
    return un.tanh(this);
  }
  sigmoid(): Tensor {
    return un.sigmoid(this);
  }
  relu(): Tensor {
    return un.relu(this);
  }
  erf(): Tensor {
    return un.erf(this);
  }
  sin(): Tensor {
    return un.sin(this);
  }
  cos(): Tensor {
    return un.cos(this);
  }
  log1p(): Tensor {
    return un.log1p(this);
  }
  expm1(): Tensor {
    return un.expm1(this);
  }
  reciprocal(): Tensor {
    return un.reciprocal(this);
  }
  square(): Tensor {
    return un.square(this);
  }
  floor(): Tensor {
    return un.floor(this);
  }
  ceil(): Tensor {
    return un.ceil(this);
  }
  round(): Tensor {
    return un.round(this);
  }
  isfinite(): Tensor {
    return un.isfinite(this);
  }
  isnan(): Tensor {
    return un.isnan(this);
  }
  gelu(approximate: "none" | "tanh" = "none"): Tensor {
    return act.gelu(this, approximate);
  }
  clamp(min?: number | null, max?: number | null): Tensor {
    return un.clamp(this, min ?? -Infinity, max ?? Infinity);
  }
  /** where(cond, this, other), as PyTorch's x.where(cond, y). */
  where(cond: Tensor, other: TensorLike): Tensor {
    return bin.where(cond, this, other);
  }
  maskedFill(mask: Tensor, value: number): Tensor {
    return bin.where(mask, value, this);
  }

  // ---- reductions ----
  sum(dim?: Dims | null, keepDim = false): Tensor {
    return red.sum(this, dim, keepDim);
  }
  mean(dim?: Dims | null, keepDim = false): Tensor {
    return rd.mean(this, dim, keepDim);
  }
  var(dim?: Dims | null, opts: { correction?: number; keepDim?: boolean } = {}): Tensor {
    return rd.variance(this, dim, opts.correction ?? 1, opts.keepDim ?? false);
  }
  std(dim?: Dims | null, opts: { correction?: number; keepDim?: boolean } = {}): Tensor {
    return this.var(dim, opts).sqrt();
  }
  /** Maximum values (gradient split evenly among ties, like torch.amax). */
  max(dim?: Dims | null, keepDim = false): Tensor {
    return red.max(this, dim, keepDim);
  }
  min(dim?: Dims | null, keepDim = false): Tensor {
    return red.min(this, dim, keepDim);
  }
  argmax(dim?: number, keepDim = false): Tensor {
    return red.argReduce("argmax", this, dim, keepDim);
  }
  argmin(dim?: number, keepDim = false): Tensor {
    return red.argReduce("argmin", this, dim, keepDim);
  }
  logsumexp(dim: Dims, keepDim = false): Tensor {
    return rd.logsumexp(this, dim, keepDim);
  }
  softmax(dim: number): Tensor {
    return act.softmax(this, dim);
  }
  logSoftmax(dim: number): Tensor {
    return act.logSoftmax(this, dim);
  }
  norm(p: number = 2, dim?: Dims | null, keepDim = false): Tensor {
    return rd.norm(this, p, dim, keepDim);
  }

  // ---- linear algebra ----
  matmul(o: Tensor): Tensor {
    return matmul(this, o);
  }

  // ---- shape ----
  reshape(...shape: (number | readonly number[])[]): Tensor {
    return mv.reshape(this, sh.shapeArg(shape));
  }
  view(...shape: (number | readonly number[])[]): Tensor {
    return mv.view(this, sh.shapeArg(shape));
  }
  permute(...dims: (number | readonly number[])[]): Tensor {
    return mv.permute(this, sh.shapeArg(dims));
  }
  transpose(d0: number, d1: number): Tensor {
    return sh.transpose(this, d0, d1);
  }
  /** Transpose of a matrix (dims 0 and 1); 0-d and 1-d tensors are returned as they are. */
  t(): Tensor {
    if (this.ndim > 2) throw new ShapeError(`t(): expects a tensor with at most 2 dims, got ${fmtShape(this.shape)}`);
    return this.ndim < 2 ? this : sh.transpose(this, 0, 1);
  }
  get T(): Tensor {
    return this.t();
  }
  expand(...shape: (number | readonly number[])[]): Tensor {
    return mv.expand(this, sh.shapeArg(shape));
  }
  expandAs(o: Tensor): Tensor {
    return mv.expand(this, o.shape);
  }
  slice(dim: number, start?: number, end?: number, step = 1): Tensor {
    return mv.slice(this, dim, start, end, step);
  }
  narrow(dim: number, start: number, length: number): Tensor {
    return sh.narrow(this, dim, start, length);
  }
  select(dim: number, index: number): Tensor {
    return sh.select(this, dim, index);
  }
  squeeze(dim?: number): Tensor {
    return sh.squeeze(this, dim);
  }
  unsqueeze(dim: number): Tensor {
    return sh.unsqueeze(this, dim);
  }
  flatten(startDim = 0, endDim = -1): Tensor {
    return sh.flatten(this, startDim, endDim);
  }
  contiguous(): Tensor {
    return mv.contiguous(this);
  }
  /** A contiguous copy that stays in the graph. */
  clone(): Tensor {
    return mv.clone(this);
  }
  split(sizes: number | readonly number[], dim = 0): Tensor[] {
    return sh.split(this, sizes, dim);
  }
  chunk(chunks: number, dim = 0): Tensor[] {
    return sh.chunk(this, chunks, dim);
  }
  gather(dim: number, index: Tensor): Tensor {
    return idx.gather(this, dim, index);
  }
  indexSelect(dim: number, index: Tensor): Tensor {
    return idx.indexSelect(this, dim, index);
  }

  // ---- dtype ----
  /** A dtype ("float32", "float64", "int32") or a device ("cpu", "webgpu"; see toDevice). */
  to(dtypeOrDevice: DType | string): Tensor {
    if (dtypeOrDevice === "float32" || dtypeOrDevice === "float64" || dtypeOrDevice === "int32") return mv.cast(this, dtypeOrDevice);
    return this.toDevice(dtypeOrDevice);
  }
  float(): Tensor {
    return this.to("float32");
  }
  double(): Tensor {
    return this.to("float64");
  }
  int(): Tensor {
    return this.to("int32");
  }
}

const gradOps = {
  add: (a: Tensor, b: Tensor) => bin.add(a, b),
  zeros: (shape: readonly number[], dtype: DType, device = "cpu") => zerosOn(device, dtype, shape),
  clone: (a: Tensor) => (a.dev ? mv.clone(a.detach()) : new Tensor(a.toArray(), [...a.shape])),
};

/** A tensor of `shape` on a device, every element `value` (one shared constant, broadcast). */
function constantOn(device: string, dtype: DType, value: number, shape: readonly number[]): Tensor {
  const k = deviceKernels(device);
  return new Tensor(k.constant(dtype, value), [...shape], shape.map(() => 0), 0);
}

export function isTensor(x: unknown): x is Tensor {
  return x instanceof Tensor;
}

/** A fresh contiguous tensor of the given shape and dtype, filled with zeros. */
export function empty(shape: readonly number[], dtype: DType, device = "cpu"): Tensor {
  return emptyOn(device, dtype, shape);
}

export function assertTensor(op: string, x: unknown, what = "input"): asserts x is Tensor {
  if (!(x instanceof Tensor)) throw new GradlabError(`${op}: ${what} must be a Tensor, got ${typeof x}`);
}
