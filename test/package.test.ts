import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";

// The package entry a user gets from `import * as gl from "gradlab"` (the built dist/ through
// package.json "exports"); `npm run build` must have run, as CI does before the tests.
test('import * as gl from "gradlab" resolves to the built public API', async () => {
  assert.ok(existsSync("dist/src/index.js"), "dist/src/index.js is missing: run `npm run build` before the tests");
  const gl = await import("gradlab");
  const x = gl.tensor([[1, 2], [3, 4]], { requiresGrad: true });
  const y = x.matmul(x).sum();
  y.backward();
  assert.deepEqual(Array.from(x.grad!.toArray()), [7, 11, 9, 13]);
  for (const name of ["zeros", "ones", "full", "randn", "rand", "arange", "manualSeed", "noGrad", "crossEntropy"]) {
    assert.equal(typeof (gl as Record<string, unknown>)[name], "function", `gl.${name}`);
  }
});
