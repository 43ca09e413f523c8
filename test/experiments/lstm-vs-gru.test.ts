import { test } from "node:test";
import assert from "node:assert/strict";
import { equalParamGruSize, lstmVsGru, recurrentParams } from "../../experiments/lstm-vs-gru.js";
import { runReduced } from "./helpers.js";

test("lstm-vs-gru: parameter counts follow the gate count; the equal-parameter GRU is matched within 1%", () => {
  assert.equal(recurrentParams("lstm", 16, 32), 4 * (32 * 16 + 32 * 32 + 64));
  assert.equal(recurrentParams("gru", 16, 32) * 4, recurrentParams("lstm", 16, 32) * 3);
  const h = equalParamGruSize(32, 128);
  assert.ok(h > 128 && Math.abs(recurrentParams("gru", 32, h) / recurrentParams("lstm", 32, 128) - 1) < 0.01, `GRU size ${h}`);
});

test("lstm-vs-gru (reduced): measured models have those counts, run at a measured speed, and beat the unigram baseline", () => {
  const { metrics } = runReduced(lstmVsGru);
  type M = { recurrentParams: number; hidden: number; valLoss: number; tokensPerSecond: number; cpuTokensPerSecond: number; layerMs: number; parensAccuracy: number };
  const m = (k: string) => metrics[k] as M;
  assert.equal(m("lstm").recurrentParams, recurrentParams("lstm", 16, m("lstm").hidden));
  assert.equal(m("gru-same-size").recurrentParams * 4, m("lstm").recurrentParams * 3);
  assert.ok(Math.abs(m("gru-same-params").recurrentParams / m("lstm").recurrentParams - 1) < 0.02);
  for (const k of ["lstm", "gru-same-size", "gru-same-params"]) {
    assert.ok(m(k).tokensPerSecond > 0 && m(k).cpuTokensPerSecond > 0 && m(k).layerMs > 0);
    assert.ok(m(k).valLoss < (metrics.unigramEntropy as number), `${k}: validation ${m(k).valLoss} vs unigram ${metrics.unigramEntropy}`);
    assert.ok(m(k).parensAccuracy > 0.75, `${k}: parentheses accuracy ${m(k).parensAccuracy}`);
  }
});
