/**
 * SentencePiece's model file is a serialized `sentencepiece.ModelProto` (proto2). The schema is
 * declared here, field for field as sentencepiece_model.proto numbers them, and decoded with
 * protobufjs's reflection runtime (no .proto parser, so it stays small and browser-safe).
 * Only the fields that encoding and decoding read are typed below; unknown fields are skipped.
 */
import protobuf from "protobufjs/light.js";
import { IOError } from "../../core/errors.js";

export const PieceType = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;
export type PieceTypeValue = (typeof PieceType)[keyof typeof PieceType];

export interface SentencePiece {
  piece: string;
  /** A float32 log-probability, read exactly. */
  score: number;
  type: PieceTypeValue;
}

export interface TrainerSpec {
  modelType: "UNIGRAM" | "BPE" | "WORD" | "CHAR";
  vocabSize: number;
  treatWhitespaceAsSuffix: boolean;
  byteFallback: boolean;
  unkId: number;
  bosId: number;
  eosId: number;
  padId: number;
  unkPiece: string;
  bosPiece: string;
  eosPiece: string;
  padPiece: string;
  /** What decode prints for an unknown piece (" ⁇ " by default). */
  unkSurface: string;
  splitDigits: boolean;
  userDefinedSymbols: string[];
  controlSymbols: string[];
}

export interface NormalizerSpec {
  name: string;
  /** Darts double-array trie plus replacement strings; empty when the rule is "identity". */
  precompiledCharsmap: Uint8Array;
  addDummyPrefix: boolean;
  removeExtraWhitespaces: boolean;
  escapeWhitespaces: boolean;
}

export interface ModelProto {
  pieces: SentencePiece[];
  trainerSpec: TrainerSpec;
  normalizerSpec: NormalizerSpec;
  denormalizerSpec: NormalizerSpec | null;
}

type FieldDef = { type: string; id: number; rule?: "repeated"; options?: { default: unknown } };

const f = (type: string, id: number, def?: unknown): FieldDef => (def === undefined ? { type, id } : { type, id, options: { default: def } });
const repeated = (type: string, id: number): FieldDef => ({ type, id, rule: "repeated" });

const SCHEMA = {
  nested: {
    sentencepiece: {
      nested: {
        TrainerSpec: {
          fields: {
            input: repeated("string", 1),
            inputFormat: f("string", 7),
            modelPrefix: f("string", 2),
            modelType: f("ModelType", 3, "UNIGRAM"),
            vocabSize: f("int32", 4, 8000),
            acceptLanguage: repeated("string", 5),
            selfTestSampleSize: f("int32", 6, 0),
            enableDifferentialPrivacy: f("bool", 50, false),
            differentialPrivacyNoiseLevel: f("float", 51, 0),
            differentialPrivacyClippingThreshold: f("uint64", 52, 0),
            characterCoverage: f("float", 10, 0.9995),
            inputSentenceSize: f("uint64", 11, 0),
            shuffleInputSentence: f("bool", 19, true),
            miningSentenceSize: f("int32", 12),
            trainingSentenceSize: f("int32", 13),
            seedSentencepieceSize: f("int32", 14, 1000000),
            shrinkingFactor: f("float", 15, 0.75),
            maxSentenceLength: f("int32", 18, 4192),
            numThreads: f("int32", 16, 16),
            numSubIterations: f("int32", 17, 2),
            maxSentencepieceLength: f("int32", 20, 16),
            splitByUnicodeScript: f("bool", 21, true),
            splitByNumber: f("bool", 23, true),
            splitByWhitespace: f("bool", 22, true),
            treatWhitespaceAsSuffix: f("bool", 24, false),
            allowWhitespaceOnlyPieces: f("bool", 26, false),
            splitDigits: f("bool", 25, false),
            pretokenizationDelimiter: f("string", 53, ""),
            controlSymbols: repeated("string", 30),
            userDefinedSymbols: repeated("string", 31),
            requiredChars: f("string", 36),
            byteFallback: f("bool", 35, false),
            vocabularyOutputPieceScore: f("bool", 32, true),
            hardVocabLimit: f("bool", 33, true),
            useAllVocab: f("bool", 34, false),
            unkId: f("int32", 40, 0),
            bosId: f("int32", 41, 1),
            eosId: f("int32", 42, 2),
            padId: f("int32", 43, -1),
            unkPiece: f("string", 45, "<unk>"),
            bosPiece: f("string", 46, "<s>"),
            eosPiece: f("string", 47, "</s>"),
            padPiece: f("string", 48, "<pad>"),
            unkSurface: f("string", 44, " \u2047 "),
            trainExtremelyLargeCorpus: f("bool", 49, false),
            seedSentencepiecesFile: f("string", 54, ""),
          },
          nested: { ModelType: { values: { UNIGRAM: 1, BPE: 2, WORD: 3, CHAR: 4 } } },
        },
        NormalizerSpec: {
          fields: {
            name: f("string", 1),
            precompiledCharsmap: f("bytes", 2),
            addDummyPrefix: f("bool", 3, true),
            removeExtraWhitespaces: f("bool", 4, true),
            escapeWhitespaces: f("bool", 5, true),
            normalizationRuleTsv: f("string", 6),
          },
        },
        SelfTestData: {
          fields: { samples: repeated("Sample", 1) },
          nested: { Sample: { fields: { input: f("string", 1), expected: f("string", 2) } } },
        },
        ModelProto: {
          fields: {
            pieces: repeated("SentencePiece", 1),
            trainerSpec: f("TrainerSpec", 2),
            normalizerSpec: f("NormalizerSpec", 3),
            selfTestData: f("SelfTestData", 4),
            denormalizerSpec: f("NormalizerSpec", 5),
          },
          nested: {
            SentencePiece: {
              fields: { piece: f("string", 1), score: f("float", 2), type: f("Type", 3, "NORMAL") },
              nested: { Type: { values: { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, BYTE: 6, UNUSED: 5 } } },
            },
          },
        },
      },
    },
  },
};

let modelType: protobuf.Type | null = null;

function modelProtoType(): protobuf.Type {
  modelType ??= protobuf.Root.fromJSON(SCHEMA).lookupType("sentencepiece.ModelProto");
  return modelType;
}

type Decoded = Record<string, unknown>;

/** An absent sub-message reads as all defaults, as in C++. */
function emptyMessage(name: string): Decoded {
  const t = modelProtoType().root.lookupType(name);
  return t.toObject(t.decode(new Uint8Array(0)), TO_OBJECT) as Decoded;
}

const TO_OBJECT: protobuf.IConversionOptions = { defaults: true, arrays: true, enums: String, longs: Number };

function normalizerSpec(o: Decoded | null | undefined): NormalizerSpec {
  const s = o ?? emptyMessage("sentencepiece.NormalizerSpec");
  return {
    name: String(s.name ?? ""),
    precompiledCharsmap: new Uint8Array((s.precompiledCharsmap as Uint8Array | undefined) ?? []),
    addDummyPrefix: s.addDummyPrefix !== false,
    removeExtraWhitespaces: s.removeExtraWhitespaces !== false,
    escapeWhitespaces: s.escapeWhitespaces !== false,
  };
}

/** Decodes a ModelProto; `source` (a file name) is named in the error when the bytes are not one. */
export function parseModelProto(bytes: Uint8Array, source = "SentencePiece model"): ModelProto {
  const type = modelProtoType();
  let obj: Decoded;
  try {
    obj = type.toObject(type.decode(bytes), TO_OBJECT) as Decoded;
  } catch (e) {
    throw new IOError(`${source}: not a SentencePiece ModelProto (${e instanceof Error ? e.message : String(e)})`);
  }
  const rawPieces = obj.pieces as Decoded[];
  if (rawPieces.length === 0) throw new IOError(`${source}: not a SentencePiece ModelProto (it has no pieces)`);
  const pieces = rawPieces.map((p): SentencePiece => ({
    piece: String(p.piece ?? ""),
    score: Number(p.score ?? 0),
    type: PieceType[p.type as keyof typeof PieceType] ?? PieceType.NORMAL,
  }));
  const t = (obj.trainerSpec as Decoded | null) ?? emptyMessage("sentencepiece.TrainerSpec");
  const trainerSpec: TrainerSpec = {
    modelType: t.modelType as TrainerSpec["modelType"],
    vocabSize: t.vocabSize as number,
    treatWhitespaceAsSuffix: t.treatWhitespaceAsSuffix as boolean,
    byteFallback: t.byteFallback as boolean,
    unkId: t.unkId as number,
    bosId: t.bosId as number,
    eosId: t.eosId as number,
    padId: t.padId as number,
    unkPiece: t.unkPiece as string,
    bosPiece: t.bosPiece as string,
    eosPiece: t.eosPiece as string,
    padPiece: t.padPiece as string,
    unkSurface: t.unkSurface as string,
    splitDigits: t.splitDigits as boolean,
    userDefinedSymbols: t.userDefinedSymbols as string[],
    controlSymbols: t.controlSymbols as string[],
  };
  return {
    pieces,
    trainerSpec,
    normalizerSpec: normalizerSpec(obj.normalizerSpec as Decoded | null),
    denormalizerSpec: obj.denormalizerSpec ? normalizerSpec(obj.denormalizerSpec as Decoded) : null,
  };
}

export interface ModelProtoInput {
  pieces: readonly SentencePiece[];
  trainerSpec?: Partial<TrainerSpec>;
  normalizerSpec?: Partial<NormalizerSpec>;
}

/** Serializes a model (e.g. one built in code); fields left out take proto2's defaults when read. */
export function encodeModelProto(model: ModelProtoInput): Uint8Array {
  const type = modelProtoType();
  const msg = type.fromObject({
    pieces: model.pieces.map((p) => ({ piece: p.piece, score: p.score, type: p.type })),
    trainerSpec: model.trainerSpec ?? {},
    normalizerSpec: model.normalizerSpec ?? {},
  });
  return type.encode(msg).finish();
}
