import { DeviceError, GradlabError, ShapeError, fmtShape } from "../core/errors.js";
import { type Generator, defaultGenerator } from "../core/rng.js";
import { DEFAULT_SPECIAL, type Seq2SeqBatch, type SpecialTokens } from "../data/batching.js";
import { Embedding } from "../nn/embedding.js";
import { Linear } from "../nn/linear.js";
import { ModuleList } from "../nn/container.js";
import { Module } from "../nn/module.js";
import { GRUCell, LSTMCell } from "../nn/recurrent/cells.js";
import { GRU, LSTM } from "../nn/recurrent/layers.js";
import { dropout } from "../tensor/ops/functional.js";
import { crossEntropy } from "../tensor/ops/loss.js";
import { stack } from "../tensor/ops/shape.js";
import { indexSelect } from "../tensor/primitives/indexing.js";
import { cat } from "../tensor/primitives/movement.js";
import { Tensor } from "../tensor/tensor.js";
import { AdditiveAttention, type Attention, MultiplicativeAttention, attend, paddingMask } from "./attention.js";

export interface Seq2SeqOptions {
  srcVocab: number;
  tgtVocab: number;
  embeddingDim: number;
  hiddenSize: number;
  encoderLayers?: number;
  decoderLayers?: number;
  /** Bidirectional encoder (default true). */
  bidirectional?: boolean;
  cell?: "lstm" | "gru";
  /** "bahdanau" (additive, attends before the step), "luong" / "dot" (multiplicative, after the step, with input feeding), or "none". */
  attention?: "bahdanau" | "luong" | "dot" | "none";
  /** Width of the additive attention's hidden layer (default hiddenSize). */
  attentionSize?: number;
  /** Dropout on embeddings and decoder outputs (training only). */
  dropout?: number;
  special?: SpecialTokens;
  dtype?: "float32" | "float64";
  generator?: Generator;
}

/** The decoder's state between steps: h (and c) per layer, and Luong's attentional vector fed to the next step. */
export interface DecoderState {
  h: Tensor[];
  c: Tensor[] | null;
  feed: Tensor | null;
}

/** An encoded source batch: what every decoder step reads. */
export interface EncodedSource {
  /** [B, S, K] encoder outputs (zero past each length), the attention's keys and values. */
  keys: Tensor;
  /** The attention's projection of the keys (null without attention). */
  prepared: Tensor | null;
  /** [B, S], 1 at padding; null when no sequence is padded. */
  padMask: Tensor | null;
  init: DecoderState;
}

export interface StepResult {
  /** [B, V] next-token logits. */
  logits: Tensor;
  state: DecoderState;
  /** [B, S] attention weights of this step (null without attention). */
  weights: Tensor | null;
}

/**
 * Encoder–decoder with attention (Bahdanau et al. 2015; Luong et al. 2015). A stacked,
 * by default bidirectional LSTM/GRU reads the source (packed by length); a bridge maps the top
 * layer's final states to the decoder's initial state; the decoder, a stack of cells, emits one
 * token per step, attending over the encoder outputs with padding masked out.
 * - bahdanau: context from the previous top state, input [emb(y_{t−1}); context], output
 *   tanh(W_o [s_t; context]);
 * - luong / dot: step first with input [emb(y_{t−1}); h̃_{t−1}] (input feeding), then attend
 *   with s_t, h̃_t = tanh(W_c [context; s_t]);
 * - none: the classic fixed-vector encoder–decoder (Sutskever et al. 2014), for comparison.
 * Sequences are time-major: src [S, B], targets [T, B] (see data.seq2seqBatch).
 */
export class Seq2Seq extends Module {
  readonly config: Required<Omit<Seq2SeqOptions, "generator" | "dtype">>;
  srcEmbedding: Embedding;
  encoder: LSTM | GRU;
  bridgeH: Linear;
  bridgeC: Linear | null;
  tgtEmbedding: Embedding;
  decoder: ModuleList;
  attention: Attention | null;
  combine: Linear | null;
  out: Linear;
  private readonly gen: Generator;

  constructor(o: Seq2SeqOptions) {
    super();
    const H = o.hiddenSize;
    const cell = o.cell ?? "lstm";
    const kind = o.attention ?? "bahdanau";
    if (cell !== "lstm" && cell !== "gru") throw new GradlabError(`Seq2Seq: cell must be "lstm" or "gru", got ${JSON.stringify(cell)}`);
    if (!["bahdanau", "luong", "dot", "none"].includes(kind)) {
      throw new GradlabError(`Seq2Seq: attention must be "bahdanau", "luong", "dot" or "none", got ${JSON.stringify(kind)}`);
    }
    this.config = {
      srcVocab: o.srcVocab, tgtVocab: o.tgtVocab, embeddingDim: o.embeddingDim, hiddenSize: H,
      encoderLayers: o.encoderLayers ?? 1, decoderLayers: o.decoderLayers ?? 1, bidirectional: o.bidirectional ?? true,
      cell, attention: kind, attentionSize: o.attentionSize ?? H, dropout: o.dropout ?? 0, special: o.special ?? DEFAULT_SPECIAL,
    };
    const c = this.config;
    const g = o.generator ?? defaultGenerator;
    this.gen = g;
    const p = { dtype: o.dtype ?? "float32", generator: g } as const;
    this.srcEmbedding = new Embedding(c.srcVocab, c.embeddingDim, { paddingIdx: c.special.pad, ...p });
    const rnn = { inputSize: c.embeddingDim, hiddenSize: H, numLayers: c.encoderLayers, bidirectional: c.bidirectional, ...p };
    this.encoder = cell === "lstm" ? new LSTM(rnn) : new GRU(rnn);
    const K = (c.bidirectional ? 2 : 1) * H;
    if (kind === "dot" && K !== H) {
      throw new GradlabError(`Seq2Seq: "dot" attention needs the decoder's size (${H}) to equal the encoder outputs' (${K}, bidirectional); use "luong" or bidirectional: false`);
    }
    this.bridgeH = new Linear(K, H, p);
    this.bridgeC = cell === "lstm" ? new Linear(K, H, p) : null;
    this.tgtEmbedding = new Embedding(c.tgtVocab, c.embeddingDim, { paddingIdx: c.special.pad, ...p });
    const extra = kind === "none" ? 0 : kind === "bahdanau" ? K : H;
    const cells = Array.from({ length: c.decoderLayers }, (_, l) => {
      const inSize = l === 0 ? c.embeddingDim + extra : H;
      return cell === "lstm" ? new LSTMCell(inSize, H, p) : new GRUCell(inSize, H, p);
    });
    this.decoder = new ModuleList(cells);
    this.attention =
      kind === "none" ? null : kind === "bahdanau" ? new AdditiveAttention(H, K, c.attentionSize, p) : new MultiplicativeAttention(H, K, { kind, ...p });
    this.combine = kind === "none" ? null : new Linear(K + H, H, { bias: false, ...p });
    this.out = new Linear(H, c.tgtVocab, p);
  }

  private checkIds(op: string, what: string, ids: Tensor, vocab: number): void {
    if (!(ids instanceof Tensor) || ids.dtype !== "int32" || ids.ndim !== 2) {
      const got = ids instanceof Tensor ? `${ids.dtype} ${fmtShape(ids.shape)}` : typeof ids;
      throw new ShapeError(`${op}: ${what} must be int32 ids [T, B], got ${got}`);
    }
    const v = ids.toArray();
    for (let i = 0; i < v.length; i++) {
      if (v[i] < 0 || v[i] >= vocab) throw new GradlabError(`${op}: ${what} holds id ${v[i]}, outside the vocabulary of ${vocab}`);
    }
  }

  /** Reads src [S, B] (lengths: each sequence's valid steps, default all) into what the decoder attends to. */
  encode(src: Tensor, srcLengths?: ArrayLike<number> | null): EncodedSource {
    this.checkIds("Seq2Seq.encode", "src", src, this.config.srcVocab);
    const [S, B] = src.shape;
    const lengths = srcLengths ? Int32Array.from(srcLengths) : new Int32Array(B).fill(S);
    if (lengths.length !== B) throw new ShapeError(`Seq2Seq.encode: ${lengths.length} lengths for a batch of ${B} (src ${fmtShape(src.shape)})`);
    const x = this.drop(this.srcEmbedding.forward(src));
    const [outs, state] = this.encoder instanceof LSTM ? this.encoder.forward(x, null, { lengths }) : this.encoder.forward(x, null, { lengths });
    const hN = Array.isArray(state) ? state[0] : state;
    const cN = Array.isArray(state) ? state[1] : null;
    const D = this.config.bidirectional ? 2 : 1;
    const top = (s: Tensor) => {
      const last = (this.config.encoderLayers - 1) * D;
      return D === 2 ? cat([s.select(0, last), s.select(0, last + 1)], 1) : s.select(0, last);
    };
    const L = this.config.decoderLayers;
    const h0 = this.bridgeH.forward(top(hN)).tanh();
    const c0 = this.bridgeC && cN ? this.bridgeC.forward(top(cN)) : null;
    const keys = outs.transpose(0, 1).contiguous();
    const init: DecoderState = {
      h: Array.from({ length: L }, () => h0),
      c: c0 ? Array.from({ length: L }, () => c0) : null,
      feed: this.config.attention === "luong" || this.config.attention === "dot" ? h0.mul(0) : null,
    };
    // The padding mask is built on the host from the lengths; it joins the keys on their device.
    const mask = paddingMask(lengths, S, keys.dtype);
    const padMask = mask?.toDevice(keys.device) ?? null;
    return { keys, prepared: this.attention ? this.attention.prepare(keys) : null, padMask, init };
  }

  private drop(x: Tensor): Tensor {
    return this.training && this.config.dropout > 0 ? dropout(x, this.config.dropout, true, this.gen) : x;
  }

  /** One decoder step from the previous tokens [B] int32. */
  step(prev: Tensor, state: DecoderState, enc: EncodedSource): StepResult {
    const kind = this.config.attention;
    const emb = this.drop(this.tgtEmbedding.forward(prev));
    let weights: Tensor | null = null;
    let input = emb;
    let context: Tensor | null = null;
    if (kind === "bahdanau") {
      const a = attend(this.attention!.scores(state.h[state.h.length - 1], enc.prepared!), enc.keys, enc.padMask);
      context = a.context;
      weights = a.weights;
      input = cat([emb, context], 1);
    } else if (state.feed) {
      input = cat([emb, state.feed], 1);
    }
    const h: Tensor[] = [];
    const c: Tensor[] | null = state.c ? [] : null;
    let l = 0;
    for (const cell of this.decoder) {
      if (cell instanceof LSTMCell) {
        const [hl, cl] = cell.forward(input, [state.h[l], state.c![l]]);
        h.push(hl);
        c!.push(cl);
      } else {
        h.push((cell as GRUCell).forward(input, state.h[l]));
      }
      input = h[l++];
    }
    const top = h[h.length - 1];
    let outVec = top;
    let feed: Tensor | null = null;
    if (kind === "bahdanau") {
      outVec = this.combine!.forward(cat([top, context!], 1)).tanh();
    } else if (kind !== "none") {
      const a = attend(this.attention!.scores(top, enc.prepared!), enc.keys, enc.padMask);
      weights = a.weights;
      outVec = this.combine!.forward(cat([a.context, top], 1)).tanh();
      feed = outVec;
    }
    return { logits: this.out.forward(this.drop(outVec)), state: { h, c, feed }, weights };
  }

  /**
   * Teacher-forced decoding of tgtIn [T, B] (bos, then the target): logits [T, B, V] and the
   * attention weights [T, B, S]. With teacherForcing < 1, each step instead feeds the model's own
   * previous prediction with probability 1 − teacherForcing (scheduled sampling).
   */
  override forward(src: Tensor, srcLengths: ArrayLike<number> | null, tgtIn: Tensor, opts: { teacherForcing?: number } = {}): { logits: Tensor; attention: Tensor | null } {
    this.checkIds("Seq2Seq.forward", "src", src, this.config.srcVocab);
    this.checkIds("Seq2Seq.forward", "tgtIn", tgtIn, this.config.tgtVocab);
    if (tgtIn.shape[1] !== src.shape[1]) {
      throw new ShapeError(`Seq2Seq.forward: src ${fmtShape(src.shape)} and tgtIn ${fmtShape(tgtIn.shape)} have different batch sizes`);
    }
    const tf = opts.teacherForcing ?? 1;
    const enc = this.encode(src, srcLengths);
    let state = enc.init;
    const logits: Tensor[] = [];
    const weights: Tensor[] = [];
    let prev = tgtIn.select(0, 0);
    for (let t = 0; t < tgtIn.shape[0]; t++) {
      const r = this.step(prev, state, enc);
      logits.push(r.logits);
      if (r.weights) weights.push(r.weights);
      state = r.state;
      if (t + 1 < tgtIn.shape[0]) {
        if (tf >= 1 || this.gen.random() < tf) prev = tgtIn.select(0, t + 1);
        else if (r.logits.dev) {
          throw new DeviceError(`Seq2Seq.forward: scheduled sampling (teacherForcing ${tf}) feeds predictions back as token ids, which must be on the host; on ${r.logits.device} use teacherForcing 1`);
        } else prev = r.logits.detach().argmax(1);
      }
    }
    return { logits: stack(logits, 0), attention: weights.length ? stack(weights, 0) : null };
  }

  /** Mean cross-entropy (nats per target token, padding ignored) of a batch under teacher forcing. */
  loss(batch: Seq2SeqBatch, opts: { teacherForcing?: number } = {}): Tensor {
    const { logits } = this.forward(batch.src, batch.srcLengths, batch.tgtIn, opts);
    return crossEntropy(logits.reshape([-1, this.config.tgtVocab]), batch.tgtOut.reshape([-1]), { ignoreIndex: this.config.special.pad });
  }
}

/** Rows `idx` (into the batch dim) of an encoded source and its state, for beams. */
export function selectEncoded(enc: EncodedSource, idx: Tensor): EncodedSource {
  return {
    keys: indexSelect(enc.keys, 0, idx),
    prepared: enc.prepared ? indexSelect(enc.prepared, 0, idx) : null,
    padMask: enc.padMask ? indexSelect(enc.padMask, 0, idx) : null,
    init: selectState(enc.init, idx),
  };
}

export function selectState(s: DecoderState, idx: Tensor): DecoderState {
  return {
    h: s.h.map((t) => indexSelect(t, 0, idx)),
    c: s.c ? s.c.map((t) => indexSelect(t, 0, idx)) : null,
    feed: s.feed ? indexSelect(s.feed, 0, idx) : null,
  };
}
