// GPU memory of a training loop on the "webgpu" tensor device: buffers created, live and pooled
// every --every steps of an Embedding → LSTM → Linear language model trained with Adam.
//   node --import tsx bench/device-memory.ts [--steps 300] [--every 50] [--budget BYTES]
// --budget is init()'s gcBudgetBytes (default 128 MiB; 0: no collections requested).
import * as gl from "../src/index.js";
import { cliArgs } from "./common.js";

const { value } = cliArgs();
const steps = Number(value("--steps", "300"));
const every = Number(value("--every", "50"));
const r = await gl.webgpu.init({ setDefault: false, gcBudgetBytes: Number(value("--budget", String(128 * 2 ** 20))) });
if (r.device !== "webgpu") throw new Error(r.reason);
const V = 20;
const g = gl.manualSeed(1);
const emb = new gl.nn.Embedding(V, 16, { generator: g }).to({ device: "webgpu" });
const rnn = new gl.nn.LSTM({ inputSize: 16, hiddenSize: 32, generator: g }).to({ device: "webgpu" });
const head = new gl.nn.Linear(32, V, { generator: g }).to({ device: "webgpu" });
const opt = new gl.optim.Adam([...emb.parameters(), ...rnn.parameters(), ...head.parameters()], { lr: 0.01 });
const x = gl.randint(0, V, [16, 8], { device: "cpu" });
const y = gl.randint(0, V, [128], { device: "cpu" });
for (let s = 1; s <= steps; s++) {
  opt.zeroGrad();
  const loss = gl.crossEntropy(head.forward(rnn.forward(emb.forward(x))[0]).reshape([-1, V]), y);
  loss.backward();
  opt.step();
  await loss.itemAsync();
  if (s % every === 0) console.log(JSON.stringify({ step: s, ...gl.webgpu.deviceMemory() }));
}
gl.webgpu.shutdown();
