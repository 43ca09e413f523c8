import { existsSync, readdirSync, statSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { basename, join, relative, resolve } from "node:path";
import { JsonlTail } from "./tail.js";

/** Bad dashboard input (a missing run directory, a busy port): the CLI prints the message. */
export class DashboardError extends Error {
  override name = "DashboardError";
}

const METRICS = "metrics.jsonl";
const isRun = (dir: string) => existsSync(join(dir, METRICS)) || existsSync(join(dir, "config.json"));

/**
 * The run directories to watch. A folder that is not itself a run but holds runs (e.g. `runs/`)
 * stands for all of them; a folder with nothing in it yet is watched in case a run starts there.
 */
export function resolveRunDirs(dirs: readonly string[]): string[] {
  if (dirs.length === 0) throw new DashboardError("dashboard: give at least one run directory");
  const out: string[] = [];
  for (const d of dirs) {
    const abs = resolve(d);
    let st;
    try {
      st = statSync(abs);
    } catch {
      throw new DashboardError(`dashboard: run directory "${d}" does not exist`);
    }
    if (!st.isDirectory()) throw new DashboardError(`dashboard: "${d}" is not a directory (give a run directory holding ${METRICS})`);
    const children = isRun(abs)
      ? []
      : readdirSync(abs, { withFileTypes: true })
          .filter((e) => e.isDirectory() && isRun(join(abs, e.name)))
          .map((e) => join(abs, e.name))
          .sort();
    for (const r of children.length ? children : [abs]) if (!out.includes(r)) out.push(r);
  }
  return out;
}

/** Short unique names: the folder name, or the path from the common parent when names clash. */
export function runNames(dirs: readonly string[]): string[] {
  const base = dirs.map((d) => basename(d));
  return dirs.map((d, i) => (base.filter((b) => b === base[i]).length > 1 ? relative(resolve(d, "..", ".."), d) : base[i]));
}

/** What the page is told about a run; config and summary are the run's own JSON files. */
export interface RunInfo {
  id: number;
  name: string;
  dir: string;
  config: unknown;
  summary: unknown;
  /** Last change of metrics.jsonl (ms since the epoch), null before it exists. */
  modified: number | null;
}

export type RunEvent =
  | { kind: "records"; run: number; lines: string[]; modified: number | null }
  | { kind: "reset"; run: number }
  | { kind: "run"; info: RunInfo }
  | { kind: "problem"; run: number; message: string };

async function readJson(path: string): Promise<{ value: unknown; mtime: number } | null> {
  try {
    const st = await stat(path);
    return { value: JSON.parse(await readFile(path, "utf8")), mtime: st.mtimeMs };
  } catch {
    // Missing, or caught half-written by a writer that is not atomic: try again next poll.
    return null;
  }
}

/** One run directory: its records so far (as validated JSON lines) and its config and summary. */
export class RunWatcher {
  readonly lines: string[] = [];
  readonly problems: string[] = [];
  private readonly tail: JsonlTail;
  private lineNo = 0;
  private config: unknown = null;
  private summary: unknown = null;
  private seen = { config: -1, summary: -1 };
  private modified: number | null = null;

  constructor(
    readonly id: number,
    readonly name: string,
    readonly dir: string,
  ) {
    this.tail = new JsonlTail(join(dir, METRICS));
  }

  info(): RunInfo {
    return { id: this.id, name: this.name, dir: this.dir, config: this.config, summary: this.summary, modified: this.modified };
  }

  /** Reads what changed since the last poll. */
  async poll(): Promise<RunEvent[]> {
    const events: RunEvent[] = [];
    let infoChanged = false;
    for (const key of ["config", "summary"] as const) {
      const st = await stat(join(this.dir, `${key}.json`)).catch(() => null);
      const mtime = st?.mtimeMs ?? -1;
      if (mtime === this.seen[key]) continue;
      const got = mtime < 0 ? null : await readJson(join(this.dir, `${key}.json`));
      if (mtime >= 0 && !got) continue;
      this.seen[key] = mtime;
      this[key] = got?.value ?? null;
      infoChanged = true;
    }
    const chunk = await this.tail.poll();
    const changed = chunk.lines.length > 0 || chunk.reset;
    const modified = changed ? ((await stat(this.tail.path).catch(() => null))?.mtimeMs ?? null) : this.modified;
    // From here on no await: a page connecting meanwhile would get these lines twice (history and live).
    if (chunk.reset) {
      this.lines.length = 0;
      this.problems.length = 0;
      this.lineNo = 0;
      events.push({ kind: "reset", run: this.id });
    }
    const good: string[] = [];
    for (const line of chunk.lines) {
      this.lineNo++;
      const problem = checkRecord(line);
      if (problem) {
        const message = `${this.name}/${METRICS} line ${this.lineNo}: ${problem}`;
        this.problems.push(message);
        events.push({ kind: "problem", run: this.id, message });
      } else good.push(line);
    }
    if (changed) {
      this.modified = modified;
      infoChanged = true;
    }
    if (good.length) {
      this.lines.push(...good);
      events.push({ kind: "records", run: this.id, lines: good, modified: this.modified });
    }
    if (infoChanged) events.unshift({ kind: "run", info: this.info() });
    return events;
  }
}

/** Why a line is not a diagnostic record, or null when it is one. */
function checkRecord(line: string): string | null {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (e) {
    return `not JSON (${e instanceof Error ? e.message : e}): ${line.slice(0, 60)}`;
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return `not a record object: ${line.slice(0, 60)}`;
  const r = v as { type?: unknown; step?: unknown };
  if (typeof r.type !== "string") return `record without a "type": ${line.slice(0, 60)}`;
  if (typeof r.step !== "number") return `${r.type} record without a numeric "step": ${line.slice(0, 60)}`;
  return null;
}
