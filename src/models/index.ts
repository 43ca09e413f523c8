export { RNNLM, sampleLogits, detachState, type RNNLMOptions, type SampleOptions, type CellType, type RecurrentState } from "./rnnlm.js";
