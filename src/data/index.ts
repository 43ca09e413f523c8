export { CharTokenizer, WordTokenizer, tokenizerFromJSON, type TokenizerJSON } from "./tokenizer.js";
export { LMStream, trainValSplit, type LMBatch } from "./lm.js";
export * from "./tasks.js";
export * from "./seq2seq-tasks.js";
export * from "./batching.js";
export * as sentencepiece from "./sentencepiece/index.js";
