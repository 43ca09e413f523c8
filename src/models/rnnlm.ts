import { GradlabError } from "../core/errors.js";
import { type Generator, defaultGenerator } from "../core/rng.js";
import { noGrad } from "../autograd/mode.js";
import { Dropout } from "../nn/dropout.js";
import { Embedding } from "../nn/embedding.js";
import { Linear } from "../nn/linear.js";
import { Module } from "../nn/module.js";
import { GRU, LSTM, RNN } from "../nn/recurrent/layers.js";
import type { SkipMode } from "../nn/recurrent/skip.js";
import { crossEntropy } from "../tensor/ops/loss.js";
import { Tensor } from "../tensor/tensor.js";

export type CellType = "lstm" | "gru" | "rnn";
/** An LSTM carries [h, c]; a GRU or RNN carries h. */
export type RecurrentState = Tensor | [Tensor, Tensor];

export interface RNNLMOptions {
  vocabSize: number;
  embeddingDim: number;
  hiddenSize: number;
  numLayers?: number;
  cell?: CellType;
  /** Dropout on the embeddings, between layers and before the output layer (training only). */
  dropout?: number;
  skip?: SkipMode;
  /** Share the embedding matrix with the output layer (Press & Wolf 2017); needs embeddingDim = hiddenSize. */
  tieWeights?: boolean;
  forgetBias?: number;
  dtype?: "float32" | "float64";
  generator?: Generator;
}

export interface SampleOptions {
  temperature?: number;
  topK?: number;
  topP?: number;
  generator?: Generator;
}

/** Detaches a carried state so the next window's backward stops at the window boundary. */
export function detachState(s: RecurrentState | null): RecurrentState | null {
  if (s === null) return null;
  return Array.isArray(s) ? [s[0].detach(), s[1].detach()] : s.detach();
}

/** Embedding → stacked RNN/LSTM/GRU → linear output over the vocabulary; time-major [T, B]. */
export class RNNLM extends Module {
  readonly config: Required<Omit<RNNLMOptions, "generator" | "forgetBias" | "dtype">> & { forgetBias?: number };
  embedding: Embedding;
  rnn: LSTM | GRU | RNN;
  drop: Dropout;
  decoder: Linear;

  constructor(o: RNNLMOptions) {
    super();
    const cell = o.cell ?? "lstm";
    if (!["lstm", "gru", "rnn"].includes(cell)) throw new GradlabError(`RNNLM: cell must be "lstm", "gru" or "rnn", got ${JSON.stringify(cell)}`);
    const tie = o.tieWeights ?? false;
    if (tie && o.embeddingDim !== o.hiddenSize) {
      throw new GradlabError(`RNNLM: tieWeights needs embeddingDim (${o.embeddingDim}) = hiddenSize (${o.hiddenSize})`);
    }
    this.config = {
      vocabSize: o.vocabSize, embeddingDim: o.embeddingDim, hiddenSize: o.hiddenSize, numLayers: o.numLayers ?? 1,
      cell, dropout: o.dropout ?? 0, skip: o.skip ?? "none", tieWeights: tie, forgetBias: o.forgetBias,
    };
    const g = o.generator;
    const dtype = o.dtype ?? "float32";
    this.embedding = new Embedding(o.vocabSize, o.embeddingDim, { dtype, generator: g });
    const common = {
      inputSize: o.embeddingDim, hiddenSize: o.hiddenSize, numLayers: this.config.numLayers,
      dropout: this.config.dropout, skip: this.config.skip, dtype, generator: g,
    };
    this.rnn = cell === "lstm" ? new LSTM({ ...common, forgetBias: o.forgetBias }) : cell === "gru" ? new GRU(common) : new RNN(common);
    this.drop = new Dropout(this.config.dropout);
    this.decoder = new Linear(o.hiddenSize, o.vocabSize, { dtype, generator: g });
    if (tie) this.decoder.weight = this.embedding.weight;
  }

  /** ids [T, B] int32 → logits [T, B, V] and the final state. */
  override forward(ids: Tensor, state: RecurrentState | null = null): { logits: Tensor; state: RecurrentState } {
    const x = this.drop.forward(this.embedding.forward(ids));
    let out: Tensor;
    let next: RecurrentState;
    if (this.rnn instanceof LSTM) {
      [out, next] = this.rnn.forward(x, state as [Tensor, Tensor] | null);
    } else {
      [out, next] = this.rnn.forward(x, state as Tensor | null);
    }
    return { logits: this.decoder.forward(this.drop.forward(out)), state: next };
  }

  /** Mean cross-entropy in nats per token of predicting `target` [T, B] from `ids` [T, B]. */
  loss(ids: Tensor, target: Tensor, state: RecurrentState | null = null): { loss: Tensor; state: RecurrentState } {
    const { logits, state: next } = this.forward(ids, state);
    const V = this.config.vocabSize;
    return { loss: crossEntropy(logits.reshape([-1, V]), target.reshape([-1])), state: next };
  }

  /** Continues `prompt` by `length` tokens, sampling from the temperature-scaled, top-k/top-p filtered distribution. */
  sample(prompt: ArrayLike<number>, length: number, opts: SampleOptions = {}): Int32Array {
    if (prompt.length === 0) throw new GradlabError("RNNLM.sample: the prompt must hold at least one token");
    const gen = opts.generator ?? defaultGenerator;
    const wasTraining = this.training;
    this.eval();
    try {
      return noGrad(() => {
        const out = new Int32Array(length);
        let { logits, state } = this.forward(new Tensor(Int32Array.from(prompt), [prompt.length, 1]));
        for (let i = 0; i < length; i++) {
          const last = logits.select(0, logits.shape[0] - 1).reshape([-1]);
          const id = sampleLogits(last.toArray(), opts, gen);
          out[i] = id;
          ({ logits, state } = this.forward(new Tensor(Int32Array.of(id), [1, 1]), state));
        }
        return out;
      });
    } finally {
      this.train(wasTraining);
    }
  }
}

/** Picks an index from logits: greedy at temperature 0, else softmax(logits / T) restricted to top-k and top-p. */
export function sampleLogits(logits: ArrayLike<number>, opts: SampleOptions = {}, gen: Generator = defaultGenerator): number {
  const { temperature = 1, topK = 0, topP = 1 } = opts;
  if (!(temperature >= 0)) throw new GradlabError(`sample: temperature must be ≥ 0, got ${temperature}`);
  if (!(topP > 0 && topP <= 1)) throw new GradlabError(`sample: topP must be in (0, 1], got ${topP}`);
  const n = logits.length;
  let best = 0;
  for (let i = 1; i < n; i++) if (logits[i] > logits[best]) best = i;
  if (temperature === 0) return best;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => logits[b] - logits[a]);
  const k = topK > 0 ? Math.min(topK, n) : n;
  const kept = order.slice(0, k);
  const m = logits[best] / temperature;
  let probs = kept.map((i) => Math.exp(logits[i] / temperature - m));
  let z = probs.reduce((a, b) => a + b, 0);
  probs = probs.map((p) => p / z);
  if (topP < 1) {
    // Smallest prefix of the sorted distribution whose mass reaches topP (the first token always stays).
    let mass = 0;
    let cut = 0;
    while (cut < probs.length && (cut === 0 || mass < topP)) mass += probs[cut++];
    probs = probs.slice(0, cut);
    z = probs.reduce((a, b) => a + b, 0);
    probs = probs.map((p) => p / z);
  }
  let u = gen.random();
  for (let i = 0; i < probs.length; i++) {
    u -= probs[i];
    if (u < 0) return kept[i];
  }
  return kept[probs.length - 1];
}
