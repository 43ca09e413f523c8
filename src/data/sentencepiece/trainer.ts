/**
 * A small unigram vocabulary trainer that writes a SentencePiece ModelProto, for training T5s
 * from scratch on a corpus whose characters a given model lacks. It is a simplification of
 * SentencePiece's trainer: frequent substrings of whitespace-delimited words seed the vocabulary,
 * then a few rounds of hard EM (segment every word with Viterbi, re-estimate each piece's
 * log-probability from its use, keep the most used) shrink it to size. Every character of the
 * corpus stays a piece, so nothing is unknown in the training text.
 */
import { GradlabError } from "../../core/errors.js";
import { Normalizer, SPACE_SYMBOL } from "./normalizer.js";
import { type NormalizerSpec, PieceType, type SentencePiece, encodeModelProto } from "./proto.js";
import { UnigramModel } from "./unigram.js";

export interface UnigramTrainerOptions {
  /** Pieces in the model, including <pad>, </s> and <unk> (ids 0, 1, 2 as in T5). */
  vocabSize: number;
  /** Longest piece in characters (default 8). */
  maxPieceLength?: number;
  /** Keep digits as single-character pieces (SentencePiece's split_digits; default true). */
  splitDigits?: boolean;
  /** How text is normalised (e.g. another model's nmt_nfkc spec); default: no character map. */
  normalizerSpec?: NormalizerSpec;
  /** Hard-EM rounds (default 4). */
  iterations?: number;
}

const IDENTITY: NormalizerSpec = { name: "identity", precompiledCharsmap: new Uint8Array(0), addDummyPrefix: true, removeExtraWhitespaces: true, escapeWhitespaces: true };
const DIGIT = /\p{Nd}/u;

function wordCounts(texts: Iterable<string>, normalizer: Normalizer): Map<string, number> {
  const words = new Map<string, number>();
  for (const t of texts) {
    const norm = normalizer.normalize(t);
    for (const w of norm.split(SPACE_SYMBOL)) {
      if (w === "") continue;
      const key = SPACE_SYMBOL + w;
      words.set(key, (words.get(key) ?? 0) + 1);
    }
  }
  return words;
}

function modelOf(pieces: Map<string, number>): { list: SentencePiece[]; model: UnigramModel } {
  const total = [...pieces.values()].reduce((a, b) => a + b, 0);
  const list: SentencePiece[] = [
    { piece: "<pad>", score: 0, type: PieceType.CONTROL },
    { piece: "</s>", score: 0, type: PieceType.CONTROL },
    { piece: "<unk>", score: 0, type: PieceType.UNKNOWN },
  ];
  const sorted = [...pieces].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  for (const [piece, count] of sorted) list.push({ piece, score: Math.fround(Math.log(count / total)), type: PieceType.NORMAL });
  return { list, model: new UnigramModel(list, 2) };
}

/** Trains a vocabulary on `texts` and returns the bytes of a spiece.model. */
export function trainUnigramModel(texts: Iterable<string>, opts: UnigramTrainerOptions): Uint8Array {
  const { vocabSize, maxPieceLength = 8, splitDigits = true, iterations = 4 } = opts;
  if (!Number.isInteger(vocabSize) || vocabSize < 4) throw new GradlabError(`trainUnigramModel: vocabSize must be an integer >= 4, got ${vocabSize}`);
  const spec = opts.normalizerSpec ?? IDENTITY;
  const words = wordCounts(texts, new Normalizer(spec));
  if (words.size === 0) throw new GradlabError("trainUnigramModel: the texts are empty");
  // Seed: every character, plus substrings of words (a leading ▁ only at the start).
  const chars = new Map<string, number>();
  const subs = new Map<string, number>();
  for (const [w, n] of words) {
    const cs = Array.from(w);
    for (const c of cs) chars.set(c, (chars.get(c) ?? 0) + n);
    for (let i = 0; i < cs.length; i++) {
      for (let len = 2; len <= maxPieceLength && i + len <= cs.length; len++) {
        const piece = cs.slice(i, i + len);
        if (splitDigits && piece.some((c) => DIGIT.test(c))) break;
        const s = piece.join("");
        subs.set(s, (subs.get(s) ?? 0) + n);
      }
    }
  }
  const room = vocabSize - 3 - chars.size;
  if (room < 0) throw new GradlabError(`trainUnigramModel: the corpus has ${chars.size} distinct characters, more than vocabSize − 3 = ${vocabSize - 3}`);
  const seed = [...subs].filter(([, n]) => n > 1).sort((a, b) => b[1] * b[0].length - a[1] * a[0].length).slice(0, Math.max(room * 4, 64));
  let pieces = new Map<string, number>([...chars, ...seed]);
  const enc = new TextEncoder();
  const wordBytes = [...words].map(([w, n]) => [enc.encode(w), n] as const);
  for (let it = 0; it < iterations; it++) {
    const { list, model } = modelOf(pieces);
    const used = new Map<string, number>();
    for (const [bytes, n] of wordBytes) {
      for (const seg of model.encode(bytes)) {
        const p = list[seg.id].piece;
        used.set(p, (used.get(p) ?? 0) + n);
      }
    }
    // Characters always stay; other pieces compete for the remaining room by use.
    const multi = [...used].filter(([p]) => !chars.has(p)).sort((a, b) => b[1] - a[1]);
    const keepCount = it === iterations - 1 ? room : Math.max(room, Math.floor(multi.length * 0.75));
    pieces = new Map<string, number>();
    for (const c of chars.keys()) pieces.set(c, Math.max(1, used.get(c) ?? 0));
    for (const [p, n] of multi.slice(0, keepCount)) pieces.set(p, n);
  }
  const { list } = modelOf(pieces);
  return encodeModelProto({
    pieces: list,
    trainerSpec: { modelType: "UNIGRAM", vocabSize: list.length, unkId: 2, eosId: 1, padId: 0, bosId: -1, splitDigits, byteFallback: false },
    normalizerSpec: spec,
  });
}
