import { GradlabError } from "../core/errors.js";
import { Tensor } from "../tensor/tensor.js";

/** Splits token ids into a leading training part and a trailing validation part. */
export function trainValSplit(ids: Int32Array, valFraction = 0.1): { train: Int32Array; val: Int32Array } {
  if (!(valFraction >= 0 && valFraction < 1)) throw new GradlabError(`trainValSplit: valFraction must be in [0, 1), got ${valFraction}`);
  const cut = Math.floor(ids.length * (1 - valFraction));
  return { train: ids.subarray(0, cut), val: ids.subarray(cut) };
}

export interface LMBatch {
  /** [T, B] int32 inputs (time-major, like the recurrent layers' default). */
  input: Tensor;
  /** [T, B] int32 next-token targets. */
  target: Tensor;
  /** Index of this window within the epoch; state carries from window k to k+1. */
  window: number;
}

/**
 * Language-model batching with contiguous streams (as in the classic PTB setup): the corpus is cut
 * into `batchSize` equal streams side by side, and consecutive windows of `bptt` steps continue each
 * stream where the last window stopped — so the recurrent state can be carried across windows
 * (truncated BPTT).
 */
export class LMStream {
  readonly streams: Int32Array;
  readonly streamLength: number;

  constructor(ids: Int32Array, readonly batchSize: number, readonly bptt: number) {
    if (batchSize < 1 || bptt < 1) throw new GradlabError(`LMStream: batchSize and bptt must be ≥ 1, got ${batchSize}, ${bptt}`);
    this.streamLength = Math.floor(ids.length / batchSize);
    if (this.streamLength < 2) {
      throw new GradlabError(`LMStream: ${ids.length} tokens are too few for ${batchSize} streams`);
    }
    // Time-major layout [streamLength, B]: column b is stream b.
    this.streams = new Int32Array(this.streamLength * batchSize);
    for (let b = 0; b < batchSize; b++) {
      for (let t = 0; t < this.streamLength; t++) this.streams[t * batchSize + b] = ids[b * this.streamLength + t];
    }
  }

  /** Number of windows in one pass (the last one may be shorter). */
  get numWindows(): number {
    return Math.ceil((this.streamLength - 1) / this.bptt);
  }

  window(k: number): LMBatch {
    const start = k * this.bptt;
    if (k < 0 || start >= this.streamLength - 1) throw new GradlabError(`LMStream.window: window ${k} is out of range (0..${this.numWindows - 1})`);
    const T = Math.min(this.bptt, this.streamLength - 1 - start);
    const B = this.batchSize;
    const input = this.streams.slice(start * B, (start + T) * B);
    const target = this.streams.slice((start + 1) * B, (start + 1 + T) * B);
    return { input: new Tensor(input, [T, B]), target: new Tensor(target, [T, B]), window: k };
  }

  *[Symbol.iterator](): Iterator<LMBatch> {
    for (let k = 0; k < this.numWindows; k++) yield this.window(k);
  }
}
