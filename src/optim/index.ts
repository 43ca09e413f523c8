export { Optimizer, type BaseOptions, type GuardOptions, type StepInfo, type OptimizerStateDict, type ParamGroup, type ParamGroupInput, type ParamState, type ParamsInput } from "./optimizer.js";
export { SGD, type SGDOptions } from "./sgd.js";
export { Adam, AdamW, type AdamOptions } from "./adam.js";
export { Adagrad, type AdagradOptions } from "./adagrad.js";
export { RMSprop, type RMSpropOptions } from "./rmsprop.js";
export { Adafactor, type AdafactorOptions } from "./adafactor.js";
export { clipGradNorm, clipGradNormAsync, clipGradValue, type ClipGradNormOptions } from "./clip.js";
export * as lrScheduler from "./lr-scheduler.js";
