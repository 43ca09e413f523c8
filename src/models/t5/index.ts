/** gl.t5: Hugging Face-compatible T5 (tokenizer, model, generation, training helpers). */
export { T5Tokenizer, type T5TokenizerOptions, type BatchEncoding } from "./tokenizer.js";
export { SentencePieceProcessor, type SentencePieceEncoding } from "../../data/sentencepiece/processor.js";
