/**
 * gradlab on the GPU through WebGPU (`gl.webgpu`): a device (`await requestGpu()`; Dawn from the
 * optional npm package "webgpu" in Node, navigator.gpu in browsers), GPU-resident tensors, WGSL
 * kernels that encode into one command buffer, the "webgpu" tensor device (`await init()`, then
 * `x.to("webgpu")`: ops and autograd run there, values come back with `await t.cpu()`), and a whole
 * recurrent language-model training step on the GPU (GpuRNNLM: LSTM or GRU). Importing gradlab
 * does not load Dawn; requestGpu() and init() do, on first use.
 */
import { setTensorFactory } from "../backends/webgpu/gpu-tensor.js";
import { Tensor } from "../tensor/tensor.js";

setTensorFactory((data, shape) => new Tensor(data, shape));

export * from "../backends/webgpu/index.js";
export { GpuRNNLM, type GpuAdamState, type GpuRNNLMOptions, type StepOptions } from "./rnnlm.js";
export { clipToNorm, sumSquares } from "./clip.js";
export { currentGpu, deviceMemory, init, shutdown, synchronize, type InitOptions, type InitResult } from "./device.js";
