/**
 * gl.io. Byte-level readers and writers are plain imports; the file helpers load io/node.ts on
 * first use, through an import that bundlers leave alone, so a browser bundle never pulls in
 * node:fs and only fails (with a clear error) if a file helper is actually called there.
 */
import { IOError } from "../core/errors.js";
import type { Tensor } from "../tensor/tensor.js";
import type { SafetensorsContents } from "./safetensors.js";

export { readSafetensors, readSafetensorsWithMetadata, writeSafetensors, type SafetensorsContents } from "./safetensors.js";

type NodeIO = typeof import("./node.js");
// A non-literal specifier keeps esbuild, Vite and webpack from bundling node.ts and node:fs.
const NODE_IO = "./node.js";
let nodeIO: Promise<NodeIO> | null = null;

function loadNodeIO(op: string): Promise<NodeIO> {
  const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
  if (!proc?.versions?.node) {
    return Promise.reject(new IOError(`${op}: file access needs Node; in a browser, fetch the bytes and call readSafetensors / writeSafetensors`));
  }
  nodeIO ??= import(/* webpackIgnore: true */ /* @vite-ignore */ NODE_IO) as Promise<NodeIO>;
  return nodeIO;
}

/** Reads a .safetensors file (Node only). */
export async function loadSafetensors(path: string): Promise<Record<string, Tensor>> {
  return (await loadNodeIO("loadSafetensors")).loadSafetensors(path);
}

export async function loadSafetensorsWithMetadata(path: string): Promise<SafetensorsContents> {
  return (await loadNodeIO("loadSafetensors")).loadSafetensorsWithMetadata(path);
}

/** Writes a .safetensors file atomically (Node only). */
export async function saveSafetensors(dict: Record<string, Tensor>, path: string, metadata?: Record<string, string>): Promise<void> {
  return (await loadNodeIO("saveSafetensors")).saveSafetensors(dict, path, metadata);
}

/** Replaces a file atomically: temp file, fsync, rename, fsync of the directory (Node only). */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  return (await loadNodeIO("writeFileAtomic")).writeFileAtomic(path, bytes);
}

export {
  encodeCheckpoint, decodeCheckpoint, restoreCheckpoint, saveCheckpoint, loadCheckpoint, loadLatestCheckpoint, listCheckpoints,
  type CheckpointTargets, type CheckpointProgress, type CheckpointFile, type DecodedCheckpoint, type LoadedCheckpoint,
  type SaveCheckpointOptions, type Json,
} from "./checkpoint.js";
