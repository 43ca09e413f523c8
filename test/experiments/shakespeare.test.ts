import { test } from "node:test";
import assert from "node:assert/strict";
import { FULL, shakespeare } from "../../experiments/shakespeare.js";
import { runReduced } from "./helpers.js";

test("shakespeare (reduced): a 2-layer LSTM on a slice learns below the unigram entropy (3.28 nats/char) and samples text", () => {
  const { metrics } = runReduced(shakespeare);
  const evals = metrics.evals as { valLoss: number }[];
  assert.ok(evals.length >= 2 && evals[evals.length - 1].valLoss < evals[0].valLoss, `validation ${evals.map((e) => e.valLoss)}`);
  assert.ok((metrics.finalValLoss as number) < 3.0, `final validation ${metrics.finalValLoss}`);
  assert.ok((metrics.tokensPerSecond as number) > 0);
  assert.match(metrics.sample as string, /^ROMEO:\n[\s\S]{100}$/u);
  // The documented full configuration: 2 LSTM layers over the whole corpus.
  assert.equal(FULL.layers, 2);
  assert.equal(FULL.chars, 1115394);
});
