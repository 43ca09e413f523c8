/**
 * gradlab: tensors with reverse-mode autograd, recurrent layers and the tools to see why deep and
 * recurrent networks learn or fail. `import * as gl from "gradlab"`.
 */
import "./backends/js/index.js";
// Loads the WebAssembly kernels when built and supported, and makes them the default backend.
import "./backends/fast/index.js";

export * from "./tensor/index.js";
export { noGrad, enableGrad, isGradEnabled, setGradEnabled } from "./autograd/mode.js";
export { manualSeed, Generator, defaultGenerator } from "./core/rng.js";
export { type DType, type TypedArray } from "./core/dtype.js";
export { GradlabError, ShapeError, DTypeError, AutogradError, IOError, DeviceError } from "./core/errors.js";
export { setBackend, getBackend, listBackends, setStrictKernels, registerKernel } from "./backend/registry.js";
export { getDefaultDevice, setDefaultDevice, listDevices } from "./backend/device.js";
export { backendInfo, setNumThreads, type BackendInfo } from "./backends/fast/index.js";
export * as data from "./data/index.js";
export * as io from "./io/index.js";
export * as optim from "./optim/index.js";
export { detectAnomaly, setDetectAnomaly, isAnomalyEnabled, AnomalyError, type AnomalyOptions } from "./diagnostics/anomaly.js";
export * as nn from "./nn/index.js";
export * as diagnostics from "./diagnostics/index.js";
export * as models from "./models/index.js";
export * as train from "./train/index.js";
export * as t5 from "./models/t5/index.js";
// The GPU path (WebGPU); importing it does not load Dawn: requestGpu() does, on first use.
export * as webgpu from "./webgpu/index.js";
