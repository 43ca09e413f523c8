export { RNNLM, sampleLogits, detachState, type RNNLMOptions, type SampleOptions, type CellType, type RecurrentState } from "./rnnlm.js";
export { AdditiveAttention, MultiplicativeAttention, attend, paddingMask, type Attention, type AttentionKind } from "./attention.js";
export { Seq2Seq, selectEncoded, selectState, type Seq2SeqOptions, type DecoderState, type EncodedSource, type StepResult } from "./seq2seq.js";
export { greedyDecode, greedyDecodeAsync, beamSearch, beamSearchAsync, sequenceLogProbs, seq2seqAccuracy, type Hypothesis, type BeamOptions } from "./seq2seq-decode.js";
