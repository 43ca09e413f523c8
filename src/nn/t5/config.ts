/**
 * T5Config as Hugging Face writes config.json: snake_case keys, HF's defaults (t5-small's sizes),
 * `feed_forward_proj` parsed into an activation and a gated flag ("gated-gelu" means the tanh
 * GELU, T5 v1.1 / FLAN), and the decoder-output rescale d_model^-0.5 taken from
 * `scale_decoder_outputs` when the file has it (transformers 5 writes it) or else from
 * `tie_word_embeddings` (older files). Keys gradlab does not use are kept and written back.
 */
import { IOError } from "../../core/errors.js";

export type T5Activation = "relu" | "gelu" | "gelu_new" | "silu";

export interface T5Config {
  vocabSize: number;
  dModel: number;
  dKv: number;
  dFf: number;
  numLayers: number;
  numDecoderLayers: number;
  numHeads: number;
  relativeAttentionNumBuckets: number;
  relativeAttentionMaxDistance: number;
  dropoutRate: number;
  layerNormEpsilon: number;
  initializerFactor: number;
  feedForwardProj: string;
  denseActFn: T5Activation;
  isGatedAct: boolean;
  tieWordEmbeddings: boolean;
  scaleDecoderOutputs: boolean;
  padTokenId: number;
  eosTokenId: number;
  decoderStartTokenId: number;
  /** Every key of the source config.json (unknown ones included), for writing it back. */
  raw: Record<string, unknown>;
}

export type T5ConfigInput = Partial<Omit<T5Config, "raw" | "denseActFn" | "isGatedAct">>;

const ACTIVATIONS: Record<string, T5Activation> = { relu: "relu", gelu: "gelu", gelu_new: "gelu_new", silu: "silu", swish: "silu" };

const DEFAULTS = {
  vocab_size: 32128,
  d_model: 512,
  d_kv: 64,
  d_ff: 2048,
  num_layers: 6,
  num_heads: 8,
  relative_attention_num_buckets: 32,
  relative_attention_max_distance: 128,
  dropout_rate: 0.1,
  layer_norm_epsilon: 1e-6,
  initializer_factor: 1.0,
  feed_forward_proj: "relu",
  tie_word_embeddings: true,
  pad_token_id: 0,
  eos_token_id: 1,
};

const CAMEL: Record<string, string> = {
  vocabSize: "vocab_size", dModel: "d_model", dKv: "d_kv", dFf: "d_ff", numLayers: "num_layers",
  numDecoderLayers: "num_decoder_layers", numHeads: "num_heads", relativeAttentionNumBuckets: "relative_attention_num_buckets",
  relativeAttentionMaxDistance: "relative_attention_max_distance", dropoutRate: "dropout_rate",
  layerNormEpsilon: "layer_norm_epsilon", initializerFactor: "initializer_factor", feedForwardProj: "feed_forward_proj",
  tieWordEmbeddings: "tie_word_embeddings", scaleDecoderOutputs: "scale_decoder_outputs", padTokenId: "pad_token_id",
  eosTokenId: "eos_token_id", decoderStartTokenId: "decoder_start_token_id",
};

/** Parses a config.json object; `source` (the file) is named in every error. */
export function parseT5Config(json: unknown, source = "config.json"): T5Config {
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw new IOError(`${source}: a T5 config must be a JSON object`);
  const raw = { ...(json as Record<string, unknown>) };
  const get = (key: string, fallback?: unknown): unknown => (raw[key] === undefined || raw[key] === null ? fallback : raw[key]);
  const int = (key: string, min: number, fallback?: number): number => {
    const v = get(key, fallback);
    if (typeof v !== "number" || !Number.isInteger(v) || v < min) throw new IOError(`${source}: "${key}" must be an integer >= ${min}, got ${JSON.stringify(v)}`);
    return v;
  };
  const num = (key: string, min: number, max: number, fallback: number): number => {
    const v = get(key, fallback);
    if (typeof v !== "number" || !(v >= min && v <= max)) throw new IOError(`${source}: "${key}" must be a number in [${min}, ${max}], got ${JSON.stringify(v)}`);
    return v;
  };
  const bool = (key: string, fallback: boolean): boolean => {
    const v = get(key, fallback);
    if (typeof v !== "boolean") throw new IOError(`${source}: "${key}" must be true or false, got ${JSON.stringify(v)}`);
    return v;
  };
  const mt = get("model_type", "t5");
  if (mt !== "t5" && mt !== "mt5") throw new IOError(`${source}: model_type ${JSON.stringify(mt)} is not a T5 model`);
  const proj = get("feed_forward_proj", DEFAULTS.feed_forward_proj);
  if (typeof proj !== "string") throw new IOError(`${source}: "feed_forward_proj" must be a string, got ${JSON.stringify(proj)}`);
  const parts = proj.split("-");
  const gated = parts[0] === "gated";
  if ((parts.length > 1 && !gated) || parts.length > 2) {
    throw new IOError(`${source}: "feed_forward_proj" ${JSON.stringify(proj)} is not of the form "{ACT}" or "gated-{ACT}" (e.g. "relu", "gated-gelu")`);
  }
  const actName = proj === "gated-gelu" ? "gelu_new" : parts[parts.length - 1];
  const act = ACTIVATIONS[actName];
  if (!act) throw new IOError(`${source}: activation ${JSON.stringify(actName)} of "feed_forward_proj" is not supported (${Object.keys(ACTIVATIONS).join(", ")})`);
  const numLayers = int("num_layers", 1, DEFAULTS.num_layers);
  const tie = bool("tie_word_embeddings", DEFAULTS.tie_word_embeddings);
  const padTokenId = int("pad_token_id", 0, DEFAULTS.pad_token_id);
  const eos = get("eos_token_id", DEFAULTS.eos_token_id);
  const eosTokenId = Array.isArray(eos) ? eos[0] : eos;
  if (typeof eosTokenId !== "number" || !Number.isInteger(eosTokenId) || eosTokenId < 0) throw new IOError(`${source}: "eos_token_id" must be a token id, got ${JSON.stringify(eos)}`);
  const cfg: T5Config = {
    vocabSize: int("vocab_size", 1, DEFAULTS.vocab_size),
    dModel: int("d_model", 1, DEFAULTS.d_model),
    dKv: int("d_kv", 1, DEFAULTS.d_kv),
    dFf: int("d_ff", 1, DEFAULTS.d_ff),
    numLayers,
    numDecoderLayers: int("num_decoder_layers", 1, numLayers),
    numHeads: int("num_heads", 1, DEFAULTS.num_heads),
    relativeAttentionNumBuckets: int("relative_attention_num_buckets", 2, DEFAULTS.relative_attention_num_buckets),
    relativeAttentionMaxDistance: int("relative_attention_max_distance", 1, DEFAULTS.relative_attention_max_distance),
    dropoutRate: num("dropout_rate", 0, 1, DEFAULTS.dropout_rate),
    layerNormEpsilon: num("layer_norm_epsilon", 0, 1, DEFAULTS.layer_norm_epsilon),
    initializerFactor: num("initializer_factor", 0, Infinity, DEFAULTS.initializer_factor),
    feedForwardProj: proj,
    denseActFn: act,
    isGatedAct: gated,
    tieWordEmbeddings: tie,
    scaleDecoderOutputs: bool("scale_decoder_outputs", tie),
    padTokenId,
    eosTokenId,
    decoderStartTokenId: int("decoder_start_token_id", 0, padTokenId),
    raw,
  };
  for (const [k, v] of [["pad_token_id", padTokenId], ["eos_token_id", eosTokenId], ["decoder_start_token_id", cfg.decoderStartTokenId]] as const) {
    if (v >= cfg.vocabSize) throw new IOError(`${source}: "${k}" ${v} is out of range for vocab_size ${cfg.vocabSize}`);
  }
  return cfg;
}

/** A config from camelCase options (HF's defaults for the rest), e.g. for a model trained from scratch. */
export function t5Config(opts: T5ConfigInput = {}): T5Config {
  const json: Record<string, unknown> = { model_type: "t5", architectures: ["T5ForConditionalGeneration"], is_encoder_decoder: true };
  for (const [k, v] of Object.entries(opts)) {
    const key = CAMEL[k];
    if (!key) throw new IOError(`t5Config: unknown option "${k}"`);
    if (v !== undefined) json[key] = v;
  }
  return parseT5Config(json, "t5Config");
}

/** config.json contents as Hugging Face writes them: the source's keys, updated with every field. */
export function t5ConfigToJSON(cfg: T5Config): Record<string, unknown> {
  const out: Record<string, unknown> = { ...cfg.raw };
  for (const [camel, key] of Object.entries(CAMEL)) out[key] = cfg[camel as keyof T5Config];
  out.dense_act_fn = cfg.denseActFn;
  out.is_gated_act = cfg.isGatedAct;
  out.model_type ??= "t5";
  out.architectures ??= ["T5ForConditionalGeneration"];
  out.is_encoder_decoder = true;
  return out;
}
