/**
 * T5's attention: multi-head, no biases, no 1/√d scaling of the scores (T5 folds it into the
 * initialisation), and a learned scalar bias per head and relative-position bucket. Only the first
 * layer of each stack owns the bias table; it returns the bias (with the mask added) so that the
 * other layers reuse it, as transformers does.
 */
import { ShapeError, fmtShape } from "../../core/errors.js";
import type { Generator } from "../../core/rng.js";
import { embedding } from "../../tensor/primitives/indexing.js";
import { cat } from "../../tensor/primitives/movement.js";
import { dropout } from "../../tensor/ops/functional.js";
import { Tensor } from "../../tensor/tensor.js";
import { Embedding } from "../embedding.js";
import { Linear } from "../linear.js";
import { Module } from "../module.js";
import type { T5Config } from "./config.js";

const f32 = Math.fround;

/**
 * The bucket of a relative position (key − query), as transformers' _relative_position_bucket in
 * float32: half the buckets hold exact small distances, the rest grow logarithmically up to
 * maxDistance; bidirectional tables spend half their buckets on positive offsets, causal ones
 * see only the past.
 */
export function relativePositionBucket(relative: number, bidirectional: boolean, numBuckets: number, maxDistance: number): number {
  let buckets = 0;
  let n = numBuckets;
  let rel = relative;
  if (bidirectional) {
    n = Math.floor(n / 2);
    if (rel > 0) buckets += n;
    rel = Math.abs(rel);
  } else {
    rel = -Math.min(rel, 0);
  }
  const maxExact = Math.floor(n / 2);
  if (rel < maxExact) return buckets + rel;
  const ratio = f32(f32(Math.log(f32(rel / maxExact))) / f32(Math.log(maxDistance / maxExact)));
  const large = maxExact + Math.trunc(f32(ratio * (n - maxExact)));
  return buckets + Math.min(large, n - 1);
}

/** Keys and values of one attention layer, [batch, heads, length, dKv]. */
export interface KeyValue {
  key: Tensor;
  value: Tensor;
}

export interface AttentionInputs {
  /** Additive mask (0 or a huge negative number), broadcastable to [batch, heads, queries, keys]. */
  mask?: Tensor | null;
  /** From the stack's first layer: relative bias plus mask; recomputed when absent. */
  positionBias?: Tensor | null;
  /** Cross-attention: the encoder's output, which keys and values are computed from. */
  keyValueStates?: Tensor | null;
  /** Self-attention: earlier positions' keys/values; cross-attention: the encoder's, computed once. */
  past?: KeyValue | null;
  /** Position of the first query (cached decoding), for the relative bias. */
  queryOffset?: number;
}

export interface AttentionOutputs {
  output: Tensor;
  positionBias: Tensor | null;
  /** Keys and values including this call's, for the next decoding step. */
  present: KeyValue;
}

export class T5Attention extends Module {
  readonly isDecoder: boolean;
  readonly hasRelativeAttentionBias: boolean;
  readonly nHeads: number;
  readonly dKv: number;
  readonly numBuckets: number;
  readonly maxDistance: number;
  readonly dropoutRate: number;
  q: Linear;
  k: Linear;
  v: Linear;
  o: Linear;
  relative_attention_bias?: Embedding;
  private readonly _generator?: Generator;

  constructor(config: T5Config, opts: { isDecoder: boolean; hasRelativeAttentionBias: boolean; generator?: Generator }) {
    super();
    this.isDecoder = opts.isDecoder;
    this.hasRelativeAttentionBias = opts.hasRelativeAttentionBias;
    this.nHeads = config.numHeads;
    this.dKv = config.dKv;
    this.numBuckets = config.relativeAttentionNumBuckets;
    this.maxDistance = config.relativeAttentionMaxDistance;
    this.dropoutRate = config.dropoutRate;
    this._generator = opts.generator;
    const inner = config.numHeads * config.dKv;
    const g = opts.generator;
    this.q = new Linear(config.dModel, inner, { bias: false, generator: g });
    this.k = new Linear(config.dModel, inner, { bias: false, generator: g });
    this.v = new Linear(config.dModel, inner, { bias: false, generator: g });
    this.o = new Linear(inner, config.dModel, { bias: false, generator: g });
    if (opts.hasRelativeAttentionBias) this.relative_attention_bias = new Embedding(config.relativeAttentionNumBuckets, config.numHeads, { generator: g });
  }

  /** The learned bias for queries at [offset, offset + queries) and keys [0, keys): [1, heads, queries, keys]. */
  computeBias(queries: number, keys: number, offset = 0): Tensor {
    if (!this.relative_attention_bias) throw new ShapeError("T5Attention.computeBias: this layer has no relative attention bias");
    const ids = new Int32Array(queries * keys);
    for (let i = 0; i < queries; i++) {
      for (let j = 0; j < keys; j++) {
        ids[i * keys + j] = relativePositionBucket(j - (offset + i), !this.isDecoder, this.numBuckets, this.maxDistance);
      }
    }
    const values = embedding(this.relative_attention_bias.weight, new Tensor(ids, [queries, keys]));
    return values.permute([2, 0, 1]).unsqueeze(0);
  }

  /** [batch, length, heads·dKv] → [batch, heads, length, dKv]. */
  private heads(x: Tensor): Tensor {
    const [B, T] = x.shape;
    return x.view([B, T, this.nHeads, this.dKv]).permute([0, 2, 1, 3]);
  }

  override forward(hidden: Tensor, inputs: AttentionInputs = {}): AttentionOutputs {
    if (hidden.ndim !== 3) throw new ShapeError(`T5Attention: hidden states must be [batch, length, dModel], got ${fmtShape(hidden.shape)}`);
    const [B, T] = hidden.shape;
    const query = this.heads(this.q.forward(hidden));
    const cross = inputs.keyValueStates ?? null;
    let present: KeyValue;
    if (cross && inputs.past) {
      present = inputs.past;
    } else {
      const src = cross ?? hidden;
      let key = this.heads(this.k.forward(src));
      let value = this.heads(this.v.forward(src));
      if (!cross && inputs.past) {
        key = cat([inputs.past.key, key], 2);
        value = cat([inputs.past.value, value], 2);
      }
      present = { key, value };
    }
    const S = present.key.shape[2];
    let scores = query.matmul(present.key.transpose(2, 3));
    let bias = inputs.positionBias ?? null;
    if (!bias) {
      if (this.relative_attention_bias) {
        const offset = inputs.queryOffset ?? S - T;
        bias = this.computeBias(T, S, cross ? 0 : offset);
        if (inputs.mask) bias = bias.add(inputs.mask);
      } else {
        bias = inputs.mask ?? null;
      }
    }
    if (bias) scores = scores.add(bias);
    let weights = scores.softmax(-1);
    weights = dropout(weights, this.dropoutRate, this.training, this._generator);
    const context = weights.matmul(present.value).permute([0, 2, 1, 3]).reshape([B, T, this.nHeads * this.dKv]);
    return { output: this.o.forward(context), positionBias: bias, present };
  }

  override extraRepr(): string {
    return `heads=${this.nHeads}, dKv=${this.dKv}, relativeBias=${this.hasRelativeAttentionBias}`;
  }
}
