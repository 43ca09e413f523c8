/**
 * Node file adapters for io/: the only module under src/ (with cli/) that touches node:fs.
 * Browser code reaches it only through the lazy import in io/index.ts.
 */
import { open, readFile, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { IOError } from "../core/errors.js";
import type { Tensor } from "../tensor/tensor.js";
import { type SafetensorsContents, readSafetensorsWithMetadata, writeSafetensors } from "./safetensors.js";

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Replaces `path` with `bytes` so that a crash leaves either the old file or the new one, never a
 * torn mix: write a temporary file in the same directory, fsync it, rename it over the target
 * (atomic within one file system), then fsync the directory so the rename itself is durable.
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}.tmp`);
  try {
    const fh = await open(tmp, "wx");
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw new IOError(`writeFileAtomic(${path}): ${describe(e)}`);
  }
  await syncDir(dir);
}

async function syncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, "r");
    await fh.sync();
  } catch {
    // Some platforms (Windows) and file systems cannot open or fsync a directory; the rename has
    // still happened, only its durability across a power cut is weaker there.
  } finally {
    await fh?.close();
  }
}

async function readBytes(op: string, path: string): Promise<Uint8Array> {
  try {
    const buf = await readFile(path);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (e) {
    throw new IOError(`${op}(${path}): ${describe(e)}`);
  }
}

export async function loadSafetensorsWithMetadata(path: string): Promise<SafetensorsContents> {
  return readSafetensorsWithMetadata(await readBytes("loadSafetensors", path), path);
}

export async function loadSafetensors(path: string): Promise<Record<string, Tensor>> {
  return (await loadSafetensorsWithMetadata(path)).tensors;
}

export async function saveSafetensors(dict: Record<string, Tensor>, path: string, metadata?: Record<string, string>): Promise<void> {
  await writeFileAtomic(path, writeSafetensors(dict, metadata));
}
