/**
 * The unigram language model's segmentation: the Viterbi path through every way of covering the
 * normalised bytes with vocabulary pieces, maximising the sum of piece log-probabilities. It
 * follows SentencePiece's optimised encoder (unigram_model.cc, EncodeOptimized) step for step,
 * including its float32 arithmetic, so ties break exactly as there: a character no piece covers
 * becomes <unk> with score min_score − 10, and user-defined symbols get a bonus that always wins.
 */
import { leadCharLength } from "./normalizer.js";
import { PieceType, type SentencePiece } from "./proto.js";

const UNK_PENALTY = 10;
// C++ FLT_MIN: max_score_ starts here (the smallest positive float), not at -FLT_MAX.
const FLT_MIN = 1.1754943508222875e-38;
const f32 = Math.fround;

interface TrieNode {
  next: Map<number, TrieNode>;
  id: number;
}

/** A piece found by encode: bytes [start, end) of the normalised input and its id. */
export interface Segment {
  start: number;
  end: number;
  id: number;
}

export class UnigramModel {
  private readonly root: TrieNode = { next: new Map(), id: -1 };
  private readonly scores: Float64Array;
  private readonly types: Uint8Array;
  private readonly unkId: number;
  readonly minScore: number;
  readonly maxScore: number;

  /** `pieces` indexed by id; NORMAL, USER_DEFINED and UNUSED pieces are matchable in text. */
  constructor(pieces: readonly SentencePiece[], unkId: number) {
    this.unkId = unkId;
    this.scores = Float64Array.from(pieces, (p) => p.score);
    this.types = Uint8Array.from(pieces, (p) => p.type);
    let min = 3.4028234663852886e38;
    let max = FLT_MIN;
    const enc = new TextEncoder();
    pieces.forEach((p, id) => {
      if (p.type === PieceType.NORMAL) {
        min = Math.min(min, p.score);
        max = Math.max(max, p.score);
      }
      if (p.type === PieceType.NORMAL || p.type === PieceType.USER_DEFINED || p.type === PieceType.UNUSED) {
        let node = this.root;
        for (const b of enc.encode(p.piece)) {
          let child = node.next.get(b);
          if (!child) node.next.set(b, (child = { next: new Map(), id: -1 }));
          node = child;
        }
        node.id = id;
      }
    });
    this.minScore = min;
    this.maxScore = max;
  }

  /** Id of a piece that is matchable in text, or -1. */
  lookup(piece: Uint8Array): number {
    let node: TrieNode | undefined = this.root;
    for (const b of piece) {
      node = node.next.get(b);
      if (!node) return -1;
    }
    return node.id;
  }

  encode(normalized: Uint8Array): Segment[] {
    const size = normalized.length;
    if (size === 0) return [];
    const unkScore = f32(this.minScore - UNK_PENALTY);
    // Best path ending at each byte position: its score (stored as float32), start and last id.
    const bestScore = new Float64Array(size + 1);
    const bestStart = new Int32Array(size + 1).fill(-1);
    const bestId = new Int32Array(size + 1).fill(-1);
    let start = 0;
    while (start < size) {
      const here = bestScore[start];
      const charLen = Math.min(leadCharLength(normalized[start]), size - start);
      let hasSingleNode = false;
      let node: TrieNode | undefined = this.root;
      for (let pos = start; pos < size; ) {
        node = node.next.get(normalized[pos++]);
        if (!node) break;
        const id = node.id;
        if (id < 0 || this.types[id] === PieceType.UNUSED) continue;
        const length = pos - start;
        // As in C++: the candidate is summed in double and compared unrounded, then stored as float.
        const score = this.types[id] === PieceType.USER_DEFINED ? f32(length * this.maxScore) - 0.1 : this.scores[id];
        const candidate = score + here;
        if (bestStart[pos] === -1 || candidate > bestScore[pos]) {
          bestScore[pos] = f32(candidate);
          bestStart[pos] = start;
          bestId[pos] = id;
        }
        if (!hasSingleNode && length === charLen) hasSingleNode = true;
      }
      if (!hasSingleNode) {
        const pos = start + charLen;
        // float + float in C++: rounded to float before the comparison.
        const candidate = f32(unkScore + here);
        if (bestStart[pos] === -1 || candidate > bestScore[pos]) {
          bestScore[pos] = candidate;
          bestStart[pos] = start;
          bestId[pos] = this.unkId;
        }
      }
      start += charLen;
    }
    const out: Segment[] = [];
    for (let end = size; end > 0; ) {
      const s = bestStart[end];
      out.push({ start: s, end, id: bestId[end] });
      end = s;
    }
    return out.reverse();
  }
}
