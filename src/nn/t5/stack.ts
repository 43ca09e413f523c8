/**
 * A stack of T5 blocks (the encoder, or the decoder with cross-attention): token embeddings
 * shared with the other stack, dropout, the blocks, a final T5LayerNorm and dropout. Masks are
 * additive: 0 where attention is allowed and the dtype's lowest finite value where it is not,
 * so a fully masked row stays finite (uniform) instead of becoming NaN.
 */
import { DTypeError, ShapeError, fmtShape } from "../../core/errors.js";
import type { Generator } from "../../core/rng.js";
import { allocate } from "../../core/dtype.js";
import { Tensor } from "../../tensor/tensor.js";
import { ModuleList } from "../container.js";
import { Dropout } from "../dropout.js";
import type { Embedding } from "../embedding.js";
import { Module } from "../module.js";
import type { T5Config } from "./config.js";
import { type BlockCache, T5Block, T5LayerNorm } from "./layers.js";

export function lowestValue(dtype: string): number {
  return dtype === "float64" ? -Number.MAX_VALUE : -3.4028234663852886e38;
}

/** [batch, keys] of 1/0 → additive [batch, 1, 1, keys]. */
export function paddingMask(attentionMask: Tensor, dtype: string): Tensor {
  const [B, S] = attentionMask.shape;
  const m = attentionMask.toArray();
  const out = allocate(dtype === "float64" ? "float64" : "float32", B * S);
  const low = lowestValue(dtype);
  for (let i = 0; i < m.length; i++) out[i] = m[i] ? 0 : low;
  return new Tensor(out, [B, 1, 1, S]);
}

/** Causal mask for queries at [past, past + T) over keys [0, past + T), with optional key padding: [B|1, 1, T, past + T]. */
export function causalMask(T: number, past: number, dtype: string, attentionMask: Tensor | null): Tensor {
  const S = past + T;
  const B = attentionMask ? attentionMask.shape[0] : 1;
  const pad = attentionMask?.toArray();
  const low = lowestValue(dtype);
  const out = allocate(dtype === "float64" ? "float64" : "float32", B * T * S);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < T; i++) {
      for (let j = 0; j < S; j++) {
        const allowed = j <= past + i && (!pad || pad[b * S + j] !== 0);
        out[(b * T + i) * S + j] = allowed ? 0 : low;
      }
    }
  }
  return new Tensor(out, [B, 1, T, S]);
}

export interface StackInputs {
  inputIds: Tensor;
  /** [batch, length] of 1 (attend) / 0 (padding); for the decoder, over past + current positions. */
  attentionMask?: Tensor | null;
  encoderHiddenStates?: Tensor | null;
  encoderAttentionMask?: Tensor | null;
  /** Decoder only: one entry per block from earlier decoding steps. */
  cache?: BlockCache[] | null;
  outputHiddenStates?: boolean;
}

export interface StackOutputs {
  lastHiddenState: Tensor;
  /** With outputHiddenStates: the embeddings, each block's output but the last, and the final state. */
  hiddenStates?: Tensor[];
  cache: BlockCache[];
}

export class T5Stack extends Module {
  readonly isDecoder: boolean;
  readonly config: T5Config;
  embed_tokens: Embedding;
  block: ModuleList<T5Block>;
  final_layer_norm: T5LayerNorm;
  dropout: Dropout;

  constructor(config: T5Config, embedTokens: Embedding, opts: { isDecoder: boolean; generator?: Generator }) {
    super();
    this.config = config;
    this.isDecoder = opts.isDecoder;
    this.embed_tokens = embedTokens;
    const n = opts.isDecoder ? config.numDecoderLayers : config.numLayers;
    this.block = new ModuleList(
      Array.from({ length: n }, (_, i) => new T5Block(config, { isDecoder: opts.isDecoder, hasRelativeAttentionBias: i === 0, generator: opts.generator })),
    );
    this.final_layer_norm = new T5LayerNorm(config.dModel, config.layerNormEpsilon);
    this.dropout = new Dropout(config.dropoutRate, { generator: opts.generator });
  }

  override forward(inputs: StackInputs): StackOutputs {
    const { inputIds } = inputs;
    const who = this.isDecoder ? "T5 decoder" : "T5 encoder";
    if (!(inputIds instanceof Tensor) || inputIds.ndim !== 2) {
      throw new ShapeError(`${who}: input ids must be an int32 tensor [batch, length], got ${inputIds instanceof Tensor ? fmtShape(inputIds.shape) : typeof inputIds}`);
    }
    if (inputIds.dtype !== "int32") throw new DTypeError(`${who}: input ids must be int32, got ${inputIds.dtype}`);
    const [B, T] = inputIds.shape;
    const dtype = this.embed_tokens.weight.dtype;
    const past = inputs.cache?.[0]?.self?.key.shape[2] ?? 0;
    const mask = inputs.attentionMask ?? null;
    if (mask && (mask.ndim !== 2 || mask.shape[0] !== B || mask.shape[1] !== past + T)) {
      throw new ShapeError(`${who}: attention mask ${fmtShape(mask.shape)} must be [${B}, ${past + T}] for input ids ${fmtShape(inputIds.shape)}${past ? ` after ${past} cached positions` : ""}`);
    }
    let selfMask: Tensor | null;
    let encoderMask: Tensor | null = null;
    if (this.isDecoder) {
      const enc = inputs.encoderHiddenStates;
      if (!enc || enc.ndim !== 3 || enc.shape[0] !== B) {
        throw new ShapeError(`${who}: encoder hidden states must be [${B}, length, dModel], got ${enc ? fmtShape(enc.shape) : "none"}`);
      }
      const em = inputs.encoderAttentionMask ?? null;
      if (em && (em.ndim !== 2 || em.shape[0] !== B || em.shape[1] !== enc.shape[1])) {
        throw new ShapeError(`${who}: encoder attention mask ${fmtShape(em.shape)} must be [${B}, ${enc.shape[1]}]`);
      }
      encoderMask = em ? paddingMask(em, dtype) : null;
      selfMask = T > 1 || mask ? causalMask(T, past, dtype, mask) : null;
    } else {
      selfMask = mask ? paddingMask(mask, dtype) : null;
    }
    // Masks are built on the host from host ids; they join the weights where those live.
    const dev = this.embed_tokens.weight.device;
    selfMask = selfMask?.toDevice(dev) ?? null;
    encoderMask = encoderMask?.toDevice(dev) ?? null;
    let hidden = this.dropout.forward(this.embed_tokens.forward(inputIds));
    const hiddenStates: Tensor[] = [];
    let positionBias: Tensor | null = null;
    let crossBias: Tensor | null = null;
    const cache: BlockCache[] = [];
    let i = 0;
    for (const block of this.block) {
      if (inputs.outputHiddenStates) hiddenStates.push(hidden);
      const r = block.forward(hidden, {
        mask: selfMask,
        positionBias,
        encoderHiddenStates: inputs.encoderHiddenStates,
        encoderMask,
        encoderDecoderPositionBias: crossBias,
        cache: inputs.cache?.[i] ?? null,
      });
      hidden = r.hidden;
      positionBias = r.positionBias;
      crossBias = r.encoderDecoderPositionBias;
      cache.push(r.cache);
      i++;
    }
    hidden = this.dropout.forward(this.final_layer_norm.forward(hidden));
    if (inputs.outputHiddenStates) hiddenStates.push(hidden);
    return { lastHiddenState: hidden, hiddenStates: inputs.outputHiddenStates ? hiddenStates : undefined, cache };
  }
}
