import * as gl from "../src/index.js";

/** Cell types the experiments compare; "lstm-fb1" is an LSTM whose forget-gate bias starts at 1. */
export type CellKind = "rnn" | "relu-rnn" | "gru" | "lstm" | "lstm-fb1";

export interface RecurrentNetOptions {
  cell: CellKind;
  /** Token inputs through an embedding of this vocabulary, or real-valued inputs of `inputSize`. */
  vocab?: number;
  inputSize?: number;
  embeddingDim?: number;
  hiddenSize: number;
  numLayers?: number;
  bidirectional?: boolean;
  skip?: gl.nn.SkipMode;
  outputs: number;
  /** Predict at every step ([T, B, out]) or from the final state only ([B, out]). */
  perStep: boolean;
  generator?: gl.Generator;
}

/** Embedding or raw input → stacked recurrent layer → linear read-out; the recurrent layer is `rnn`. */
export class RecurrentNet extends gl.nn.Module {
  embedding: gl.nn.Embedding | null;
  rnn: gl.nn.LSTM | gl.nn.GRU | gl.nn.RNN;
  head: gl.nn.Linear;
  readonly perStep: boolean;

  constructor(o: RecurrentNetOptions) {
    super();
    const g = o.generator;
    this.embedding = o.vocab ? new gl.nn.Embedding(o.vocab, o.embeddingDim ?? 16, { generator: g }) : null;
    const inputSize = o.vocab ? (o.embeddingDim ?? 16) : o.inputSize!;
    const common = { inputSize, hiddenSize: o.hiddenSize, numLayers: o.numLayers ?? 1, bidirectional: o.bidirectional, skip: o.skip, generator: g };
    this.rnn =
      o.cell === "lstm" || o.cell === "lstm-fb1"
        ? new gl.nn.LSTM({ ...common, forgetBias: o.cell === "lstm-fb1" ? 1 : undefined })
        : o.cell === "gru"
          ? new gl.nn.GRU(common)
          : new gl.nn.RNN({ ...common, nonlinearity: o.cell === "relu-rnn" ? "relu" : "tanh" });
    const width = (o.bidirectional ? 2 : 1) * o.hiddenSize;
    this.head = new gl.nn.Linear(width, o.outputs, { generator: g });
    this.perStep = o.perStep;
  }

  override forward(x: gl.Tensor, lengths?: Int32Array | null): gl.Tensor {
    const input = this.embedding ? this.embedding.forward(x) : x;
    const [out, state] = this.rnn instanceof gl.nn.LSTM ? this.rnn.forward(input, null, { lengths }) : this.rnn.forward(input, null, { lengths });
    if (this.perStep) return this.head.forward(out);
    const hN = Array.isArray(state) ? state[0] : (state as gl.Tensor);
    // The top layer's final state(s): forward, and reverse when bidirectional.
    const L = this.rnn.numLayers;
    const D = this.rnn.numDirections;
    const top = D === 2 ? gl.cat([hN.select(0, (L - 1) * 2), hN.select(0, (L - 1) * 2 + 1)], 1) : hN.select(0, L - 1);
    return this.head.forward(top);
  }
}

export function paramCount(m: gl.nn.Module): number {
  return m.parameters().reduce((n, p) => n + p.numel(), 0);
}

export function accuracy(logits: gl.Tensor, target: gl.Tensor): number {
  const pred = logits.argmax(-1).toArray();
  const t = target.toArray();
  let right = 0;
  for (let i = 0; i < t.length; i++) if (pred[i] === t[i]) right++;
  return right / t.length;
}

/** Accuracy over the entries where `mask` holds (e.g. the output steps of the copy task). */
export function maskedAccuracy(logits: gl.Tensor, target: gl.Tensor, mask: (i: number) => boolean): number {
  const pred = logits.argmax(-1).toArray();
  const t = target.toArray();
  let right = 0;
  let n = 0;
  for (let i = 0; i < t.length; i++) {
    if (!mask(i)) continue;
    n++;
    if (pred[i] === t[i]) right++;
  }
  return n ? right / n : 0;
}

export function mean(xs: readonly number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}

/** Exponential moving average, for reading noisy loss curves. */
export function smooth(xs: readonly number[], alpha = 0.9): number[] {
  let s = NaN;
  return xs.map((v) => (s = Number.isNaN(s) ? v : alpha * s + (1 - alpha) * v));
}

export function now(): number {
  return performance.now() / 1000;
}

/** Points [i·every, v] of a series recorded every `every` steps. */
export function indexed(xs: readonly number[], every = 1, start = 0): [number, number][] {
  return xs.map((v, i) => [start + i * every, v]);
}

/**
 * Trains a language model over contiguous-stream windows for `steps` Adam steps, the recurrent
 * state carried (detached) from window to window and reset at each pass's start; gradients
 * clipped to global norm `clip`. Returns the per-step losses and the tokens seen.
 */
export function trainStreamLM(
  lm: gl.models.RNNLM,
  stream: gl.data.LMStream,
  o: { steps: number; lr: number; clip?: number },
): { losses: number[]; tokens: number } {
  const opt = new gl.optim.Adam(lm.parameters(), { lr: o.lr });
  let state: gl.models.RecurrentState | null = null;
  const losses: number[] = [];
  let tokens = 0;
  for (let step = 0, k = 0; step < o.steps; step++, k = (k + 1) % stream.numWindows) {
    if (k === 0) state = null;
    const w = stream.window(k);
    const r = lm.loss(w.input, w.target, state);
    opt.zeroGrad();
    r.loss.backward();
    gl.optim.clipGradNorm(lm.parameters(), o.clip ?? 1);
    opt.step();
    state = gl.models.detachState(r.state);
    losses.push(r.loss.item());
    tokens += w.input.numel();
  }
  return { losses, tokens };
}
