// Per-op overhead of the tensor API on the CPU: 300 runs of a chain of 20 × (add, mul, tanh,
// matmul, sum, add) on [32, 128] tensors, median of 7 timings. To compare two trees, run it
// against each, alternating (the machine's load moves single figures):
//   git worktree add /tmp/old <rev> && cp src/backends/fast/wasm-binaries.generated.ts /tmp/old/src/backends/fast/
//   node --import tsx bench/op-overhead.ts /tmp/old; node --import tsx bench/op-overhead.ts .
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const root = resolve(process.argv[2] ?? ".");
const gl = (await import(pathToFileURL(`${root}/src/index.ts`).href)) as typeof import("../src/index.js");
const a = gl.randn([32, 128]);
const b = gl.randn([32, 128]);
const w = gl.randn([128, 128]);
const run = () => {
  let x = a;
  for (let i = 0; i < 20; i++) x = x.add(b).mul(0.5).tanh().matmul(w).sum(1, true).add(a);
  return x;
};
for (let i = 0; i < 200; i++) run();
const times: number[] = [];
for (let r = 0; r < 7; r++) {
  const t0 = performance.now();
  for (let i = 0; i < 300; i++) run();
  times.push(performance.now() - t0);
}
times.sort((p, q) => p - q);
console.log(`${root}: median ${times[3].toFixed(1)} ms per 300 runs`);
