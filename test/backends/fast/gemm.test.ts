import { test } from "node:test";
import assert from "node:assert/strict";
import * as gl from "../../../src/index.js";
import type { View } from "../../../src/backend/kernels.js";
import { kernel } from "../../../src/backend/registry.js";
import { matmul as refMatmul } from "../../../src/backends/js/matmul.js";
import { backendInfo, fastRuntime, matmulPacked, packB } from "../../../src/backends/fast/index.js";
import { matmulF32 } from "../../../src/backends/fast/gemm.js";
import { assertNear, contiguous, forEachVariant, permutedView, randData } from "./helpers.js";

// float32 accumulation error grows with the reduction length; the reference sums in float64.
const atolFor = (K: number): number => 1e-5 * (1 + K / 32);
const RTOL = 1e-4;

/** The module's GEMM itself, below the size where the registered kernel hands tiny products to the reference. */
function fastMatmul(a: View, b: View): Float32Array {
  const out = new Float32Array(a.shape[0] * a.shape[1] * b.shape[2]);
  matmulF32(fastRuntime()!, a, b, out);
  return out;
}

function check(a: View, b: View, what: string): void {
  const expected = new Float32Array(a.shape[0] * a.shape[1] * b.shape[2]);
  refMatmul(a, b, expected);
  assertNear(fastMatmul(a, b), expected, atolFor(a.shape[2]), RTOL, what);
}

test("fast GEMM matches the reference on odd sizes, every build", async () => {
  await forEachVariant((v) => {
    let seed = 1;
    for (const M of [1, 3, 7, 17, 33, 65]) {
      for (const K of [1, 7, 33, 65]) {
        for (const N of [1, 3, 7, 17, 33, 65]) {
          const a = contiguous(randData(M * K, seed++, 5), [1, M, K], 5);
          const b = contiguous(randData(K * N, seed++), [1, K, N]);
          check(a, b, `${v} ${M}x${K}x${N}`);
        }
      }
    }
  });
});

test("fast GEMM crosses its cache blocks (M > MC, K > KC, N > NC) correctly", async () => {
  await forEachVariant((v) => {
    for (const [M, K, N] of [
      [100, 300, 70],
      [97, 513, 19],
      [5, 9, 2050],
    ]) {
      const a = contiguous(randData(M * K, M), [1, M, K]);
      const b = contiguous(randData(K * N, N), [1, K, N]);
      check(a, b, `${v} ${M}x${K}x${N}`);
    }
  });
});

test("fast GEMM reads transposed, permuted, sliced and batch-broadcast operands as they lie", async () => {
  await forEachVariant((v) => {
    const [B, M, K, N] = [3, 13, 37, 21];
    const layouts: [string, View, View][] = [
      ["A transposed", permutedView([B, M, K], [0, 2, 1], 1), permutedView([B, K, N], [0, 1, 2], 2)],
      ["B transposed", permutedView([B, M, K], [0, 1, 2], 3), permutedView([B, K, N], [0, 2, 1], 4)],
      ["both transposed", permutedView([B, M, K], [0, 2, 1], 5), permutedView([B, K, N], [0, 2, 1], 6)],
      ["batch innermost", permutedView([B, M, K], [1, 2, 0], 7), permutedView([B, K, N], [2, 1, 0], 8)],
    ];
    // Every other column of a wider buffer: sparse, so it is gathered rather than block-copied.
    const wide = randData(B * M * K * 2, 9);
    layouts.push(["A strided slice", { data: wide, shape: [B, M, K], strides: [M * K * 2, K * 2, 2], offset: 1 }, permutedView([B, K, N], [0, 1, 2], 10)]);
    // One B for all batches (stride 0), as x·W with a batch of x: packed once.
    const w = randData(K * N, 11);
    layouts.push(["B broadcast over batch", permutedView([B, M, K], [0, 1, 2], 12), { data: w, shape: [B, K, N], strides: [0, N, 1], offset: 0 }]);
    layouts.push(["B broadcast and transposed", permutedView([B, M, K], [0, 1, 2], 13), { data: w, shape: [B, K, N], strides: [0, 1, K], offset: 0 }]);
    const x = randData(M * K, 14);
    layouts.push(["A broadcast over batch", { data: x, shape: [B, M, K], strides: [0, K, 1], offset: 0 }, permutedView([B, K, N], [0, 1, 2], 15)]);
    for (const [name, a, b] of layouts) check(a, b, `${v} ${name}`);
  });
});

test("fast GEMM handles empty dims: M, N or B of 0 give nothing, K of 0 gives zeros", async () => {
  await forEachVariant(() => {
    assert.equal(fastMatmul(contiguous(new Float32Array(0), [1, 0, 4]), contiguous(randData(12, 1), [1, 4, 3])).length, 0);
    assert.equal(fastMatmul(contiguous(randData(8, 1), [1, 2, 4]), contiguous(new Float32Array(0), [1, 4, 0])).length, 0);
    assert.equal(fastMatmul(contiguous(new Float32Array(0), [0, 2, 4]), contiguous(new Float32Array(0), [0, 4, 3])).length, 0);
    const out = fastMatmul(contiguous(new Float32Array(0), [2, 3, 0]), contiguous(new Float32Array(0), [2, 0, 5]));
    assert.deepEqual(Array.from(out), new Array(30).fill(0));
  });
});

test("fast GEMM propagates Inf and NaN like the reference", async () => {
  await forEachVariant((v) => {
    const [M, K, N] = [7, 9, 19];
    const a = randData(M * K, 1);
    const b = randData(K * N, 2);
    a[2 * K + 3] = Infinity;
    a[5 * K] = NaN;
    b[4 * N + 18] = -Infinity;
    check(contiguous(a, [1, M, K]), contiguous(b, [1, K, N]), `${v} non-finite`);
  });
});

test("the registered matmul kernel sends real products to the module and tiny ones to the reference", () => {
  gl.setBackend("fast");
  const rt = fastRuntime()!;
  const before = rt.calls;
  const big = [contiguous(randData(16 * 32, 1), [1, 16, 32]), contiguous(randData(32 * 24, 2), [1, 32, 24])];
  kernel("matmul")(big[0], big[1], new Float32Array(16 * 24));
  assert.equal(rt.calls, before + 1);
  kernel("matmul")(contiguous(randData(4, 1), [1, 2, 2]), contiguous(randData(4, 2), [1, 2, 2]), new Float32Array(4));
  assert.equal(rt.calls, before + 1);
});

test("matmul through tensors on the fast backend, forward and backward, matches the js backend", () => {
  const run = (backend: string): Float32Array[] => {
    gl.setBackend(backend);
    const a = gl.randn([4, 19, 23], { generator: new gl.Generator(1) }).requiresGrad_(true);
    const b = gl.randn([23, 31], { generator: new gl.Generator(2) }).requiresGrad_(true);
    const y = a.matmul(b);
    y.mul(gl.randn(y.shape, { generator: new gl.Generator(3) })).sum().backward();
    return [y.toArray(), a.grad!.toArray(), b.grad!.toArray()] as Float32Array[];
  };
  const fast = run("fast");
  const ref = run("js");
  assertNear(fast[0], ref[0], atolFor(23), RTOL, "y");
  assertNear(fast[1], ref[1], atolFor(31), RTOL, "a.grad");
  assertNear(fast[2], ref[2], atolFor(76), RTOL, "b.grad");
});

test("packB + matmulPacked match the reference, with transpose, accumulate and an output offset", async () => {
  await forEachVariant((v) => {
    for (const [M, K, N] of [
      [1, 1, 1],
      [3, 17, 33],
      [32, 128, 512],
      [65, 300, 7],
    ]) {
      const w = randData(N * K, K + N); // stored [N, K], as PyTorch stores W_hh
      const wT: View = { data: w, shape: [K, N], strides: [1, K], offset: 0 };
      const packed = packB(contiguous(w, [N, K]), { transpose: true });
      assert.deepEqual([packed.rows, packed.cols], [K, N]);
      for (let step = 0; step < 3; step++) {
        const h = contiguous(randData(M * K, 100 * step + M), [M, K]);
        const expected = new Float32Array(M * N);
        refMatmul({ ...h, shape: [1, M, K], strides: [0, K, 1] }, { ...wT, shape: [1, K, N], strides: [0, 1, K] }, expected);
        const out = new Float32Array(M * N + 5).fill(7);
        matmulPacked(h, packed, out, { outOffset: 5 });
        assertNear(out.subarray(5), expected, atolFor(K), RTOL, `${v} ${M}x${K}x${N} step ${step}`);
        assert.deepEqual(Array.from(out.subarray(0, 5)), [7, 7, 7, 7, 7], "outside the offset untouched");
        matmulPacked(h, packed, out, { outOffset: 5, accumulate: true });
        assertNear(out.subarray(5), expected.map((x) => 2 * x), 2 * atolFor(K), RTOL, `${v} accumulate`);
      }
      packed.release();
      assert.equal(packed.released, true);
    }
  });
});

test("packed matrices survive other kernels, memory growth and out-of-order release", async () => {
  await forEachVariant((v) => {
    const [K, N] = [40, 24];
    const w1 = randData(K * N, 1);
    const w2 = randData(K * N, 2);
    const p1 = packB(contiguous(w1, [K, N]));
    const p2 = packB(contiguous(w2, [K, N]));
    // A large product in between reuses (and grows) scratch above the pinned matrices.
    fastMatmul(contiguous(randData(300 * 400, 3), [1, 300, 400]), contiguous(randData(400 * 300, 4), [1, 400, 300]));
    p1.release();
    const p3 = packB(contiguous(w1, [K, N])); // must not land on p2, still alive
    const h = contiguous(randData(5 * K, 5), [5, K]);
    for (const [p, w] of [
      [p2, w2],
      [p3, w1],
    ] as const) {
      const expected = new Float32Array(5 * N);
      refMatmul({ ...h, shape: [1, 5, K], strides: [0, K, 1] }, contiguous(w, [1, K, N]), expected);
      const out = new Float32Array(5 * N);
      matmulPacked(h, p, out);
      assertNear(out, expected, atolFor(K), RTOL, `${v} packed after growth`);
    }
    p2.release();
    p3.release();
  });
});

test("packB and matmulPacked reject bad input with the op's name and the shapes", () => {
  const p = packB(contiguous(randData(12, 1), [3, 4]));
  assert.throws(() => matmulPacked(contiguous(randData(10, 2), [2, 5]), p, new Float32Array(8)), /matmulPacked: .*\[2, 5\].*\[3, 4\]/);
  assert.throws(() => matmulPacked(contiguous(randData(6, 2), [2, 3]), p, new Float32Array(7)), /matmulPacked: out has 7 elements/);
  assert.throws(() => packB(contiguous(randData(8, 1), [2, 2, 2])), /packB: .*2-d.*\[2, 2, 2\]/);
  assert.throws(() => packB({ data: new Float64Array(4), shape: [2, 2], strides: [2, 1], offset: 0 }), /packB: .*float32/);
  p.release();
  assert.throws(() => matmulPacked(contiguous(randData(6, 2), [2, 3]), p, new Float32Array(8)), /released/);
});

test("repeated products reuse the scratch arena instead of growing memory", () => {
  const a = contiguous(randData(64 * 96, 1), [1, 64, 96]);
  const b = contiguous(randData(96 * 80, 2), [1, 96, 80]);
  fastMatmul(a, b);
  const before = backendInfo().fast.memoryBytes;
  for (let i = 0; i < 20; i++) fastMatmul(a, b);
  assert.equal(backendInfo().fast.memoryBytes, before);
});

test("fast GEMM packs row-major A four columns at a time: row strides wider than K, ragged rows and columns", async () => {
  await forEachVariant((v) => {
    let seed = 500;
    for (const M of [2, 3, 4, 6, 9, 31, 64]) {
      for (const K of [3, 4, 8, 13, 130, 300]) {
        for (const N of [5, 12, 16, 29]) {
          // Rows of A lie `ld` apart (a slice of a wider matrix), so row r + 1 does not follow row r.
          const ld = K + 3;
          const a: View = { data: randData(M * ld, seed++, 2), shape: [1, M, K], strides: [0, ld, 1], offset: 2 };
          const b = contiguous(randData(K * N, seed++), [1, K, N]);
          check(a, b, `${v} ${M}x${K}x${N} lda ${ld}`);
        }
      }
    }
  });
});

test("fast GEMM border tiles: column remainders of whole vectors (narrow tiles), partial row panels, transposed A, accumulate", async () => {
  await forEachVariant((v) => {
    let seed = 500;
    for (const N of [4, 8, 12, 16, 20, 24, 28, 36]) {
      for (const M of [1, 2, 3, 4, 5, 8]) {
        for (const K of [5, 300]) {
          const a = contiguous(randData(M * K, seed++), [1, M, K]);
          const b = contiguous(randData(K * N, seed++), [1, K, N]);
          check(a, b, `${v} ${M}x${K}x${N}`);
          // A stored [K, M] and read transposed: the weight-gradient layout dGᵀ·X.
          check(permutedView([1, M, K], [0, 2, 1], seed++), b, `${v} Aᵀ ${M}x${K}x${N}`);
        }
        const K = 37;
        const w = randData(N * K, seed++);
        const packed = packB(contiguous(w, [N, K]), { transpose: true });
        const h = contiguous(randData(M * K, seed++), [M, K]);
        const expected = new Float32Array(M * N);
        refMatmul({ ...h, shape: [1, M, K], strides: [0, K, 1] }, { data: w, shape: [1, K, N], strides: [0, 1, K], offset: 0 }, expected);
        const out = Float32Array.from(expected, (x) => x + 1);
        matmulPacked(h, packed, out, { accumulate: true });
        assertNear(out, expected.map((x) => 2 * x + 1), 2 * atolFor(K), RTOL, `${v} accumulate ${M}x${K}x${N}`);
        packed.release();
      }
    }
  });
});
