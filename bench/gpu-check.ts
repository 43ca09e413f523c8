// Numerical checks for a real GPU before it is timed (bench/gpu.ts --probe): the CI tests run the
// kernels on llvmpipe, which schedules workgroups nothing like a GPU does, so a missing barrier or
// a race would only show on the device. Each check returns its largest error; `ok` says whether
// it is within float32 tolerance.
import * as gl from "../src/index.js";

export interface Check { name: string; maxError: number; ok: boolean; error?: string }

/** Uniform in [-1, 1) from a seeded LCG: the same inputs on every machine. */
export function rand(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32) * 2 - 1;
  }
  return out;
}

/** Products that take each tile size and split-K on a large GPU, against float64 sums. */
async function matmulChecks(gpu: gl.webgpu.Gpu): Promise<Check[]> {
  const { GpuTensor, matmul } = gl.webgpu;
  // [M, K, N, transA, transB]: the big tile, a recurrent step's small tile, a split-K weight gradient.
  const cases: [number, number, number, boolean, boolean][] = [[2048, 64, 2048, false, false], [64, 512, 2048, false, true], [256, 4096, 512, true, false]];
  const out: Check[] = [];
  for (const [M, K, N, tA, tB] of cases) {
    const a = rand(M * K, M + K);
    const b = rand(K * N, K + N);
    const C = GpuTensor.empty(gpu, [M, N]);
    matmul(gpu, GpuTensor.fromArray(gpu, a, tA ? [K, M] : [M, K]), GpuTensor.fromArray(gpu, b, tB ? [N, K] : [K, N]), C, { transA: tA, transB: tB });
    const got = await C.read();
    // Sampled rows and columns: a full float64 product of these sizes takes seconds in JavaScript.
    let worst = 0;
    for (let s = 0; s < 4000; s++) {
      const i = (s * 7919) % M;
      const j = (s * 104729) % N;
      let ref = 0;
      for (let k = 0; k < K; k++) ref += (tA ? a[k * M + i] : a[i * K + k]) * (tB ? b[j * K + k] : b[k * N + j]);
      worst = Math.max(worst, Math.abs(got[i * N + j] - ref) / Math.sqrt(K));
    }
    out.push({ name: `matmul ${M}x${K}x${N}${tA ? " Aᵀ" : ""}${tB ? " Bᵀ" : ""}`, maxError: worst, ok: worst < 1e-5 });
  }
  return out;
}

/** The GPU language model's loss and gradients against the CPU autograd (float64) on the same weights. */
async function lmChecks(gpu: gl.webgpu.Gpu): Promise<Check[]> {
  const out: Check[] = [];
  const cfg = { vocabSize: 50, embeddingDim: 24, hiddenSize: 40 };
  const [T, B] = [12, 9];
  for (const cell of ["lstm", "gru"] as const) {
    const cpu = new gl.models.RNNLM({ ...cfg, cell, generator: new gl.Generator(7) });
    const model = gl.webgpu.GpuRNNLM.create(gpu, { ...cfg, cell }, cpu.stateDict());
    const ids = (seed: number): gl.Tensor => gl.tensor(Int32Array.from(rand(T * B, seed), (v) => Math.floor(((v + 1) / 2) * cfg.vocabSize) % cfg.vocabSize), { dtype: "int32", shape: [T, B] });
    const x = ids(1);
    const y = ids(2);
    model.forwardBackward(x, y);
    const loss = await model.loss();
    const grads = await model.gradients();
    cpu.to({ dtype: "float64" });
    const ref = cpu.loss(x, y).loss;
    ref.backward();
    let worst = Math.abs(loss - ref.item()) / Math.abs(ref.item());
    for (const [name, p] of cpu.namedParameters()) {
      const g = grads[name].toArray();
      const w = p.grad!.toArray();
      let scale = 0;
      for (const v of w) scale = Math.max(scale, Math.abs(v));
      for (let i = 0; i < w.length; i++) worst = Math.max(worst, Math.abs(g[i] - w[i]) / (1e-3 * scale + Math.abs(w[i])));
    }
    model.release();
    out.push({ name: `${cell} LM loss and gradients`, maxError: worst, ok: worst < 1e-3 });
  }
  return out;
}

export async function gpuChecks(gpu: gl.webgpu.Gpu): Promise<Check[]> {
  const checks: Check[] = [];
  for (const run of [matmulChecks, lmChecks]) {
    try {
      checks.push(...(await run(gpu)));
    } catch (e) {
      checks.push({ name: run.name, maxError: Number.NaN, ok: false, error: String((e as Error).stack ?? e) });
    }
  }
  return checks;
}
