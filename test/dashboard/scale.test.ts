import { test } from "node:test";
import assert from "node:assert/strict";
import { decadeRange, fmt, logSplits } from "../../dashboard/page/scale.js";

test("numbers are printed short", () => {
  assert.equal(fmt(0.0031), "0.0031");
  assert.equal(fmt(0.00031), "3.1e-4");
  assert.equal(fmt(1e-7), "1e-7");
  assert.equal(fmt(1234.5), "1235");
  assert.equal(fmt(2.3456), "2.35");
  assert.equal(fmt(1.4e45), "1.4e45");
  assert.equal(fmt(0), "0");
  assert.equal(fmt(NaN), "NaN");
  assert.equal(fmt(null), "");
});

test("log axes span whole decades and keep a handful of labelled grid lines, however wide", () => {
  assert.deepEqual(decadeRange(-2.5, 0.2), [-3, 1]);
  assert.deepEqual(decadeRange(-3, -3), [-4, -2], "a constant on a decade sits inside the frame");
  assert.deepEqual(decadeRange(0.5, 0.5), [0, 1]);
  assert.deepEqual(decadeRange(null, null), [0, 1]);
  // A diverged run's perplexity (1e54) and a vanished gradient (1e-40) stay on the chart.
  const wide = logSplits(-40, 54);
  assert.ok(wide.length <= 9 && wide.length >= 5, `${wide}`);
  assert.ok(wide.every(Number.isInteger) && wide[0] >= -40 && wide[wide.length - 1] <= 54);
  const narrow = logSplits(-1, 0);
  assert.deepEqual(narrow.map((v) => Number((10 ** v).toPrecision(6))), [0.1, 0.2, 0.5, 1]);
});
