import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as gl from "../../../src/index.js";
import type { View } from "../../../src/backend/kernels.js";
import { kernel } from "../../../src/backend/registry.js";
import { matmul as refMatmul } from "../../../src/backends/js/matmul.js";
import { fastRuntime, matmulPacked, packB, setFastVariant, threadsStarted } from "../../../src/backends/fast/index.js";
import { matmulF32 } from "../../../src/backends/fast/gemm.js";
import { PARALLEL_MIN_FLOP, parallelFor } from "../../../src/backends/fast/threads.js";
import { assertNear, contiguous, permutedView, randData } from "./helpers.js";

const atolFor = (K: number): number => 1e-5 * (1 + K / 32);

test("setNumThreads takes positive integers, never exceeds the cores, and backendInfo reports it", () => {
  const { cores, sharedMemory } = gl.backendInfo().fast;
  assert.ok(cores >= 1);
  gl.setNumThreads(1);
  assert.equal(gl.backendInfo().fast.threads, 1);
  gl.setNumThreads(cores + 5);
  assert.equal(gl.backendInfo().fast.threads, sharedMemory ? cores : 1);
  for (const bad of [0, -1, 1.5, NaN]) assert.throws(() => gl.setNumThreads(bad), /setNumThreads: expected a positive integer, got/);
});

test("products split over worker threads match the reference, packed or not, for every build", async (t) => {
  if (!canSplit(t)) return;
  for (const v of gl.backendInfo().fast.variants) {
    await setFastVariant(v);
    gl.setNumThreads(2);
    assert.equal(await threadsStarted(), 2);
    const rt = fastRuntime()!;
    for (const [B, M, K, N] of [
      [1, 130, 301, 420],
      [2, 67, 257, 515],
      [1, 7, 2050, 900],
    ]) {
      const par = parallelFor(rt, 2 * M * K * N);
      assert.ok(par.pool && par.threads === 2, `${M}x${K}x${N} is large enough to split`);
      const a = permutedView([B, M, K], [0, 2, 1], M); // transposed A, as in backward
      const b = permutedView([B, K, N], [0, 1, 2], N);
      const expected = new Float32Array(B * M * N);
      refMatmul(a, b, expected);
      const out = new Float32Array(B * M * N);
      matmulF32(rt, a, b, out, par);
      assertNear(out, expected, atolFor(K), 1e-4, `${v} threaded ${B}x${M}x${K}x${N}`);
    }
    // Through the registered kernel and through a packed weight, with accumulation.
    const [M, K, N] = [64, 512, 300];
    const h = contiguous(randData(M * K, 1), [M, K]);
    const w = randData(N * K, 2);
    const expected = new Float32Array(M * N);
    const wT: View = { data: w, shape: [1, K, N], strides: [0, 1, K], offset: 0 };
    refMatmul({ ...h, shape: [1, M, K], strides: [0, K, 1] }, wT, expected);
    const viaKernel = new Float32Array(M * N);
    gl.setBackend("fast");
    kernel("matmul")({ ...h, shape: [1, M, K], strides: [0, K, 1] }, wT, viaKernel);
    assertNear(viaKernel, expected, atolFor(K), 1e-4, `${v} kernel`);
    const packed = packB(contiguous(w, [N, K]), { transpose: true });
    const out = new Float32Array(M * N).fill(1);
    matmulPacked(h, packed, out, { accumulate: true });
    assertNear(out, expected.map((x) => x + 1), atolFor(K), 1e-4, `${v} packed, threaded`);
    packed.release();
  }
});

test("small products stay on this thread", () => {
  gl.setNumThreads(2);
  const par = parallelFor(fastRuntime()!, PARALLEL_MIN_FLOP - 1);
  assert.equal(par.threads, 1);
  assert.equal(par.pool, null);
});

/** Whether this machine can split work over threads; says why not in the test's output. */
function canSplit(t: { diagnostic(msg: string): void }): boolean {
  const ok = gl.backendInfo().fast.cores >= 2 && gl.backendInfo().fast.sharedMemory;
  if (!ok) t.diagnostic("one core or no shared memory here: nothing to split");
  return ok;
}

test("the thread count does not change a single bit of the result", async (t) => {
  if (!canSplit(t)) return;
  gl.setNumThreads(2);
  await threadsStarted();
  const rt = fastRuntime()!;
  const a = contiguous(randData(97 * 300, 1), [1, 97, 300]);
  const b = contiguous(randData(300 * 400, 2), [1, 300, 400]);
  const one = new Float32Array(97 * 400);
  const two = new Float32Array(97 * 400);
  matmulF32(rt, a, b, one);
  const par = parallelFor(rt, 2 * 97 * 300 * 400);
  assert.equal(par.threads, 2);
  matmulF32(rt, a, b, two, par);
  assert.deepEqual(two, one);
});

test("work arriving while the workers start up neither deadlocks nor goes wrong", (t) => {
  if (!canSplit(t)) return;
  // A fresh process that never yields while its worker starts: the first job can reach the
  // worker the moment it reports ready. Run apart, so a deadlock fails here instead of hanging.
  const code = `
    import * as gl from "./src/index.ts";
    gl.setNumThreads(2);
    const a = gl.randn([64, 512]), b = gl.randn([512, 600]);
    const ref = a.matmul(b).toArray();
    const t0 = Date.now();
    let n = 0;
    while (Date.now() - t0 < 1500) {
      const y = a.matmul(b).toArray();
      for (let i = 0; i < y.length; i++) if (y[i] !== ref[i]) throw new Error("result changed at " + i);
      n++;
    }
    console.log(JSON.stringify({ n }));`;
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], { encoding: "utf8", timeout: 30000 });
  assert.equal(r.signal, null, "the process hung (killed by the timeout)");
  assert.equal(r.status, 0, r.stderr);
  assert.ok(JSON.parse(r.stdout.trim().split("\n").pop()!).n > 1);
});

test("back-to-back split products of different shapes claim only their own chunks", async (t) => {
  if (!canSplit(t)) return;
  // A worker still finishing one product (or woken late for it) must never run a chunk of the
  // next with the old arguments: alternate shapes whose chunk counts and row counts differ.
  gl.setNumThreads(2);
  await threadsStarted();
  const rt = fastRuntime()!;
  const shapes = [
    [64, 512, 600],
    [7, 1500, 1600],
    [130, 301, 420],
  ];
  const cases = shapes.map(([M, K, N], i) => {
    const a = contiguous(randData(M * K, 10 + i), [1, M, K]);
    const b = contiguous(randData(K * N, 20 + i), [1, K, N]);
    const serial = new Float32Array(M * N);
    matmulF32(rt, a, b, serial);
    return { a, b, serial, par: parallelFor(rt, 2 * M * K * N) };
  });
  for (let r = 0; r < 30; r++) {
    for (const { a, b, serial, par } of cases) {
      assert.equal(par.threads, 2);
      const out = new Float32Array(serial.length);
      matmulF32(rt, a, b, out, par);
      assert.deepEqual(out, serial, `round ${r}, ${a.shape[1]}x${a.shape[2]}x${b.shape[2]}`);
    }
  }
});

test("a GRU layer's forward and backward do not change a bit with a second thread", async (t) => {
  if (!canSplit(t)) return;
  // B·3H·H·2 = 25 MFLOP per step: the recurrent products split, forward and backward.
  const [T, B, I, H] = [3, 64, 40, 256];
  gl.setBackend("fast");
  const run = async (threads: number) => {
    gl.setNumThreads(threads);
    await threadsStarted();
    assert.equal(parallelFor(fastRuntime()!, 2 * B * 3 * H * H).threads, threads);
    gl.manualSeed(3);
    const gru = new gl.nn.GRU({ inputSize: I, hiddenSize: H });
    const x = gl.randn([T, B, I], { requiresGrad: true });
    const [y] = gru.forward(x) as [gl.Tensor, gl.Tensor];
    y.mul(y).sum().backward();
    return [y.toArray(), x.grad!.toArray(), (gru.parameters()[1] as gl.Tensor).grad!.toArray()];
  };
  const one = await run(1);
  const two = await run(2);
  gl.setNumThreads(1);
  for (let i = 0; i < one.length; i++) assert.deepEqual(two[i], one[i], `output ${i}`);
});
