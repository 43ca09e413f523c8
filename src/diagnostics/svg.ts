import type { DiagnosticRecord, GradFlowRecord, HiddenGradStats } from "./records.js";
import { hiddenTarget } from "./gradflow.js";

/**
 * Charts of diagnostic records as standalone SVG strings: pure functions, no DOM, usable in Node
 * (write the string to a .svg file) and in the browser (innerHTML).
 */

export interface ChartOptions {
  width?: number;
  height?: number;
  title?: string;
}

const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
const VIRIDIS = ["#440154", "#482878", "#3e4989", "#31688e", "#26828e", "#1f9e89", "#35b779", "#6ece58", "#b5de2b", "#fde725"];
const FONT = `font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"`;
const M = { top: 36, right: 16, bottom: 44, left: 64 };

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/** Short labels: 0.0123, 1.5, 250, 3e+4, 1e-7. */
export function fmtNum(v: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(1).replace(".0e", "e");
  return String(Number(v.toPrecision(3)));
}

/** About `count` round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : Number(v.toPrecision(12)));
  return out;
}

interface Axis {
  lo: number;
  hi: number;
  log: boolean;
}

function axis(vals: number[], log: boolean): Axis {
  const vs = vals.filter((v) => Number.isFinite(v) && (!log || v > 0));
  if (!vs.length) return { lo: log ? 1 : 0, hi: log ? 10 : 1, log };
  let lo = Math.min(...vs);
  let hi = Math.max(...vs);
  if (log) {
    lo = 10 ** Math.floor(Math.log10(lo));
    hi = 10 ** Math.ceil(Math.log10(hi));
    if (lo === hi) hi = lo * 10;
  } else if (lo === hi) {
    lo -= Math.abs(lo) * 0.1 || 1;
    hi += Math.abs(hi) * 0.1 || 1;
  }
  return { lo, hi, log };
}

function ticks(a: Axis): number[] {
  if (!a.log) return niceTicks(a.lo, a.hi);
  const lo = Math.round(Math.log10(a.lo));
  const hi = Math.round(Math.log10(a.hi));
  const every = Math.max(1, Math.ceil((hi - lo) / 8));
  const out: number[] = [];
  for (let e = lo; e <= hi; e += every) out.push(10 ** e);
  return out;
}

function scale(a: Axis, from: number, to: number): (v: number) => number {
  const f = a.log ? Math.log10 : (v: number) => v;
  const l = f(a.lo);
  const h = f(a.hi);
  return (v) => from + ((f(v) - l) / (h - l || 1)) * (to - from);
}

interface Frame {
  w: number;
  h: number;
  x: (v: number) => number;
  y: (v: number) => number;
  parts: string[];
}

/** Background, title, grid, axes with ticks and labels; returns the scales and the part list. */
function frame(opts: ChartOptions, xa: Axis, ya: Axis, xLabel: string, yLabel: string, layout: { right?: number; yTicks?: boolean } = {}): Frame {
  const right = layout.right ?? M.right;
  const w = opts.width ?? 720;
  const h = opts.height ?? 400;
  const x = scale(xa, M.left, w - right);
  const y = scale(ya, h - M.bottom, M.top);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" ${FONT} font-size="12">`,
    `<rect width="${w}" height="${h}" fill="#ffffff"/>`,
  ];
  if (opts.title) parts.push(`<text x="${M.left}" y="22" font-size="15" font-weight="600" fill="#222">${esc(opts.title)}</text>`);
  for (const t of layout.yTicks === false ? [] : ticks(ya)) {
    const yy = y(t).toFixed(1);
    parts.push(`<line x1="${M.left}" x2="${w - right}" y1="${yy}" y2="${yy}" stroke="#e6e6e6"/>`);
    parts.push(`<text x="${M.left - 6}" y="${yy}" dy="4" text-anchor="end" fill="#555">${esc(fmtNum(t))}</text>`);
  }
  for (const t of ticks(xa)) {
    const xx = x(t).toFixed(1);
    parts.push(`<line x1="${xx}" x2="${xx}" y1="${h - M.bottom}" y2="${h - M.bottom + 4}" stroke="#888"/>`);
    parts.push(`<text x="${xx}" y="${h - M.bottom + 17}" text-anchor="middle" fill="#555">${esc(fmtNum(t))}</text>`);
  }
  parts.push(`<line x1="${M.left}" x2="${w - right}" y1="${h - M.bottom}" y2="${h - M.bottom}" stroke="#888"/>`);
  parts.push(`<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${h - M.bottom}" stroke="#888"/>`);
  parts.push(`<text x="${(M.left + w - right) / 2}" y="${h - 8}" text-anchor="middle" fill="#333">${esc(xLabel)}</text>`);
  parts.push(`<text transform="translate(16 ${(M.top + h - M.bottom) / 2}) rotate(-90)" text-anchor="middle" fill="#333">${esc(yLabel)}</text>`);
  return { w, h, x, y, parts };
}

/** A polyline through the finite points, broken where a value is missing or not drawable. */
function path(points: [number, number][], f: Frame, color: string, width = 1.6, dash = ""): string {
  let d = "";
  let pen = false;
  for (const [px, py] of points) {
    const X = f.x(px);
    const Y = f.y(py);
    if (!Number.isFinite(X) || !Number.isFinite(Y)) {
      pen = false;
      continue;
    }
    d += `${pen ? "L" : "M"}${X.toFixed(1)} ${Y.toFixed(1)}`;
    pen = true;
  }
  const da = dash ? ` stroke-dasharray="${dash}"` : "";
  return d ? `<path d="${d}" fill="none" stroke="${color}" stroke-width="${width}" stroke-linejoin="round"${da}/>` : "";
}

function legend(f: Frame, items: { label: string; color: string; dash?: string }[], max = 16): void {
  const shown = items.slice(0, max);
  const x0 = f.w - M.right - 8;
  if (shown.length) {
    // A translucent backing keeps the labels readable where data lines run under the legend.
    const w = 34 + 7 * Math.max(...shown.map((it) => it.label.length));
    const h = 16 * shown.length + (items.length > max ? 16 : 0) + 4;
    f.parts.push(`<rect x="${(x0 - w).toFixed(1)}" y="${M.top}" width="${w + 4}" height="${h}" fill="#ffffff" fill-opacity="0.85" rx="3"/>`);
  }
  shown.forEach((it, i) => {
    const yy = M.top + 10 + i * 16;
    const da = it.dash ? ` stroke-dasharray="${it.dash}"` : "";
    f.parts.push(`<line x1="${x0 - 22}" x2="${x0 - 4}" y1="${yy}" y2="${yy}" stroke="${it.color}" stroke-width="2.5"${da}/>`);
    f.parts.push(`<text x="${x0 - 28}" y="${yy}" dy="4" text-anchor="end" fill="#333" stroke="#fff" stroke-width="3" paint-order="stroke">${esc(it.label)}</text>`);
  });
  if (items.length > max) {
    f.parts.push(`<text x="${x0 - 4}" y="${M.top + 10 + max * 16}" dy="4" text-anchor="end" fill="#777">… ${items.length - max} more</text>`);
  }
}

function ema(vals: number[], alpha: number): number[] {
  let s = NaN;
  return vals.map((v) => {
    if (!Number.isFinite(v)) return s;
    s = Number.isNaN(s) ? v : alpha * s + (1 - alpha) * v;
    return s;
  });
}

export interface LossCurveOptions extends ChartOptions {
  /** Logarithmic loss axis (default false). */
  logY?: boolean;
  /** Exponential smoothing of the training loss, 0 (none) to <1 (default 0.9 when there are over 50 points). */
  smoothing?: number;
}

/** Training loss over steps (raw, faint, and smoothed) with evaluation losses as points. */
export function lossCurveSvg(records: readonly DiagnosticRecord[], opts: LossCurveOptions = {}): string {
  const train = records.filter((r) => r.type === "train").map((r) => [r.step, r.loss] as [number, number]);
  const evals = records.filter((r) => r.type === "eval").map((r) => [r.step, r.loss] as [number, number]);
  const logY = opts.logY ?? false;
  const xa = axis([...train, ...evals].map((p) => p[0]), false);
  const ya = axis([...train, ...evals].map((p) => p[1]), logY);
  const f = frame({ title: "Loss", ...opts }, xa, ya, "step", logY ? "loss (log scale)" : "loss");
  const alpha = opts.smoothing ?? (train.length > 50 ? 0.9 : 0);
  const items = [];
  if (alpha > 0) {
    f.parts.push(path(train, f, "#9ecae1", 1));
    const sm = ema(train.map((p) => p[1]), alpha);
    f.parts.push(path(train.map((p, i) => [p[0], sm[i]]), f, PALETTE[0], 2));
    items.push({ label: "train (smoothed)", color: PALETTE[0] }, { label: "train", color: "#9ecae1" });
  } else if (train.length) {
    f.parts.push(path(train, f, PALETTE[0], 2));
    items.push({ label: "train", color: PALETTE[0] });
  }
  if (evals.length) {
    f.parts.push(path(evals, f, PALETTE[1], 2));
    for (const [sx, sy] of evals) {
      const X = f.x(sx);
      const Y = f.y(sy);
      if (Number.isFinite(X) && Number.isFinite(Y)) f.parts.push(`<circle cx="${X.toFixed(1)}" cy="${Y.toFixed(1)}" r="3.5" fill="${PALETTE[1]}"/>`);
    }
    items.push({ label: "eval", color: PALETTE[1] });
  }
  legend(f, items);
  return f.parts.join("\n") + "\n</svg>\n";
}

export interface GradNormOptions extends ChartOptions {
  /** One line per module (parameters joined by their dotted prefix, default) or per parameter. */
  groupBy?: "module" | "parameter";
  /** Dashed lines at these norms (e.g. the vanishing and exploding thresholds), when in range. */
  guides?: number[];
}

/** Gradient norm per layer over training, on a log scale. A module's norm joins its parameters' (L2). */
export function gradNormSvg(records: readonly DiagnosticRecord[], opts: GradNormOptions = {}): string {
  const flows = records.filter((r): r is GradFlowRecord => r.type === "gradflow");
  const byModule = (opts.groupBy ?? "module") === "module";
  const series = new Map<string, [number, number][]>();
  for (const r of flows) {
    const sums = new Map<string, number>();
    for (const p of r.params) {
      if (p.gradNorm === null) continue;
      const key = byModule ? p.name.slice(0, Math.max(0, p.name.lastIndexOf("."))) || p.name : p.name;
      sums.set(key, (sums.get(key) ?? 0) + p.gradNorm * p.gradNorm);
    }
    for (const [k, s] of sums) {
      if (!series.has(k)) series.set(k, []);
      series.get(k)!.push([r.step, Math.sqrt(s)]);
    }
  }
  const all = [...series.values()].flat();
  const xa = axis(all.map((p) => p[0]), false);
  const ya = axis(all.map((p) => p[1]), true);
  const f = frame({ title: "Gradient norm per layer", ...opts }, xa, ya, "step", "‖∂J/∂θ‖ (log scale)");
  for (const g of opts.guides ?? []) {
    if (g >= ya.lo && g <= ya.hi) f.parts.push(path([[xa.lo, g], [xa.hi, g]], f, "#999", 1, "5 4"));
  }
  const items: { label: string; color: string; dash?: string }[] = [];
  [...series.entries()].forEach(([name, pts], i) => {
    const color = PALETTE[i % PALETTE.length];
    const dash = i >= PALETTE.length ? "6 3" : "";
    f.parts.push(path(pts, f, color, 1.8, dash));
    items.push({ label: name, color, dash });
  });
  legend(f, items);
  return f.parts.join("\n") + "\n</svg>\n";
}

export interface LineSeries {
  label: string;
  points: readonly (readonly [number, number])[];
  /** SVG dash pattern, e.g. "6 3" (default solid). */
  dash?: string;
  /** Draw a dot at each point (default: when there are at most 30). */
  markers?: boolean;
}

export interface LineChartOptions extends ChartOptions {
  xLabel?: string;
  yLabel?: string;
  logX?: boolean;
  logY?: boolean;
  /** Dashed horizontal reference lines (e.g. a baseline loss), when in range. */
  guides?: readonly { y: number; label?: string }[];
}

/**
 * Any set of (x, y) series as lines, for experiment results (loss against step, a metric
 * against sequence length or depth, ‖∂J/∂h_t‖ against t). Non-finite and, on a log axis,
 * non-positive points break the line instead of distorting the axes.
 */
export function lineChartSvg(series: readonly LineSeries[], opts: LineChartOptions = {}): string {
  const all = series.flatMap((s) => s.points);
  const xa = axis(all.map((p) => p[0]), opts.logX ?? false);
  const ya = axis([...all.map((p) => p[1]), ...(opts.guides ?? []).map((g) => g.y)], opts.logY ?? false);
  const f = frame(opts, xa, ya, opts.xLabel ?? "x", opts.yLabel ?? "y");
  const inRange = (a: Axis, v: number) => Number.isFinite(v) && (!a.log || v > 0);
  for (const g of opts.guides ?? []) {
    if (!inRange(ya, g.y)) continue;
    f.parts.push(path([[xa.lo, g.y], [xa.hi, g.y]], f, "#999", 1, "5 4"));
    if (g.label) f.parts.push(`<text x="${M.left + 6}" y="${f.y(g.y).toFixed(1)}" dy="-4" fill="#777">${esc(g.label)}</text>`);
  }
  const items: { label: string; color: string; dash?: string }[] = [];
  series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length];
    const dash = s.dash ?? (i >= PALETTE.length ? "6 3" : "");
    const pts = s.points.map((p) => [inRange(xa, p[0]) ? p[0] : NaN, inRange(ya, p[1]) ? p[1] : NaN] as [number, number]);
    f.parts.push(path(pts, f, color, 1.8, dash));
    if (s.markers ?? s.points.length <= 30) {
      for (const [px, py] of pts) {
        const X = f.x(px);
        const Y = f.y(py);
        if (Number.isFinite(X) && Number.isFinite(Y)) f.parts.push(`<circle cx="${X.toFixed(1)}" cy="${Y.toFixed(1)}" r="3" fill="${color}"/>`);
      }
    }
    items.push({ label: s.label, color, dash });
  });
  legend(f, items);
  return f.parts.join("\n") + "\n</svg>\n";
}

function hexToRgb(h: string): number[] {
  return [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16));
}

/** Viridis colour for u in [0, 1]. */
export function viridis(u: number): string {
  const x = Math.min(1, Math.max(0, u)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const a = hexToRgb(VIRIDIS[i]);
  const b = hexToRgb(VIRIDIS[i + 1]);
  const c = a.map((v, k) => Math.round(v + (b[k] - v) * (x - i)));
  return `rgb(${c.join(",")})`;
}

export interface HeatmapOptions extends ChartOptions {
  /** Which recurrent layer: module name, layer and direction (default: the first found). */
  module?: string;
  layer?: number;
  direction?: "forward" | "reverse";
  /** At most this many training steps (rows), evenly sampled (default 200). */
  maxRows?: number;
}

/**
 * ‖∂J/∂h_t‖ of one recurrent layer as a heat map: time step t across, training step down,
 * colour = log10 of the norm (viridis; dark = small). Vanishing gradients show as a dark band on
 * the left (early time steps) that widens; exploding ones as bright left columns.
 */
export function hiddenGradHeatmapSvg(records: readonly DiagnosticRecord[], opts: HeatmapOptions = {}): string {
  const pick = (h: HiddenGradStats) =>
    (opts.module === undefined || h.module === opts.module) &&
    (opts.layer === undefined || h.layer === opts.layer) &&
    (opts.direction === undefined || h.direction === opts.direction);
  let rows: { step: number; h: HiddenGradStats }[] = [];
  let target = "";
  for (const r of records) {
    if (r.type !== "gradflow") continue;
    const h = r.hidden.find((x) => pick(x) && (!target || hiddenTarget(x) === target));
    if (!h) continue;
    target ||= hiddenTarget(h);
    rows.push({ step: r.step, h });
  }
  const maxRows = Math.max(2, opts.maxRows ?? 200);
  if (rows.length > maxRows) rows = Array.from({ length: maxRows }, (_, i) => rows[Math.round((i * (rows.length - 1)) / (maxRows - 1))]);
  const T = Math.max(0, ...rows.map((r) => r.h.dhNorm.length));
  const logs = rows.flatMap((r) => r.h.dhNorm.filter((v) => v > 0 && Number.isFinite(v)).map(Math.log10));
  const lo = logs.length ? Math.floor(Math.min(...logs)) : -1;
  const hi = logs.length ? Math.max(lo + 1, Math.ceil(Math.max(...logs))) : 0;
  const w = opts.width ?? 720;
  const h = opts.height ?? 400;
  const right = 84;
  const title = opts.title ?? `‖∂J/∂h_t‖ of ${target || "a recurrent layer"}`;
  const xa = { lo: 0, hi: Math.max(1, T), log: false };
  // Rows are labelled with their training steps below, so the frame draws no y ticks.
  const f = frame({ ...opts, width: w, height: h, title }, xa, { lo: 0, hi: 1, log: false }, "time step t", "training step", { right, yTicks: false });
  const x0 = M.left;
  const x1 = w - right;
  const y0 = M.top;
  const y1 = h - M.bottom;
  const cw = T ? (x1 - x0) / T : 0;
  const ch = rows.length ? (y1 - y0) / rows.length : 0;
  rows.forEach((r, i) => {
    r.h.dhNorm.forEach((v, t) => {
      const u = v > 0 && Number.isFinite(v) ? (Math.log10(v) - lo) / (hi - lo) : -1;
      const fill = Number.isNaN(v) || v === Infinity ? "#ff00ff" : u < 0 ? "#000000" : viridis(u);
      f.parts.push(`<rect x="${(x0 + t * cw).toFixed(2)}" y="${(y0 + i * ch).toFixed(2)}" width="${(cw + 0.5).toFixed(2)}" height="${(ch + 0.5).toFixed(2)}" fill="${fill}"/>`);
    });
  });
  const rowTicks = rows.length ? niceTicks(0, rows.length - 1, Math.min(6, rows.length)).filter((i) => Number.isInteger(i)) : [];
  for (const i of rowTicks) {
    const yy = (y0 + (i + 0.5) * ch).toFixed(1);
    f.parts.push(`<text x="${x0 - 6}" y="${yy}" dy="4" text-anchor="end" fill="#555">${esc(fmtNum(rows[i].step))}</text>`);
  }
  // Colour bar with log10 labels.
  const bx = x1 + 18;
  const steps = 40;
  for (let k = 0; k < steps; k++) {
    const yy = y1 - ((k + 1) * (y1 - y0)) / steps;
    f.parts.push(`<rect x="${bx}" y="${yy.toFixed(2)}" width="14" height="${((y1 - y0) / steps + 0.5).toFixed(2)}" fill="${viridis((k + 0.5) / steps)}"/>`);
  }
  for (const e of niceTicks(lo, hi, 5).filter((v) => Number.isInteger(v))) {
    const yy = y1 - ((e - lo) / (hi - lo)) * (y1 - y0);
    f.parts.push(`<text x="${bx + 18}" y="${yy.toFixed(1)}" dy="4" fill="#555">1e${e}</text>`);
  }
  return f.parts.join("\n") + "\n</svg>\n";
}
