import { test } from "node:test";
import assert from "node:assert/strict";
import { longRange } from "../../experiments/long-range.js";
import { runReduced } from "./helpers.js";

test("long-range (reduced): GRU and LSTM learn to copy across a delay where the plain RNN stays near chance", () => {
  const { metrics } = runReduced(longRange);
  const acc = (c: string) => (metrics[c] as { copy: { accuracy: number }[] }).copy[0].accuracy;
  assert.ok(acc("rnn") < 0.4, `RNN copy accuracy ${acc("rnn")} (chance 0.25)`);
  assert.ok(acc("gru") > 0.7, `GRU copy accuracy ${acc("gru")}`);
  assert.ok(acc("lstm-fb1") > 0.6, `LSTM copy accuracy ${acc("lstm-fb1")}`);
  for (const c of ["rnn", "gru", "lstm-fb1"]) {
    const mse = (metrics[c] as { adding: { mse: number }[] }).adding[0].mse;
    assert.ok(Number.isFinite(mse) && mse > 0, `${c}: adding MSE ${mse}`);
  }
});
