import { test } from "node:test";
import assert from "node:assert/strict";
import { attentionSvg, seq2seq } from "../../experiments/seq2seq.js";
import { runReduced } from "./helpers.js";

test("seq2seq (reduced): with attention the reversal is learned near-perfectly, without it not", () => {
  const { metrics } = runReduced(seq2seq);
  const m = (k: string) => metrics[k] as { greedyExact: number; beamExact: number };
  assert.ok(m("bahdanau").greedyExact >= 0.9, `attention: ${m("bahdanau").greedyExact}`);
  assert.ok(m("bahdanau").beamExact >= 0.9, `attention with beams: ${m("bahdanau").beamExact}`);
  assert.ok(m("none").greedyExact < m("bahdanau").greedyExact - 0.2, `no attention: ${m("none").greedyExact}`);
});

test("attentionSvg: one cell per (output, source) pair, labels escaped", () => {
  const svg = attentionSvg([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]], ["<", " "], ["a", "b", "</s>"], "t");
  assert.equal((svg.match(/<rect x=/g) ?? []).length, 6);
  assert.match(svg, />&lt;</);
  assert.match(svg, />␣</);
  assert.match(svg, />&lt;\/s&gt;</);
});
