/** SentencePiece unigram models: read (protobuf ModelProto), normalise, encode, decode, train small vocabularies. */
export { SentencePieceProcessor, type SentencePieceEncoding } from "./processor.js";
export { Normalizer, SPACE_SYMBOL } from "./normalizer.js";
export { parseModelProto, encodeModelProto, PieceType, type ModelProto, type ModelProtoInput, type SentencePiece, type TrainerSpec, type NormalizerSpec } from "./proto.js";
export { trainUnigramModel, type UnigramTrainerOptions } from "./trainer.js";
