import type { DType } from "../core/dtype.js";
import { GradlabError, ShapeError, fmtShape } from "../core/errors.js";
import type { Generator } from "../core/rng.js";
import { Linear } from "../nn/linear.js";
import { Module } from "../nn/module.js";
import { Tensor } from "../tensor/tensor.js";

/**
 * Attention of a decoder state over encoder outputs (the keys, which are also the values).
 * A module first projects the keys once per source batch (`prepare`), then scores each decoder
 * step's query against them: [B, S] scores, masked where the source is padding, softmax over S.
 */
export type AttentionKind = "bahdanau" | "luong" | "dot";

export interface Attention extends Module {
  readonly kind: AttentionKind;
  /** keys [B, S, K] → whatever `scores` needs, computed once per source batch. */
  prepare(keys: Tensor): Tensor;
  /** query [B, Q], prepared keys → unnormalised scores [B, S]. */
  scores(query: Tensor, prepared: Tensor): Tensor;
}

/**
 * Additive attention (Bahdanau et al. 2015): score(q, k_j) = vᵀ tanh(W_q q + W_k k_j + b).
 * W_k k_j + b is computed once for all j; each step adds W_q q and reduces with v.
 */
export class AdditiveAttention extends Module implements Attention {
  readonly kind = "bahdanau" as const;
  query: Linear;
  key: Linear;
  v: Linear;

  constructor(querySize: number, keySize: number, attentionSize: number, opts: { dtype?: "float32" | "float64"; generator?: Generator } = {}) {
    super();
    this.query = new Linear(querySize, attentionSize, { bias: false, ...opts });
    this.key = new Linear(keySize, attentionSize, opts);
    this.v = new Linear(attentionSize, 1, { bias: false, ...opts });
  }

  prepare(keys: Tensor): Tensor {
    return this.key.forward(keys);
  }

  scores(query: Tensor, prepared: Tensor): Tensor {
    const e = prepared.add(this.query.forward(query).unsqueeze(1)).tanh();
    return this.v.forward(e).squeeze(2);
  }
}

/**
 * Multiplicative attention (Luong et al. 2015): "general" score(q, k_j) = qᵀ W k_j (kind "luong";
 * W k_j is computed once for all j), or "dot" score = qᵀ k_j when query and key sizes agree.
 */
export class MultiplicativeAttention extends Module implements Attention {
  readonly kind: "luong" | "dot";
  key: Linear | null;

  constructor(querySize: number, keySize: number, opts: { kind?: "luong" | "dot"; dtype?: "float32" | "float64"; generator?: Generator } = {}) {
    super();
    this.kind = opts.kind ?? "luong";
    if (this.kind === "dot" && querySize !== keySize) {
      throw new GradlabError(`MultiplicativeAttention: "dot" scores need equal query and key sizes, got ${querySize} and ${keySize}; use "luong"`);
    }
    this.key = this.kind === "luong" ? new Linear(keySize, querySize, { bias: false, dtype: opts.dtype, generator: opts.generator }) : null;
  }

  prepare(keys: Tensor): Tensor {
    return this.key ? this.key.forward(keys) : keys;
  }

  scores(query: Tensor, prepared: Tensor): Tensor {
    return prepared.matmul(query.unsqueeze(2)).squeeze(2);
  }
}

/**
 * Softmax of scores [B, S] over the valid source positions (`padMask` [B, S] is nonzero at
 * padding, which gets weight exactly 0), and the weighted sum of values [B, S, K] → [B, K].
 */
export function attend(scores: Tensor, values: Tensor, padMask: Tensor | null): { context: Tensor; weights: Tensor } {
  const [B, S] = scores.shape;
  if (values.ndim !== 3 || values.shape[0] !== B || values.shape[1] !== S) {
    throw new ShapeError(`attend: scores ${fmtShape(scores.shape)} do not match values ${fmtShape(values.shape)} (expected [${B}, ${S}, K])`);
  }
  const masked = padMask ? scores.maskedFill(padMask, -Infinity) : scores;
  const weights = masked.softmax(1);
  return { context: weights.unsqueeze(1).matmul(values).squeeze(1), weights };
}

/** [B, S] mask, 1 at each sequence's padding (positions ≥ its length); null when nothing is padded. */
export function paddingMask(lengths: ArrayLike<number>, S: number, dtype: DType = "float32"): Tensor | null {
  const B = lengths.length;
  let any = false;
  const m = new Tensor(dtype === "float64" ? new Float64Array(B * S) : new Float32Array(B * S), [B, S]);
  for (let b = 0; b < B; b++) {
    for (let s = lengths[b]; s < S; s++) {
      m.data[b * S + s] = 1;
      any = true;
    }
  }
  return any ? m : null;
}
