import { getDefaultDevice, registerDevice, setDefaultDevice, unregisterDevice } from "../backend/device.js";
import { WebGpuDevice } from "../backends/webgpu/device.js";
import { type Gpu, type RequestGpuOptions, gpuUnavailableReason, requestGpu } from "../backends/webgpu/runtime.js";

export interface InitOptions extends RequestGpuOptions {
  /**
   * After this many bytes of newly created GPU buffers, run a garbage collection (Node only) so
   * that dropped tensors return their buffers to the pool (default 128 MiB; 0 turns it off).
   */
  gcBudgetBytes?: number;
  /** Use this device instead of requesting one. */
  gpu?: Gpu;
  /** Make "webgpu" the default device of new tensors (default true), as gl.setBackend("webgpu") does. */
  setDefault?: boolean;
}

export type InitResult = { device: "webgpu"; gpu: Gpu } | { device: "cpu"; reason: string };

let active: WebGpuDevice | null = null;

// Variable specifiers: browser bundlers leave them alone, and browsers never reach them.
const V8 = "node:v8";
const VM = "node:vm";
let gcFn: Promise<(() => void) | null> | null = null;

/** A full garbage collection in Node (through V8's expose-gc flag), null elsewhere. */
function nodeGc(): Promise<(() => void) | null> {
  const isNode = typeof process !== "undefined" && typeof process.versions?.node === "string";
  gcFn ??= !isNode
    ? Promise.resolve(null)
    : Promise.all([import(/* @vite-ignore */ V8), import(/* @vite-ignore */ VM)]).then(
        ([v8, vm]: [{ setFlagsFromString(f: string): void }, { runInNewContext(code: string): unknown }]) => {
          v8.setFlagsFromString("--expose-gc");
          const gc = vm.runInNewContext("gc");
          return typeof gc === "function" ? (gc as () => void) : null;
        },
        () => null,
      );
  return gcFn;
}

/**
 * Makes tensors on the "webgpu" device possible: requests a GPU (or takes `o.gpu`), registers it
 * as the device "webgpu" and, unless `setDefault: false`, makes it the default device of the
 * factory functions. Without a GPU nothing changes and the result says why, so a program can
 * fall back to the CPU: `const r = await gl.webgpu.init(); if (r.device === "cpu") console.warn(r.reason)`.
 */
export async function init(o: InitOptions = {}): Promise<InitResult> {
  const gpu = o.gpu ?? (await requestGpu(o));
  if (!gpu) return { device: "cpu", reason: `no WebGPU device, tensors stay on the CPU: ${gpuUnavailableReason()}` };
  if (active?.gpu !== gpu) {
    const budget = o.gcBudgetBytes ?? 128 * 2 ** 20;
    active = new WebGpuDevice(gpu, budget > 0 ? await nodeGc() : null, budget);
    registerDevice(active);
  }
  if (o.setDefault ?? true) setDefaultDevice("webgpu");
  return { device: "webgpu", gpu };
}

/** The Gpu behind the "webgpu" device, or null before init(). */
export function currentGpu(): Gpu | null {
  return active && !active.gpu.isDestroyed ? active.gpu : null;
}

/**
 * Unregisters the device (tensors on it become unusable) and, unless `keepGpu`, destroys the GPU.
 * Call it before a Node process exits (Dawn can abort a process that exits with a live device).
 */
export function shutdown(o: { keepGpu?: boolean } = {}): void {
  if (!active) return;
  if (getDefaultDevice() === "webgpu") setDefaultDevice("cpu");
  unregisterDevice("webgpu");
  if (!o.keepGpu) active.gpu.destroy();
  active = null;
}

/** The "webgpu" device's buffers: live tensors' and pooled ones (see WebGpuDevice.memory). */
export function deviceMemory(): ReturnType<WebGpuDevice["memory"]> | null {
  return active ? active.memory() : null;
}

/** Waits until every op encoded on the GPU has run; reports device errors. */
export async function synchronize(): Promise<void> {
  if (active) await active.sync();
}
