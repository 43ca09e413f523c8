import { allocate, type DType } from "../core/dtype.js";
import { DTypeError, DeviceError, fmtShape } from "../core/errors.js";
import { numel } from "../core/shape.js";
import { type DeviceKernels, type DeviceView, deviceKernels } from "../backend/device.js";
import { Tensor } from "./tensor.js";

/**
 * The device an op runs on. Its tensor operands must share one device, except that a 0-d CPU
 * tensor (a number made a tensor) joins any device as a constant, as in PyTorch.
 */
export function deviceOf(op: string, ...ts: Tensor[]): string {
  let dev = "cpu";
  let cpu: Tensor | null = null;
  for (const t of ts) {
    const d = t.device;
    if (d === "cpu") {
      if (t.ndim > 0) cpu ??= t;
    } else if (dev === "cpu") {
      dev = d;
    } else if (d !== dev) {
      throw new DeviceError(`${op}: expected all tensors on one device, got ${dev} and ${d}`);
    }
  }
  if (dev !== "cpu" && cpu) {
    throw new DeviceError(
      `${op}: expected all tensors on one device, got ${dev} and cpu (a CPU tensor of shape ${fmtShape(cpu.shape)}); move it with .to("${dev}")`,
    );
  }
  return dev;
}

/** The kernels of a device, or null for the CPU. */
export function onDevice(dev: string): DeviceKernels | null {
  return dev === "cpu" ? null : deviceKernels(dev);
}

export function checkDeviceDType(op: string, k: DeviceKernels, dtype: DType): void {
  if (!k.dtypes.includes(dtype)) {
    throw new DTypeError(`${op}: ${k.name} holds ${k.dtypes.join(" and ")} tensors; ${dtype} stays on the CPU (convert with .to("${k.dtypes[0]}") first)`);
  }
}

/** A fresh contiguous tensor on `dev`; contents undefined on a device, zeros on the CPU. */
export function emptyOn(dev: string, dtype: DType, shape: readonly number[]): Tensor {
  if (dev === "cpu") return new Tensor(allocate(dtype, numel(shape)), [...shape]);
  const k = deviceKernels(dev);
  checkDeviceDType("tensor", k, dtype);
  return new Tensor(k.alloc(dtype, numel(shape)), [...shape]);
}

/** A zero-filled tensor on `dev`. */
export function zerosOn(dev: string, dtype: DType, shape: readonly number[]): Tensor {
  const t = emptyOn(dev, dtype, shape);
  if (t.dev) deviceKernels(dev).fill(t.dev, 0);
  return t;
}

/**
 * The device view of an operand: a device tensor as it is; a CPU tensor of one value (possibly
 * broadcast, every stride over a size > 1 being 0) as a shared constant buffer.
 */
export function dv(t: Tensor, k: DeviceKernels): DeviceView {
  if (t.dev) return { buf: t.dev, shape: t.shape, strides: t.strides, offset: t.offset };
  if (t.shape.some((s, i) => s > 1 && t.strides[i] !== 0)) {
    throw new DeviceError(`a CPU tensor of shape ${fmtShape(t.shape)} cannot join an op on ${k.name}; move it with .to("${k.name}")`);
  }
  return { buf: k.constant(t.dtype, t.data[t.offset]), shape: t.shape, strides: t.shape.map(() => 0), offset: 0 };
}
