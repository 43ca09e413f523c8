import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import * as esbuild from "esbuild";
import { chromium } from "playwright-core";
import { CHROMIUM } from "../../e2e/chromium.js";
import { skip } from "./helpers.js";

// The same GPU path in a browser: Chromium's WebGPU (headless, on its SwiftShader Vulkan) runs the
// browser bundle's gl.webgpu; the page checks a matmul, the GPU LSTM model's loss and gradients
// against gradlab's CPU autograd in the same page, and that training lowers the loss; then the
// tensor device (ops, autograd, a fused LSTM layer) against the CPU.
test("gl.webgpu runs in Chromium through navigator.gpu and matches the CPU there", { skip, timeout: 120_000 }, async () => {
  const built = await esbuild.build({
    stdin: { contents: `import * as gl from ${JSON.stringify(resolve("src/index.ts"))}; window.gl = gl;`, resolveDir: resolve("."), loader: "ts" },
    bundle: true,
    format: "esm",
    platform: "browser",
    target: ["chrome110"],
    write: false,
    logLevel: "silent",
  });
  const profile = mkdtempSync(join(tmpdir(), "gradlab-chromium-webgpu-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless", "--no-sandbox", "--no-first-run", "--disable-background-networking", "--disable-component-update",
      "--enable-unsafe-webgpu", "--enable-features=Vulkan", "--use-vulkan=swiftshader", "--use-webgpu-adapter=swiftshader", "--use-angle=swiftshader",
    ],
  });
  try {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    // WebGPU needs a secure context: a file: URL is one, about:blank is not.
    await page.goto(pathToFileURL(profile).href);
    await page.addScriptTag({ content: built.outputFiles[0].text, type: "module" });
    await page.waitForFunction(() => "gl" in window);
    const r = await page.evaluate(async () => {
      const gl = (window as unknown as { gl: typeof import("../../../src/index.js") }).gl;
      const gpu = await gl.webgpu.requestGpu();
      if (!gpu) return { error: gl.webgpu.gpuUnavailableReason() };
      const a = gl.webgpu.GpuTensor.fromArray(gpu, Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3]);
      const c = gl.webgpu.GpuTensor.empty(gpu, [2, 2]);
      gl.webgpu.matmul(gpu, a, a, c, { transB: true });
      const product = Array.from(await c.read());
      const cfg = { vocabSize: 9, embeddingDim: 4, hiddenSize: 6 };
      const cpu = new gl.models.RNNLM({ ...cfg, cell: "lstm", generator: new gl.Generator(3) });
      const lm = gl.webgpu.GpuRNNLM.create(gpu, { ...cfg, lr: 0.05 }, cpu.stateDict());
      const x = gl.tensor(Int32Array.from({ length: 15 }, (_, i) => (i * 4) % 9), { dtype: "int32", shape: [5, 3] });
      const y = gl.tensor(Int32Array.from({ length: 15 }, (_, i) => (i * 4 + 4) % 9), { dtype: "int32", shape: [5, 3] });
      lm.forwardBackward(x, y);
      const gpuLoss = await lm.loss();
      const grads = await lm.gradients();
      const { loss } = cpu.loss(x, y);
      loss.backward();
      let worst = 0;
      for (const [name, p] of cpu.namedParameters()) {
        const g = grads[name].toArray();
        const w = p.grad!.toArray();
        for (let i = 0; i < w.length; i++) worst = Math.max(worst, Math.abs(g[i] - w[i]) / (1e-4 + Math.abs(w[i])));
      }
      for (let i = 0; i < 30; i++) lm.step(x, y);
      const trained = await lm.loss();
      // The tensor device: ops, autograd and a fused LSTM layer on navigator.gpu, against the CPU.
      await gl.webgpu.init({ gpu, setDefault: false });
      const xs = gl.tensor([[0.5, -1, 2], [1.5, 0.25, -0.75]]);
      const xc = xs.detach().requiresGrad_();
      const lc = new gl.nn.LSTM({ inputSize: 3, hiddenSize: 4, generator: new gl.Generator(5) });
      const yc = xc.matmul(xc.t()).softmax(1).sum(0).add(lc.forward(xc.tanh().unsqueeze(1).expand(2, 2, 3))[0].sum());
      yc.sum().backward();
      const xd = xs.to("webgpu").requiresGrad_();
      const ld = new gl.nn.LSTM({ inputSize: 3, hiddenSize: 4, generator: new gl.Generator(5) }).to({ device: "webgpu" });
      const yd = xd.matmul(xd.t()).softmax(1).sum(0).add(ld.forward(xd.tanh().unsqueeze(1).expand(2, 2, 3))[0].sum());
      yd.sum().backward();
      const got = [await yd.toArrayAsync(), await xd.grad!.toArrayAsync(), await ld.parameters()[0].grad!.toArrayAsync()];
      const want = [yc.toArray(), xc.grad!.toArray(), lc.parameters()[0].grad!.toArray()];
      let deviceWorst = 0;
      for (let k = 0; k < 3; k++) for (let i = 0; i < want[k].length; i++) deviceWorst = Math.max(deviceWorst, Math.abs(got[k][i] - want[k][i]) / (1e-4 + Math.abs(want[k][i])));
      gl.webgpu.shutdown();
      return { product, gpuLoss, cpuLoss: loss.item(), worst, trained, backend: gpu.backend, deviceWorst, device: yd.device };
    });
    assert.deepEqual(errors, []);
    assert.ok(!("error" in r), JSON.stringify(r));
    assert.equal(r.backend, "browser");
    assert.deepEqual(r.product, [14, 32, 32, 77]);
    assert.ok(Math.abs(r.gpuLoss! - r.cpuLoss!) < 1e-5, `loss ${r.gpuLoss} vs ${r.cpuLoss}`);
    assert.ok(r.worst! < 1e-3, `largest relative gradient difference ${r.worst}`);
    assert.ok(r.trained! < r.gpuLoss! * 0.7, `loss ${r.gpuLoss} → ${r.trained}`);
    assert.equal(r.device, "webgpu");
    assert.ok(r.deviceWorst! < 1e-3, `tensor device vs CPU in the page: largest relative difference ${r.deviceWorst}`);
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
});
