// The TensorFlow.js side of `npm run bench` (issue 5 asks for it measured in the same run): the
// same recurrent language-model step as bench/run.ts (Embedding → RNN/LSTM/GRU → Linear on every
// step → softmax cross-entropy → backward → Adam) on TF.js's WebAssembly backend with one thread.
// It runs in its own process, started by bench/run.ts, so that its wasm memory and JIT do not
// disturb gradlab's. Protocol, as bench/torch_lm.py: one JSON object per line on stdin, one JSON
// reply per line on stdout.
//   {"cmd": "info"} -> versions and what the wasm backend found (SIMD, threads)
//   {"cmd": "setup", "cell": "lstm", "B": 32, "T": 64, "V": 64, "E": 64, "H": 128}
//   {"cmd": "time", "mode": "train" | "infer"} -> {"seconds": wall, "cpuSeconds": cpu}
// Two departures from a textbook TF.js model, both forced by TF.js 4.22 used without its umbrella
// package, neither changing the work measured by more than a few percent:
// - the embedding is a one-hot product: the wasm backend has no UnsortedSegmentSum kernel, which
//   the gradient of gather (tf.layers.embedding) needs, so backward would fail;
// - the recurrent weights start glorot-uniform: the default orthogonal initializer calls a chained
//   tensor method that only the umbrella package registers. Initial values do not change the time.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { getThreadsCount, setThreadsCount, setWasmPaths, version_wasm } from "@tensorflow/tfjs-backend-wasm";
import { lcgIds } from "./common.js";

const require = createRequire(import.meta.url);
// In Node the wasm backend reads its .wasm files from the file system; point it at the package's.
setWasmPaths(join(dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json")), "dist") + "/");
// Must precede setBackend: the thread count is fixed when the module is instantiated.
setThreadsCount(1);
if (!(await tf.setBackend("wasm"))) throw new Error("TF.js: the wasm backend did not start");

interface Setup { cell: "rnn" | "lstm" | "gru"; B: number; T: number; V: number; E: number; H: number }
interface Model { train(): void; infer(): void }

function ids(n: number, V: number, seed: number): tf.Tensor1D {
  return tf.tensor1d(lcgIds(n, V, seed), "int32");
}

function build(m: Setup): Model {
  const { B, T, V, E, H } = m;
  tf.disposeVariables();
  const table = tf.variable(tf.randomNormal([V, E], 0, 1, "float32", 0), true, "embedding");
  const opts = { units: H, returnSequences: true, recurrentInitializer: "glorotUniform" as const };
  const rnn = m.cell === "lstm" ? tfl.layers.lstm(opts) : m.cell === "gru" ? tfl.layers.gru(opts) : tfl.layers.simpleRNN(opts);
  const head = tfl.layers.dense({ units: V });
  // Batch-major, as tf.layers expects: [B, T].
  const x = ids(B * T, V, 1);
  const y = tf.oneHot(ids(B * T, V, 2), V, 1, 0, "float32");
  const forward = (): tf.Tensor2D => {
    const e = tf.reshape(tf.matMul(tf.oneHot(x, V, 1, 0, "float32"), table), [B, T, E]);
    const h = rnn.apply(e) as tf.Tensor3D;
    return tf.reshape(head.apply(h) as tf.Tensor, [B * T, V]);
  };
  // Layers create their weights on first call; Adam must see them as variables before minimize.
  tf.tidy(() => void forward());
  const opt = tf.train.adam(1e-3);
  return {
    train() {
      const loss = opt.minimize(() => tf.losses.softmaxCrossEntropy(y, forward()) as tf.Scalar, true);
      loss?.dataSync();
      loss?.dispose();
    },
    infer() {
      tf.tidy(() => void forward().dataSync());
    },
  };
}

let model: Model | null = null;

function handle(msg: Record<string, unknown>): object {
  switch (msg.cmd) {
    case "info":
      return {
        tfjs: tf.version_core, wasm: version_wasm, backend: tf.getBackend(), threads: getThreadsCount(),
        simd: tf.env().getBool("WASM_HAS_SIMD_SUPPORT"), multithread: tf.env().getBool("WASM_HAS_MULTITHREAD_SUPPORT"),
      };
    case "setup":
      model = build(msg as unknown as Setup);
      return { ok: true };
    case "time": {
      if (!model) return { error: "time before setup" };
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      if (msg.mode === "train") model.train();
      else model.infer();
      const seconds = (performance.now() - t0) / 1000;
      const c = process.cpuUsage(c0);
      return { seconds, cpuSeconds: (c.user + c.system) / 1e6, tensors: tf.memory().numTensors };
    }
    default:
      return { error: `unknown command ${String(msg.cmd)}` };
  }
}

for await (const line of createInterface({ input: process.stdin })) {
  process.stdout.write(JSON.stringify(handle(JSON.parse(line))) + "\n");
}
