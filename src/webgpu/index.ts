/**
 * gradlab on the GPU through WebGPU (`gl.webgpu`): a device (`await requestGpu()`; Dawn from the
 * optional npm package "webgpu" in Node, navigator.gpu in browsers), GPU-resident tensors, WGSL
 * kernels that encode into one command buffer, and a whole recurrent language-model training step
 * on the GPU (GpuRNNLM: LSTM or GRU). Tensor and autograd ops do not run on the GPU yet: this module
 * is the GPU path. Importing gradlab does not load Dawn; requestGpu() does, on first use.
 */
import { setTensorFactory } from "../backends/webgpu/gpu-tensor.js";
import { Tensor } from "../tensor/tensor.js";

setTensorFactory((data, shape) => new Tensor(data, shape));

export * from "../backends/webgpu/index.js";
export { GpuRNNLM, type GpuAdamState, type GpuRNNLMOptions, type StepOptions } from "./rnnlm.js";
export { clipToNorm, sumSquares } from "./clip.js";
