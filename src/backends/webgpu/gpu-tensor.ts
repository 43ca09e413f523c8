import { DTypeError, ShapeError, fmtShape } from "../../core/errors.js";
import { contiguousStrides, numel } from "../../core/shape.js";
import { kernel } from "../../backend/registry.js";
import type { View } from "../../backend/kernels.js";
import { type Gpu, WebGPUError } from "./runtime.js";

export type GpuDType = "float32" | "int32";

/** What toTensor() builds; set by the public `webgpu` module (backends may not import tensors). */
type TensorFactory = (data: Float32Array | Int32Array, shape: readonly number[]) => unknown;
let tensorFactory: TensorFactory | null = null;
export function setTensorFactory(f: TensorFactory): void {
  tensorFactory = f;
}

/**
 * A contiguous row-major array in a GPU buffer. Kernels take GpuTensors and encode into the
 * device's open command encoder; values come back only through the asynchronous read().
 * release() returns the buffer to the device's pool (optional: an unreleased one is freed by the
 * garbage collector with its GPUBuffer).
 */
export class GpuTensor {
  private released = false;

  constructor(
    readonly gpu: Gpu,
    readonly buffer: GPUBuffer,
    readonly shape: readonly number[],
    readonly dtype: GpuDType,
  ) {}

  get size(): number {
    return numel(this.shape);
  }

  /** An uninitialised tensor. */
  static empty(gpu: Gpu, shape: readonly number[], dtype: GpuDType = "float32"): GpuTensor {
    checkShape(shape);
    return new GpuTensor(gpu, gpu.alloc(numel(shape) * 4), shape, dtype);
  }

  static zeros(gpu: Gpu, shape: readonly number[], dtype: GpuDType = "float32"): GpuTensor {
    const t = GpuTensor.empty(gpu, shape, dtype);
    gpu.clear(t.buffer);
    return t;
  }

  static fromArray(gpu: Gpu, data: Float32Array | Int32Array, shape: readonly number[] = [data.length]): GpuTensor {
    if (numel(shape) !== data.length) throw new ShapeError(`GpuTensor.fromArray: ${data.length} values cannot have shape ${fmtShape(shape)}`);
    const t = GpuTensor.empty(gpu, shape, data instanceof Int32Array ? "int32" : "float32");
    t.write(data);
    return t;
  }

  /**
   * Uploads a gradlab Tensor (or any strided view) of dtype float32 or int32; float64 values are
   * rounded to float32.
   */
  static fromTensor(t: View, gpu: Gpu): GpuTensor {
    const n = numel(t.shape);
    const d = t.data;
    if (!(d instanceof Int32Array || d instanceof Float32Array || d instanceof Float64Array)) {
      throw new DTypeError(`GpuTensor.fromTensor: dtype ${(d as object).constructor.name} is not supported (float32, float64 or int32)`);
    }
    return GpuTensor.fromArray(gpu, hostDense(t, d instanceof Int32Array ? new Int32Array(n) : new Float32Array(n)), t.shape);
  }

  /**
   * Replaces the contents. Queue writes overtake commands still being encoded, so work encoded
   * before is submitted first: the write lands after it, in program order.
   */
  write(data: Float32Array | Int32Array): void {
    if (data.length !== this.size) throw new ShapeError(`GpuTensor.write: ${data.length} values for a tensor of shape ${fmtShape(this.shape)}`);
    this.check();
    this.gpu.submit();
    if (data.length) this.gpu.device.queue.writeBuffer(this.buffer, 0, data.buffer, data.byteOffset, data.byteLength);
  }

  /** Submits pending work and reads the values back. */
  async read(): Promise<Float32Array | Int32Array> {
    this.check();
    const bytes = await this.gpu.read(this.buffer, 0, this.size * 4);
    return this.dtype === "int32" ? new Int32Array(bytes) : new Float32Array(bytes);
  }

  /** Reads the values back as a gradlab Tensor. */
  async toTensor<T = unknown>(): Promise<T> {
    if (!tensorFactory) throw new WebGPUError("GpuTensor.toTensor: import gradlab's webgpu module (gl.webgpu) to build tensors");
    return tensorFactory(await this.read(), this.shape) as T;
  }

  /** The same buffer seen with another shape of the same size. */
  reshape(shape: readonly number[]): GpuTensor {
    if (numel(shape) !== this.size) throw new ShapeError(`GpuTensor.reshape: cannot view shape ${fmtShape(this.shape)} as ${fmtShape(shape)}`);
    return new GpuTensor(this.gpu, this.buffer, shape, this.dtype);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.gpu.free(this.buffer);
  }

  private check(): void {
    if (this.released) throw new WebGPUError("GpuTensor: used after release()");
  }
}

/** A strided CPU view's values in row-major order, converted to `out`'s type (float64 rounds to float32). */
export function hostDense<A extends Float32Array | Int32Array>(v: View, out: A): A {
  kernel("copy")(v, { data: out, shape: v.shape, strides: contiguousStrides(v.shape), offset: 0 });
  return out;
}

function checkShape(shape: readonly number[]): void {
  for (const s of shape) if (!Number.isInteger(s) || s < 0) throw new ShapeError(`GpuTensor: invalid shape ${fmtShape(shape)}`);
}

export function expectShape(op: string, name: string, t: GpuTensor, shape: readonly number[]): void {
  if (t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i])) {
    throw new ShapeError(`${op}: ${name} must have shape ${fmtShape(shape)}, got ${fmtShape(t.shape)}`);
  }
}

export function expectDType(op: string, name: string, t: GpuTensor, dtype: GpuDType): void {
  if (t.dtype !== dtype) throw new DTypeError(`${op}: ${name} must be ${dtype}, got ${t.dtype}`);
}
