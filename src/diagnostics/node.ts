/**
 * Node file sink for the JSONL recorder: the only diagnostics module that touches node:fs.
 * Browser code reaches it only through the lazy import in diagnostics/index.ts.
 */
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { IOError } from "../core/errors.js";

/**
 * A sink that appends each line to `path` synchronously, so a crash loses at most the line being
 * written. `append: false` starts the file afresh.
 */
export function jsonlFileSink(path: string, opts: { append?: boolean } = {}): (line: string) => void {
  try {
    mkdirSync(dirname(path), { recursive: true });
    if (!(opts.append ?? true)) writeFileSync(path, "");
  } catch (e) {
    throw new IOError(`jsonlFileSink(${path}): ${e instanceof Error ? e.message : e}`);
  }
  return (line) => {
    try {
      appendFileSync(path, line + "\n");
    } catch (e) {
      throw new IOError(`jsonlFileSink(${path}): ${e instanceof Error ? e.message : e}`);
    }
  };
}
