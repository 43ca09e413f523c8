import { test } from "node:test";
import assert from "node:assert/strict";
import { depth } from "../../experiments/depth.js";
import { runReduced } from "./helpers.js";

test("depth (reduced): a plain 50-layer MLP gets no gradient at its first layers and stays at chance; skip connections keep gradients flat and learn", () => {
  const { metrics } = runReduced(depth);
  const m = (a: string) => metrics[a] as { firstOverLastInit: number; accuracy: number; init: number[] };
  assert.equal(m("plain").init.length, 50);
  assert.ok(m("plain").firstOverLastInit < 1e-6, `plain ratio ${m("plain").firstOverLastInit}`);
  for (const a of ["residual", "highway", "dense"]) assert.ok(m(a).firstOverLastInit > 0.1, `${a} ratio ${m(a).firstOverLastInit}`);
  assert.ok(m("plain").accuracy < 0.4, `plain accuracy ${m("plain").accuracy} (chance 1/3)`);
  for (const a of ["residual", "dense"]) assert.ok(m(a).accuracy > 0.6, `${a} accuracy ${m(a).accuracy}`);
});
