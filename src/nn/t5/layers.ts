/**
 * T5's sublayers under Hugging Face's names: pre-norm residual blocks whose norm is RMS without
 * mean or bias (T5LayerNorm), a feed-forward `DenseReluDense` (wi → act → wo, or gated:
 * act(wi_0 x) · wi_1 x → wo), and blocks of [self-attention, (cross-attention,) feed-forward].
 */
import { GradlabError } from "../../core/errors.js";
import type { Generator } from "../../core/rng.js";
import { gelu, silu } from "../../tensor/ops/activation.js";
import { rmsNorm } from "../../tensor/ops/functional.js";
import { empty, type Tensor } from "../../tensor/tensor.js";
import { ModuleList } from "../container.js";
import { Dropout } from "../dropout.js";
import { ones_ } from "../init.js";
import { Linear } from "../linear.js";
import { Module } from "../module.js";
import { Parameter } from "../parameter.js";
import { type AttentionInputs, type KeyValue, T5Attention } from "./attention.js";
import type { T5Activation, T5Config } from "./config.js";

/** RMS normalisation with a learned scale only: x / √(mean(x²) + eps) · weight. */
export class T5LayerNorm extends Module {
  readonly eps: number;
  weight: Parameter;

  constructor(hiddenSize: number, eps = 1e-6) {
    super();
    this.eps = eps;
    this.weight = new Parameter(ones_(empty([hiddenSize], "float32")));
  }

  override forward(x: Tensor): Tensor {
    return rmsNorm(x, [this.weight.shape[0]], this.weight, this.eps);
  }

  override extraRepr(): string {
    return `${this.weight.shape[0]}, eps=${this.eps}`;
  }
}

export function activate(x: Tensor, act: T5Activation): Tensor {
  if (act === "relu") return x.relu();
  if (act === "gelu") return gelu(x, "none");
  if (act === "gelu_new") return gelu(x, "tanh");
  if (act === "silu") return silu(x);
  throw new GradlabError(`T5: unknown activation ${String(act)}`);
}

export class T5DenseActDense extends Module {
  readonly act: T5Activation;
  wi: Linear;
  wo: Linear;
  dropout: Dropout;

  constructor(config: T5Config, generator?: Generator) {
    super();
    this.act = config.denseActFn;
    this.wi = new Linear(config.dModel, config.dFf, { bias: false, generator });
    this.wo = new Linear(config.dFf, config.dModel, { bias: false, generator });
    this.dropout = new Dropout(config.dropoutRate, { generator });
  }

  override forward(x: Tensor): Tensor {
    return this.wo.forward(this.dropout.forward(activate(this.wi.forward(x), this.act)));
  }
}

export class T5DenseGatedActDense extends Module {
  readonly act: T5Activation;
  wi_0: Linear;
  wi_1: Linear;
  wo: Linear;
  dropout: Dropout;

  constructor(config: T5Config, generator?: Generator) {
    super();
    this.act = config.denseActFn;
    this.wi_0 = new Linear(config.dModel, config.dFf, { bias: false, generator });
    this.wi_1 = new Linear(config.dModel, config.dFf, { bias: false, generator });
    this.wo = new Linear(config.dFf, config.dModel, { bias: false, generator });
    this.dropout = new Dropout(config.dropoutRate, { generator });
  }

  override forward(x: Tensor): Tensor {
    const h = activate(this.wi_0.forward(x), this.act).mul(this.wi_1.forward(x));
    return this.wo.forward(this.dropout.forward(h));
  }
}

export class T5LayerFF extends Module {
  DenseReluDense: T5DenseActDense | T5DenseGatedActDense;
  layer_norm: T5LayerNorm;
  dropout: Dropout;

  constructor(config: T5Config, generator?: Generator) {
    super();
    this.DenseReluDense = config.isGatedAct ? new T5DenseGatedActDense(config, generator) : new T5DenseActDense(config, generator);
    this.layer_norm = new T5LayerNorm(config.dModel, config.layerNormEpsilon);
    this.dropout = new Dropout(config.dropoutRate, { generator });
  }

  override forward(x: Tensor): Tensor {
    return x.add(this.dropout.forward(this.DenseReluDense.forward(this.layer_norm.forward(x))));
  }
}

export interface SublayerOutputs {
  hidden: Tensor;
  positionBias: Tensor | null;
  present: KeyValue;
}

export class T5LayerSelfAttention extends Module {
  SelfAttention: T5Attention;
  layer_norm: T5LayerNorm;
  dropout: Dropout;

  constructor(config: T5Config, opts: { isDecoder: boolean; hasRelativeAttentionBias: boolean; generator?: Generator }) {
    super();
    this.SelfAttention = new T5Attention(config, opts);
    this.layer_norm = new T5LayerNorm(config.dModel, config.layerNormEpsilon);
    this.dropout = new Dropout(config.dropoutRate, { generator: opts.generator });
  }

  override forward(x: Tensor, inputs: AttentionInputs): SublayerOutputs {
    const r = this.SelfAttention.forward(this.layer_norm.forward(x), inputs);
    return { hidden: x.add(this.dropout.forward(r.output)), positionBias: r.positionBias, present: r.present };
  }
}

export class T5LayerCrossAttention extends Module {
  EncDecAttention: T5Attention;
  layer_norm: T5LayerNorm;
  dropout: Dropout;

  constructor(config: T5Config, generator?: Generator) {
    super();
    this.EncDecAttention = new T5Attention(config, { isDecoder: true, hasRelativeAttentionBias: false, generator });
    this.layer_norm = new T5LayerNorm(config.dModel, config.layerNormEpsilon);
    this.dropout = new Dropout(config.dropoutRate, { generator });
  }

  override forward(x: Tensor, inputs: AttentionInputs): SublayerOutputs {
    const r = this.EncDecAttention.forward(this.layer_norm.forward(x), inputs);
    return { hidden: x.add(this.dropout.forward(r.output)), positionBias: r.positionBias, present: r.present };
  }
}

/** Cached keys and values of one decoder block. */
export interface BlockCache {
  self: KeyValue | null;
  cross: KeyValue | null;
}

export interface BlockInputs {
  mask: Tensor | null;
  positionBias: Tensor | null;
  encoderHiddenStates?: Tensor | null;
  encoderMask?: Tensor | null;
  encoderDecoderPositionBias?: Tensor | null;
  cache?: BlockCache | null;
}

export interface BlockOutputs {
  hidden: Tensor;
  positionBias: Tensor | null;
  encoderDecoderPositionBias: Tensor | null;
  cache: BlockCache;
}

export class T5Block extends Module {
  readonly isDecoder: boolean;
  layer: ModuleList;

  constructor(config: T5Config, opts: { isDecoder: boolean; hasRelativeAttentionBias: boolean; generator?: Generator }) {
    super();
    this.isDecoder = opts.isDecoder;
    this.layer = new ModuleList();
    this.layer.append(new T5LayerSelfAttention(config, opts));
    if (opts.isDecoder) this.layer.append(new T5LayerCrossAttention(config, opts.generator));
    this.layer.append(new T5LayerFF(config, opts.generator));
  }

  override forward(x: Tensor, inputs: BlockInputs): BlockOutputs {
    const selfAttn = this.layer.at(0) as T5LayerSelfAttention;
    const s = selfAttn.forward(x, { mask: inputs.mask, positionBias: inputs.positionBias, past: inputs.cache?.self ?? null });
    let hidden = s.hidden;
    let crossBias: Tensor | null = null;
    let crossKV: KeyValue | null = null;
    if (this.isDecoder) {
      if (!inputs.encoderHiddenStates) throw new GradlabError("T5Block: a decoder block needs the encoder's hidden states");
      const c = (this.layer.at(1) as T5LayerCrossAttention).forward(hidden, {
        mask: inputs.encoderMask ?? null,
        positionBias: inputs.encoderDecoderPositionBias ?? null,
        keyValueStates: inputs.encoderHiddenStates,
        past: inputs.cache?.cross ?? null,
      });
      hidden = c.hidden;
      crossBias = c.positionBias;
      crossKV = c.present;
    }
    hidden = (this.layer.at(-1) as T5LayerFF).forward(hidden);
    return { hidden, positionBias: s.positionBias, encoderDecoderPositionBias: crossBias, cache: { self: s.present, cross: crossKV } };
  }
}
