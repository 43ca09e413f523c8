/** Node file helpers for T5: reached only through files.ts's lazy import. */
import { mkdir, readFile, stat } from "node:fs/promises";
import { IOError } from "../../core/errors.js";

function describe(e: unknown): string {
  const code = (e as { code?: string }).code;
  if (code === "ENOENT") return "file not found";
  if (code === "EISDIR") return "is a directory, not a file";
  if (code === "EACCES") return "permission denied";
  return e instanceof Error ? e.message : String(e);
}

export async function readBytes(path: string): Promise<Uint8Array> {
  try {
    const buf = await readFile(path);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (e) {
    throw new IOError(`${path}: ${describe(e)}`);
  }
}

export async function readText(path: string): Promise<string> {
  return new TextDecoder().decode(await readBytes(path));
}

export async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

export async function ensureDir(path: string): Promise<void> {
  try {
    await mkdir(path, { recursive: true });
  } catch (e) {
    throw new IOError(`${path}: cannot create the directory (${describe(e)})`);
  }
}

export async function exists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
