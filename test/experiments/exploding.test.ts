import { test } from "node:test";
import assert from "node:assert/strict";
import { exploding } from "../../experiments/exploding.js";
import { runReduced } from "./helpers.js";

test("exploding (reduced): plain SGD diverges to NaN; clipping and adaptive optimizers stay finite and recover", () => {
  const { metrics } = runReduced(exploding);
  assert.ok((metrics.ratioFirstOverLast as number) > 1e3, `‖∂J/∂h_0‖/‖∂J/∂h_T‖ = ${metrics.ratioFirstOverLast} should show growth`);
  const methods = metrics.methods as Record<string, { firstNonFinite: number | null; firstLoss: number; finalLoss: number | string }>;
  assert.ok(methods.sgd.firstNonFinite !== null && methods.sgd.firstNonFinite <= 5, `SGD diverged at ${methods.sgd.firstNonFinite}`);
  for (const m of ["sgd-clip-value", "sgd-clip-norm", "adam", "rmsprop", "adagrad"]) {
    const r = methods[m];
    assert.equal(r.firstNonFinite, null, `${m} stayed finite`);
    assert.ok(typeof r.finalLoss === "number" && r.finalLoss < r.firstLoss / 10, `${m}: final ${r.finalLoss} vs first ${r.firstLoss}`);
  }
});
