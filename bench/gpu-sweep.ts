// The matmul tile sweep of bench/gpu.ts --sweep (issue 9): every named tile × split-K choice on the
// shapes that matter for the language models, each checked against float64 sums on that shape
// before it is timed, and the per-dispatch cost of a recurrent loop (128 dependent per-step
// products in one submit, and the LSTM forward sweep with its gate kernels).
import * as gl from "../src/index.js";
import { rand } from "./gpu-check.js";

type Gpu = gl.webgpu.Gpu;

/** "MxKxN" with an optional ":A" (A stored transposed) and/or ":B" (B stored transposed). */
export interface Spec { M: number; K: number; N: number; tA: boolean; tB: boolean; name: string }

export function parseSpec(s: string): Spec {
  const [dims, flags = ""] = s.split(":");
  const [M, K, N] = dims.split("x").map(Number);
  if (![M, K, N].every((v) => Number.isInteger(v) && v > 0)) throw new Error(`bad sweep shape ${s} (MxKxN[:A][:B])`);
  return { M, K, N, tA: flags.includes("A"), tB: flags.includes("B"), name: s };
}

// The big GEMMs, the M-LSTM's input projection (Bᵀ) and its weight gradients (Aᵀ over all 8192
// rows), the M decoder (Bᵀ), one recurrent step forward (h·W_hhᵀ) and backward (dG·W_hh), and
// the S-LSTM's step.
export const FULL_SWEEP = "8192x768x2048,4096x4096x4096,1024x1024x1024,8192x256x2048,8192x256x2048:B,2048x8192x256:A,2048x8192x512:A,8192x512x256:B,64x512x2048:B,64x2048x512,32x128x512:B";
export const QUICK_SWEEP = "67x45x130,64x48x80:B,40x300x24:A";

function splitChoices(K: number, quick: boolean): number[] {
  if (quick) return [1, 2];
  if (K >= 8192) return [1, 4, 16];
  if (K >= 2048) return [1, 4];
  return [1];
}

export interface SweepRow { tile: string; split: number | "plan"; vec4?: false; tflops?: number; us?: number; maxError?: number; error?: string }

/**
 * Times every tile × split on one shape; stops early (marking the rest) when the budget runs out.
 * onRow hears each finished row, so a process killed midway still reports what it measured.
 */
export async function sweepShape(gpu: Gpu, spec: Spec, quick: boolean, budgetS: number, onRow: (r: SweepRow) => void = () => {}): Promise<SweepRow[]> {
  const { GpuTensor, matmul, MATMUL_TILES } = gl.webgpu;
  const { M, K, N, tA, tB } = spec;
  const a = rand(M * K, 7);
  const b = rand(K * N, 8);
  const A = GpuTensor.fromArray(gpu, a, tA ? [K, M] : [M, K]);
  const B = GpuTensor.fromArray(gpu, b, tB ? [N, K] : [K, N]);
  const C = GpuTensor.empty(gpu, [M, N]);
  // Sampled entries against float64 sums (a full reference product would take seconds).
  const samples = Array.from({ length: 256 }, (_, s) => [(s * 7919) % M, (s * 104729) % N]);
  const ref = samples.map(([i, j]) => {
    let r = 0;
    for (let k = 0; k < K; k++) r += (tA ? a[k * M + i] : a[i * K + k]) * (tB ? b[j * K + k] : b[k * N + j]);
    return r;
  });
  const flops = 2 * M * N * K;
  const deadline = performance.now() + budgetS * 1000;
  const rows: SweepRow[] = [];
  // The planner with and without vec4 global loads, then every tile × split; small tiles first on
  // small products, so a budget that runs out drops the unlikely ones.
  const variants: [string | undefined, number | undefined, boolean][] = [[undefined, undefined, true], [undefined, undefined, false]];
  const tiles = M * N < 1 << 20 ? [...MATMUL_TILES].reverse() : MATMUL_TILES;
  for (const tile of tiles) for (const split of splitChoices(K, quick)) variants.push([tile, split, true]);
  for (const [tile, split, vec4] of variants) {
    const row: SweepRow = { tile: tile ?? "plan", split: split ?? "plan", ...(vec4 ? {} : { vec4: false as const }) };
    rows.push(row);
    if (rows.length > 1) onRow(rows[rows.length - 2]);
    if (performance.now() > deadline) {
      row.error = "skipped: out of time";
      continue;
    }
    try {
      const o = { transA: tA, transB: tB, tile, splitK: split, vec4 };
      gpu.clear(C.buffer);
      matmul(gpu, A, B, C, o);
      const got = await C.read();
      row.maxError = Math.max(...samples.map(([i, j], s) => Math.abs(got[i * N + j] - ref[s]) / Math.sqrt(K)));
      if (!(row.maxError < 1e-5)) {
        row.error = "wrong result";
        continue;
      }
      const run = async (n: number): Promise<number> => {
        const t0 = performance.now();
        for (let i = 0; i < n; i++) matmul(gpu, A, B, C, o);
        await gpu.sync();
        return (performance.now() - t0) / 1000;
      };
      const first = await run(1);
      // About 20 ms of products per submit, so the submit and sync costs are a small share.
      const n = Math.max(1, Math.min(200, Math.round((quick ? 0.005 : 0.02) / Math.max(first, 1e-6))));
      let best = Infinity;
      for (let r = 0; r < 3; r++) best = Math.min(best, (await run(n)) / n);
      row.us = Math.round(best * 1e7) / 10;
      row.tflops = Number((flops / best / 1e12).toPrecision(4));
    } catch (e) {
      row.error = String((e as Error).message ?? e).split("\n")[0];
    }
  }
  for (const t of [A, B, C]) t.release();
  return rows;
}

/**
 * The recurrent loop's real cost per dispatch: `steps` dependent per-step products in one submit
 * (each reads the hidden-state slot and accumulates into that step's gates, as lstmForward does),
 * for the planner's tile and the skinny ones; an empty-ish dispatch chain (fill of 4 floats); and
 * the whole LSTM forward sweep (projection + steps × (product + gate kernel)). Tiles past the
 * budget are marked skipped, so the result comes back before the parent's timeout.
 */
export async function chainTimes(gpu: Gpu, quick: boolean, budgetS: number): Promise<Record<string, number | string>> {
  const deadline = performance.now() + budgetS * 1000;
  const { GpuTensor, matmul, fill, lstmForward, lstmWork } = gl.webgpu;
  const [T, Bt, E, H] = quick ? [8, 4, 8, 16] : [128, 64, 256, 512];
  const out: Record<string, number | string> = { T, B: Bt, E, H };
  const time = async (encode: () => void): Promise<number> => {
    encode();
    await gpu.sync();
    let best = Infinity;
    for (let r = 0; r < 3; r++) {
      const t0 = performance.now();
      encode();
      await gpu.sync();
      best = Math.min(best, performance.now() - t0);
    }
    return best * 1000; // µs
  };
  const tiny = GpuTensor.empty(gpu, [4]);
  out.fillUsPerDispatch = (await time(() => { for (let t = 0; t < T; t++) fill(gpu, tiny, t); })) / T;
  const w = {
    wIh: GpuTensor.fromArray(gpu, rand(4 * H * E, 5).map((v) => v * 0.05), [4 * H, E]),
    wHh: GpuTensor.fromArray(gpu, rand(4 * H * H, 4).map((v) => v * 0.05), [4 * H, H]),
    bIh: GpuTensor.zeros(gpu, [4 * H]),
    bHh: GpuTensor.zeros(gpu, [4 * H]),
  };
  const X = GpuTensor.fromArray(gpu, rand(T * Bt * E, 6), [T * Bt, E]);
  const work = lstmWork(gpu, T, Bt, H);
  out.lstmForwardUs = await time(() => lstmForward(gpu, w, X, work));
  out.lstmForwardUsPerStep = (out.lstmForwardUs as number) / T;
  const Hs = GpuTensor.fromArray(gpu, rand((T + 1) * Bt * H, 3).map((v) => v * 0.1), [T + 1, Bt, H]);
  const W = GpuTensor.fromArray(gpu, rand(4 * H * H, 4).map((v) => v * 0.05), [4 * H, H]);
  const G = GpuTensor.zeros(gpu, [T, Bt, 4 * H]);
  const dh = GpuTensor.empty(gpu, [Bt, H]);
  for (const tile of [undefined, "16x64x16/2x4", "16x64x32/2x4", "16x32x32/2x4", "32x32x32/2x4", "32x64x32/4x4", "16x128x16/2x4", "64x64x32/4x4"]) {
    const label = tile ?? "plan";
    if (performance.now() > deadline) {
      out[`skipped ${label}`] = "out of time";
      continue;
    }
    try {
      out[`stepFwdUs ${label}`] = (await time(() => {
        for (let t = 0; t < T; t++) matmul(gpu, Hs, W, G, { transB: true, accumulate: true, M: Bt, N: 4 * H, K: H, offsetA: t * Bt * H, offsetC: t * Bt * 4 * H, tile });
      })) / T;
      out[`stepBwdUs ${label}`] = (await time(() => {
        for (let t = T - 1; t > 0; t--) matmul(gpu, G, W, dh, { M: Bt, N: H, K: 4 * H, offsetA: t * Bt * 4 * H, tile });
      })) / (T - 1);
    } catch (e) {
      out[`error ${label}`] = String((e as Error).message ?? e).split("\n")[0];
    }
  }
  for (const k of Object.keys(out)) if (typeof out[k] === "number") out[k] = Math.round((out[k] as number) * 10) / 10;
  return out;
}

/** One line per shape: the planner's figure and the three best variants. */
export function sweepTable(sweep: { shape: string; rows?: SweepRow[]; error?: string }[]): string {
  const lines = ["", "| shape | plan (TFLOP/s, µs) | plan, scalar loads | best variants (tile split: TFLOP/s) | failed |", "|---|---|---|---|---|"];
  for (const s of sweep) {
    if (!s.rows) {
      lines.push(`| ${s.shape} | ${s.error ?? "no result"} | | | |`);
      continue;
    }
    const ok = s.rows.filter((r) => r.tflops !== undefined).sort((x, y) => y.tflops! - x.tflops!);
    const plan = s.rows.find((r) => r.tile === "plan" && r.vec4 === undefined);
    const scalar = s.rows.find((r) => r.tile === "plan" && r.vec4 === false);
    const bad = s.rows.filter((r) => r.error && !r.error.startsWith("skipped")).length;
    lines.push(`| ${s.shape} | ${plan?.tflops ?? "–"}, ${plan?.us ?? "–"} | ${scalar?.tflops ?? "–"} | ${ok.slice(0, 3).map((r) => `${r.tile} ${r.split}: ${r.tflops}`).join("; ")} | ${bad} |`);
  }
  return lines.join("\n");
}
