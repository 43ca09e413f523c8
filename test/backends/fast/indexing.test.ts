import { test } from "node:test";
import assert from "node:assert/strict";
import * as gl from "../../../src/index.js";
import { kernel } from "../../../src/backend/registry.js";
import { indexAdd as refIndexAdd } from "../../../src/backends/js/indexing.js";
import { indexAddF32 } from "../../../src/backends/fast/indexing.js";
import { fastRuntime } from "../../../src/backends/fast/index.js";
import { assertNear, contiguous, forEachVariant, permutedView, randData } from "./helpers.js";

/** Indices into D rows, with repeats (every row of a small table is hit many times). */
function indices(L: number, D: number, seed: number): Int32Array {
  return Int32Array.from({ length: L }, (_, i) => (i * 7 + seed) % D);
}

test("fast indexAdd of rows matches the reference: odd row widths, repeated indices, transposed and offset sources", async () => {
  await forEachVariant((v) => {
    const rt = fastRuntime()!;
    for (const [D, L, E] of [[1, 1, 1], [3, 5, 3], [5, 9, 17], [64, 200, 64], [7, 40, 130], [10, 3000, 5]]) {
      const idx = indices(L, D, E);
      for (const [label, src] of [
        ["contiguous", contiguous(randData(L * E + 5, L + E, 5), [L, E], 5)],
        ["transposed", permutedView([L, E], [1, 0], D + L)],
      ] as const) {
        const base = randData(D * E, 7 * D + E);
        const expected = Float32Array.from(base);
        refIndexAdd(expected, [D, E], 0, idx, src);
        const out = Float32Array.from(base);
        assert.equal(indexAddF32(rt, out, [D, E], 0, idx, src), true, `${v} handled`);
        assertNear(out, expected, 1e-5, 1e-5, `${v} indexAdd ${label} D=${D} L=${L} E=${E}`);
      }
    }
  });
});

test("fast indexAdd leaves to the reference what it does not handle: a dim with axes before it, a table far larger than the rows", () => {
  const rt = fastRuntime()!;
  const src = contiguous(randData(2 * 3 * 4, 1), [2, 3, 4]);
  const dst = new Float32Array(2 * 5 * 4);
  assert.equal(indexAddF32(rt, dst, [2, 5, 4], 1, Int32Array.from([0, 4, 4]), src), false);
  assert.ok(dst.every((x) => x === 0), "untouched when declined");
  assert.equal(indexAddF32(rt, new Float32Array(100 * 4), [100, 4], 0, Int32Array.from([1, 2]), contiguous(randData(8, 2), [2, 4])), false);
  // Through the registry the declined cases still get the reference result.
  gl.setBackend("fast");
  const expected = new Float32Array(2 * 5 * 4);
  refIndexAdd(expected, [2, 5, 4], 1, Int32Array.from([0, 4, 4]), src);
  kernel("indexAdd")(dst, [2, 5, 4], 1, Int32Array.from([0, 4, 4]), src);
  assertNear(dst, expected, 0, 0, "registry fallback");
});

test("Embedding gradient on the fast backend equals the reference backend's (float32, batch of ids with repeats)", () => {
  const run = (backend: string): Float32Array => {
    gl.setBackend(backend);
    gl.manualSeed(3);
    const emb = new gl.nn.Embedding(37, 24);
    const ids = gl.tensor(Int32Array.from({ length: 16 * 20 }, (_, i) => (i * 13) % 37), { dtype: "int32", shape: [16, 20] });
    const R = gl.randn([16, 20, 24], { generator: new gl.Generator(4) });
    emb.forward(ids).mul(R).sum().backward();
    return emb.weight.grad!.toArray() as Float32Array;
  };
  try {
    const fast = run("fast");
    const ref = run("js");
    assertNear(fast, ref, 1e-5, 1e-5, "embedding grad");
  } finally {
    gl.setBackend("fast");
  }
});
