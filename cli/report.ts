import { join } from "node:path";
import * as gl from "../src/index.js";
import { writeFileAtomic } from "../src/io/node.js";

export interface ReportInput {
  title: string;
  records: readonly gl.diagnostics.DiagnosticRecord[];
  summary: string[];
  sample?: string;
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** Writes the run's SVG plots and an HTML page embedding them; returns the page's path. */
export async function writeReport(runDir: string, r: ReportInput): Promise<string> {
  const enc = new TextEncoder();
  const d = gl.diagnostics;
  const plots: [string, string, string][] = [
    ["loss.svg", "Training loss (faint: per step; line: smoothed) and validation loss (points).", d.lossCurveSvg(r.records)],
    ["gradnorm.svg", "Gradient norm per layer over training, log scale: a layer whose line falls towards zero stops learning.", d.gradNormSvg(r.records)],
    [
      "hidden-grad.svg",
      "‖∂J/∂h_t‖ of the LSTM over time step (across) and training step (down), log colour scale: how much of the loss gradient reaches each earlier step of the window. A dark left edge is a vanishing gradient.",
      d.hiddenGradHeatmapSvg(r.records),
    ],
  ];
  for (const [name, , svg] of plots) await writeFileAtomic(join(runDir, name), enc.encode(svg));
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(r.title)}</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#222}
figure{margin:1.5em 0}figcaption{color:#555;font-size:13px}pre{background:#f5f5f5;padding:1em;white-space:pre-wrap}</style>
</head><body>
<h1>${esc(r.title)}</h1>
<ul>${r.summary.map((s) => `<li>${esc(s)}</li>`).join("")}</ul>
${plots.map(([, cap, svg]) => `<figure>${svg}<figcaption>${esc(cap)}</figcaption></figure>`).join("\n")}
${r.sample ? `<h2>Sample</h2><pre>${esc(r.sample)}</pre>` : ""}
</body></html>
`;
  const path = join(runDir, "report.html");
  await writeFileAtomic(path, enc.encode(html));
  return path;
}
