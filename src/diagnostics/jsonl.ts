import { GradlabError } from "../core/errors.js";
import type { DiagnosticRecord } from "./records.js";

/**
 * JSON Lines for diagnostic records, browser-safe: one record per line. JSON has no NaN or
 * Infinity, so non-finite numbers are written as the strings "NaN", "Infinity" and "-Infinity"
 * and read back as numbers (except in the fields that hold names and messages).
 */

const NON_FINITE: Record<string, number> = { NaN: NaN, Infinity: Infinity, "-Infinity": -Infinity };
const TEXT_KEYS = new Set(["type", "name", "module", "direction", "target", "kind", "message"]);

function replacer(_key: string, v: unknown): unknown {
  return typeof v === "number" && !Number.isFinite(v) ? String(v) : v;
}

function reviver(key: string, v: unknown): unknown {
  return typeof v === "string" && !TEXT_KEYS.has(key) && v in NON_FINITE ? NON_FINITE[v] : v;
}

export function toJsonLine(rec: DiagnosticRecord): string {
  return JSON.stringify(rec, replacer);
}

/** Parses JSONL text; blank lines are skipped, a malformed line is an error naming its number. */
export function parseJsonl(text: string): DiagnosticRecord[] {
  const out: DiagnosticRecord[] = [];
  text.split("\n").forEach((line, i) => {
    if (!line.trim()) return;
    try {
      out.push(JSON.parse(line, reviver) as DiagnosticRecord);
    } catch (e) {
      throw new GradlabError(`parseJsonl: line ${i + 1} is not JSON (${e instanceof Error ? e.message : e}): ${line.slice(0, 80)}`);
    }
  });
  return out;
}

export interface JsonlRecorderOptions {
  /** Receives each line (without newline) as it is written, e.g. a file sink or a WebSocket. */
  sink?: (line: string) => void;
  /** Keep records in memory for `records` and `toString()` (default true). */
  keep?: boolean;
}

/** Collects records and passes each, as one JSON line, to an optional sink. */
export class JsonlRecorder {
  private readonly kept: DiagnosticRecord[] = [];
  private readonly sink: ((line: string) => void) | null;
  private readonly keep: boolean;

  constructor(opts: JsonlRecorderOptions = {}) {
    this.sink = opts.sink ?? null;
    this.keep = opts.keep ?? true;
  }

  write(rec: DiagnosticRecord): void {
    const line = toJsonLine(rec);
    if (this.keep) this.kept.push(JSON.parse(line, reviver) as DiagnosticRecord);
    this.sink?.(line);
  }

  get records(): readonly DiagnosticRecord[] {
    return this.kept;
  }

  /** Every kept record as JSONL (one line each, trailing newline). */
  toString(): string {
    return this.kept.map((r) => toJsonLine(r) + "\n").join("");
  }
}
