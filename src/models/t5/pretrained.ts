/**
 * Hugging Face's checkpoint layout for T5: config.json, model.safetensors (or shards listed by
 * model.safetensors.index.json) and generation_config.json. Tied weights are stored once, as
 * `shared.weight`, the way save_pretrained writes them; the aliases (`encoder.embed_tokens.weight`,
 * `decoder.embed_tokens.weight`, a tied `lm_head.weight`) are filled from whichever is present.
 */
import { IOError } from "../../core/errors.js";
import { loadSafetensors, saveSafetensors, writeFileAtomic } from "../../io/index.js";
import { cast } from "../../tensor/primitives/movement.js";
import type { Tensor } from "../../tensor/tensor.js";
import { parseT5Config, t5ConfigToJSON } from "../../nn/t5/config.js";
import { loadNodeFiles } from "./files.js";
import { T5ForConditionalGeneration } from "./model.js";

const EMBEDDING_ALIASES = ["shared.weight", "encoder.embed_tokens.weight", "decoder.embed_tokens.weight"];
// transformers ignores this one too: old checkpoints stored a cross-attention bias no layer uses.
const IGNORED = new Set(["decoder.block.0.layer.1.EncDecAttention.relative_attention_bias.weight"]);

function join(dir: string, file: string): string {
  return `${dir.replace(/[\\/]+$/, "")}/${file}`;
}

/** Names the checkpoint must provide: the state dict less the tied aliases. */
function tiedAliases(model: T5ForConditionalGeneration): string[] {
  return model.config.tieWordEmbeddings ? [...EMBEDDING_ALIASES, "lm_head.weight"] : EMBEDDING_ALIASES;
}

/**
 * Copies checkpoint tensors (Hugging Face names) into the model. Missing weights, unexpected
 * names and shape mismatches are errors that list every offender and name `source`.
 */
export function loadT5Weights(model: T5ForConditionalGeneration, tensors: Record<string, Tensor>, source: string): void {
  const own = model.stateDict();
  const full: Record<string, Tensor> = {};
  const aliases = tiedAliases(model);
  const given = aliases.find((k) => k in tensors);
  const unexpected: string[] = [];
  const mismatched: string[] = [];
  for (const [k, t] of Object.entries(tensors)) {
    if (IGNORED.has(k)) continue;
    if (!(k in own)) unexpected.push(k);
    else if (t.shape.join() !== own[k].shape.join()) mismatched.push(`${k}: checkpoint [${t.shape.join(", ")}] vs model [${own[k].shape.join(", ")}]`);
    else full[k] = t;
  }
  // A tied group is one parameter: every alias takes the first stored one (shared.weight first).
  if (given && full[given]) for (const a of aliases) full[a] = full[given];
  const missing = Object.keys(own).filter((k) => !(k in full) && !(k in tensors));
  const problems: string[] = [];
  if (missing.length) problems.push(`missing weights: ${missing.join(", ")}`);
  if (unexpected.length) problems.push(`unexpected weights: ${unexpected.join(", ")}`);
  if (mismatched.length) problems.push(`shape mismatch: ${mismatched.join("; ")}`);
  if (problems.length) throw new IOError(`${source}: does not fit the T5 config (${problems.join(". ")})`);
  model.loadStateDict(full, { strict: true });
}

async function readJSON(path: string, files: Awaited<ReturnType<typeof loadNodeFiles>>): Promise<unknown> {
  const text = await files.readText(path);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new IOError(`${path}: not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
}

async function readWeights(dir: string, files: Awaited<ReturnType<typeof loadNodeFiles>>): Promise<{ tensors: Record<string, Tensor>; source: string }> {
  const single = join(dir, "model.safetensors");
  const index = join(dir, "model.safetensors.index.json");
  if (!(await files.isDirectory(dir))) throw new IOError(`${dir}: not a directory (expected a Hugging Face checkpoint directory)`);
  if (await files.exists(single)) return { tensors: await loadSafetensors(single), source: single };
  if (!(await files.exists(index))) throw new IOError(`${dir}: neither model.safetensors nor model.safetensors.index.json found`);
  const json = (await readJSON(index, files)) as { weight_map?: unknown };
  const map = json?.weight_map;
  if (typeof map !== "object" || map === null || Array.isArray(map)) throw new IOError(`${index}: has no "weight_map" object`);
  const byFile = new Map<string, string[]>();
  for (const [name, file] of Object.entries(map as Record<string, unknown>)) {
    if (typeof file !== "string") throw new IOError(`${index}: weight_map["${name}"] is not a file name`);
    byFile.set(file, [...(byFile.get(file) ?? []), name]);
  }
  const tensors: Record<string, Tensor> = {};
  for (const [file, names] of byFile) {
    const shard = await loadSafetensors(join(dir, file));
    for (const n of names) {
      if (!(n in shard)) throw new IOError(`${join(dir, file)}: the index lists "${n}" in this shard, but it is not there`);
      tensors[n] = shard[n];
    }
  }
  return { tensors, source: index };
}

export async function loadPretrained(dir: string, opts: { dtype?: "float32" | "float64" } = {}): Promise<T5ForConditionalGeneration> {
  const files = await loadNodeFiles("T5ForConditionalGeneration.fromPretrained");
  const configPath = join(dir, "config.json");
  const config = parseT5Config(await readJSON(configPath, files), configPath);
  const { tensors, source } = await readWeights(dir, files);
  const model = new T5ForConditionalGeneration(config);
  if (opts.dtype && opts.dtype !== "float32") model.to({ dtype: opts.dtype });
  loadT5Weights(model, tensors, source);
  return model.eval();
}

export async function savePretrained(model: T5ForConditionalGeneration, dir: string): Promise<void> {
  const files = await loadNodeFiles("T5ForConditionalGeneration.save");
  await files.ensureDir(dir);
  const dtype = model.shared.weight.dtype;
  const config = { ...t5ConfigToJSON(model.config), dtype };
  const generation = {
    decoder_start_token_id: model.config.decoderStartTokenId,
    eos_token_id: model.config.eosTokenId,
    pad_token_id: model.config.padTokenId,
  };
  const skip = new Set(tiedAliases(model).slice(1));
  const weights: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(model.stateDict())) if (!skip.has(k)) weights[k] = t.dtype === dtype ? t : cast(t, dtype);
  const enc = new TextEncoder();
  await saveSafetensors(weights, join(dir, "model.safetensors"), { format: "pt" });
  await writeFileAtomic(join(dir, "generation_config.json"), enc.encode(`${JSON.stringify(generation, null, 2)}\n`));
  // config.json last: a directory with a config is a complete checkpoint.
  await writeFileAtomic(join(dir, "config.json"), enc.encode(`${JSON.stringify(config, null, 2)}\n`));
}
