/**
 * The WebGPU layer: a device runtime, GPU-resident tensors and WGSL kernels that encode into one
 * command buffer. Tensor/autograd ops do not run here yet; gradlab's public `webgpu` module builds
 * whole GPU workloads (the recurrent language-model trainer) from these kernels.
 */
export { Gpu, Recording, WebGPUError, Words, gpuUnavailableReason, requestGpu, requireGpu, type AdapterInfo, type RequestGpuOptions } from "./runtime.js";
export { GpuTensor, setTensorFactory, type GpuDType } from "./gpu-tensor.js";
export { MATMUL_TILES, matmul, matmulPlan, type MatmulOptions } from "./matmul.js";
export { binary, copyWithin, fill, unary, type GpuBinaryOp, type GpuUnaryOp } from "./elementwise.js";
export { sum, type SumOptions } from "./reduce.js";
export { crossEntropy, type CrossEntropyOptions } from "./loss.js";
export { checkIds, embedding, embeddingBackward, embeddingIndex } from "./embedding.js";
export { adamScalars, adamStep, type AdamHyper } from "./adam.js";
export {
  lstmBackward, lstmForward, lstmGatesBackward, lstmGatesForward, lstmWork,
  type LstmGrads, type LstmWeights, type LstmWork,
} from "./lstm.js";
export { gruBackward, gruForward, gruWork, type GruWeights, type GruWork } from "./gru.js";
