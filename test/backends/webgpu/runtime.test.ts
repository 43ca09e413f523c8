import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as gl from "../../../src/index.js";
import { GpuTensor, WebGPUError, Words, gpuUnavailableReason, requestGpu } from "../../../src/backends/webgpu/index.js";
import { skip, useGpu } from "./helpers.js";

const gpuOf = useGpu();

describe("webgpu runtime", { skip }, () => {
  test("importing gradlab does not load Dawn; requestGpu() does", () => {
    const script = `
      const loaded = [];
      const dlopen = process.dlopen;
      process.dlopen = (m, f, ...r) => { loaded.push(String(f)); return dlopen(m, f, ...r); };
      const gl = await import("./src/index.ts");
      if (typeof gl.webgpu.requestGpu !== "function") throw new Error("gl.webgpu.requestGpu missing");
      const before = loaded.some((f) => f.endsWith("dawn.node"));
      const gpu = await gl.webgpu.requestGpu();
      const after = loaded.some((f) => f.endsWith("dawn.node"));
      gpu?.destroy();
      console.log(JSON.stringify({ before, after, ok: gpu !== null }));
      process.exit(0);`;
    const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout.trim().split("\n").pop()!), { before: false, after: true, ok: true });
  });

  test("GpuTensor round-trips strided float64/int32 tensors and comes back as a Tensor", async () => {
    const gpu = gpuOf();
    const x = gl.arange(0, 12, 1, { dtype: "float64" }).reshape([3, 4]).transpose(0, 1);
    const g = GpuTensor.fromTensor(x, gpu);
    assert.deepEqual(g.shape, [4, 3]);
    const back = await g.toTensor<gl.Tensor>();
    assert.ok(back instanceof gl.Tensor);
    assert.deepEqual(back.tolist(), x.tolist());
    const ids = gl.tensor([3, -1, 7], { dtype: "int32" });
    const gi = GpuTensor.fromTensor(ids, gpu);
    assert.equal(gi.dtype, "int32");
    assert.deepEqual(Array.from(await gi.read()), [3, -1, 7]);
    g.release();
    assert.throws(() => g.write(new Float32Array(12)), /used after release/);
  });

  test("released buffers are reused by the pool", () => {
    const gpu = gpuOf();
    const a = GpuTensor.empty(gpu, [1000]);
    const buf = a.buffer;
    a.release();
    const b = GpuTensor.empty(gpu, [990]);
    assert.equal(b.buffer, buf, "same size class, same buffer");
    b.release();
  });

  test("a WGSL error surfaces as a WebGPUError at the next read", async () => {
    const gpu = gpuOf();
    const t = GpuTensor.zeros(gpu, [4]);
    await gpu.sync();
    // The invalid pipeline makes the whole command buffer invalid: none of it runs.
    gpu.dispatch("@compute @workgroup_size(1) fn main() { let x: f32 = undefined_thing; }", new Words().u(0).build(), [], [1]);
    await assert.rejects(t.read(), (e: Error) => e instanceof WebGPUError && /undefined_thing/.test(e.message));
    // The error is reported once; the device goes on working.
    assert.deepEqual(Array.from(await t.read()), [0, 0, 0, 0]);
  });

  test("no adapter: requestGpu() answers null and says why", async () => {
    const none = await requestGpu({ backend: "no-such-backend" });
    assert.equal(none, null);
    assert.match(gpuUnavailableReason(), /no adapter.*no-such-backend/);
  });
});
