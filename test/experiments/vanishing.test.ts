import { test } from "node:test";
import assert from "node:assert/strict";
import { vanishing } from "../../experiments/vanishing.js";
import { runReduced } from "./helpers.js";

test("vanishing (reduced): the gradient reaching h_0 decays far less through an LSTM with forget bias 1 than through an RNN", () => {
  const { metrics } = runReduced(vanishing);
  const r = (c: string) => (metrics[c] as { ratioInit: number }).ratioInit;
  for (const c of ["rnn", "gru", "lstm", "lstm-fb1"]) assert.ok(r(c) > 0 && r(c) < 1, `${c}: ratio ${r(c)} should show decay`);
  assert.ok(r("lstm-fb1") > 1e3 * r("rnn"), `LSTM (fb 1) ${r("lstm-fb1")} vs RNN ${r("rnn")}`);
  assert.ok(r("lstm-fb1") > 100 * r("lstm"), `forget bias 1 ${r("lstm-fb1")} vs default ${r("lstm")}`);
  assert.ok(r("gru") > r("rnn"), `GRU ${r("gru")} vs RNN ${r("rnn")}`);
});
