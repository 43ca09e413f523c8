import assert from "node:assert/strict";
import { after, before } from "node:test";
import { type Gpu, gpuUnavailableReason, requestGpu } from "../../../src/backends/webgpu/index.js";
import * as gl from "../../../src/index.js";
import type { Tensor } from "../../../src/index.js";

/**
 * The WebGPU tests need Dawn (the optional npm package "webgpu") and an adapter: on a CPU-only
 * machine its OpenGL ES backend on Mesa's llvmpipe. Without them the tests fail, so CI notices;
 * GRADLAB_NO_WEBGPU=1 skips them on purpose.
 */
export const skip: string | false = process.env.GRADLAB_NO_WEBGPU === "1" ? "GRADLAB_NO_WEBGPU=1" : false;

/** One device for a test file, destroyed after it (Dawn can abort a process that exits with a live device). */
export function useGpu(): () => Gpu {
  let gpu: Gpu | null = null;
  before(async () => {
    if (skip) return;
    gpu = await requestGpu();
    assert.ok(gpu, `no WebGPU device: ${gpuUnavailableReason()} (set GRADLAB_NO_WEBGPU=1 to skip these tests)`);
  });
  after(() => gpu?.destroy());
  return () => {
    assert.ok(gpu, "no WebGPU device");
    return gpu;
  };
}

/** Reproducible uniform values in [-scale, scale). */
export function rand(n: number, seed: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = ((s / 2 ** 32) * 2 - 1) * scale;
  }
  return out;
}

export function randInts(n: number, hi: number, seed: number): Int32Array {
  const u = rand(n, seed);
  return Int32Array.from(u, (x) => Math.min(hi - 1, Math.floor(((x + 1) / 2) * hi)));
}

/** |got − want| ≤ atol + rtol·|want| everywhere, reporting the worst element. */
export function assertNear(got: ArrayLike<number>, want: ArrayLike<number>, atol: number, rtol: number, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < want.length; i++) {
    const excess = Math.abs(got[i] - want[i]) - (atol + rtol * Math.abs(want[i]));
    if (!(excess <= 0) && (worst < 0 || excess > worstExcess || Number.isNaN(excess))) {
      worst = i;
      worstExcess = excess;
    }
  }
  assert.ok(worst < 0, `${what}: element ${worst} is ${got[worst]}, expected ${want[worst]} (atol ${atol}, rtol ${rtol})`);
}

/** Tolerance scaled to the reference's largest magnitude: float32 sums against float64 ones. */
export function nearScaled(got: Tensor, want: Tensor, what: string, rtol = 1e-4): void {
  const w = want.toArray();
  let max = 1e-3;
  for (const v of w) max = Math.max(max, Math.abs(v));
  assertNear(got.toArray(), w, 1e-5 * max, rtol, what);
}

/** Random inputs and targets, both [t, b] token ids below `vocab` (time-major, like nn.LSTM). */
export function tokenBatch(seed: number, t: number, b: number, vocab: number): { x: Tensor; y: Tensor } {
  const x = gl.tensor(randInts(t * b, vocab, seed), { dtype: "int32", shape: [t, b] });
  const y = gl.tensor(randInts(t * b, vocab, seed + 1), { dtype: "int32", shape: [t, b] });
  return { x, y };
}
