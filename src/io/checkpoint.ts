/**
 * Training checkpoints: model, optimizer, schedule, RNG states, step and data position in one
 * safetensors file. Tensors are stored by name ("model.<name>", "optimizer.<param>.<state>"); the
 * rest is JSON in the header's __metadata__, with a CRC-32 over everything so a corrupt or
 * truncated file is refused before anything is restored. Encoding and decoding are browser-safe;
 * the file functions (save with keep-last-K, load, load latest) need Node.
 */
import { GradlabError, IOError, ShapeError } from "../core/errors.js";
import { Generator, defaultGenerator } from "../core/rng.js";
import type { Module } from "../nn/module.js";
import type { LRScheduler, LRSchedulerState } from "../optim/lr-scheduler.js";
import type { BaseOptions, Optimizer, OptimizerStateDict, ParamState } from "../optim/optimizer.js";
import { Tensor } from "../tensor/tensor.js";
import { readSafetensorsWithMetadata, writeSafetensors } from "./safetensors.js";

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** What a checkpoint saves from and restores into. */
export interface CheckpointTargets {
  model: Module;
  optimizer?: Optimizer<BaseOptions>;
  scheduler?: LRScheduler;
  /**
   * Random generators to save and restore, by name. The global generator ("default") and every
   * Generator a module of the model holds (e.g. for dropout, "model.<path>.<field>") are included.
   */
  generators?: Record<string, Generator>;
}

/** Where training stands: restored exactly as saved. */
export interface CheckpointProgress {
  step: number;
  /** The data loader's position (epoch, batch index, shuffling seed, ...), as JSON. */
  dataPosition?: Json;
  extra?: { [k: string]: Json };
}

interface OptimizerMeta {
  name: string;
  paramGroups: OptimizerStateDict["paramGroups"];
  stepCalls: number;
  skippedSteps: number[];
  /** Per parameter index: the numeric state entries; tensor entries are stored as tensors. */
  numbers: Record<string, Record<string, number>>;
  tensors: Record<string, string[]>;
}

interface CheckpointMeta extends CheckpointProgress {
  rng: Record<string, number[]>;
  optimizer: OptimizerMeta | null;
  scheduler: LRSchedulerState | null;
}

export interface DecodedCheckpoint {
  tensors: Record<string, Tensor>;
  meta: CheckpointMeta;
}

const FORMAT = "gradlab.checkpoint";
const VERSION = "1";

// ---- integrity ----

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(chunks: Uint8Array[]): string {
  let c = 0xffffffff;
  for (const b of chunks) for (let i = 0; i < b.length; i++) c = CRC_TABLE[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return ((c ^ 0xffffffff) >>> 0).toString(16).padStart(8, "0");
}

/** CRC-32 over the state JSON and every tensor's name, dtype, shape and bytes, in name order. */
function checksum(state: string, tensors: Record<string, Tensor>): string {
  const enc = new TextEncoder();
  const chunks: Uint8Array[] = [enc.encode(state)];
  for (const name of Object.keys(tensors).sort()) {
    const t = tensors[name];
    const a = t.toArray();
    chunks.push(enc.encode(`${name}|${t.dtype}|${t.shape.join(",")}|`), new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  }
  return crc32(chunks);
}

// ---- generators ----

/** The global generator plus every Generator held by a module of the model, by name, each once. */
function collectGenerators(targets: CheckpointTargets): Map<string, Generator> {
  const out = new Map<string, Generator>([["default", defaultGenerator]]);
  const seen = new Set<Generator>([defaultGenerator]);
  for (const [path, m] of targets.model.namedModules()) {
    for (const [k, v] of Object.entries(m)) {
      if (!(v instanceof Generator) || seen.has(v)) continue;
      seen.add(v);
      out.set(`model.${path ? `${path}.` : ""}${k}`, v);
    }
  }
  for (const [k, g] of Object.entries(targets.generators ?? {})) {
    if (!(g instanceof Generator)) throw new GradlabError(`checkpoint: generators["${k}"] is not a Generator`);
    out.set(k, g);
  }
  return out;
}

function stringifyState(meta: CheckpointMeta): string {
  return JSON.stringify(meta, (key, v) => {
    if (typeof v === "number" && !Number.isFinite(v)) {
      throw new GradlabError(`checkpoint: "${key}" is ${v}; checkpoint state must hold finite numbers only`);
    }
    return v;
  });
}

// ---- encode / decode / restore (browser-safe) ----

/** Serialises the targets and progress to safetensors bytes. */
export function encodeCheckpoint(targets: CheckpointTargets, progress: CheckpointProgress): Uint8Array {
  if (!Number.isInteger(progress.step) || progress.step < 0) throw new GradlabError(`checkpoint: step must be an integer >= 0, got ${progress.step}`);
  const tensors: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(targets.model.stateDict())) tensors[`model.${k}`] = t;
  let optimizer: OptimizerMeta | null = null;
  if (targets.optimizer) {
    const sd = targets.optimizer.stateDict();
    optimizer = { name: targets.optimizer.name, paramGroups: sd.paramGroups, stepCalls: sd.stepCalls, skippedSteps: sd.skippedSteps, numbers: {}, tensors: {} };
    for (const [idx, s] of Object.entries(sd.state)) {
      optimizer.numbers[idx] = {};
      optimizer.tensors[idx] = [];
      for (const [name, v] of Object.entries(s)) {
        if (v instanceof Tensor) {
          tensors[`optimizer.${idx}.${name}`] = v;
          optimizer.tensors[idx].push(name);
        } else optimizer.numbers[idx][name] = v;
      }
    }
  }
  const rng: Record<string, number[]> = {};
  for (const [k, g] of collectGenerators(targets)) rng[k] = g.getState();
  const meta: CheckpointMeta = {
    step: progress.step,
    ...(progress.dataPosition !== undefined ? { dataPosition: progress.dataPosition } : {}),
    ...(progress.extra !== undefined ? { extra: progress.extra } : {}),
    rng,
    optimizer,
    scheduler: targets.scheduler ? targets.scheduler.stateDict() : null,
  };
  const state = stringifyState(meta);
  return writeSafetensors(tensors, { format: FORMAT, version: VERSION, state, checksum: checksum(state, tensors) });
}

/** Parses and verifies checkpoint bytes; a truncated, corrupt or foreign file is an IOError. */
export function decodeCheckpoint(bytes: Uint8Array, name = "<bytes>"): DecodedCheckpoint {
  const fail = (msg: string): never => {
    throw new IOError(`checkpoint ${name}: ${msg}`);
  };
  let contents;
  try {
    contents = readSafetensorsWithMetadata(bytes, name);
  } catch (e) {
    fail(`not a readable safetensors file (truncated or corrupt): ${e instanceof Error ? e.message : e}`);
  }
  const { tensors, metadata } = contents!;
  if (metadata.format !== FORMAT) fail(`not a gradlab checkpoint (metadata format is ${JSON.stringify(metadata.format ?? null)})`);
  if (metadata.version !== VERSION) fail(`checkpoint version ${metadata.version} is not supported (expected ${VERSION})`);
  const state = metadata.state ?? fail("metadata has no state");
  const sum = checksum(state, tensors);
  if (sum !== metadata.checksum) fail(`checksum mismatch (stored ${metadata.checksum}, computed ${sum}): the file is corrupt`);
  let meta: CheckpointMeta;
  try {
    meta = JSON.parse(state) as CheckpointMeta;
  } catch (e) {
    return fail(`state metadata is not JSON: ${e instanceof Error ? e.message : e}`);
  }
  return { tensors, meta };
}

function optimizerStateDict(op: string, meta: OptimizerMeta, tensors: Record<string, Tensor>): OptimizerStateDict {
  const state: Record<string, ParamState> = {};
  for (const [idx, nums] of Object.entries(meta.numbers)) {
    const s: ParamState = { ...nums };
    for (const name of meta.tensors[idx] ?? []) {
      const t = tensors[`optimizer.${idx}.${name}`];
      if (!t) throw new IOError(`${op}: optimizer state tensor "optimizer.${idx}.${name}" is missing`);
      s[name] = t;
    }
    state[idx] = s;
  }
  return { state, paramGroups: meta.paramGroups, stepCalls: meta.stepCalls, skippedSteps: meta.skippedSteps };
}

/**
 * Restores a decoded checkpoint into the targets and returns the saved progress. Everything is
 * checked against the targets first, so a mismatch changes nothing.
 */
export function restoreCheckpoint(ckpt: DecodedCheckpoint, targets: CheckpointTargets, name = "<bytes>"): CheckpointProgress {
  const op = `restoreCheckpoint(${name})`;
  const { tensors, meta } = ckpt;
  const modelSd: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(tensors)) if (k.startsWith("model.")) modelSd[k.slice(6)] = t;
  const own = targets.model.stateDict();
  const missing = Object.keys(own).filter((k) => !(k in modelSd));
  const unexpected = Object.keys(modelSd).filter((k) => !(k in own));
  const shapes = Object.keys(own).filter((k) => k in modelSd && own[k].shape.join() !== modelSd[k].shape.join());
  if (missing.length || unexpected.length || shapes.length) {
    const parts = [];
    if (missing.length) parts.push(`missing model tensors: ${missing.join(", ")}`);
    if (unexpected.length) parts.push(`unexpected model tensors: ${unexpected.join(", ")}`);
    if (shapes.length) parts.push(`shape mismatch for ${shapes.map((k) => `${k} (checkpoint [${modelSd[k].shape}] vs model [${own[k].shape}])`).join(", ")}`);
    throw new ShapeError(`${op}: the checkpoint does not fit the model: ${parts.join("; ")}`);
  }
  if (!!meta.optimizer !== !!targets.optimizer) {
    throw new GradlabError(`${op}: the checkpoint ${meta.optimizer ? "has" : "has no"} optimizer state but ${targets.optimizer ? "an optimizer was" : "no optimizer was"} given`);
  }
  if (meta.optimizer && targets.optimizer && meta.optimizer.name !== targets.optimizer.name) {
    throw new GradlabError(`${op}: the checkpoint holds ${meta.optimizer.name} state, the optimizer is ${targets.optimizer.name}`);
  }
  if (meta.optimizer && targets.optimizer) {
    const saved = meta.optimizer.paramGroups.map((g) => g.params.length);
    const here = targets.optimizer.paramGroups.map((g) => g.params.length);
    if (saved.join() !== here.join()) {
      throw new GradlabError(`${op}: the checkpoint's optimizer has groups of [${saved}] parameters, this optimizer [${here}]`);
    }
  }
  if (!!meta.scheduler !== !!targets.scheduler) {
    throw new GradlabError(`${op}: the checkpoint ${meta.scheduler ? "has" : "has no"} schedule state but ${targets.scheduler ? "a scheduler was" : "no scheduler was"} given`);
  }
  const gens = collectGenerators(targets);
  const savedNames = Object.keys(meta.rng);
  const absent = savedNames.filter((k) => !gens.has(k));
  const unsaved = [...gens.keys()].filter((k) => !(k in meta.rng));
  if (absent.length || unsaved.length) {
    throw new GradlabError(
      `${op}: random generators differ: ${absent.length ? `saved but not found: ${absent.join(", ")}` : ""}${absent.length && unsaved.length ? "; " : ""}${unsaved.length ? `not in the checkpoint: ${unsaved.join(", ")}` : ""}`,
    );
  }
  const optSd = meta.optimizer ? optimizerStateDict(op, meta.optimizer, tensors) : null;
  targets.model.loadStateDict(modelSd);
  if (optSd && targets.optimizer) targets.optimizer.loadStateDict(optSd);
  if (meta.scheduler && targets.scheduler) targets.scheduler.loadStateDict(meta.scheduler);
  for (const [k, s] of Object.entries(meta.rng)) gens.get(k)!.setState(s);
  const progress: CheckpointProgress = { step: meta.step };
  if (meta.dataPosition !== undefined) progress.dataPosition = meta.dataPosition;
  if (meta.extra !== undefined) progress.extra = meta.extra;
  return progress;
}

// ---- files (Node) ----

type Fs = typeof import("node:fs/promises");
type NodeIO = typeof import("./node.js");
// Non-literal specifiers keep bundlers from pulling node:fs into browser builds.
const FS = "node:fs/promises";
const NODE_IO = "./node.js";

async function node(op: string): Promise<{ fs: Fs; io: NodeIO }> {
  const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
  if (!proc?.versions?.node) throw new IOError(`${op}: file access needs Node; use encodeCheckpoint / decodeCheckpoint with your own storage`);
  const [fs, io] = await Promise.all([import(/* @vite-ignore */ FS) as Promise<Fs>, import(/* webpackIgnore: true */ /* @vite-ignore */ NODE_IO) as Promise<NodeIO>]);
  return { fs, io };
}

function join(dir: string, file: string): string {
  return dir.endsWith("/") ? dir + file : `${dir}/${file}`;
}

export interface SaveCheckpointOptions {
  /** How many checkpoints to keep in the directory, newest by step (default 3). */
  keepLast?: number;
  /** File name prefix: `<prefix>-<step>.safetensors` (default "checkpoint"). */
  prefix?: string;
}

export interface CheckpointFile {
  path: string;
  step: number;
}

function checkPrefix(op: string, prefix: string): void {
  if (!/^[A-Za-z0-9_.-]+$/.test(prefix)) throw new GradlabError(`${op}: prefix must use letters, digits, "_", "." or "-", got ${JSON.stringify(prefix)}`);
}

/** The checkpoints in `dir`, oldest step first. */
export async function listCheckpoints(dir: string, opts: { prefix?: string } = {}): Promise<CheckpointFile[]> {
  const prefix = opts.prefix ?? "checkpoint";
  checkPrefix("listCheckpoints", prefix);
  const { fs } = await node("listCheckpoints");
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT") return [];
    throw new IOError(`listCheckpoints(${dir}): ${e instanceof Error ? e.message : e}`);
  }
  const re = new RegExp(`^${prefix.replace(/\./g, "\\.")}-(\\d+)\\.safetensors$`);
  return names
    .map((n) => ({ n, m: re.exec(n) }))
    .filter((x) => x.m)
    .map((x) => ({ path: join(dir, x.n), step: Number(x.m![1]) }))
    .sort((a, b) => a.step - b.step);
}

/**
 * Writes `<dir>/<prefix>-<step>.safetensors` atomically (temporary file, fsync, rename), reads it
 * back to verify it, and only then deletes checkpoints beyond the newest `keepLast` and temporary
 * files left by interrupted saves. A crash at any point leaves the previous checkpoints intact.
 * Assumes one writer per directory. Returns the new file's path.
 */
export async function saveCheckpoint(dir: string, targets: CheckpointTargets, progress: CheckpointProgress, opts: SaveCheckpointOptions = {}): Promise<string> {
  const op = "saveCheckpoint";
  const prefix = opts.prefix ?? "checkpoint";
  const keepLast = opts.keepLast ?? 3;
  checkPrefix(op, prefix);
  if (!Number.isInteger(keepLast) || keepLast < 1) throw new GradlabError(`${op}: keepLast must be an integer >= 1, got ${keepLast}`);
  const bytes = encodeCheckpoint(targets, progress);
  const { fs, io } = await node(op);
  await fs.mkdir(dir, { recursive: true }).catch((e: unknown) => {
    throw new IOError(`${op}(${dir}): ${e instanceof Error ? e.message : e}`);
  });
  const path = join(dir, `${prefix}-${String(progress.step).padStart(8, "0")}.safetensors`);
  await io.writeFileAtomic(path, bytes);
  try {
    decodeCheckpoint(new Uint8Array(await fs.readFile(path)), path);
  } catch (e) {
    await fs.rm(path, { force: true });
    throw new IOError(`${op}: the checkpoint written to ${path} does not read back (${e instanceof Error ? e.message : e}); earlier checkpoints were kept`);
  }
  const all = await listCheckpoints(dir, { prefix });
  const old = all.filter((c) => c.path !== path).slice(0, Math.max(0, all.length - keepLast));
  for (const c of old) await fs.rm(c.path, { force: true });
  for (const n of await fs.readdir(dir)) {
    if (n.startsWith(`.${prefix}-`) && n.endsWith(".tmp")) await fs.rm(join(dir, n), { force: true });
  }
  return path;
}

/** Reads, verifies and restores one checkpoint file; returns the saved progress. */
export async function loadCheckpoint(path: string, targets: CheckpointTargets): Promise<CheckpointProgress> {
  const { fs } = await node("loadCheckpoint");
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await fs.readFile(path));
  } catch (e) {
    throw new IOError(`loadCheckpoint(${path}): ${e instanceof Error ? e.message : e}`);
  }
  return restoreCheckpoint(decodeCheckpoint(bytes, path), targets, path);
}

export interface LoadedCheckpoint extends CheckpointProgress {
  path: string;
  /** Newer files that were refused as unreadable or corrupt, with the reason. */
  skipped: { path: string; error: string }[];
}

/**
 * Restores the newest checkpoint in `dir` that reads back whole, skipping (and reporting)
 * corrupt or truncated newer ones. Returns null when the directory holds none.
 */
export async function loadLatestCheckpoint(dir: string, targets: CheckpointTargets, opts: { prefix?: string } = {}): Promise<LoadedCheckpoint | null> {
  const skipped: { path: string; error: string }[] = [];
  const { fs } = await node("loadLatestCheckpoint");
  for (const c of (await listCheckpoints(dir, opts)).reverse()) {
    let ckpt: DecodedCheckpoint;
    try {
      ckpt = decodeCheckpoint(new Uint8Array(await fs.readFile(c.path)), c.path);
    } catch (e) {
      skipped.push({ path: c.path, error: e instanceof Error ? e.message : String(e) });
      continue;
    }
    return { ...restoreCheckpoint(ckpt, targets, c.path), path: c.path, skipped };
  }
  if (skipped.length) {
    throw new IOError(`loadLatestCheckpoint(${dir}): no checkpoint reads back whole: ${skipped.map((s) => s.error).join("; ")}`);
  }
  return null;
}
