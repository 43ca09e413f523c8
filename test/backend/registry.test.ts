import { test } from "node:test";
import assert from "node:assert/strict";
import * as gl from "../../src/index.js";

test("setBackend names the registered backends when the name is unknown", () => {
  assert.throws(() => gl.setBackend("nope"), /unknown backend "nope" \(registered: .*js/);
});

test('setBackend("webgpu") before gl.webgpu.init() says to call it, and changes nothing', () => {
  const before = gl.getBackend();
  assert.throws(() => gl.setBackend("webgpu"), /no WebGPU device yet; call `await gl\.webgpu\.init\(\)` first/);
  assert.equal(gl.getBackend(), before);
  assert.equal(gl.getDefaultDevice(), "cpu");
  assert.throws(() => gl.setDefaultDevice("webgpu"), /device "webgpu" is not ready: call `await gl\.webgpu\.init\(\)`/);
});
