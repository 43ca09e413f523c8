import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Experiment, type ExperimentResult, writeReport } from "../../experiments/report.js";

/** Runs an experiment's reduced setting, writes its report to a temporary directory and checks the files. */
export function runReduced(exp: Experiment, seed = 0): { result: ExperimentResult; metrics: Record<string, unknown> } {
  const result = exp({ full: false, seed });
  assert.equal(result.setting, "reduced");
  const dir = mkdtempSync(join(tmpdir(), `gradlab-${result.name}-`));
  try {
    const files = writeReport(dir, result);
    for (const f of ["metrics.json", "report.md", "report.html"]) assert.ok(existsSync(join(dir, f)), `${f} written`);
    assert.ok(result.figures.length > 0, "at least one figure");
    for (const fig of result.figures) {
      const svg = readFileSync(join(dir, fig.file), "utf8");
      assert.ok(svg.startsWith("<svg") && svg.trimEnd().endsWith("</svg>"), `${fig.file} is an SVG`);
      assert.ok(!/NaN|Infinity/.test(svg), `${fig.file} has no NaN/Infinity coordinates`);
      assert.ok(/<path d="M/.test(svg) || /<rect x=/.test(svg), `${fig.file} draws data`);
    }
    const md = readFileSync(join(dir, "report.md"), "utf8");
    const html = readFileSync(join(dir, "report.html"), "utf8");
    for (const fig of result.figures) {
      assert.ok(md.includes(`](${fig.file})`), `report.md shows ${fig.file}`);
      assert.ok(html.includes(`src="${fig.file}"`), `report.html shows ${fig.file}`);
    }
    assert.equal(files.length, 3 + result.figures.length);
    const json = JSON.parse(readFileSync(join(dir, "metrics.json"), "utf8"));
    assert.equal(json.name, result.name);
    return { result, metrics: json.metrics };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
