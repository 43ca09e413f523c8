export { CharTokenizer, WordTokenizer, tokenizerFromJSON, type TokenizerJSON } from "./tokenizer.js";
export { LMStream, trainValSplit, type LMBatch } from "./lm.js";
