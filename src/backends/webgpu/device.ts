/// <reference types="@webgpu/types" />
/**
 * The "webgpu" device: gradlab's tensor ops on GPU buffers. Every op encodes its dispatches into
 * the Gpu's open command encoder and returns, so a chain of ops (a whole forward and backward
 * pass) reaches the GPU as few submits; values come back only through download().
 *
 * Buffers of tensors the program no longer holds go back to the pool when the garbage collector
 * finalizes them. Reusing one is safe while earlier commands that read it are still queued:
 * those commands come first in the same queue.
 */
import type { DType, TypedArray } from "../../core/dtype.js";
import { DTypeError, ShapeError, fmtShape } from "../../core/errors.js";
import type { DeviceBuffer, DeviceKernels, DeviceLayerSpec, DeviceLayerWeights, DeviceView } from "../../backend/device.js";
import { layerBackward, layerForward } from "./device-rnn.js";
import { gather, indexAdd, indexSelect, scatterAdd } from "./device-index.js";
import type { AdamHyper, BinaryOp, ReduceOp, SgdHyper, UnaryOp, View } from "../../backend/kernels.js";
import { GpuTensor, hostDense } from "./gpu-tensor.js";
import { matmul as gemm } from "./matmul.js";
import { type Gpu, WebGPUError, bucket } from "./runtime.js";
import {
  ADAM, CE_BACKWARD, CE_FORWARD, EW, type Elem, MAX_RANK, RD, SGD,
  argReduceSource, binaryExpr, clampExpr, computeType, reduceSource, unaryExpr,
} from "./strided-source.js";
import { type Operand, Uniform, collapse, elem, encodeElementwise, grid, rows } from "./device-util.js";
import { contiguousStrides, numel as count } from "../../core/shape.js";

export class WebGpuBuffer implements DeviceBuffer {
  readonly device = "webgpu";
  disposed = false;
  constructor(readonly gpu: Gpu, readonly buffer: GPUBuffer, readonly dtype: DType, readonly length: number) {}
}

export class WebGpuDevice implements DeviceKernels {
  readonly name = "webgpu";
  readonly dtypes: readonly DType[] = ["float32", "int32"];
  private readonly constants = new Map<string, WebGpuBuffer>();
  private readonly sources = new Map<string, string>();
  /** Returns the buffers of collected tensors to the pool (the collector calls it after the job that dropped them). */
  private readonly finalizer: FinalizationRegistry<GPUBuffer>;
  private liveCount = 0;
  private liveBytes = 0;
  /** Bytes handed out to tensors since the last requested collection. */
  private sinceCollect = 0;
  /** Garbage collections requested because the buffers handed out passed the budget (see the constructor). */
  gcNudges = 0;
  /** Buffers of dropped tensors returned to the pool. */
  recycled = 0;

  /**
   * `gc`: a function that runs a full garbage collection (Node can provide one). The collector
   * does not see GPU memory, so tensors the program dropped would keep their buffers until the
   * JS heap itself needed a collection; so after every `gcBudgetBytes` of buffers handed out to
   * tensors the device asks for one, which bounds the dropped-but-unreturned memory by about that
   * much. The finalizers return the buffers to the pool once the current synchronous run of code
   * ends: a training loop recycles its memory across its awaits.
   */
  constructor(readonly gpu: Gpu, private readonly gc: (() => void) | null = null, private readonly gcBudgetBytes = 128 * 2 ** 20) {
    this.finalizer = new FinalizationRegistry((b) => {
      this.liveCount--;
      this.liveBytes -= b.size;
      if (gpu.isDestroyed) return;
      gpu.free(b);
      this.recycled++;
    });
  }

  private handedOut(bytes: number): void {
    this.sinceCollect += bytes;
    if (this.gc && this.sinceCollect >= this.gcBudgetBytes) {
      this.sinceCollect = 0;
      this.gcNudges++;
      this.gc();
    }
  }

  /** Live device buffers (tensors not yet found dead) and the pool, for leak checks. */
  memory(): { live: number; liveBytes: number; pooled: number; pooledBytes: number; created: number; recycled: number; gcNudges: number } {
    const p = this.gpu.poolStats();
    return {
      live: this.liveCount, liveBytes: this.liveBytes, pooled: p.buffers, pooledBytes: p.bytes, created: this.gpu.buffersCreated,
      recycled: this.recycled, gcNudges: this.gcNudges,
    };
  }

  /** Frees a tensor's buffer now (it must not be used again). */
  dispose(d: DeviceBuffer): void {
    const b = d as WebGpuBuffer;
    if (!(b instanceof WebGpuBuffer) || b.disposed || !this.finalizer.unregister(b)) return;
    b.disposed = true;
    this.liveCount--;
    this.liveBytes -= b.buffer.size;
    this.gpu.free(b.buffer);
  }

  buf(d: DeviceBuffer): GPUBuffer {
    if (!(d instanceof WebGpuBuffer)) throw new WebGPUError(`webgpu: a buffer of device "${d.device}" reached the webgpu kernels`);
    if (d.disposed) throw new WebGPUError("webgpu: this tensor was disposed (t.dispose() or gl.webgpu.tidy()); its buffer is gone");
    if (d.gpu !== this.gpu) throw new WebGPUError("webgpu: this tensor belongs to another (older) GPU device; move it again");
    return d.buffer;
  }

  private wrap(buffer: GPUBuffer, dtype: DType, n: number, pooled: boolean): WebGpuBuffer {
    const b = new WebGpuBuffer(this.gpu, buffer, dtype, n);
    if (pooled) {
      this.finalizer.register(b, buffer, b);
      this.liveCount++;
      this.liveBytes += buffer.size;
    }
    return b;
  }

  source(key: string, make: () => string): string {
    let s = this.sources.get(key);
    if (!s) this.sources.set(key, (s = make()));
    return s;
  }

  alloc(dtype: DType, n: number): WebGpuBuffer {
    if (dtype === "float64") throw new DTypeError("webgpu: float64 tensors stay on the CPU (WebGPU has no float64)");
    const b = this.gpu.alloc(Math.max(1, n) * 4);
    this.handedOut(b.size);
    return this.wrap(b, dtype, n, true);
  }

  /**
   * A buffer holding `values`. A pooled one is written through the queue, which overtakes commands
   * still being encoded, so those are submitted first; a new one is written at creation.
   */
  fresh(values: Float32Array | Int32Array, dtype: DType, pooled: boolean): WebGpuBuffer {
    const reuse = pooled ? this.gpu.takePooled(Math.max(4, values.byteLength)) : null;
    if (pooled) this.handedOut(bucket(Math.max(4, values.byteLength)));
    if (reuse) {
      this.gpu.submit();
      if (values.length) this.gpu.device.queue.writeBuffer(reuse, 0, values.buffer, values.byteOffset, values.byteLength);
      return this.wrap(reuse, dtype, values.length, true);
    }
    const size = bucket(Math.max(4, values.byteLength));
    const b = this.gpu.device.createBuffer({
      size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST, mappedAtCreation: true,
    });
    const range = b.getMappedRange();
    (values instanceof Int32Array ? new Int32Array(range) : new Float32Array(range)).set(values);
    b.unmap();
    return this.wrap(b, dtype, values.length, pooled);
  }

  upload(src: View): WebGpuBuffer {
    const d = src.data;
    const dtype: DType = d instanceof Int32Array ? "int32" : d instanceof Float32Array ? "float32" : "float64";
    if (dtype === "float64") throw new DTypeError("webgpu: float64 tensors stay on the CPU (WebGPU has no float64); convert with .float() first");
    const n = count(src.shape);
    const own = contiguousStrides(src.shape);
    const dense = src.offset === 0 && d.length === n && src.strides.every((s, i) => s === own[i] || src.shape[i] === 1);
    const values = dense ? (d as Float32Array | Int32Array) : hostDense(src, dtype === "int32" ? new Int32Array(n) : new Float32Array(n));
    return this.fresh(values, dtype, true);
  }

  constant(dtype: DType, value: number): WebGpuBuffer {
    const arr = dtype === "int32" ? Int32Array.of(value) : Float32Array.of(value);
    const key = `${dtype}:${new Uint32Array(arr.buffer)[0]}`;
    let b = this.constants.get(key);
    if (!b) {
      b = this.fresh(arr, dtype === "float64" ? "float32" : dtype, false);
      if (this.constants.size > 4096) this.constants.clear();
      this.constants.set(key, b);
    }
    return b;
  }

  async download(d: DeviceBuffer): Promise<TypedArray> {
    const bytes = await this.gpu.read(this.buf(d), 0, d.length * 4);
    return d.dtype === "int32" ? new Int32Array(bytes) : new Float32Array(bytes);
  }

  sync(): Promise<void> {
    return this.gpu.sync();
  }

  fill(out: DeviceBuffer, value: number): void {
    if (value === 0) {
      this.gpu.clear(this.buf(out), 0, Math.ceil((out.length * 4) / 4) * 4 || undefined);
      return;
    }
    const shape = [out.length];
    this.copy({ buf: this.constant(out.dtype, value), shape, strides: [0], offset: 0 }, { buf: out, shape, strides: [1], offset: 0 });
  }

  /** Encodes an elementwise shader over `shape`; inputs are views of that shape. */
  private elementwise(key: string, expr: string, ct: Elem, ins: DeviceView[], out: DeviceView, stridedOut: boolean, u = new Uniform()): void {
    const operand = (v: DeviceView): Operand => ({ buffer: this.buf(v.buf), elem: elem(v.buf.dtype), strides: v.strides, offset: v.offset });
    encodeElementwise(this.gpu, key, expr, ct, out.shape, ins.map(operand), operand(out), stridedOut, u);
  }

  outView(out: DeviceBuffer, shape: readonly number[]): DeviceView {
    return { buf: out, shape, strides: contiguousStrides(shape), offset: 0 };
  }

  unary(op: UnaryOp, x: DeviceView, out: DeviceBuffer): void {
    const ct = computeType(op, "unary", [elem(x.buf.dtype)]);
    this.elementwise(`u:${op}`, unaryExpr(op, ct), ct, [x], this.outView(out, x.shape), false);
  }

  binary(op: BinaryOp, a: DeviceView, b: DeviceView, out: DeviceBuffer): void {
    const ct = computeType(op, "binary", [elem(a.buf.dtype), elem(b.buf.dtype)]);
    this.elementwise(`b:${op}`, binaryExpr(op, ct), ct, [a, b], this.outView(out, a.shape), false);
  }

  clamp(x: DeviceView, min: number, max: number, out: DeviceBuffer): void {
    const ct = elem(x.buf.dtype);
    const u = new Uniform().set(EW.flags, (min > -Infinity ? 1 : 0) | (max < Infinity ? 2 : 0));
    if (ct === "f32") u.setF(EW.params, min).setF(EW.params + 1, max);
    else u.setI(EW.params, Math.max(min, -(2 ** 31))).setI(EW.params + 1, Math.min(max, 2 ** 31 - 1));
    this.elementwise("clamp", clampExpr(ct), ct, [x], this.outView(out, x.shape), false, u);
  }

  where(cond: DeviceView, a: DeviceView, b: DeviceView, out: DeviceBuffer): void {
    const ct = elem(out.dtype);
    // The shader converts every input, the condition too, to ct: nonzero is true.
    const expr = ct === "f32" ? "select(z, y, x != 0.0)" : "select(z, y, x != 0)";
    this.elementwise("where", expr, ct, [cond, a, b], this.outView(out, a.shape), false);
  }

  copy(src: DeviceView, dst: DeviceView): void {
    if (src.buf === dst.buf) {
      // One buffer cannot be bound for reading and writing in one dispatch.
      const tmp = this.alloc(src.buf.dtype, count(src.shape));
      this.copy(src, this.outView(tmp, src.shape));
      this.copy(this.outView(tmp, src.shape), dst);
      this.gpu.free(tmp.buffer);
      return;
    }
    const ct = elem(src.buf.dtype);
    this.elementwise("copy", "x", ct, [src], dst, true);
  }

  contiguous(x: DeviceView): DeviceView {
    const st = contiguousStrides(x.shape);
    if (x.shape.every((s, i) => s === 1 || x.strides[i] === st[i])) return x;
    const t = this.alloc(x.buf.dtype, count(x.shape));
    this.copy(x, this.outView(t, x.shape));
    return this.outView(t, x.shape);
  }

  reduce(op: ReduceOp, x: DeviceView, axes: readonly number[], out: DeviceBuffer): void {
    const kept = x.shape.map((_, d) => d).filter((d) => !axes.includes(d));
    const nOut = count(kept.map((d) => x.shape[d]));
    const R = count(axes.map((d) => x.shape[d]));
    if (nOut === 0) return;
    const k = collapse(kept.map((d) => x.shape[d]), [kept.map((d) => x.strides[d])]);
    const r = collapse(axes.map((d) => x.shape[d]), [axes.map((d) => x.strides[d])]);
    if (k.shape.length > MAX_RANK || r.shape.length > MAX_RANK) throw new ShapeError(`webgpu: a reduction over ${fmtShape(x.shape)} has too many dims that cannot be merged`);
    const e = elem(x.buf.dtype);
    const coop = R > 64;
    const code = this.source(`red|${op}|${e}|${coop}`, () => reduceSource(op, e, coop));
    const u = new Uniform().set(RD.nOut, nOut).set(RD.R, R).set(RD.rankK, k.shape.length).set(RD.rankR, r.shape.length).set(RD.off, x.offset);
    u.list(RD.kShape, k.shape).list(RD.kStride, k.strides[0]).list(RD.rShape, r.shape).list(RD.rStride, r.strides[0]);
    this.gpu.dispatch(code, u.u.buffer, [this.buf(x.buf), this.buf(out)], coop ? rows(nOut) : grid(nOut));
  }

  argReduce(op: "argmax" | "argmin", x: DeviceView, axis: number, out: DeviceBuffer): void {
    const kept = x.shape.map((_, d) => d).filter((d) => d !== axis);
    const nOut = count(kept.map((d) => x.shape[d]));
    if (nOut === 0) return;
    const k = collapse(kept.map((d) => x.shape[d]), [kept.map((d) => x.strides[d])]);
    const e = elem(x.buf.dtype);
    const code = this.source(`arg|${op}|${e}`, () => argReduceSource(op, e));
    const u = new Uniform().set(RD.nOut, nOut).set(RD.R, x.shape[axis]).set(RD.rankK, k.shape.length).set(RD.off, x.offset);
    u.list(RD.kShape, k.shape).list(RD.kStride, k.strides[0]).set(RD.rStride, x.strides[axis]);
    this.gpu.dispatch(code, u.u.buffer, [this.buf(x.buf), this.buf(out)], grid(nOut));
  }

  matmul(a: DeviceView, b: DeviceView, out: DeviceBuffer): void {
    const [B, M, K] = a.shape;
    const N = b.shape[2];
    if (B * M * N === 0) return;
    if (K === 0) {
      this.fill(out, 0);
      return;
    }
    const la = layout(a) ?? layout((a = this.contiguous(a)))!;
    const lb = layout(b) ?? layout((b = this.contiguous(b)))!;
    const A = this.asGpuTensor(a.buf);
    const Bt = this.asGpuTensor(b.buf);
    const C = this.asGpuTensor(out);
    // The whole batch in one dispatch (broadcast operands have batch stride 0).
    gemm(this.gpu, A, Bt, C, {
      transA: la === "t", transB: lb === "t", M, N, K, offsetA: a.offset, offsetB: b.offset,
      batch: B, strideA: B > 1 ? a.strides[0] : 0, strideB: B > 1 ? b.strides[0] : 0, strideC: M * N,
    });
  }

  asGpuTensor(d: DeviceBuffer): GpuTensor {
    return new GpuTensor(this.gpu, this.buf(d), [d.length], d.dtype === "int32" ? "int32" : "float32");
  }

  indexSelect(x: DeviceView, dim: number, index: Int32Array, out: DeviceBuffer): void {
    indexSelect(this, x, dim, index, out);
  }

  indexAdd(dst: DeviceBuffer, dstShape: readonly number[], dim: number, index: Int32Array, src: DeviceView): void {
    indexAdd(this, dst, dstShape, dim, index, src);
  }

  gather(x: DeviceView, dim: number, index: Int32Array, indexShape: readonly number[], out: DeviceBuffer): void {
    gather(this, x, dim, index, indexShape, out);
  }

  scatterAdd(dst: DeviceBuffer, dstShape: readonly number[], dim: number, index: Int32Array, indexShape: readonly number[], src: DeviceView): void {
    scatterAdd(this, dst, dstShape, dim, index, indexShape, src);
  }

  crossEntropyForward(x: DeviceView, target: Int32Array, ignoreIndex: number, ls: number, loss: DeviceBuffer, lse: DeviceBuffer): void {
    const [N, C] = x.shape;
    if (N === 0) return;
    const xc = this.contiguousAt0(x);
    const t = this.fresh(target, "int32", true);
    const u = new Uniform().set(0, N).set(1, C).setI(2, ignoreIndex).setF(3, ls);
    this.gpu.dispatch(CE_FORWARD, u.u.buffer, [this.buf(xc.buf), t.buffer, this.buf(loss), this.buf(lse)], rows(N));
  }

  crossEntropyBackward(x: DeviceView, target: Int32Array, ignoreIndex: number, ls: number, lse: DeviceBuffer, g: DeviceView, dx: DeviceBuffer): void {
    const [N, C] = x.shape;
    if (N * C === 0) return;
    const xc = this.contiguousAt0(x);
    const t = this.fresh(target, "int32", true);
    const u = new Uniform().set(0, N).set(1, C).setI(2, ignoreIndex).setF(3, ls).set(4, g.offset).set(5, g.strides[0] ?? 0);
    this.gpu.dispatch(CE_BACKWARD, u.u.buffer, [this.buf(xc.buf), t.buffer, this.buf(lse), this.buf(g.buf), this.buf(dx)], grid(N * C));
  }

  /** A contiguous view starting at element 0 (the shaders index from the buffer's start). */
  contiguousAt0(x: DeviceView): DeviceView {
    const c = this.contiguous(x);
    if (c.offset === 0) return c;
    const t = this.alloc(x.buf.dtype, count(x.shape));
    this.copy(c, this.outView(t, x.shape));
    return this.outView(t, x.shape);
  }

  adamUpdate(p: DeviceBuffer, grad: DeviceBuffer, m: DeviceBuffer, v: DeviceBuffer, vmax: DeviceBuffer | null, h: AdamHyper): void {
    const n = p.length;
    if (n === 0) return;
    const flags = (h.decoupled ? 1 : 0) | (h.maximize ? 2 : 0) | (vmax ? 4 : 0) | (h.weightDecay !== 0 ? 8 : 0);
    const u = new Uniform().set(0, n).set(1, flags).setF(2, -(h.lr / (1 - h.beta1 ** h.step))).setF(3, Math.sqrt(1 - h.beta2 ** h.step));
    u.setF(4, 1 - h.lr * h.weightDecay).setF(5, h.weightDecay).setF(6, 1 - h.beta1).setF(7, h.beta2).setF(8, 1 - h.beta2).setF(9, h.eps);
    const vm = vmax ? this.buf(vmax) : this.buf(this.constant("float32", 0));
    this.gpu.dispatch(ADAM, u.u.buffer, [this.buf(p), this.buf(grad), this.buf(m), this.buf(v), vm], grid(n));
  }

  sgdUpdate(p: DeviceBuffer, grad: DeviceBuffer, buf: DeviceBuffer | null, h: SgdHyper): void {
    const n = p.length;
    if (n === 0) return;
    const flags = (buf ? 1 : 0) | (h.first ? 2 : 0) | (h.nesterov ? 4 : 0) | (h.maximize ? 8 : 0) | (h.weightDecay !== 0 ? 16 : 0);
    const u = new Uniform().set(0, n).set(1, flags).setF(2, h.momentum).setF(3, h.weightDecay).setF(4, -h.lr).setF(5, 1 - h.dampening);
    const b = this.buf(buf ?? this.constant("float32", 0));
    this.gpu.dispatch(SGD, u.u.buffer, [this.buf(p), this.buf(grad), b], grid(n));
  }
  layerForward(
    s: DeviceLayerSpec, x: DeviceView, w: DeviceLayerWeights, h0: DeviceView | null, c0: DeviceView | null,
    y: DeviceBuffer, hN: DeviceBuffer, cN: DeviceBuffer | null, keep: boolean,
  ): unknown {
    return layerForward(this, s, x, w, h0, c0, y, hN, cN, keep);
  }

  layerBackward(
    s: DeviceLayerSpec, saved: unknown, x: DeviceView, w: DeviceLayerWeights,
    dy: DeviceView | null, dhN: DeviceView | null, dcN: DeviceView | null,
    dx: DeviceBuffer | null, dw: DeviceLayerWeights, dh0: DeviceBuffer | null, dc0: DeviceBuffer | null,
  ): void {
    layerBackward(this, s, saved, x, w, dy, dhN, dcN, dx, dw, dh0, dc0);
  }

}

/** "n": rows contiguous (row stride K); "t": stored transposed; null: needs a copy. Sizes of 1 take any stride. */
function layout(v: DeviceView): "n" | "t" | null {
  const [, R, C] = v.shape;
  const [, sr, sc] = v.strides;
  if ((C === 1 || sc === 1) && (R === 1 || sr === C)) return "n";
  if ((R === 1 || sr === 1) && (C === 1 || sc === R)) return "t";
  return null;
}
