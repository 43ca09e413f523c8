import { test } from "node:test";
import assert from "node:assert/strict";
import { matmulPlan } from "../../../src/backends/webgpu/matmul.js";

// The planner's choices on the shapes of the H200 tile sweep (MxKxN; see matmulPlan's comment):
// each is the sweep's winner or within 5% of it; the last two (not swept) pin the thresholds.
// Arguments here are (M, N, K).
test("matmulPlan picks the H200 sweep's winners per shape class", () => {
  const cases: [string, number, number, number, string, number][] = [
    ["8192x768x2048", 8192, 2048, 768, "128x128x16/8x8", 1],
    ["4096³", 4096, 4096, 4096, "128x128x16/8x8", 1],
    ["1024³", 1024, 1024, 1024, "64x128x16/4x8", 1],
    ["8192x256x2048", 8192, 2048, 256, "128x128x16/8x8", 1],
    ["2048x8192x256:A", 2048, 256, 8192, "128x128x16/8x8", 8],
    ["2048x8192x512:A", 2048, 512, 8192, "128x128x16/8x8", 4],
    ["8192x512x256:B", 8192, 256, 512, "128x128x16/8x8", 1],
    ["64x512x2048:B", 64, 2048, 512, "32x32x32/2x4", 1],
    ["64x2048x512", 64, 512, 2048, "32x32x32/2x4", 4],
    ["32x128x512:B", 32, 512, 128, "32x32x32/2x4", 1],
    ["512x512x512", 512, 512, 512, "32x32x32/2x4", 1],
    ["2048x2048x2048", 2048, 2048, 2048, "128x128x16/8x8", 1],
  ];
  for (const [name, M, N, K, tile, split] of cases) assert.deepEqual(matmulPlan(M, N, K), { tile, split }, name);
});

test("matmulPlan falls back to the tiles the device can run", () => {
  const noBig = (t: { BM: number; BN: number }): boolean => t.BM * t.BN < 128 * 128;
  assert.deepEqual(matmulPlan(8192, 2048, 768, noBig), { tile: "64x128x16/4x8", split: 1 });
  // Without BK=32 (as in a browser): the BK=16 twins of the middle and skinny tiles.
  const shallow = (t: { BK: number }): boolean => t.BK <= 16;
  assert.deepEqual(matmulPlan(64, 512, 2048, shallow), { tile: "32x32x16/2x4", split: 4 });
  assert.deepEqual(matmulPlan(512, 512, 512, shallow), { tile: "32x32x16/2x4", split: 1 });
  assert.deepEqual(matmulPlan(1024, 1024, 1024, shallow), { tile: "64x128x16/4x8", split: 1 });
  const onlySkinny = (t: { BM: number }): boolean => t.BM <= 32;
  assert.deepEqual(matmulPlan(2048, 256, 8192, onlySkinny), { tile: "32x32x32/2x4", split: 1 });
  // Nothing fills a wave: the smallest usable tile with K split as far as allowed.
  assert.deepEqual(matmulPlan(8, 8, 5000, onlySkinny), { tile: "32x32x32/2x4", split: 9 });
});
