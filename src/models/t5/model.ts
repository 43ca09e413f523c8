/**
 * T5ForConditionalGeneration with Hugging Face's module tree, so that namedParameters() and the
 * state dict use transformers' names (`shared.weight`, `encoder.block.0.layer.0.SelfAttention.q.weight`,
 * ..., `lm_head.weight` only when untied). Loading and saving in HF's directory layout live in
 * pretrained.ts; generation in generation.ts.
 */
import { DTypeError, GradlabError, ShapeError, fmtShape } from "../../core/errors.js";
import type { Generator } from "../../core/rng.js";
import { crossEntropy } from "../../tensor/ops/loss.js";
import { Tensor } from "../../tensor/tensor.js";
import { Embedding } from "../../nn/embedding.js";
import { normal_, constant_ } from "../../nn/init.js";
import { Linear } from "../../nn/linear.js";
import { Module } from "../../nn/module.js";
import { type T5Config, type T5ConfigInput, parseT5Config, t5Config } from "../../nn/t5/config.js";
import { T5Attention } from "../../nn/t5/attention.js";
import { T5DenseActDense, T5DenseGatedActDense, T5LayerNorm, type BlockCache } from "../../nn/t5/layers.js";
import { T5Stack } from "../../nn/t5/stack.js";
import { type GenerateOptions, generate, generateAsync } from "./generation.js";

export interface T5ForwardInputs {
  /** int32 [batch, sourceLength]. */
  inputIds?: Tensor;
  /** int32 [batch, sourceLength], 1 for tokens and 0 for padding. */
  attentionMask?: Tensor | null;
  /** int32 [batch, targetLength]; shifted right from labels when absent. */
  decoderInputIds?: Tensor | null;
  decoderAttentionMask?: Tensor | null;
  /** int32 [batch, targetLength]; -100 marks positions left out of the loss. */
  labels?: Tensor | null;
  /** The encoder's output, to skip running the encoder again. */
  encoderLastHiddenState?: Tensor | null;
  outputHiddenStates?: boolean;
}

export interface T5ForwardOutputs {
  /** Mean cross-entropy over labels that are not -100 (when labels are given). */
  loss?: Tensor;
  /** [batch, targetLength, vocabSize]. */
  logits: Tensor;
  encoderLastHiddenState: Tensor;
  /** With outputHiddenStates: the encoder's embeddings, each block's output but the last, and the final state. */
  encoderHiddenStates?: Tensor[];
  decoderHiddenStates?: Tensor[];
}

export const IGNORE_INDEX = -100;

function checkIds(op: string, what: string, t: unknown): asserts t is Tensor {
  if (!(t instanceof Tensor)) throw new GradlabError(`${op}: ${what} must be an int32 Tensor, got ${t === null ? "null" : typeof t}`);
  if (t.dtype !== "int32") throw new DTypeError(`${op}: ${what} must be int32, got ${t.dtype}`);
  if (t.ndim !== 2) throw new ShapeError(`${op}: ${what} must be [batch, length], got ${fmtShape(t.shape)}`);
}

export class T5ForConditionalGeneration extends Module {
  readonly config: T5Config;
  shared: Embedding;
  encoder: T5Stack;
  decoder: T5Stack;
  lm_head: Linear;

  /** A randomly initialised model (T5's initialisation); pass a config object or config.json contents. */
  constructor(config: T5Config | T5ConfigInput = {}, opts: { generator?: Generator } = {}) {
    super();
    const cfg = "raw" in config ? (config as T5Config) : t5Config(config as T5ConfigInput);
    this.config = cfg;
    const g = opts.generator;
    this.shared = new Embedding(cfg.vocabSize, cfg.dModel, { generator: g });
    this.encoder = new T5Stack(cfg, this.shared, { isDecoder: false, generator: g });
    this.decoder = new T5Stack(cfg, this.shared, { isDecoder: true, generator: g });
    this.lm_head = new Linear(cfg.dModel, cfg.vocabSize, { bias: false, generator: g });
    if (cfg.tieWordEmbeddings) this.lm_head.weight = this.shared.weight;
    this.initWeights(g);
  }

  /** A model from config.json contents (unknown keys are kept). */
  static fromConfig(json: unknown, opts: { generator?: Generator; source?: string } = {}): T5ForConditionalGeneration {
    return new T5ForConditionalGeneration(parseT5Config(json, opts.source ?? "config"), opts);
  }

  /** Reads config.json and model.safetensors (or a sharded checkpoint's index) from a Hugging Face directory (Node). */
  static async fromPretrained(dir: string, opts: { dtype?: "float32" | "float64" } = {}): Promise<T5ForConditionalGeneration> {
    const { loadPretrained } = await import("./pretrained.js");
    return loadPretrained(dir, opts);
  }

  /** Writes config.json, generation_config.json and model.safetensors in Hugging Face's layout (Node). */
  async save(dir: string): Promise<void> {
    const { savePretrained } = await import("./pretrained.js");
    return savePretrained(this, dir);
  }

  /** transformers' T5PreTrainedModel._init_weights: normal initialisations scaled by initializer_factor. */
  initWeights(generator?: Generator): void {
    const f = this.config.initializerFactor;
    const { dModel, dFf, dKv, numHeads } = this.config;
    normal_(this.shared.weight, 0, f, generator);
    if (!this.config.tieWordEmbeddings) normal_(this.lm_head.weight, 0, f, generator);
    for (const m of this.modules()) {
      if (m instanceof T5LayerNorm) constant_(m.weight, f);
      else if (m instanceof T5DenseActDense) {
        normal_(m.wi.weight, 0, f * dModel ** -0.5, generator);
        normal_(m.wo.weight, 0, f * dFf ** -0.5, generator);
      } else if (m instanceof T5DenseGatedActDense) {
        normal_(m.wi_0.weight, 0, f * dModel ** -0.5, generator);
        normal_(m.wi_1.weight, 0, f * dModel ** -0.5, generator);
        normal_(m.wo.weight, 0, f * dFf ** -0.5, generator);
      } else if (m instanceof T5Attention) {
        normal_(m.q.weight, 0, f * (dModel * dKv) ** -0.5, generator);
        normal_(m.k.weight, 0, f * dModel ** -0.5, generator);
        normal_(m.v.weight, 0, f * dModel ** -0.5, generator);
        normal_(m.o.weight, 0, f * (numHeads * dKv) ** -0.5, generator);
        if (m.relative_attention_bias) normal_(m.relative_attention_bias.weight, 0, f * dModel ** -0.5, generator);
      }
    }
  }

  /** labels → decoder inputs: start token first, everything shifted one right, -100 replaced by pad. */
  shiftRight(labels: Tensor): Tensor {
    checkIds("T5.shiftRight", "labels", labels);
    const [B, T] = labels.shape;
    const src = labels.toArray();
    const out = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      out[b * T] = this.config.decoderStartTokenId;
      for (let t = 1; t < T; t++) {
        const v = src[b * T + t - 1];
        out[b * T + t] = v === IGNORE_INDEX ? this.config.padTokenId : v;
      }
    }
    return new Tensor(out, [B, T]);
  }

  encode(inputIds: Tensor, attentionMask?: Tensor | null, outputHiddenStates = false): { lastHiddenState: Tensor; hiddenStates?: Tensor[] } {
    checkIds("T5.encode", "inputIds", inputIds);
    if (attentionMask) checkIds("T5.encode", "attentionMask", attentionMask);
    return this.encoder.forward({ inputIds, attentionMask, outputHiddenStates });
  }

  /** Decoder hidden states → logits, with the d_model^-0.5 rescale of tied T5 v1.0 models. */
  lmLogits(hidden: Tensor): Tensor {
    const h = this.config.scaleDecoderOutputs ? hidden.mul(this.config.dModel ** -0.5) : hidden;
    return this.lm_head.forward(h);
  }

  /** One decoder pass; with a cache, only the new positions are given and their keys/values appended. */
  decode(
    decoderInputIds: Tensor,
    encoderHiddenStates: Tensor,
    opts: { encoderAttentionMask?: Tensor | null; decoderAttentionMask?: Tensor | null; cache?: BlockCache[] | null; outputHiddenStates?: boolean } = {},
  ): { logits: Tensor; cache: BlockCache[]; hiddenStates?: Tensor[] } {
    const r = this.decoder.forward({
      inputIds: decoderInputIds,
      attentionMask: opts.decoderAttentionMask,
      encoderHiddenStates,
      encoderAttentionMask: opts.encoderAttentionMask,
      cache: opts.cache,
      outputHiddenStates: opts.outputHiddenStates,
    });
    return { logits: this.lmLogits(r.lastHiddenState), cache: r.cache, hiddenStates: r.hiddenStates };
  }

  override forward(inputs: T5ForwardInputs): T5ForwardOutputs {
    if (typeof inputs !== "object" || inputs === null) throw new GradlabError("T5ForConditionalGeneration.forward: expects an object { inputIds, attentionMask?, decoderInputIds?, labels? }");
    const op = "T5ForConditionalGeneration.forward";
    const { labels = null, attentionMask = null } = inputs;
    if (labels) checkIds(op, "labels", labels);
    let encoderLastHiddenState = inputs.encoderLastHiddenState ?? null;
    let encoderHiddenStates: Tensor[] | undefined;
    if (!encoderLastHiddenState) {
      if (!inputs.inputIds) throw new GradlabError(`${op}: inputIds are required (or encoderLastHiddenState)`);
      checkIds(op, "inputIds", inputs.inputIds);
      if (attentionMask) {
        checkIds(op, "attentionMask", attentionMask);
        if (attentionMask.shape.join() !== inputs.inputIds.shape.join()) {
          throw new ShapeError(`${op}: attentionMask ${fmtShape(attentionMask.shape)} must match inputIds ${fmtShape(inputs.inputIds.shape)}`);
        }
      }
      const enc = this.encode(inputs.inputIds, attentionMask, inputs.outputHiddenStates);
      encoderLastHiddenState = enc.lastHiddenState;
      encoderHiddenStates = enc.hiddenStates;
    }
    let decoderInputIds = inputs.decoderInputIds ?? null;
    if (!decoderInputIds) {
      if (!labels) throw new GradlabError(`${op}: give decoderInputIds or labels (decoder inputs are shifted right from the labels)`);
      decoderInputIds = this.shiftRight(labels);
    }
    checkIds(op, "decoderInputIds", decoderInputIds);
    if (labels && labels.shape.join() !== decoderInputIds.shape.join()) {
      throw new ShapeError(`${op}: labels ${fmtShape(labels.shape)} must have the decoder inputs' shape ${fmtShape(decoderInputIds.shape)}`);
    }
    const d = this.decode(decoderInputIds, encoderLastHiddenState, {
      encoderAttentionMask: attentionMask,
      decoderAttentionMask: inputs.decoderAttentionMask,
      outputHiddenStates: inputs.outputHiddenStates,
    });
    const out: T5ForwardOutputs = { logits: d.logits, encoderLastHiddenState };
    if (encoderHiddenStates) out.encoderHiddenStates = encoderHiddenStates;
    if (d.hiddenStates) out.decoderHiddenStates = d.hiddenStates;
    if (labels) {
      const V = this.config.vocabSize;
      out.loss = crossEntropy(d.logits.reshape([-1, V]), labels.reshape([-1]), { ignoreIndex: IGNORE_INDEX });
    }
    return out;
  }

  /** Token ids continuing each input row: greedy, beam search or sampling, as transformers' generate(). */
  generate(inputIds: Tensor, opts: GenerateOptions = {}): Tensor {
    return generate(this, inputIds, opts);
  }
  /** generate() on any device: each step's logits are read back asynchronously. */
  generateAsync(inputIds: Tensor, opts: GenerateOptions = {}): Promise<Tensor> {
    return generateAsync(this, inputIds, opts);
  }

}
