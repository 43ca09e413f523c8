import { test } from "node:test";
import assert from "node:assert/strict";
import * as gl from "../../src/index.js";

const D = gl.diagnostics;
type Rec = gl.diagnostics.DiagnosticRecord;

function flow(step: number, dh: number[], grads: Record<string, number | null>): gl.diagnostics.GradFlowRecord {
  return {
    type: "gradflow",
    step,
    params: Object.entries(grads).map(([name, g]) => ({ name, shape: [1], numel: 1, gradNorm: g, weightNorm: 1, updateRatio: null, zeroGradFraction: 0, nonFinite: 0 })),
    hidden: [{ module: "rnn", layer: 0, direction: "forward", dhNorm: dh, firstOverLast: dh[0] / dh[dh.length - 1] }],
    flags: [],
  };
}

function wellFormed(svg: string): void {
  assert.ok(svg.startsWith("<svg xmlns=\"http://www.w3.org/2000/svg\""));
  assert.ok(svg.trimEnd().endsWith("</svg>"));
  assert.ok(!svg.includes("NaN"), "no NaN coordinates");
  assert.ok(!/Infinity/.test(svg), "no infinite coordinates");
  // Every opened element is self-closed or closed.
  const open = (svg.match(/<(text|svg)\b/g) ?? []).length;
  const close = (svg.match(/<\/(text|svg)>/g) ?? []).length;
  assert.equal(open, close);
}

test("loss curve: train line, eval points, skipped non-finite losses, escaped title", () => {
  const recs: Rec[] = [];
  for (let s = 1; s <= 20; s++) recs.push({ type: "train", step: s, loss: s === 7 ? NaN : 5 / s });
  recs.push({ type: "eval", step: 10, loss: 0.8 }, { type: "eval", step: 20, loss: 0.4 });
  const svg = D.lossCurveSvg(recs, { title: "a < b & c" });
  wellFormed(svg);
  assert.match(svg, /a &lt; b &amp; c/);
  assert.equal((svg.match(/<circle/g) ?? []).length, 2);
  // The NaN at step 7 breaks the line into two pieces.
  const d = svg.match(/<path d="([^"]+)" fill="none" stroke="#1f77b4"/)![1];
  assert.equal((d.match(/M/g) ?? []).length, 2);
  const log = D.lossCurveSvg(recs, { logY: true });
  assert.match(log, /loss \(log scale\)/);
});

test("gradient norm chart: one log-scale line per module, parameters joined by L2", () => {
  const recs = [1, 2, 3].map((s) => flow(s, [1, 2], { "enc.weight": 3 * s, "enc.bias": 4 * s, "head.weight": 1e-6 * s, "frozen.w": null }));
  const svg = D.gradNormSvg(recs, { guides: [1e-7, 1e3] });
  wellFormed(svg);
  assert.match(svg, />enc</);
  assert.match(svg, />head</);
  assert.ok(!svg.includes(">frozen<"), "parameters without gradients draw nothing");
  // Tick labels are powers of ten covering 1e-6..15.
  assert.match(svg, />1e-6</);
  assert.match(svg, />100</);
  // The 1e3 guide is outside the range and left out; the 1e-7 guide likewise.
  assert.equal((svg.match(/stroke-dasharray="5 4"/g) ?? []).length, 0);
  const per = D.gradNormSvg(recs, { groupBy: "parameter" });
  assert.match(per, />enc.bias</);
});

test("heat map: one cell per time step and training step, colour by log10 norm", () => {
  const T = 12;
  const recs = [0, 1, 2, 3].map((s) => flow(s, Array.from({ length: T }, (_, t) => 10 ** (t - T + s)), { w: 1 }));
  const svg = D.hiddenGradHeatmapSvg(recs);
  wellFormed(svg);
  const cells = svg.match(/<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="[\d.]+" fill="rgb\([^)]*\)"\/>/g) ?? [];
  // 4·12 cells plus the 40 slices of the colour bar.
  assert.equal(cells.length, 4 * T + 40);
  assert.match(svg, /of rnn\[layer 0, forward\]/);
  // The norms run from 1e-12 to 1e2: the smallest gets the darkest viridis colour, the largest the brightest.
  assert.match(svg, /fill="rgb\(68,1,84\)"/);
  assert.match(svg, /fill="rgb\(253,231,37\)"/);
  assert.match(svg, />1e-10</);
  const sampled = D.hiddenGradHeatmapSvg(recs, { maxRows: 2 });
  assert.equal((sampled.match(/fill="rgb/g) ?? []).length, 2 * T + 40);
  const none = D.hiddenGradHeatmapSvg(recs, { module: "nope" });
  wellFormed(none);
});
