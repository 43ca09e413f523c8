export { Tensor, isTensor, empty, type TensorLike, type NestedArray, type Dims, type Scalar } from "./tensor.js";
export * from "./create.js";
export { add, sub, mul, div, pow, maximum, minimum, atan2, where, compare } from "./primitives/binary.js";
export {
  neg, exp, log, sqrt, rsqrt, abs, sign, tanh, sigmoid, relu, erf, sin, cos, log1p, expm1, reciprocal, square,
  floor, ceil, round, isfinite, isnan, clamp,
} from "./primitives/unary.js";
export { sum, max, min, argReduce } from "./primitives/reduce.js";
export { matmul, bmm } from "./primitives/matmul.js";
export { reshape, view, permute, expand, slice, contiguous, clone, cast, cat, sumToShape } from "./primitives/movement.js";
export { gather, scatterAdd, indexSelect, embedding } from "./primitives/indexing.js";
export { mean, variance, logsumexp, norm } from "./ops/reduction.js";
export { softmax, logSoftmax, gelu, silu } from "./ops/activation.js";
export { transpose, narrow, select, squeeze, unsqueeze, flatten, split, chunk, stack } from "./ops/shape.js";
export { crossEntropy, mseLoss, nllLoss, type CrossEntropyOptions, type Reduction } from "./ops/loss.js";
export { linear, dropout, layerNorm, rmsNorm } from "./ops/functional.js";
export { record, setForwardObserver, type TensorBackward } from "./record.js";
