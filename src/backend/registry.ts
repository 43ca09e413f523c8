import { GradlabError } from "../core/errors.js";
import type { KernelName, KernelSignatures } from "./kernels.js";
import { hasDevice, setDefaultDevice } from "./device.js";

/** The reference backend's name: every kernel exists there, and it is the fallback. */
export const REFERENCE_BACKEND = "js";

const registry = new Map<string, Partial<KernelSignatures>>();
const resolved = new Map<KernelName, KernelSignatures[KernelName]>();
let current = REFERENCE_BACKEND;
let strict = false;

export function registerKernel<K extends KernelName>(name: K, backend: string, fn: KernelSignatures[K]): void {
  let table = registry.get(backend);
  if (!table) registry.set(backend, (table = {}));
  table[name] = fn;
  resolved.clear();
}

export function listBackends(): string[] {
  return [...registry.keys()];
}

export function listKernels(backend: string): KernelName[] {
  return Object.keys(registry.get(backend) ?? {}) as KernelName[];
}

/**
 * Chooses where ops run: a CPU kernel backend ("fast", "js"), whose kernels tensors on the CPU use,
 * or "webgpu", which makes the GPU the default device of new tensors (after \`await gl.webgpu.init()\`).
 * Choosing a CPU backend makes the CPU the default device again.
 */
export function setBackend(name: string): void {
  if (name === "webgpu") {
    if (!hasDevice("webgpu")) {
      throw new GradlabError(
        `setBackend("webgpu"): no WebGPU device yet; call \`await gl.webgpu.init()\` first (it requests the GPU, which is asynchronous, and says why when there is none)`,
      );
    }
    setDefaultDevice("webgpu");
    return;
  }
  if (!registry.has(name)) {
    throw new GradlabError(`setBackend: unknown backend "${name}" (registered: ${[...listBackends(), "webgpu"].join(", ")})`);
  }
  current = name;
  setDefaultDevice("cpu");
  resolved.clear();
}

export function getBackend(): string {
  return current;
}

/** In strict mode a kernel missing from the current backend is an error instead of a fallback. */
export function setStrictKernels(on: boolean): void {
  strict = on;
  resolved.clear();
}

export function kernel<K extends KernelName>(name: K): KernelSignatures[K] {
  const hit = resolved.get(name);
  if (hit) return hit as KernelSignatures[K];
  let fn = registry.get(current)?.[name];
  if (!fn) {
    if (strict && current !== REFERENCE_BACKEND) {
      throw new GradlabError(`kernel "${name}" is not implemented by backend "${current}" (strict mode)`);
    }
    fn = registry.get(REFERENCE_BACKEND)?.[name];
  }
  if (!fn) throw new GradlabError(`kernel "${name}" has no implementation (is the reference backend loaded?)`);
  resolved.set(name, fn);
  return fn;
}
