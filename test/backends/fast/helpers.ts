import assert from "node:assert/strict";
import type { View } from "../../../src/backend/kernels.js";
import { contiguousStrides } from "../../../src/core/shape.js";
import { Generator } from "../../../src/index.js";
import { backendInfo, setFastVariant, type FastVariant } from "../../../src/backends/fast/index.js";

/** Every build this engine runs; the tests run each kernel under each. */
export function variants(): FastVariant[] {
  const v = backendInfo().fast.variants;
  assert.ok(v.length > 0, `the fast backend did not load: ${backendInfo().fast.note}`);
  return v;
}

export async function forEachVariant(body: (v: FastVariant) => void): Promise<void> {
  for (const v of variants()) {
    await setFastVariant(v);
    body(v);
  }
}

/** Seeded float32 normals in a buffer with `pad` extra leading elements, so offsets are exercised. */
export function randData(n: number, seed: number, pad = 0): Float32Array {
  const g = new Generator(seed);
  const out = new Float32Array(n + pad);
  for (let i = 0; i < out.length; i++) out[i] = g.normal();
  return out;
}

export function contiguous(data: Float32Array, shape: number[], offset = 0): View {
  return { data, shape, strides: contiguousStrides(shape), offset };
}

/** A view of `shape` laid out with its axes stored in `order` (a permutation), e.g. [1, 0] = transposed. */
export function permutedView(shape: number[], order: number[], seed: number, offset = 3): View {
  const stored = order.map((d) => shape[d]);
  const st = contiguousStrides(stored);
  const strides = new Array<number>(shape.length);
  order.forEach((d, i) => (strides[d] = st[i]));
  const n = shape.reduce((p, d) => p * d, 1);
  return { data: randData(n, seed, offset), shape, strides, offset };
}

/** atol + rtol·|expected| element-wise, NaN matching NaN and equal infinities matching. */
export function assertNear(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(e) ? Number.isNaN(a) : a === e) continue;
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      assert.fail(`${what}[${i}]: ${a} vs reference ${e} (atol ${atol}, rtol ${rtol})`);
    }
  }
}
