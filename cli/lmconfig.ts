/**
 * The configuration of a language-model training run: what `gradlab train` reads from a JSON file
 * or flags and saves as config.json in the run directory, so `resume`, `eval` and `sample` can
 * rebuild the same model.
 */
export interface LMConfig {
  /** Text file to train on; a relative path resolves against the current directory. "tinyshakespeare" = the bundled corpus. */
  data: string;
  tokenizer: "char" | "word";
  /** Word tokenizer only: vocabulary size cap (rest → <unk>). */
  maxVocab: number;
  valFraction: number;
  cell: "lstm" | "gru" | "rnn";
  embeddingDim: number;
  hiddenSize: number;
  numLayers: number;
  dropout: number;
  skip: "none" | "residual" | "dense" | "highway";
  tieWeights: boolean;
  /** LSTM forget-gate bias at initialisation (PyTorch's default init gives about 0). */
  forgetBias: number | null;
  optimizer: "adam" | "adamw" | "sgd" | "rmsprop" | "adagrad";
  lr: number;
  weightDecay: number;
  momentum: number;
  /** Clip gradients to this joint L2 norm (0: off). */
  clipNorm: number;
  /** Clamp gradient values to ±clipValue (0: off). */
  clipValue: number;
  batch: number;
  bptt: number;
  steps: number;
  evalEvery: number;
  evalWindows: number;
  checkpointEvery: number;
  /** Measure gradient flow (per-parameter norms, ‖∂J/∂h_t‖) every this many steps (0: off). */
  gradFlowEvery: number;
  seed: number;
  /** Where to train: "cpu", "webgpu" (an error when impossible) or "auto" (the GPU when it can). */
  device: "cpu" | "webgpu" | "auto";
}

export const LM_DEFAULTS: LMConfig = {
  data: "tinyshakespeare",
  tokenizer: "char",
  maxVocab: 10000,
  valFraction: 0.1,
  cell: "lstm",
  embeddingDim: 64,
  hiddenSize: 128,
  numLayers: 1,
  dropout: 0,
  skip: "none",
  tieWeights: false,
  forgetBias: 1,
  optimizer: "adam",
  lr: 3e-3,
  weightDecay: 0,
  momentum: 0,
  clipNorm: 1,
  clipValue: 0,
  batch: 32,
  bptt: 64,
  steps: 500,
  evalEvery: 100,
  evalWindows: 20,
  checkpointEvery: 100,
  gradFlowEvery: 10,
  seed: 0,
  device: "cpu",
};

const CHOICES: Partial<Record<keyof LMConfig, readonly string[]>> = {
  tokenizer: ["char", "word"],
  cell: ["lstm", "gru", "rnn"],
  skip: ["none", "residual", "dense", "highway"],
  optimizer: ["adam", "adamw", "sgd", "rmsprop", "adagrad"],
  device: ["cpu", "webgpu", "auto"],
};

const INTS: (keyof LMConfig)[] = [
  "maxVocab", "embeddingDim", "hiddenSize", "numLayers", "batch", "bptt", "steps", "evalEvery", "evalWindows",
  "checkpointEvery", "gradFlowEvery", "seed",
];
const POSITIVE_INTS: (keyof LMConfig)[] = ["maxVocab", "embeddingDim", "hiddenSize", "numLayers", "batch", "bptt", "evalWindows"];

export class ConfigError extends Error {}

/** Defaults overlaid with `partial`; every field is checked and a bad one is named with its value. */
export function resolveConfig(partial: Record<string, unknown>, source = "config"): LMConfig {
  if (partial === null || typeof partial !== "object" || Array.isArray(partial)) throw new ConfigError(`${source}: expected a JSON object`);
  const unknown = Object.keys(partial).filter((k) => !(k in LM_DEFAULTS));
  if (unknown.length) throw new ConfigError(`${source}: unknown field${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => JSON.stringify(k)).join(", ")} (known: ${Object.keys(LM_DEFAULTS).join(", ")})`);
  const c = { ...LM_DEFAULTS, ...partial } as LMConfig;
  const bad = (k: string, want: string) => new ConfigError(`${source}: "${k}" must be ${want}, got ${JSON.stringify((c as unknown as Record<string, unknown>)[k])}`);
  for (const [k, opts] of Object.entries(CHOICES)) {
    if (!opts!.includes((c as unknown as Record<string, string>)[k])) throw bad(k, `one of ${opts!.join(", ")}`);
  }
  for (const k of INTS) {
    const v = c[k] as number;
    if (!Number.isInteger(v) || v < 0) throw bad(k, "a non-negative integer");
  }
  for (const k of POSITIVE_INTS) if ((c[k] as number) < 1) throw bad(k, "a positive integer");
  if (c.bptt < 2) throw bad("bptt", "at least 2");
  for (const k of ["lr", "weightDecay", "momentum", "clipNorm", "clipValue"] as const) {
    if (typeof c[k] !== "number" || !(c[k] >= 0)) throw bad(k, "a non-negative number");
  }
  if (!(c.lr > 0)) throw bad("lr", "a positive number");
  if (!(typeof c.dropout === "number" && c.dropout >= 0 && c.dropout < 1)) throw bad("dropout", "a number in [0, 1)");
  if (!(typeof c.valFraction === "number" && c.valFraction > 0 && c.valFraction < 1)) throw bad("valFraction", "a number in (0, 1)");
  if (typeof c.tieWeights !== "boolean") throw bad("tieWeights", "true or false");
  if (c.forgetBias !== null && typeof c.forgetBias !== "number") throw bad("forgetBias", "a number or null");
  if (typeof c.data !== "string" || !c.data) throw bad("data", "a file path");
  if (c.tieWeights && c.embeddingDim !== c.hiddenSize) {
    throw new ConfigError(`${source}: "tieWeights" needs embeddingDim (${c.embeddingDim}) = hiddenSize (${c.hiddenSize})`);
  }
  return c;
}
