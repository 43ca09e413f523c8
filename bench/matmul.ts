// Reference-backend GEMM speed: `npx tsx bench/matmul.ts`. Prints GFLOP/s (best of several runs)
// for the shapes that dominate this library's work: square, a linear layer, and the transposed
// operands that appear in x·Wᵀ and in backward (aᵀ·g).
import * as gl from "../src/index.js";

interface Case {
  name: string;
  make: () => [gl.Tensor, gl.Tensor];
}

const f32 = { dtype: "float32" as const };
const cases: Case[] = [
  { name: "512x512x512", make: () => [gl.randn([512, 512], f32), gl.randn([512, 512], f32)] },
  { name: "(64x768)·(768x2048)", make: () => [gl.randn([64, 768], f32), gl.randn([768, 2048], f32)] },
  { name: "(64x768)·(2048x768)ᵀ  B transposed", make: () => [gl.randn([64, 768], f32), gl.randn([2048, 768], f32).t()] },
  { name: "(64x768)ᵀ·(64x2048)  A transposed", make: () => [gl.randn([64, 768], f32).t(), gl.randn([64, 2048], f32)] },
  { name: "(16x128)·(512x128)ᵀ  small, B transposed", make: () => [gl.randn([16, 128], f32), gl.randn([512, 128], f32).t()] },
];

function flops(a: gl.Tensor, b: gl.Tensor): number {
  return 2 * a.shape[0] * a.shape[1] * b.shape[1];
}

// The reference kernels are what this measures, whatever backend is the default.
gl.setBackend("js");
gl.manualSeed(0);
for (const c of cases) {
  const [a, b] = c.make();
  const work = flops(a, b);
  // Enough repetitions for ~0.3 s per timing, at least one; warm up first so the JIT has run.
  gl.matmul(a, b);
  let t0 = performance.now();
  gl.matmul(a, b);
  const once = Math.max(performance.now() - t0, 0.01);
  const reps = Math.max(1, Math.round(300 / once));
  let best = Infinity;
  for (let trial = 0; trial < 3; trial++) {
    t0 = performance.now();
    for (let r = 0; r < reps; r++) gl.matmul(a, b);
    best = Math.min(best, (performance.now() - t0) / reps);
  }
  const gflops = work / (best * 1e6);
  console.log(`${c.name.padEnd(44)} ${best.toFixed(2).padStart(9)} ms  ${gflops.toFixed(2).padStart(6)} GFLOP/s`);
}
