import { GradlabError } from "../../core/errors.js";
import type { Tensor } from "../../tensor/tensor.js";
import { GRU, LSTM, RNN } from "./layers.js";

export type RecurrentState = Tensor | readonly [Tensor, Tensor];

export interface TBPTTOptions {
  /** Steps per chunk: gradients flow back at most this many steps. */
  k: number;
  /**
   * Receives each chunk's output (in the layer's layout) and its steps [start, end); returns the
   * chunk's loss, which is backpropagated at once, or nothing to skip backward for that chunk.
   */
  onChunk: (y: Tensor, range: { start: number; end: number }) => Tensor | null | void;
  /** Runs after each chunk's backward: typically optimizer.step() and zeroGrad(). */
  afterBackward?: () => void;
  /** State to start from (default zeros, or the carried state of a stateful layer). */
  state?: RecurrentState | null;
}

/**
 * Truncated backpropagation through time (Williams & Peng 1990; k1 = k2 = k): a long sequence is
 * cut into chunks of k steps along the time dim; each chunk starts from the previous chunk's
 * final state, detached, so the forward pass sees the whole history while each backward pass
 * spans at most k steps and its memory is bounded by one chunk. Returns the final state,
 * detached, to continue from (e.g. on the next stretch of a stream).
 *
 *   const state = truncatedBPTT(lstm, x, {
 *     k: 35,
 *     onChunk: (y, { start, end }) => crossEntropy(head.forward(y).flatten(0, 1), targets(start, end)),
 *     afterBackward: () => { opt.step(); opt.zeroGrad(); },
 *   });
 */
export function truncatedBPTT(layer: LSTM | GRU | RNN, x: Tensor, opts: TBPTTOptions): RecurrentState | null {
  const { k, onChunk } = opts;
  if (!Number.isInteger(k) || k < 1) throw new GradlabError(`truncatedBPTT: k must be a positive integer, got ${k}`);
  if (typeof onChunk !== "function") throw new GradlabError("truncatedBPTT: onChunk must be a function returning the chunk's loss");
  if (x.ndim !== 3) throw new GradlabError(`truncatedBPTT: expected a batched input of rank 3, got shape [${x.shape.join(", ")}]`);
  const timeDim = layer.batchFirst ? 1 : 0;
  const T = x.shape[timeDim];
  let state: RecurrentState | null = opts.state ?? null;
  for (let start = 0; start < T; start += k) {
    const end = Math.min(start + k, T);
    const chunk = x.narrow(timeDim, start, end - start);
    let y: Tensor;
    if (layer instanceof LSTM) {
      const [out, [h, c]] = layer.forward(chunk, state as readonly [Tensor, Tensor] | null);
      y = out;
      state = [h.detach(), c.detach()];
    } else {
      const [out, h] = layer.forward(chunk, state as Tensor | null);
      y = out;
      state = h.detach();
    }
    const loss = onChunk(y, { start, end });
    if (loss) {
      loss.backward();
      opts.afterBackward?.();
    }
  }
  return state;
}
