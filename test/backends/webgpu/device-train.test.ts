import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as gl from "../../../src/index.js";
import type { Tensor } from "../../../src/index.js";
import { assertNear, rand, randInts, skip, useGpu } from "./helpers.js";

// Modules, optimizers and whole training loops on the "webgpu" device against the same code on
// the CPU reference backend, from the same initial weights.

const gpuOf = useGpu();

function onCpuRef<T>(fn: () => T): T {
  gl.setBackend("js");
  try {
    return fn();
  } finally {
    gl.setBackend(gl.listBackends().includes("fast") ? "fast" : "js");
  }
}

async function near(got: Tensor, want: Tensor, what: string, rtol = 1e-4): Promise<void> {
  const w = want.toArray();
  const scale = Math.max(1e-3, ...Array.from(w, (v) => Math.abs(v)));
  assertNear(await got.toArrayAsync(), w, 1e-5 * scale, rtol, what);
}

function params(shapes: number[][], seed: number): Tensor[] {
  return shapes.map((s, i) => gl.tensor(rand(s.reduce((a, b) => a * b, 1), seed + i), { shape: s }));
}

describe("webgpu device: optimizers", { skip }, () => {
  test("setup", async () => {
    await gl.webgpu.init({ gpu: gpuOf(), setDefault: false });
  });

  const OPTS: [string, (ps: Tensor[]) => gl.optim.Optimizer<never>][] = [
    ["Adam", (ps) => new gl.optim.Adam(ps, { lr: 0.01 }) as never],
    ["Adam, L2 decay, amsgrad, maximize", (ps) => new gl.optim.Adam(ps, { lr: 0.01, weightDecay: 0.1, amsgrad: true, maximize: true }) as never],
    ["AdamW", (ps) => new gl.optim.AdamW(ps, { lr: 0.02, weightDecay: 0.05, betas: [0.8, 0.9] }) as never],
    ["SGD", (ps) => new gl.optim.SGD(ps, { lr: 0.1 }) as never],
    ["SGD, Nesterov momentum, decay", (ps) => new gl.optim.SGD(ps, { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.01 }) as never],
    ["SGD, dampened momentum", (ps) => new gl.optim.SGD(ps, { lr: 0.05, momentum: 0.5, dampening: 0.3 }) as never],
    ["Adam with globalClipNorm", (ps) => new gl.optim.Adam(ps, { lr: 0.01, globalClipNorm: 0.5 }) as never],
    ["SGD with clipNorm and clipValue", (ps) => new gl.optim.SGD(ps, { lr: 0.1, clipNorm: 0.3, clipValue: 0.05 }) as never],
    ["Adagrad, lr decay, weight decay", (ps) => new gl.optim.Adagrad(ps, { lr: 0.1, lrDecay: 0.01, weightDecay: 0.01, initialAccumulatorValue: 0.1 }) as never],
    ["RMSprop", (ps) => new gl.optim.RMSprop(ps, { lr: 0.01 }) as never],
    ["RMSprop centered, momentum, maximize", (ps) => new gl.optim.RMSprop(ps, { lr: 0.01, centered: true, momentum: 0.9, maximize: true }) as never],
    ["Adafactor (factored for 2-D and 3-D parameters)", (ps) => new gl.optim.Adafactor(ps, { lr: 0.05 }) as never],
    ["Adafactor with weight decay", (ps) => new gl.optim.Adafactor(ps, { lr: 0.05, weightDecay: 0.1 }) as never],
  ];
  for (const [name, make] of OPTS) {
    test(`${name}: three steps equal the reference`, async () => {
      const shapes = [[4, 3], [3], [2, 2, 2]];
      const loss = (ps: Tensor[]) => ps.map((p, i) => p.mul(p).mul(i + 1).sum().add(p.sum().mul(0.5))).reduce((a, b) => a.add(b));
      const cpu = onCpuRef(() => {
        const ps = params(shapes, 1).map((p) => p.requiresGrad_());
        const opt = make(ps);
        for (let s = 0; s < 3; s++) {
          opt.zeroGrad();
          loss(ps).backward();
          opt.step();
        }
        return ps;
      });
      const ps = params(shapes, 1).map((p) => p.to("webgpu").requiresGrad_());
      const opt = make(ps);
      for (let s = 0; s < 3; s++) {
        opt.zeroGrad();
        loss(ps).backward();
        opt.step();
      }
      assert.ok(Number.isNaN(opt.lastStepInfo!.gradNorm), "no gradient norm is measured on the device");
      for (let i = 0; i < ps.length; i++) await near(ps[i], cpu[i], `${name}: parameter ${i}`, 1e-5);
    });
  }

  test("what cannot run on the device says so", () => {
    const p = gl.tensor([1, 2]).to("webgpu").requiresGrad_();
    p.mul(p).sum().backward();
    assert.throws(() => new gl.optim.Adam([p], { skipNonFinite: true }).step(), /skipNonFinite .* runs on the CPU only/);
    assert.throws(() => gl.optim.clipGradNorm([p], 1), /only known asynchronously.*globalClipNorm/);
    const q = gl.tensor([1]).requiresGrad_();
    q.sum().backward();
    assert.throws(() => new gl.optim.Adam([p, q]).step(), /parameters on webgpu and cpu in one optimizer/);
  });

  for (const normType of [2, 1, Infinity]) {
    test(`clipGradNormAsync (order ${normType}) scales on the device and reads back only the norm, as clipGradNorm`, async () => {
      const make = () => params([[4, 3], [5]], 30).map((p) => p.requiresGrad_());
      const loss = (ps: Tensor[]) => ps.map((p) => p.mul(p).mul(3).sum()).reduce((a, b) => a.add(b));
      const cpu = onCpuRef(() => {
        const ps = make();
        loss(ps).backward();
        return { ps, norm: gl.optim.clipGradNorm(ps, 0.5, normType) };
      });
      const ps = make().map((p) => p.detach().to("webgpu").requiresGrad_());
      loss(ps).backward();
      const norm = await gl.optim.clipGradNormAsync(ps, 0.5, normType);
      assert.ok(Math.abs(norm - cpu.norm) <= 1e-5 * cpu.norm, `${norm} vs ${cpu.norm}`);
      for (let i = 0; i < ps.length; i++) await near(ps[i].grad!, cpu.ps[i].grad!, `gradient ${i}`, 1e-5);
    });
  }

  test("clipGradValue clamps device gradients in place", async () => {
    const p = gl.tensor([1, -2, 3]).to("webgpu").requiresGrad_();
    p.mul(p).sum().backward();
    gl.optim.clipGradValue([p], 2.5);
    assert.deepEqual(Array.from(await p.grad!.toArrayAsync()), [2, -2.5, 2.5]);
  });
});

describe("webgpu device: modules", { skip }, () => {
  test("module.to({ device }) moves parameters in place; module.cpu() brings them back", async () => {
    const m = new gl.nn.Sequential(new gl.nn.Linear(3, 4, { generator: gl.manualSeed(2) }), new gl.nn.LayerNorm([4]));
    const before = m.stateDict();
    const w = m.parameters()[0];
    const want = before["0.weight"].toArray();
    m.to({ device: "webgpu" });
    assert.equal(m.parameters()[0], w, "the same Parameter object");
    assert.ok(m.parameters().every((p) => p.device === "webgpu"));
    assert.throws(() => m.to({ device: "cpu" }), /await module\.cpu\(\)/);
    const y = m.forward(gl.tensor(rand(6, 3), { shape: [2, 3] }).to("webgpu")) as Tensor;
    assert.equal(y.device, "webgpu");
    await m.cpu();
    assert.ok(m.parameters().every((p) => p.device === "cpu"));
    assert.deepEqual(Array.from(w.toArray()), Array.from(want));
    // A CPU state dict loads into a module on the GPU (values copied there, identities kept).
    const other = new gl.nn.Sequential(new gl.nn.Linear(3, 4, { generator: gl.manualSeed(9) }), new gl.nn.LayerNorm([4])).to({ device: "webgpu" });
    other.loadStateDict(before);
    assert.equal(other.parameters()[0].device, "webgpu");
    assert.deepEqual(Array.from(await other.parameters()[0].toArrayAsync()), Array.from(want));
  });

  const configs: [string, () => gl.nn.Module, boolean][] = [
    ["LSTM, 2 layers, bidirectional", () => new gl.nn.LSTM({ inputSize: 3, hiddenSize: 5, numLayers: 2, bidirectional: true, generator: gl.manualSeed(3) }), true],
    ["GRU, 2 layers, residual skip", () => new gl.nn.GRU({ inputSize: 4, hiddenSize: 4, numLayers: 2, skip: "residual", generator: gl.manualSeed(4) }), false],
    ["GRU, reset before, bidirectional", () => new gl.nn.GRU({ inputSize: 3, hiddenSize: 4, bidirectional: true, resetAfter: false, generator: gl.manualSeed(6) } as never), false],
    ["RNN relu, batch first", () => new gl.nn.RNN({ inputSize: 3, hiddenSize: 6, nonlinearity: "relu", batchFirst: true, generator: gl.manualSeed(5) } as never), false],
  ];
  // With lengths the layers run their composite on the GPU; without, LSTM and (reset-after) GRU
  // run the fused sequence kernels. Initial states are leaves, so their gradients are checked too.
  for (const [name, make, lstm] of configs) {
    for (const lengths of [[5, 2, 4], null]) {
      test(`${name}${lengths ? ", with lengths" : ""}: outputs, final states and every gradient equal the CPU's`, async () => {
        const cpu = make();
        const gpu = make();
        gpu.to({ device: "webgpu" });
        const m = cpu as unknown as { inputSize: number; batchFirst: boolean; numLayers: number; numDirections: number; hiddenSize: number };
        const shape = m.batchFirst ? [3, 5, m.inputSize] : [5, 3, m.inputSize];
        const x = gl.tensor(rand(15 * m.inputSize, 7), { shape });
        const sShape = [m.numLayers * m.numDirections, 3, m.hiddenSize];
        const h0 = gl.tensor(rand(sShape.reduce((a, b) => a * b, 1), 8), { shape: sShape });
        const c0 = gl.tensor(rand(sShape.reduce((a, b) => a * b, 1), 9), { shape: sShape });
        const run = (mod: gl.nn.Module, xi: Tensor, s: Tensor[]) => {
          const f = mod as unknown as { forward(x: Tensor, s: unknown, o: object): [Tensor, Tensor | [Tensor, Tensor]] };
          const r = f.forward(xi, lstm ? [s[0], s[1]] : s[0], { lengths });
          return [r[0], ...(lstm ? (r[1] as [Tensor, Tensor]) : [r[1] as Tensor])];
        };
        const loss = (outs: Tensor[]) => outs.map((o, i) => o.mul(o).mul(i + 1).sum()).reduce((a, b) => a.add(b));
        const want = onCpuRef(() => {
          const s = [h0.detach().requiresGrad_(), c0.detach().requiresGrad_()];
          const outs = run(cpu, x, s);
          loss(outs).backward();
          return { outs, s };
        });
        const gs = [h0.to("webgpu").requiresGrad_(), c0.to("webgpu").requiresGrad_()];
        const got = run(gpu, x.to("webgpu"), gs);
        loss(got).backward();
        for (let i = 0; i < got.length; i++) await near(got[i], want.outs[i], `${name}: output ${i}`);
        for (let i = 0; i < (lstm ? 2 : 1); i++) await near(gs[i].grad!, want.s[i].grad!, `${name}: gradient of the initial state ${i}`, 2e-4);
        const gp = new Map(gpu.namedParameters());
        for (const [n, p] of cpu.namedParameters()) await near(gp.get(n)!.grad!, p.grad!, `${name}: gradient of ${n}`, 2e-4);
      });
    }
  }

  test("without lengths LSTM and GRU run as one fused node per layer and direction, with lengths as the composite", () => {
    const m = new gl.nn.LSTM({ inputSize: 2, hiddenSize: 3, bidirectional: true }).to({ device: "webgpu" });
    const x = gl.zeros([4, 2, 2]).to("webgpu").requiresGrad_();
    const names = (y: Tensor) => {
      const seen = new Set<string>();
      const walk = (n: { name: string; next: ({ kind: string; node?: unknown } | null)[] } | null): void => {
        if (!n || seen.has(n.name + String(seen.size))) return;
        seen.add(n.name);
        for (const e of n.next) if (e?.kind === "node") walk(e.node as never);
      };
      walk(y.gradFn as never);
      return seen;
    };
    assert.ok(names(m.forward(x)[0]).has("lstmLayer"));
    const composite = names(m.forward(x, null, { lengths: [4, 3] })[0]);
    assert.ok(!composite.has("lstmLayer") && composite.has("sigmoid"));
  });

  test("an input on the wrong device is named with the way out", () => {
    const m = new gl.nn.LSTM({ inputSize: 2, hiddenSize: 2 }).to({ device: "webgpu" });
    assert.throws(() => m.forward(gl.zeros([3, 1, 2])), /the input is on cpu but the module's parameters are on webgpu/);
  });
});

describe("webgpu device: a language model trains there as on the CPU", { skip }, () => {
  test("Embedding → LSTM → Linear with Adam: 30 steps, the same losses, and the loss falls", async () => {
    const V = 12;
    const make = () => {
      const g = gl.manualSeed(11);
      const emb = new gl.nn.Embedding(V, 8, { generator: g });
      const rnn = new gl.nn.LSTM({ inputSize: 8, hiddenSize: 16, generator: g });
      const head = new gl.nn.Linear(16, V, { generator: g });
      return { emb, rnn, head, params: [...emb.parameters(), ...rnn.parameters(), ...head.parameters()] };
    };
    // A learnable sequence: each token is the previous plus one, mod V.
    const batches = Array.from({ length: 30 }, (_, s) => {
      const start = randInts(4, V, 100 + s);
      const seq = (t: number) => Int32Array.from({ length: 10 * 4 }, (_, i) => (start[i % 4] + Math.floor(i / 4) + t) % V);
      return { x: gl.tensor(seq(0), { shape: [10, 4], dtype: "int32", device: "cpu" }), y: gl.tensor(seq(1), { shape: [40], dtype: "int32", device: "cpu" }) };
    });
    const train = (m: ReturnType<typeof make>) => {
      const opt = new gl.optim.Adam(m.params, { lr: 0.02, globalClipNorm: 1 });
      return batches.map(({ x, y }) => {
        opt.zeroGrad();
        const [h] = m.rnn.forward(m.emb.forward(x));
        const loss = gl.crossEntropy(m.head.forward(h).reshape([-1, V]), y);
        loss.backward();
        opt.step();
        return loss;
      });
    };
    const cpuLosses = onCpuRef(() => train(make()).map((l) => l.item()));
    const m = make();
    for (const mod of [m.emb, m.rnn, m.head]) mod.to({ device: "webgpu" });
    const gpuLosses = await Promise.all(train(m).map((l) => l.itemAsync()));
    assertNear(gpuLosses, cpuLosses, 1e-4, 1e-3, "losses step by step");
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    assert.ok(mean(gpuLosses.slice(-5)) < 0.6 * mean(gpuLosses.slice(0, 5)), `loss falls: ${gpuLosses[0]} → ${gpuLosses.at(-1)}`);
  });
});

describe("webgpu device: T5", { skip }, () => {
  test("the fixture T5's loss and every gradient on the GPU equal the CPU's (padding, ignored labels)", async () => {
    const CKPT = "test/fixtures/t5/tiny-relu-tied/checkpoint";
    const cpu = await gl.t5.T5ForConditionalGeneration.fromPretrained(CKPT);
    const dev = (await gl.t5.T5ForConditionalGeneration.fromPretrained(CKPT)).to({ device: "webgpu" });
    const inputs = {
      inputIds: gl.tensor([[5, 6, 7, 1], [8, 9, 1, 0]], { dtype: "int32", device: "cpu" }),
      attentionMask: gl.tensor([[1, 1, 1, 1], [1, 1, 1, 0]], { dtype: "int32", device: "cpu" }),
      labels: gl.tensor([[10, 11, 1], [12, 1, -100]], { dtype: "int32", device: "cpu" }),
    };
    const want = onCpuRef(() => {
      const r = cpu.forward(inputs);
      r.loss!.backward();
      return r;
    });
    const got = dev.forward(inputs);
    got.loss!.backward();
    assert.equal(got.logits.device, "webgpu");
    await near(got.loss!, want.loss!, "loss", 1e-5);
    await near(got.logits, want.logits, "logits");
    const gp = new Map(dev.namedParameters());
    for (const [n, p] of cpu.namedParameters()) await near(gp.get(n)!.grad!, p.grad!, `gradient of ${n}`, 1e-3);
  });

  test("generateAsync on the GPU gives the CPU's greedy and beam outputs; generate() there says to use it", async () => {
    const CKPT = "test/fixtures/t5/tiny-relu-tied/checkpoint";
    const cpu = await gl.t5.T5ForConditionalGeneration.fromPretrained(CKPT);
    const dev = (await gl.t5.T5ForConditionalGeneration.fromPretrained(CKPT)).to({ device: "webgpu" });
    const ids = gl.tensor([[5, 6, 7, 1], [8, 9, 1, 0]], { dtype: "int32", device: "cpu" });
    for (const opts of [{ maxNewTokens: 6 }, { maxNewTokens: 6, numBeams: 3 }]) {
      const want = onCpuRef(() => cpu.generate(ids, opts)).tolist();
      const got = await dev.generateAsync(ids, opts);
      assert.equal(got.device, "cpu", "token ids come back on the host");
      assert.deepEqual(got.tolist(), want, JSON.stringify(opts));
      assert.deepEqual((await cpu.generateAsync(ids, opts)).tolist(), want, "generateAsync on the CPU too");
    }
    assert.throws(() => dev.generate(ids), /use `await generateAsync/);
    dev.train();
    await dev.generateAsync(ids, { maxNewTokens: 2 });
    assert.equal(dev.training, true, "training mode is restored after the search");
  });
});

describe("webgpu device: sequence to sequence", { skip }, () => {
  for (const [attention, cell] of [["bahdanau", "lstm"], ["luong", "gru"]] as const) {
    test(`${attention} attention, ${cell}: 5 Adam steps on padded batches give the CPU's losses; greedy and beam decoding there too`, async () => {
      const m = gl.models;
      const d = gl.data;
      const make = () => {
        gl.manualSeed(7);
        return new m.Seq2Seq({ srcVocab: 8, tgtVocab: 8, embeddingDim: 6, hiddenSize: 10, attention, cell, encoderLayers: 2, decoderLayers: 2 });
      };
      const batches = [0, 1, 2, 3, 4].map((i) =>
        d.seq2seqBatch([{ src: [3, 4, 5, 6].slice(i % 2), tgt: [5, 4, 3] }, { src: [4, 3], tgt: [3, 6] }, { src: [7, 7, 3], tgt: [4] }]),
      );
      const train = (model: gl.models.Seq2Seq) => {
        const opt = new gl.optim.Adam(model.parameters(), { lr: 0.01 });
        return batches.map((b) => {
          opt.zeroGrad();
          const loss = model.loss(b);
          loss.backward();
          opt.step();
          return loss;
        });
      };
      const cpu = make();
      const want = onCpuRef(() => train(cpu).map((l) => l.item()));
      const dev = make().to({ device: "webgpu" });
      const got = await Promise.all(train(dev).map((l) => l.itemAsync()));
      assertNear(got, want, 1e-5, 1e-4, `${attention} losses`);
      const b = batches[0];
      const greedyCpu = onCpuRef(() => m.greedyDecode(cpu, b.src, b.srcLengths, { maxLength: 5 })).map((t) => Array.from(t));
      const greedyDev = (await m.greedyDecodeAsync(dev, b.src, b.srcLengths, { maxLength: 5 })).map((t) => Array.from(t));
      assert.deepEqual(greedyDev, greedyCpu);
      const beamCpu = onCpuRef(() => m.beamSearch(cpu, b.src, b.srcLengths, { beamSize: 3, maxLength: 5 }));
      const beamDev = await m.beamSearchAsync(dev, b.src, b.srcLengths, { beamSize: 3, maxLength: 5 });
      assert.deepEqual(beamDev.map((h) => Array.from(h.tokens)), beamCpu.map((h) => Array.from(h.tokens)));
      beamDev.forEach((h, i) => assert.ok(Math.abs(h.logProb - beamCpu[i].logProb) < 1e-4, `log-probability ${h.logProb} vs ${beamCpu[i].logProb}`));
      assert.throws(() => dev.forward(b.src, b.srcLengths, b.tgtIn, { teacherForcing: 0 }), /scheduled sampling .* must be on the host/);
    });
  }
});
