import type { DType, TypedArray } from "../core/dtype.js";
import { GradlabError } from "../core/errors.js";
import type { AdamHyper, BinaryOp, ReduceOp, SgdHyper, UnaryOp, View } from "./kernels.js";

/**
 * Devices other than the CPU. A tensor on a device holds a DeviceBuffer instead of a typed array;
 * its ops run the device's kernels, which encode work and return at once. Values come back only
 * asynchronously (download), because a GPU's results arrive after the JavaScript that asked for
 * them has returned; the synchronous accessors of a device tensor throw.
 */
export interface DeviceBuffer {
  readonly device: string;
  readonly dtype: DType;
  /** Element count. */
  readonly length: number;
}

/** A strided window on a device buffer: the device twin of View. */
export interface DeviceView {
  readonly buf: DeviceBuffer;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
}

/**
 * A device's kernels. They mirror KernelSignatures with device buffers in place of typed arrays:
 * outputs are fresh contiguous buffers the caller allocates with alloc(); index arrays (class
 * targets, gathered rows) stay on the host, where the tensor layer checks their bounds.
 */
export interface DeviceKernels {
  readonly name: string;
  /** Dtypes the device holds; others stay on the CPU. */
  readonly dtypes: readonly DType[];
  /** A buffer of n elements; contents undefined. */
  alloc(dtype: DType, n: number): DeviceBuffer;
  /** A contiguous device copy of a CPU view, in the view's dtype. */
  upload(src: View): DeviceBuffer;
  /** A one-element buffer holding `value`, shared by every caller that asks for the same one. */
  constant(dtype: DType, value: number): DeviceBuffer;
  download(buf: DeviceBuffer): Promise<TypedArray>;
  /** Frees a buffer now instead of when its tensors are collected (optional: GC frees it otherwise). */
  dispose?(buf: DeviceBuffer): void;
  /** Waits until every encoded kernel has run; reports device errors. */
  sync(): Promise<void>;
  fill(out: DeviceBuffer, value: number): void;
  unary(op: UnaryOp, x: DeviceView, out: DeviceBuffer): void;
  /** a and b are broadcast to out's shape (stride 0 on broadcast dims). */
  binary(op: BinaryOp, a: DeviceView, b: DeviceView, out: DeviceBuffer): void;
  clamp(x: DeviceView, min: number, max: number, out: DeviceBuffer): void;
  where(cond: DeviceView, a: DeviceView, b: DeviceView, out: DeviceBuffer): void;
  reduce(op: ReduceOp, x: DeviceView, axes: readonly number[], out: DeviceBuffer): void;
  argReduce(op: "argmax" | "argmin", x: DeviceView, axis: number, out: DeviceBuffer): void;
  matmul(a: DeviceView, b: DeviceView, out: DeviceBuffer): void;
  /** Strided copy with dtype conversion; dst may be a strided window. */
  copy(src: DeviceView, dst: DeviceView): void;
  indexSelect(x: DeviceView, dim: number, index: Int32Array, out: DeviceBuffer): void;
  /** dst (contiguous, dstShape) rows index[i] along dim += src slice i. */
  indexAdd(dst: DeviceBuffer, dstShape: readonly number[], dim: number, index: Int32Array, src: DeviceView): void;
  /** out (contiguous over indexShape) = x with coordinate `dim` taken from index. */
  gather(x: DeviceView, dim: number, index: Int32Array, indexShape: readonly number[], out: DeviceBuffer): void;
  /** dst (contiguous, dstShape) at [... index[i] at dim ...] += src[i]; src has indexShape. */
  scatterAdd(dst: DeviceBuffer, dstShape: readonly number[], dim: number, index: Int32Array, indexShape: readonly number[], src: DeviceView): void;
  crossEntropyForward(x: DeviceView, target: Int32Array, ignoreIndex: number, labelSmoothing: number, loss: DeviceBuffer, lse: DeviceBuffer): void;
  crossEntropyBackward(
    x: DeviceView, target: Int32Array, ignoreIndex: number, labelSmoothing: number, lse: DeviceBuffer, gLoss: DeviceView, dx: DeviceBuffer,
  ): void;
  adamUpdate(p: DeviceBuffer, grad: DeviceBuffer, m: DeviceBuffer, v: DeviceBuffer, vmax: DeviceBuffer | null, h: AdamHyper): void;
  sgdUpdate(p: DeviceBuffer, grad: DeviceBuffer, buf: DeviceBuffer | null, h: SgdHyper): void;
  /**
   * One recurrent layer and direction over a whole sequence with fused gate kernels, where the
   * device has them (LSTM, and GRU with the reset gate after the product; biases, no projection,
   * full-length sequences): x [T, B, I]; writes y [T, B, H], hN and (LSTM) cN [B, H]. Returns what
   * layerBackward needs (null when `keep` is false).
   */
  layerForward?(
    s: DeviceLayerSpec, x: DeviceView, w: DeviceLayerWeights, h0: DeviceView | null, c0: DeviceView | null,
    y: DeviceBuffer, hN: DeviceBuffer, cN: DeviceBuffer | null, keep: boolean,
  ): unknown;
  /** Gradients of the layer: outputs written (not accumulated) where given; incoming ones null when zero. */
  layerBackward?(
    s: DeviceLayerSpec, saved: unknown, x: DeviceView, w: DeviceLayerWeights,
    dy: DeviceView | null, dhN: DeviceView | null, dcN: DeviceView | null,
    dx: DeviceBuffer | null, dw: DeviceLayerWeights, dh0: DeviceBuffer | null, dc0: DeviceBuffer | null,
  ): void;
}

export interface DeviceLayerSpec {
  cell: "lstm" | "gru";
  T: number;
  B: number;
  I: number;
  H: number;
}

/** PyTorch's shapes: wIh [G·H, I], wHh [G·H, H], biases [G·H] (G = 4 for LSTM, 3 for GRU). */
export interface DeviceLayerWeights {
  wIh: DeviceView;
  wHh: DeviceView;
  bIh: DeviceView;
  bHh: DeviceView;
}

const devices = new Map<string, DeviceKernels>();
let defaultDevice = "cpu";

export function registerDevice(k: DeviceKernels): void {
  devices.set(k.name, k);
}

export function unregisterDevice(name: string): void {
  devices.delete(name);
  if (defaultDevice === name) defaultDevice = "cpu";
}

export function hasDevice(name: string): boolean {
  return name === "cpu" || devices.has(name);
}

export function listDevices(): string[] {
  return ["cpu", ...devices.keys()];
}

export function deviceKernels(name: string): DeviceKernels {
  const k = devices.get(name);
  if (!k) {
    throw new GradlabError(
      name === "webgpu"
        ? `device "webgpu" is not ready: call \`await gl.webgpu.init()\` first (the GPU is requested asynchronously)`
        : `unknown device "${name}" (available: ${listDevices().join(", ")})`,
    );
  }
  return k;
}

/** Where factory functions (tensor, zeros, randn, ...) put new tensors, like torch.set_default_device. */
export function setDefaultDevice(name: string): void {
  if (name !== "cpu") deviceKernels(name);
  defaultDevice = name;
}

export function getDefaultDevice(): string {
  return defaultDevice;
}
