/** gl.t5: Hugging Face-compatible T5 (tokenizer, model, generation, training helpers). */
export { T5Tokenizer, type T5TokenizerOptions, type BatchEncoding } from "./tokenizer.js";
export { SentencePieceProcessor, type SentencePieceEncoding } from "../../data/sentencepiece/processor.js";
export { trainUnigramModel, type UnigramTrainerOptions } from "../../data/sentencepiece/trainer.js";
export { T5ForConditionalGeneration, IGNORE_INDEX, type T5ForwardInputs, type T5ForwardOutputs } from "./model.js";
export { loadT5Weights } from "./pretrained.js";
export { generate, generateAsync, warpLogits, sampleLogits, defaultAttentionMask, type GenerateOptions } from "./generation.js";
export { type T5Config, type T5ConfigInput, type T5Activation, parseT5Config, t5Config, t5ConfigToJSON } from "../../nn/t5/config.js";
export { T5Attention, relativePositionBucket, type KeyValue } from "../../nn/t5/attention.js";
export { T5LayerNorm, T5Block, T5LayerFF, T5DenseActDense, T5DenseGatedActDense, T5LayerSelfAttention, T5LayerCrossAttention, type BlockCache } from "../../nn/t5/layers.js";
export { T5Stack } from "../../nn/t5/stack.js";
export { randomSpansNoiseMask, spanCorruption, type SpanCorruptionOptions } from "./span-corruption.js";
export {
  collateSeq2Seq, encodePairs, spanCorruptionExamples, spanCorruptionBatch, batchTokens, meanLoss, exactMatch, t5Optimizer, trainStep,
  type Seq2SeqExample, type Seq2SeqBatch,
} from "./train.js";
export { TASKS, makeTask, makeTasks, type TaskKind, type TaskExample } from "./tasks.js";
