import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as gl from "../../../src/index.js";
import { skip, useGpu } from "./helpers.js";

// GPU memory of dropped tensors comes back through the garbage collector, which does not see
// it; the device asks for a collection after each budget of buffers handed out.

const gpuOf = useGpu();

describe("webgpu device: memory", { skip }, () => {
  test("a training loop stops creating buffers once the pool holds a step's worth", async () => {
    await gl.webgpu.init({ gpu: gpuOf(), setDefault: false, gcBudgetBytes: 2 ** 20 });
    const V = 20;
    const g = gl.manualSeed(1);
    const emb = new gl.nn.Embedding(V, 16, { generator: g }).to({ device: "webgpu" });
    const rnn = new gl.nn.LSTM({ inputSize: 16, hiddenSize: 32, generator: g }).to({ device: "webgpu" });
    const head = new gl.nn.Linear(32, V, { generator: g }).to({ device: "webgpu" });
    const opt = new gl.optim.Adam([...emb.parameters(), ...rnn.parameters(), ...head.parameters()], { lr: 0.01 });
    const x = gl.randint(0, V, [16, 8], { device: "cpu" });
    const y = gl.randint(0, V, [128], { device: "cpu" });
    const created: number[] = [];
    for (let s = 1; s <= 150; s++) {
      opt.zeroGrad();
      const loss = gl.crossEntropy(head.forward(rnn.forward(emb.forward(x))[0]).reshape([-1, V]), y);
      loss.backward();
      opt.step();
      await loss.itemAsync();
      if (s % 50 === 0) created.push(gl.webgpu.deviceMemory()!.created);
    }
    const m = gl.webgpu.deviceMemory()!;
    // A step allocates about 40 buffers: without recycling steps 100–150 would create about 2,000.
    // When the collector runs moves the count a little (0 to 24 seen), so the bound leaves room.
    assert.ok(created[2] - created[1] <= 100, `buffers created at steps 50, 100, 150: ${created.join(", ")}`);
    assert.ok(m.liveBytes + m.pooledBytes < 8 * 2 ** 20, `held: ${JSON.stringify(m)}`);
  });

  test("dispose() frees a buffer now; any view used afterwards is a clear error", async () => {
    const t = gl.tensor([1, 2, 3, 4]).to("webgpu");
    const v = t.slice(0, 1, 3);
    const before = gl.webgpu.deviceMemory()!.live;
    t.dispose();
    assert.equal(gl.webgpu.deviceMemory()!.live, before - 1);
    assert.throws(() => v.add(1), /this tensor was disposed/);
    t.dispose();
    assert.equal(gl.tensor([1]).dispose(), undefined);
  });
});
