import { test } from "node:test";
import assert from "node:assert/strict";
import { stacking } from "../../experiments/stacking.js";
import { runReduced } from "./helpers.js";

test("stacking (reduced): in a 4-layer LSTM stack residual connections carry the gradient to the bottom layer and train better", () => {
  const { metrics } = runReduced(stacking);
  type R = { depth: number; skip: string; bottomOverTop: number; valLoss: number; layerGrad: number[] };
  const runs = metrics.runs as R[];
  const at = (skip: string, depth: number) => runs.find((r) => r.skip === skip && r.depth === depth)!;
  assert.equal(at("none", 4).layerGrad.length, 4);
  assert.ok(at("none", 4).bottomOverTop < 0.1, `plain: bottom/top ${at("none", 4).bottomOverTop}`);
  assert.ok(at("residual", 4).bottomOverTop > 0.5, `residual: bottom/top ${at("residual", 4).bottomOverTop}`);
  assert.ok(at("dense", 4).bottomOverTop > at("none", 4).bottomOverTop, "dense passes more gradient down than the plain stack");
  assert.ok(at("residual", 4).valLoss < at("none", 4).valLoss, `validation: residual ${at("residual", 4).valLoss} vs plain ${at("none", 4).valLoss}`);
});
