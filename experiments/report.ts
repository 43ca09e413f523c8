import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * What every experiment returns: its numbers, its figures and the text explaining them. The
 * runner (run.ts) writes them as metrics.json, one SVG per figure, report.md and report.html.
 */
export interface Figure {
  /** File name inside the output directory, e.g. "dh-init.svg". */
  file: string;
  title: string;
  svg: string;
  /** What the figure shows and how to read it. */
  caption: string;
}

export interface Table {
  title: string;
  columns: string[];
  rows: (string | number)[][];
}

export interface ExperimentResult {
  name: string;
  title: string;
  /** "reduced" (CI) or "full". */
  setting: "reduced" | "full";
  /** The configuration actually run. */
  config: Record<string, unknown>;
  /** Markdown paragraphs: the question, the setup, and what came out. */
  summary: string[];
  metrics: Record<string, unknown>;
  figures: Figure[];
  tables: Table[];
  seconds: number;
}

export interface ExperimentOptions {
  full?: boolean;
  seed?: number;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

export type Experiment = (opts: ExperimentOptions) => ExperimentResult;

/** Rounds for tables and text: 4 significant digits, exponents for very small or large values. */
export function fmt(v: number | null | undefined, digits = 4): string {
  if (v === null || v === undefined) return "–";
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "∞" : "−∞";
  if (v === 0) return "0";
  const a = Math.abs(v);
  // Counts (parameters, steps) stay exact.
  if (Number.isInteger(v) && a < 1e9) return String(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(digits - 2);
  return String(Number(v.toPrecision(digits)));
}

function mdTable(t: Table): string {
  const row = (cells: (string | number)[]) => `| ${cells.map((c) => (typeof c === "number" ? fmt(c) : c)).join(" | ")} |`;
  return [`**${t.title}**`, "", row(t.columns), `| ${t.columns.map(() => "---").join(" | ")} |`, ...t.rows.map(row)].join("\n");
}

export function toMarkdown(r: ExperimentResult): string {
  const parts = [`# ${r.title}`, "", `Setting: **${r.setting}**, ${fmt(r.seconds, 3)} s. Configuration: \`${JSON.stringify(r.config)}\``, ""];
  for (const p of r.summary) parts.push(p, "");
  for (const t of r.tables) parts.push(mdTable(t), "");
  for (const f of r.figures) parts.push(`## ${f.title}`, "", `![${f.title}](${f.file})`, "", f.caption, "");
  parts.push("Numbers: [metrics.json](metrics.json).", "");
  return parts.join("\n");
}

function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
}

/** The little inline markdown the summaries use: `code`, **bold**, *italic*. */
function inline(s: string): string {
  return esc(s)
    .replace(/`([^`]+)`/g, "<code>$1</code>")
    .replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>")
    .replace(/\*([^*]+)\*/g, "<em>$1</em>");
}

/** A summary paragraph: a fenced block (```) becomes preformatted text, anything else a paragraph. */
function paragraph(p: string): string {
  const fenced = /^```\n([\s\S]*?)\n?```$/.exec(p.trim());
  return fenced ? `<pre>${esc(fenced[1])}</pre>` : `<p>${inline(p)}</p>`;
}

export function toHtml(r: ExperimentResult): string {
  const cell = (c: string | number, tag: string) => `<${tag}>${inline(typeof c === "number" ? fmt(c) : c)}</${tag}>`;
  const tables = r.tables.map(
    (t) =>
      `<table><caption>${inline(t.title)}</caption><thead><tr>${t.columns.map((c) => cell(c, "th")).join("")}</tr></thead>` +
      `<tbody>${t.rows.map((row) => `<tr>${row.map((c) => cell(c, "td")).join("")}</tr>`).join("")}</tbody></table>`,
  );
  const figures = r.figures.map((f) => `<figure><h2>${inline(f.title)}</h2><img src="${esc(f.file)}" alt="${esc(f.title)}"><figcaption>${inline(f.caption)}</figcaption></figure>`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(r.title)}</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 900px; margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.5; }
table { border-collapse: collapse; margin: 1em 0; } caption { font-weight: 600; text-align: left; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; } th:first-child, td:first-child { text-align: left; }
img { max-width: 100%; } figure { margin: 2em 0; } code { background: #f3f3f3; padding: 0 0.2em; }
</style></head><body>
<h1>${esc(r.title)}</h1>
<p>Setting: <strong>${r.setting}</strong>, ${fmt(r.seconds, 3)} s. Configuration: <code>${esc(JSON.stringify(r.config))}</code></p>
${r.summary.map(paragraph).join("\n")}
${tables.join("\n")}
${figures.join("\n")}
<p>Numbers: <a href="metrics.json">metrics.json</a>.</p>
</body></html>
`;
}

/** Writes metrics.json, the figures, report.md and report.html into `dir`; returns the paths. */
export function writeReport(dir: string, r: ExperimentResult): string[] {
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  const put = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    written.push(p);
  };
  // JSON has no NaN or Infinity: they are written as strings so a diverged run stays readable.
  const json = JSON.stringify(
    { name: r.name, title: r.title, setting: r.setting, seconds: r.seconds, config: r.config, metrics: r.metrics },
    (_, v) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v),
    2,
  );
  put("metrics.json", json + "\n");
  for (const f of r.figures) put(f.file, f.svg);
  put("report.md", toMarkdown(r));
  put("report.html", toHtml(r));
  return written;
}
