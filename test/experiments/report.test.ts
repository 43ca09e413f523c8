import { test } from "node:test";
import assert from "node:assert/strict";
import * as gl from "../../src/index.js";
import { fmt, toHtml, toMarkdown, type ExperimentResult } from "../../experiments/report.js";

test("lineChartSvg: one path per series, log axes skip non-positive points, guides drawn in range", () => {
  const svg = gl.diagnostics.lineChartSvg(
    [
      { label: "a", points: [[0, 1], [1, 0.1], [2, 0.01]] },
      { label: "b <c>", points: [[0, 1], [1, 0], [2, NaN], [3, 0.5]] },
    ],
    { logY: true, guides: [{ y: 0.5, label: "half" }, { y: -1 }], title: "t" },
  );
  assert.ok(!/NaN|Infinity/.test(svg));
  assert.match(svg, /b &lt;c&gt;/);
  const paths = svg.match(/<path d="[^"]+"/g) ?? [];
  // Two series plus one guide (the negative guide is off a log axis).
  assert.equal(paths.length, 3);
  // Series b is broken at the zero and the NaN: it restarts with a second "M".
  const b = svg.match(/<path d="([^"]+)" fill="none" stroke="#ff7f0e"/)![1];
  assert.equal((b.match(/M/g) ?? []).length, 2);
  assert.match(svg, />half</);
});

test("reports: markdown and HTML carry the summary, tables (escaped) and figures; fmt rounds and names non-finite values", () => {
  const r: ExperimentResult = {
    name: "x", title: "T & U", setting: "reduced", config: { a: 1 }, summary: ["uses `code` and **bold**"],
    metrics: {}, figures: [{ file: "f.svg", title: "F", svg: "<svg></svg>", caption: "cap" }],
    tables: [{ title: "tab", columns: ["k", "v"], rows: [["<a>", 0.000012345], ["b", NaN]] }], seconds: 1.23456,
  };
  const md = toMarkdown(r);
  assert.match(md, /\| <a> \| 1\.23e-5 \|/);
  assert.match(md, /\| b \| NaN \|/);
  assert.match(md, /!\[F\]\(f\.svg\)/);
  const html = toHtml(r);
  assert.match(toHtml({ ...r, summary: ["```\na < b\n```"] }), /<pre>a &lt; b<\/pre>/);
  assert.match(html, /<title>T &amp; U<\/title>/);
  assert.match(html, /<code>code<\/code> and <strong>bold<\/strong>/);
  assert.match(html, /<td>&lt;a&gt;<\/td>/);
  assert.equal(fmt(Infinity), "∞");
  assert.equal(fmt(123456789), "123456789");
  assert.equal(fmt(1234567.5), "1.23e+6");
  assert.equal(fmt(0.123456), "0.1235");
});
