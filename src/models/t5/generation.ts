/**
 * generate() for T5 as transformers 5.x does it, with a key/value cache (the encoder runs once,
 * cross-attention keys/values are computed once, each step feeds only the newest token):
 * greedy decoding and sampling (transformers' _sample: finished rows continue with pad), and the
 * vectorised beam search (_beam_search: 2·numBeams candidates per step, finished hypotheses kept
 * apart with length-penalised scores, early-stopping heuristics, rows filled with eos, or with pad
 * when the pad id is not 0 — transformers' `pad_token_id or eos_token_id`). Beam bookkeeping is
 * done in float32, as in PyTorch, so that ties and near-ties resolve the same way.
 */
import { DeviceError, GradlabError, ShapeError, fmtShape } from "../../core/errors.js";
import { type Generator as Rng, defaultGenerator } from "../../core/rng.js";
import { Tensor } from "../../tensor/tensor.js";
import type { BlockCache } from "../../nn/t5/layers.js";
import type { T5ForConditionalGeneration } from "./model.js";
import { type Search as SearchOf, runSearch, runSearchAsync } from "../search.js";

export interface GenerateOptions {
  /** int32 [batch, length]; by default 1 wherever the input is not the pad id (as transformers infers it). */
  attentionMask?: Tensor | null;
  /** New tokens at most (default: 19, transformers' max_length of 20 with the start token). */
  maxNewTokens?: number;
  numBeams?: number;
  /** Beam scores are divided by length^lengthPenalty (default 1). */
  lengthPenalty?: number;
  /** true: stop a batch item when numBeams hypotheses are done; false: a heuristic; "never": the canonical test. */
  earlyStopping?: boolean | "never";
  doSample?: boolean;
  temperature?: number;
  /** Keep the k most likely tokens when sampling (default 50, as transformers). */
  topK?: number;
  /** Keep the smallest set of tokens whose probability reaches topP when sampling (default 1). */
  topP?: number;
  generator?: Rng;
  decoderStartTokenId?: number;
  eosTokenId?: number;
  padTokenId?: number;
}

const f32 = Math.fround;
const NEG = -1e9;

interface Resolved {
  maxLength: number;
  start: number;
  eos: number;
  pad: number;
}

type Logits = Float32Array | Float64Array;

/**
 * The decoding loops are generators (models/search.ts) that yield each step's logits tensor and
 * receive its values: generate() reads them synchronously (CPU), generateAsync() awaits them (any
 * device), and both run the same search.
 */
type Search = SearchOf<Tensor>;

/** Runs the decoder on one token per row; returns the last position's logits, [rows, vocab] flat. */
function* step(
  model: T5ForConditionalGeneration, tokens: Int32Array, enc: Tensor, encMask: Tensor | null, cache: BlockCache[] | null,
): SearchOf<{ logits: Logits; cache: BlockCache[] }> {
  const r = model.decode(new Tensor(tokens, [tokens.length, 1]), enc, { encoderAttentionMask: encMask, cache });
  const logits = (yield r.logits) as Logits;
  return { logits, cache: r.cache };
}

function reorderCache(cache: BlockCache[], rows: Int32Array): BlockCache[] {
  const idx = new Tensor(rows, [rows.length]);
  // Cross-attention keys/values are equal for every beam of a batch item, so only self-attention moves.
  return cache.map((c) => ({ self: c.self && { key: c.self.key.indexSelect(0, idx), value: c.self.value.indexSelect(0, idx) }, cross: c.cross }));
}

export function defaultAttentionMask(inputIds: Tensor, pad: number, eos: number): Tensor {
  const ids = inputIds.toArray();
  const infer = pad !== eos && ids.includes(pad);
  return new Tensor(Int32Array.from(ids, (v) => (infer && v === pad ? 0 : 1)), [...inputIds.shape]);
}

/** Temperature, top-k and top-p, in transformers' order, on one row of logits (in place). */
export function warpLogits(row: Float64Array, temperature: number, topK: number, topP: number): void {
  const V = row.length;
  if (temperature !== 1) for (let i = 0; i < V; i++) row[i] /= temperature;
  if (topK > 0 && topK < V) {
    const kth = Float64Array.from(row).sort((a, b) => b - a)[topK - 1];
    for (let i = 0; i < V; i++) if (row[i] < kth) row[i] = -Infinity;
  }
  if (topP < 1) {
    const order = Array.from({ length: V }, (_, i) => i).sort((a, b) => row[a] - row[b]);
    const m = row[order[V - 1]];
    let total = 0;
    for (const i of order) total += Math.exp(row[i] - m);
    let cum = 0;
    // Ascending: drop tokens while the mass below them is at most 1 − topP; the most likely stays.
    for (let j = 0; j < V - 1; j++) {
      cum += Math.exp(row[order[j]] - m) / total;
      if (cum <= 1 - topP) row[order[j]] = -Infinity;
    }
  }
}

/** A token drawn with probability softmax(row). */
export function sampleLogits(row: Float64Array, gen: Rng = defaultGenerator): number {
  let m = -Infinity;
  for (const v of row) m = Math.max(m, v);
  let total = 0;
  for (const v of row) total += Math.exp(v - m);
  let u = gen.random() * total;
  let last = 0;
  for (let i = 0; i < row.length; i++) {
    const p = Math.exp(row[i] - m);
    if (p > 0) last = i;
    u -= p;
    if (u < 0 && p > 0) return i;
  }
  return last;
}

function argmaxRow(logits: Float32Array | Float64Array, at: number, V: number): number {
  let best = 0;
  for (let v = 1; v < V; v++) if (logits[at + v] > logits[at + best]) best = v;
  return best;
}

function* greedyOrSample(model: T5ForConditionalGeneration, enc: Tensor, mask: Tensor | null, r: Resolved, opts: GenerateOptions): Search {
  const B = enc.shape[0];
  const V = model.config.vocabSize;
  const gen = opts.generator ?? defaultGenerator;
  const { temperature = 1, topK = 50, topP = 1 } = opts;
  const seqs: number[][] = Array.from({ length: B }, () => [r.start]);
  const unfinished = new Uint8Array(B).fill(1);
  let tokens = new Int32Array(B).fill(r.start);
  let cache: BlockCache[] | null = null;
  while (seqs[0].length < r.maxLength) {
    const s: { logits: Logits; cache: BlockCache[] } = yield* step(model, tokens, enc, mask, cache);
    cache = s.cache;
    tokens = new Int32Array(B);
    for (let b = 0; b < B; b++) {
      let next: number;
      if (opts.doSample) {
        const row = Float64Array.from(s.logits.subarray(b * V, (b + 1) * V));
        warpLogits(row, temperature, topK, topP);
        next = sampleLogits(row, gen);
      } else {
        next = argmaxRow(s.logits, b * V, V);
      }
      if (!unfinished[b]) next = r.pad;
      if (next === r.eos) unfinished[b] = 0;
      seqs[b].push(next);
      tokens[b] = next;
    }
    if (!unfinished.includes(1)) break;
  }
  return new Tensor(Int32Array.from(seqs.flat()), [B, seqs[0].length]);
}

/** Indices of the k largest values (descending; ties keep the lower index first). */
function topk(values: Float32Array, k: number): Int32Array {
  const idx = Array.from({ length: values.length }, (_, i) => i);
  idx.sort((a, b) => values[b] - values[a] || a - b);
  return Int32Array.from(idx.slice(0, k));
}

function* beamSearch(model: T5ForConditionalGeneration, enc0: Tensor, mask0: Tensor | null, r: Resolved, opts: GenerateOptions): Search {
  const K = opts.numBeams ?? 1;
  const lp = opts.lengthPenalty ?? 1;
  const early = opts.earlyStopping ?? false;
  const B = enc0.shape[0];
  const V = model.config.vocabSize;
  const L = r.maxLength;
  const G = L - 1;
  const keep = 2 * K;
  const expand = new Tensor(Int32Array.from({ length: B * K }, (_, i) => Math.floor(i / K)), [B * K]);
  const enc = enc0.indexSelect(0, expand);
  const mask = mask0 ? mask0.indexSelect(0, expand) : null;
  const fill = r.pad !== 0 ? r.pad : r.eos;
  const runSeq = new Int32Array(B * K * L).fill(fill);
  for (let i = 0; i < B * K; i++) runSeq[i * L] = r.start;
  const runScore = new Float32Array(B * K);
  for (let b = 0; b < B; b++) for (let k = 1; k < K; k++) runScore[b * K + k] = NEG;
  const runIdx = new Int32Array(B * K * G).fill(-1);
  const seq = runSeq.slice();
  const score = new Float32Array(B * K).fill(NEG);
  const seqIdx = runIdx.slice();
  const finished = new Uint8Array(B * K);
  const unsatisfied = new Uint8Array(B).fill(1);
  let cache: BlockCache[] | null = null;
  let cur = 1;
  for (;;) {
    const tokens = Int32Array.from({ length: B * K }, (_, i) => runSeq[i * L + cur - 1]);
    const s: { logits: Logits; cache: BlockCache[] } = yield* step(model, tokens, enc, mask, cache);
    const logp = logSoftmaxRows(s.logits, B * K, V);
    let allHit = true;
    for (let b = 0; b < B; b++) {
      const acc = new Float32Array(K * V);
      for (let k = 0; k < K; k++) {
        const sc = runScore[b * K + k];
        for (let v = 0; v < V; v++) acc[k * V + v] = logp[(b * K + k) * V + v] + sc;
      }
      const top = topk(acc, keep);
      const cSeq = new Int32Array(keep * L);
      const cIdx = new Int32Array(keep * G);
      const cScore = new Float32Array(keep);
      const hits = new Uint8Array(keep);
      top.forEach((flat, j) => {
        const beam = Math.floor(flat / V);
        const tok = flat % V;
        cSeq.set(runSeq.subarray((b * K + beam) * L, (b * K + beam + 1) * L), j * L);
        cSeq[j * L + cur] = tok;
        cIdx.set(runIdx.subarray((b * K + beam) * G, (b * K + beam + 1) * G), j * G);
        cIdx[j * G + cur - 1] = b * K + beam;
        cScore[j] = acc[flat];
        hits[j] = tok === r.eos || cur + 1 >= L ? 1 : 0;
        if (!hits[j]) allHit = false;
      });
      // Beams that go on: the best candidates that did not just stop.
      const going = Float32Array.from(cScore, (v, j) => (hits[j] ? f32(v + NEG) : v));
      topk(going, K).forEach((j, k) => {
        runSeq.set(cSeq.subarray(j * L, (j + 1) * L), (b * K + k) * L);
        runIdx.set(cIdx.subarray(j * G, (j + 1) * G), (b * K + k) * G);
        runScore[b * K + k] = going[j];
      });
      // Finished hypotheses: the old ones and those of the top K candidates that just stopped.
      const penalty = f32((cur + 1 - 1) ** lp);
      let full = true;
      for (let k = 0; k < K; k++) if (!finished[b * K + k]) full = false;
      const merged = new Float32Array(K + keep);
      const did = new Uint8Array(keep);
      for (let k = 0; k < K; k++) merged[k] = score[b * K + k];
      for (let j = 0; j < keep; j++) {
        let v = f32(cScore[j] / penalty);
        if (full && early === true) v = f32(v + NEG);
        if (!unsatisfied[b]) v = f32(v + NEG);
        did[j] = hits[j] && j < K ? 1 : 0;
        if (!did[j]) v = f32(v + NEG);
        merged[K + j] = v;
      }
      const oldSeq = seq.slice(b * K * L, (b + 1) * K * L);
      const oldIdx = seqIdx.slice(b * K * G, (b + 1) * K * G);
      const oldFin = finished.slice(b * K, (b + 1) * K);
      topk(merged, K).forEach((m, k) => {
        const dst = b * K + k;
        if (m < K) {
          seq.set(oldSeq.subarray(m * L, (m + 1) * L), dst * L);
          seqIdx.set(oldIdx.subarray(m * G, (m + 1) * G), dst * G);
          finished[dst] = oldFin[m];
        } else {
          const j = m - K;
          seq.set(cSeq.subarray(j * L, (j + 1) * L), dst * L);
          seqIdx.set(cIdx.subarray(j * G, (j + 1) * G), dst * G);
          finished[dst] = did[j];
        }
        score[dst] = merged[m];
      });
    }
    cache = reorderCache(s.cache, Int32Array.from({ length: B * K }, (_, i) => runIdx[i * G + cur - 1]));
    cur += 1;
    for (let b = 0; b < B; b++) {
      const bestLen = early === "never" && lp > 0 ? L - 1 : cur - 1;
      const best = f32(runScore[b * K] / f32(bestLen ** lp));
      let worst = Infinity;
      for (let k = 0; k < K; k++) worst = Math.min(worst, score[b * K + k]);
      let any = false;
      for (let k = 0; k < K; k++) if (best > (finished[b * K + k] ? worst : NEG)) any = true;
      if (!any) unsatisfied[b] = 0;
    }
    const improvement = unsatisfied.includes(1);
    const openBeam = !(early === true && !finished.includes(0));
    if (!(improvement && openBeam && !allHit)) break;
  }
  let gen = 0;
  for (let b = 0; b < B; b++) {
    let n = 0;
    for (let c = 0; c < G; c++) if (seqIdx[b * K * G + c] !== -1) n++;
    gen = Math.max(gen, n);
  }
  const out = new Int32Array(B * (1 + gen));
  for (let b = 0; b < B; b++) out.set(seq.subarray(b * K * L, b * K * L + 1 + gen), b * (1 + gen));
  return new Tensor(out, [B, 1 + gen]);
}

/** log_softmax over rows in float32 (PyTorch's order: x − max − log Σ exp(x − max)). */
function logSoftmaxRows(logits: Float32Array | Float64Array, rows: number, V: number): Float32Array {
  const out = new Float32Array(rows * V);
  for (let r = 0; r < rows; r++) {
    const at = r * V;
    let m = -Infinity;
    for (let v = 0; v < V; v++) m = Math.max(m, logits[at + v]);
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(f32(logits[at + v] - m));
    const lse = f32(Math.log(f32(sum)));
    for (let v = 0; v < V; v++) out[at + v] = f32(f32(logits[at + v] - m) - lse);
  }
  return out;
}

function checkCount(what: string, v: unknown, min: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min) throw new GradlabError(`generate: ${what} must be an integer >= ${min}, got ${String(v)}`);
  return v;
}

/** Checks the options and starts the search (the encoder runs here, without gradients). */
function search(model: T5ForConditionalGeneration, inputIds: Tensor, opts: GenerateOptions): Search {
  if (!(inputIds instanceof Tensor) || inputIds.dtype !== "int32" || inputIds.ndim !== 2) {
    throw new ShapeError(`generate: inputIds must be an int32 tensor [batch, length], got ${inputIds instanceof Tensor ? `${inputIds.dtype} ${fmtShape(inputIds.shape)}` : typeof inputIds}`);
  }
  const cfg = model.config;
  const r: Resolved = {
    maxLength: 1 + checkCount("maxNewTokens", opts.maxNewTokens ?? 19, 1),
    start: opts.decoderStartTokenId ?? cfg.decoderStartTokenId,
    eos: opts.eosTokenId ?? cfg.eosTokenId,
    pad: opts.padTokenId ?? cfg.padTokenId,
  };
  const numBeams = checkCount("numBeams", opts.numBeams ?? 1, 1);
  if (opts.temperature !== undefined && !(opts.temperature > 0)) throw new GradlabError(`generate: temperature must be > 0, got ${opts.temperature}`);
  if (opts.topK !== undefined) checkCount("topK", opts.topK, 0);
  if (opts.topP !== undefined && !(opts.topP > 0 && opts.topP <= 1)) throw new GradlabError(`generate: topP must be in (0, 1], got ${opts.topP}`);
  if (opts.lengthPenalty !== undefined && !Number.isFinite(opts.lengthPenalty)) throw new GradlabError(`generate: lengthPenalty must be a finite number, got ${opts.lengthPenalty}`);
  if (numBeams > 1 && opts.doSample) throw new GradlabError("generate: beam sampling (doSample with numBeams > 1) is not supported; use one or the other");
  const mask = opts.attentionMask ?? defaultAttentionMask(inputIds, r.pad, r.eos);
  if (mask.shape.join() !== inputIds.shape.join()) throw new ShapeError(`generate: attentionMask ${fmtShape(mask.shape)} must match inputIds ${fmtShape(inputIds.shape)}`);
  const enc = model.encode(inputIds, mask).lastHiddenState;
  return numBeams > 1 ? beamSearch(model, enc, mask, r, { ...opts, numBeams }) : greedyOrSample(model, enc, mask, r, opts);
}

export function generate(model: T5ForConditionalGeneration, inputIds: Tensor, opts: GenerateOptions = {}): Tensor {
  const dev = model.shared.weight.device;
  if (dev !== "cpu") {
    throw new DeviceError(`generate: the model is on ${dev}, where each step's logits come back asynchronously; use \`await generateAsync(model, inputIds, opts)\``);
  }
  return runSearch(model, () => search(model, inputIds, opts));
}

/** generate() for a model on any device: each step's logits are awaited (one read per step). */
export function generateAsync(model: T5ForConditionalGeneration, inputIds: Tensor, opts: GenerateOptions = {}): Promise<Tensor> {
  return runSearchAsync(model, () => search(model, inputIds, opts));
}
