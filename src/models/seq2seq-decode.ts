import { GradlabError } from "../core/errors.js";
import { seq2seqBatch } from "../data/batching.js";
import { Tensor } from "../tensor/tensor.js";
import { cat } from "../tensor/primitives/movement.js";
import { type DecoderState, type EncodedSource, type Seq2Seq, selectEncoded, selectState } from "./seq2seq.js";
import { type Search, inference, runSearch, runSearchAsync } from "./search.js";

function checkMaxLength(op: string, n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new GradlabError(`${op}: maxLength must be an integer ≥ 1, got ${n}`);
}

/** Greedy decoding: each step takes the most likely token, until eos or maxLength. Returns each sequence's tokens without eos. */
export function greedyDecode(model: Seq2Seq, src: Tensor, srcLengths: ArrayLike<number> | null, opts: { maxLength: number }): Int32Array[] {
  checkMaxLength("greedyDecode", opts.maxLength);
  return runSearch(model, () => greedy(model, src, srcLengths, opts));
}

/** greedyDecode for a model on any device: each step's tokens are awaited. */
export function greedyDecodeAsync(model: Seq2Seq, src: Tensor, srcLengths: ArrayLike<number> | null, opts: { maxLength: number }): Promise<Int32Array[]> {
  checkMaxLength("greedyDecodeAsync", opts.maxLength);
  return runSearchAsync(model, () => greedy(model, src, srcLengths, opts));
}

function* greedy(model: Seq2Seq, src: Tensor, srcLengths: ArrayLike<number> | null, opts: { maxLength: number }): Search<Int32Array[]> {
  const { bos, eos } = model.config.special;
  {
    const enc = model.encode(src, srcLengths);
    const B = src.shape[1];
    const out: number[][] = Array.from({ length: B }, () => []);
    const done = new Uint8Array(B);
    let prev = new Tensor(new Int32Array(B).fill(bos), [B]);
    let state = enc.init;
    for (let t = 0; t < opts.maxLength && done.some((d) => !d); t++) {
      const r = model.step(prev, state, enc);
      const next = (yield r.logits.argmax(1)) as Int32Array;
      for (let b = 0; b < B; b++) {
        if (done[b]) continue;
        if (next[b] === eos) done[b] = 1;
        else out[b].push(next[b]);
      }
      prev = new Tensor(Int32Array.from(next), [B]);
      state = r.state;
    }
    return out.map((o) => Int32Array.from(o));
  }
}

export interface Hypothesis {
  /** Generated tokens without eos. */
  tokens: Int32Array;
  /** Sum of the log-probabilities of the tokens (and of eos, when it ended with one). */
  logProb: number;
  /** logProb / length^lengthPenalty, length counting eos: what the beams are ranked by. */
  score: number;
  finished: boolean;
}

export interface BeamOptions {
  beamSize: number;
  maxLength: number;
  /** Exponent of the length normalisation (0: raw log-probability; default 1). */
  lengthPenalty?: number;
}

interface Beam {
  tokens: number[];
  logProb: number;
}

function catStates(states: DecoderState[]): DecoderState {
  const join = (ts: Tensor[]) => (ts.length === 1 ? ts[0] : cat(ts, 0));
  return {
    h: states[0].h.map((_, l) => join(states.map((s) => s.h[l]))),
    c: states[0].c ? states[0].c.map((_, l) => join(states.map((s) => s.c![l]))) : null,
    feed: states[0].feed ? join(states.map((s) => s.feed!)) : null,
  };
}

/**
 * Beam search, one source sequence at a time: keeps the beamSize best partial hypotheses by
 * log-probability; a hypothesis that emits eos among the top beamSize candidates is finished. It
 * stops when beamSize hypotheses have finished and none still open can score better (or at
 * maxLength, when open ones count too). Returns each sequence's best hypothesis by score.
 */
export function beamSearch(model: Seq2Seq, src: Tensor, srcLengths: ArrayLike<number> | null, opts: BeamOptions): Hypothesis[] {
  checkBeam("beamSearch", opts);
  return runSearch(model, () => beamLoop(model, src, srcLengths, opts));
}

/** beamSearch for a model on any device: each step's log-probabilities are awaited. */
export function beamSearchAsync(model: Seq2Seq, src: Tensor, srcLengths: ArrayLike<number> | null, opts: BeamOptions): Promise<Hypothesis[]> {
  checkBeam("beamSearchAsync", opts);
  return runSearchAsync(model, () => beamLoop(model, src, srcLengths, opts));
}

function checkBeam(op: string, opts: BeamOptions): void {
  const k = opts.beamSize;
  if (!Number.isInteger(k) || k < 1) throw new GradlabError(`${op}: beamSize must be an integer ≥ 1, got ${k}`);
  checkMaxLength(op, opts.maxLength);
}

function* beamLoop(model: Seq2Seq, src: Tensor, srcLengths: ArrayLike<number> | null, opts: BeamOptions): Search<Hypothesis[]> {
  const k = opts.beamSize;
  const alpha = opts.lengthPenalty ?? 1;
  const { bos, eos } = model.config.special;
  const scoreOf = (logProb: number, len: number) => (alpha === 0 ? logProb : logProb / len ** alpha);
  {
    const encAll = model.encode(src, srcLengths);
    const B = src.shape[1];
    const results: Hypothesis[] = [];
    for (let b = 0; b < B; b++) {
      const one = selectEncoded(encAll, new Tensor(Int32Array.of(b), [1]));
      const replicated = new Map<number, EncodedSource>();
      const encFor = (n: number) => {
        if (!replicated.has(n)) replicated.set(n, selectEncoded(one, new Tensor(new Int32Array(n), [n])));
        return replicated.get(n)!;
      };
      let beams: Beam[] = [{ tokens: [], logProb: 0 }];
      let state: DecoderState = one.init;
      const finished: Hypothesis[] = [];
      for (let t = 0; t < opts.maxLength && beams.length > 0; t++) {
        const n = beams.length;
        const prev = new Tensor(Int32Array.from(beams, (bm) => (bm.tokens.length ? bm.tokens[bm.tokens.length - 1] : bos)), [n]);
        const r = model.step(prev, state, encFor(n));
        const lp = yield r.logits.logSoftmax(1);
        const V = r.logits.shape[1];
        const cands: { i: number; v: number; logProb: number }[] = [];
        for (let i = 0; i < n; i++) for (let v = 0; v < V; v++) cands.push({ i, v, logProb: beams[i].logProb + lp[i * V + v] });
        cands.sort((x, y) => y.logProb - x.logProb);
        const next: Beam[] = [];
        const from: number[] = [];
        for (let rank = 0; rank < cands.length && next.length < k; rank++) {
          const c = cands[rank];
          const tokens = beams[c.i].tokens;
          if (c.v === eos) {
            if (rank < k) finished.push({ tokens: Int32Array.from(tokens), logProb: c.logProb, score: scoreOf(c.logProb, tokens.length + 1), finished: true });
            continue;
          }
          next.push({ tokens: [...tokens, c.v], logProb: c.logProb });
          from.push(c.i);
        }
        beams = next;
        if (beams.length === 0) break;
        state = selectState(r.state, new Tensor(Int32Array.from(from), [from.length]));
        if (finished.length >= k) {
          const best = Math.max(...finished.map((h) => h.score));
          const open = Math.max(...beams.map((bm) => scoreOf(bm.logProb, bm.tokens.length + 1)));
          if (best >= open) break;
        }
      }
      if (finished.length < k) {
        for (const bm of beams) finished.push({ tokens: Int32Array.from(bm.tokens), logProb: bm.logProb, score: scoreOf(bm.logProb, bm.tokens.length), finished: false });
      }
      results.push(finished.reduce((x, y) => (y.score > x.score ? y : x)));
    }
    return results;
  }
}

/** Log-probability of each target (tokens then eos) given its source, by teacher forcing. */
export function sequenceLogProbs(model: Seq2Seq, pairs: readonly { src: ArrayLike<number>; tgt: ArrayLike<number> }[]): number[] {
  return inference(model, () => {
    const batch = seq2seqBatch(pairs, model.config.special);
    const { logits } = model.forward(batch.src, batch.srcLengths, batch.tgtIn);
    const [T, B, V] = logits.shape;
    const lp = logits.logSoftmax(2).toArray();
    const tgt = batch.tgtOut.toArray();
    return Array.from({ length: B }, (_, b) => {
      let s = 0;
      for (let t = 0; t < batch.tgtLengths[b]; t++) s += lp[(t * B + b) * V + tgt[t * B + b]];
      void T;
      return s;
    });
  });
}

/** Fraction of sequences decoded exactly right (greedy), and of target tokens right in place. */
export function seq2seqAccuracy(
  model: Seq2Seq, pairs: readonly { src: ArrayLike<number>; tgt: ArrayLike<number> }[], opts: { batchSize?: number; maxLength?: number } = {},
): { exact: number; token: number } {
  const bs = opts.batchSize ?? 64;
  let exact = 0;
  let right = 0;
  let total = 0;
  for (let s = 0; s < pairs.length; s += bs) {
    const chunk = pairs.slice(s, s + bs);
    const batch = seq2seqBatch(chunk, model.config.special);
    const maxLength = opts.maxLength ?? Math.max(...chunk.map((p) => p.tgt.length)) + 2;
    const out = greedyDecode(model, batch.src, batch.srcLengths, { maxLength });
    chunk.forEach((p, i) => {
      const o = out[i];
      if (o.length === p.tgt.length && o.every((v, j) => v === p.tgt[j])) exact++;
      for (let j = 0; j < p.tgt.length; j++) if (o[j] === p.tgt[j]) right++;
      total += p.tgt.length;
    });
  }
  return { exact: exact / pairs.length, token: total ? right / total : 0 };
}
