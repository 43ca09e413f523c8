/**
 * The page's model of each run, built record by record from the event stream. Pure data, no DOM:
 * the tests drive it in Node.
 */
import type * as gl from "../../src/index.js";

type DiagnosticRecord = gl.diagnostics.DiagnosticRecord;

/** What the server says about a run (dashboard/runs.ts RunInfo). */
export interface RunInfo {
  id: number;
  name: string;
  dir: string;
  config: Record<string, unknown> | null;
  summary: Record<string, unknown> | null;
  modified: number | null;
}

/** A recurring warning: one row per (kind, target), however many probes raised it. */
export interface EventRow {
  kind: "nonFinite" | "vanishing" | "exploding";
  target: string;
  first: number;
  last: number;
  count: number;
  message: string;
}

export interface RunData {
  info: RunInfo;
  train: { step: number[]; loss: (number | null)[]; lr: (number | null)[]; gradNorm: (number | null)[]; clip: (number | null)[]; seen: (number | null)[]; time: (number | null)[] };
  evals: { step: number[]; loss: (number | null)[]; perplexity: (number | null)[] };
  /** Gradient-flow probes: per-layer gradient norms aligned with `step` (null where a layer had none). */
  flow: { step: number[]; layers: Map<string, (number | null)[]> };
  /** ‖∂J/∂h_t‖ per recurrent layer: one row of dhNorm per probe. */
  hidden: Map<string, { step: number[]; rows: number[][] }>;
  events: Map<string, EventRow>;
  /** Training steps with a non-finite loss, gradient or skipped update, ascending. */
  nonFiniteSteps: number[];
  /** Bumped on every change, so the page redraws only what moved. */
  version: number;
}

const TEXT_KEYS = new Set(["type", "name", "module", "direction", "target", "kind", "message"]);

/**
 * Parses JSON written by gl.diagnostics.toJsonLine: JSON has no NaN or Infinity, so those travel
 * as the strings "NaN", "Infinity" and "-Infinity" in number fields.
 */
export function parseRecordsJson<T>(text: string): T {
  return JSON.parse(text, (key, v) =>
    typeof v === "string" && !TEXT_KEYS.has(key) && (v === "NaN" || v === "Infinity" || v === "-Infinity") ? Number(v) : v,
  ) as T;
}

export function newRun(info: RunInfo): RunData {
  return {
    info,
    train: { step: [], loss: [], lr: [], gradNorm: [], clip: [], seen: [], time: [] },
    evals: { step: [], loss: [], perplexity: [] },
    flow: { step: [], layers: new Map() },
    hidden: new Map(),
    events: new Map(),
    nonFiniteSteps: [],
    version: 0,
  };
}

const finite = (v: number | undefined | null): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

/**
 * The layer a parameter belongs to: a recurrent weight's `_l<k>` (and `_reverse`) suffix names
 * its layer ("rnn.weight_hh_l1" → "rnn l1"); any other parameter joins its module ("decoder.bias" → "decoder").
 */
export function layerOf(param: string): string {
  const m = /^(?:(.*)\.)?(?:weight|bias)_(?:ih|hh|hr)_l(\d+)(_reverse)?$/.exec(param);
  if (m) return `${m[1] ?? "rnn"} l${m[2]}${m[3] ? " reverse" : ""}`;
  const dot = param.lastIndexOf(".");
  return dot > 0 ? param.slice(0, dot) : param;
}

export function hiddenKey(h: gl.diagnostics.HiddenGradStats): string {
  return `${h.module || "model"} l${h.layer}${h.direction === "reverse" ? " reverse" : ""}`;
}

/**
 * The clip threshold a run's config names, for records that predate `clipFraction`: a step counts
 * as clipped when its gradient norm exceeds it.
 */
export function clipThreshold(config: Record<string, unknown> | null): number | null {
  if (!config) return null;
  for (const k of ["clipNorm", "maxGradNorm", "globalClipNorm", "gradClip", "clip"]) {
    const v = config[k];
    if (typeof v === "number" && v > 0) return v;
  }
  return null;
}

/**
 * Adds one record. A train record whose step is not after the last one means the run was resumed
 * from an earlier checkpoint into the same file: what was recorded from that step on is dropped.
 */
export function applyRecord(run: RunData, rec: DiagnosticRecord): void {
  run.version++;
  if (rec.type === "train") {
    const t = run.train;
    if (t.step.length && rec.step <= t.step[t.step.length - 1]) rewind(run, rec.step);
    t.step.push(rec.step);
    t.loss.push(finite(rec.loss));
    t.lr.push(finite(rec.lr));
    t.gradNorm.push(finite(rec.gradNorm));
    const threshold = clipThreshold(run.info.config);
    const clip = (rec as { clipFraction?: number }).clipFraction;
    t.clip.push(typeof clip === "number" ? clip : threshold !== null && typeof rec.gradNorm === "number" ? (rec.gradNorm > threshold ? 1 : 0) : null);
    t.seen.push(finite(rec.seen));
    t.time.push(finite(rec.time));
    const bad: string[] = [];
    if (!Number.isFinite(rec.loss)) bad.push(`loss ${rec.loss}`);
    if (typeof rec.gradNorm === "number" && !Number.isFinite(rec.gradNorm)) bad.push(`gradient norm ${rec.gradNorm}`);
    if (rec.skipped) bad.push("update skipped");
    if (bad.length) {
      markNonFinite(run, rec.step);
      addEvent(run, "nonFinite", "training step", rec.step, `step ${rec.step}: ${bad.join(", ")}`);
    }
  } else if (rec.type === "eval") {
    const e = run.evals;
    while (e.step.length && e.step[e.step.length - 1] >= rec.step) (e.step.pop(), e.loss.pop(), e.perplexity.pop());
    e.step.push(rec.step);
    e.loss.push(finite(rec.loss));
    e.perplexity.push(finite(rec.metrics?.perplexity ?? Math.exp(rec.loss)));
  } else if (rec.type === "gradflow") {
    applyFlow(run, rec);
  }
}

function applyFlow(run: RunData, rec: gl.diagnostics.GradFlowRecord): void {
  const f = run.flow;
  while (f.step.length && f.step[f.step.length - 1] >= rec.step) dropLastFlow(run);
  const sums = new Map<string, number>();
  let nonFinite = 0;
  for (const p of rec.params) {
    nonFinite += p.nonFinite;
    if (p.gradNorm === null) continue;
    const k = layerOf(p.name);
    sums.set(k, (sums.get(k) ?? 0) + p.gradNorm * p.gradNorm);
  }
  for (const k of sums.keys()) if (!f.layers.has(k)) f.layers.set(k, new Array<number | null>(f.step.length).fill(null));
  f.step.push(rec.step);
  for (const [k, col] of f.layers) col.push(sums.has(k) ? finite(Math.sqrt(sums.get(k)!)) : null);
  for (const h of rec.hidden) {
    const key = hiddenKey(h);
    if (!run.hidden.has(key)) run.hidden.set(key, { step: [], rows: [] });
    const m = run.hidden.get(key)!;
    m.step.push(rec.step);
    m.rows.push(h.dhNorm);
  }
  for (const fl of rec.flags) addEvent(run, fl.kind, fl.target, rec.step, fl.message);
  if (nonFinite > 0) {
    markNonFinite(run, rec.step);
    if (!rec.flags.some((fl) => fl.kind === "nonFinite")) addEvent(run, "nonFinite", "gradients", rec.step, `${nonFinite} non-finite gradient values at step ${rec.step}`);
  }
}

function dropLastFlow(run: RunData): void {
  const s = run.flow.step.pop()!;
  for (const col of run.flow.layers.values()) col.pop();
  for (const m of run.hidden.values()) {
    while (m.step.length && m.step[m.step.length - 1] >= s) (m.step.pop(), m.rows.pop());
  }
}

function markNonFinite(run: RunData, step: number): void {
  const s = run.nonFiniteSteps;
  if (s[s.length - 1] !== step) s.push(step);
}

function addEvent(run: RunData, kind: EventRow["kind"], target: string, step: number, message: string): void {
  const key = `${kind} ${target}`;
  const row = run.events.get(key);
  if (row) {
    if (row.last !== step) row.count++;
    row.last = step;
    row.message = message;
  } else run.events.set(key, { kind, target, first: step, last: step, count: 1, message });
}

/** Forgets everything recorded at or after `step`. */
function rewind(run: RunData, step: number): void {
  const t = run.train;
  let n = t.step.length;
  while (n > 0 && t.step[n - 1] >= step) n--;
  for (const a of Object.values(t)) a.length = n;
  const e = run.evals;
  while (e.step.length && e.step[e.step.length - 1] >= step) (e.step.pop(), e.loss.pop(), e.perplexity.pop());
  while (run.flow.step.length && run.flow.step[run.flow.step.length - 1] >= step) dropLastFlow(run);
  while (run.nonFiniteSteps.length && run.nonFiniteSteps[run.nonFiniteSteps.length - 1] >= step) run.nonFiniteSteps.pop();
  for (const [k, row] of run.events) if (row.first >= step) run.events.delete(k);
}

/** Exponential moving average that starts from the first value (nulls are carried over). */
export function smooth(ys: readonly (number | null)[], alpha: number): (number | null)[] {
  let m: number | null = null;
  return ys.map((y) => {
    if (y === null) return null;
    m = m === null ? y : alpha * m + (1 - alpha) * y;
    return m;
  });
}

/** Mean of the last `window` known values at each point (the share of recent steps clipped). */
export function rollingMean(ys: readonly (number | null)[], window: number): (number | null)[] {
  const out: (number | null)[] = [];
  const buf: number[] = [];
  let sum = 0;
  for (const y of ys) {
    if (y !== null) {
      buf.push(y);
      sum += y;
      if (buf.length > window) sum -= buf.shift()!;
    }
    out.push(buf.length ? sum / buf.length : null);
  }
  return out;
}

/** For each training step, how many steps up to it had a non-finite event. */
export function cumulativeNonFinite(run: RunData): number[] {
  const bad = run.nonFiniteSteps;
  let j = 0;
  return run.train.step.map((s) => {
    while (j < bad.length && bad[j] <= s) j++;
    return j;
  });
}
