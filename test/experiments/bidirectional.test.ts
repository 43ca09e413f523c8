import { test } from "node:test";
import assert from "node:assert/strict";
import { bidirectional } from "../../experiments/bidirectional.js";
import { runReduced } from "./helpers.js";

test("bidirectional (reduced): right context makes tagging exact; a bidirectional LM beats the entropy of random data, i.e. it sees the answer", () => {
  const { metrics } = runReduced(bidirectional);
  const tag = metrics.tagging as { uniAccuracy: number; biAccuracy: number };
  const lm = metrics.lm as { entropy: number; uniFinalLoss: number; biFinalLoss: number };
  assert.ok(tag.biAccuracy > 0.9, `bidirectional tagging accuracy ${tag.biAccuracy}`);
  assert.ok(tag.uniAccuracy < 0.5, `unidirectional tagging accuracy ${tag.uniAccuracy} (chance 1/3)`);
  assert.ok(lm.uniFinalLoss > 0.9 * lm.entropy, `unidirectional LM ${lm.uniFinalLoss} vs entropy ${lm.entropy}`);
  assert.ok(lm.biFinalLoss < 0.5 * lm.entropy, `bidirectional LM ${lm.biFinalLoss} vs entropy ${lm.entropy}`);
});
