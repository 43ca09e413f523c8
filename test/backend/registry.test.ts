import { test } from "node:test";
import assert from "node:assert/strict";
import * as gl from "../../src/index.js";

test("setBackend names the registered backends when the name is unknown", () => {
  assert.throws(() => gl.setBackend("nope"), /unknown backend "nope" \(registered: .*js/);
});

test('setBackend("webgpu") says that tensor ops stay on the CPU and where the GPU path is', () => {
  const before = gl.getBackend();
  assert.throws(() => gl.setBackend("webgpu"), /tensor ops do not run on the GPU yet.*gl\.webgpu\.GpuRNNLM.*--device webgpu/);
  assert.equal(gl.getBackend(), before);
});
