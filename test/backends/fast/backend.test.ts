import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as gl from "../../../src/index.js";
import { detectFrom } from "../../../src/backends/fast/loader.js";
import { fastRuntime, setFastVariant } from "../../../src/backends/fast/index.js";

test("the fast backend is detected, loaded and the default; backendInfo says which build runs", () => {
  const info = gl.backendInfo();
  assert.equal(info.backend, "fast");
  assert.equal(info.fast.available, true);
  // Node 20 reaches relaxed SIMD through V8's flag; later engines have it on. SIMD128 is everywhere.
  assert.ok(info.fast.variants.includes("simd128"), JSON.stringify(info));
  assert.equal(info.fast.variant, info.fast.variants[0]);
  assert.ok(info.fast.memoryBytes > 0);
  assert.deepEqual(JSON.parse(JSON.stringify(info)), info, "plain JSON data");
  assert.ok(gl.listBackends().includes("fast"));
});

test("setBackend('js') switches to the reference kernels and back", () => {
  const x = gl.randn([300], { generator: new gl.Generator(1) });
  const rt = fastRuntime()!;
  gl.setBackend("js");
  const calls = rt.calls;
  const ref = x.tanh().toArray();
  assert.equal(rt.calls, calls, "no module call on the js backend");
  assert.equal(gl.backendInfo().backend, "js");
  gl.setBackend("fast");
  const fast = x.tanh().toArray();
  assert.equal(rt.calls, calls + 1);
  for (let i = 0; i < ref.length; i++) assert.ok(Math.abs(fast[i] - ref[i]) <= 1e-6, `tanh[${i}]`);
});

test("each build can be selected and reports itself", async () => {
  for (const v of gl.backendInfo().fast.variants) {
    await setFastVariant(v);
    assert.equal(gl.backendInfo().fast.variant, v);
    assert.equal(fastRuntime()!.variant, v);
  }
  await setFastVariant(gl.backendInfo().fast.variants[0]);
});

test("a missing or unusable build leaves the reference backend, with a reason that says what to do", async () => {
  const none = await detectFrom(null);
  assert.deepEqual(none.variants, []);
  assert.match(none.reason!, /not built.*npm run build.*reference/);
  const junk = btoa("not wasm");
  const broken = await detectFrom({ simd128: junk, relaxed: junk, simd128Shared: junk, relaxedShared: junk });
  assert.deepEqual(broken.variants, []);
  assert.match(broken.reason!, /reference kernels/);
});

test("GRADLAB_BACKEND=js keeps the reference backend the default in a fresh process", () => {
  const code = 'import * as gl from "./src/index.ts"; console.log(JSON.stringify(gl.backendInfo()));';
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], {
    env: { ...process.env, GRADLAB_BACKEND: "js" },
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stderr);
  const info = JSON.parse(r.stdout.trim().split("\n").pop()!);
  assert.equal(info.backend, "js");
  assert.equal(info.fast.available, true, "still loaded, only not the default");
});
