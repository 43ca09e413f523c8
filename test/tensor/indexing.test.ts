import { test } from "node:test";
import assert from "node:assert/strict";
import * as gl from "../../src/index.js";
import { checkSpecs } from "./opspec.js";
import { at, build } from "./reference.js";

const ids = (data: number[], shape: number[]) => gl.tensor(data, { dtype: "int32", shape });

// Index tensors are fixed; the float input goes through every layout and the gradcheck.
const g0 = ids([2, 0, 1, 1, 0, 2], [2, 3]); // gather along dim 0 of [3, 3]
const g1 = ids([1, 1, 0, 3, 2, 2, 0, 0], [2, 4]); // along dim 1 of [2, 4], repeats
const sel = ids([2, 0, 2], [3]);
const emb = ids([1, 3, 3, 0, 2, 1], [2, 3]);

checkSpecs([
  {
    name: "gather dim 0",
    cases: [[[3, 3]]],
    f: (x) => x.gather(0, g0),
    ref: (x) => build([2, 3], ([i, j]) => at(x, [g0.toArray()[i * 3 + j], j])),
  },
  {
    name: "gather dim 1 with repeated indices",
    cases: [[[2, 4]]],
    f: (x) => x.gather(1, g1),
    ref: (x) => build([2, 4], ([i, j]) => at(x, [i, g1.toArray()[i * 4 + j]])),
  },
  {
    name: "gather with a smaller index",
    cases: [[[3, 5]]],
    f: (x) => x.gather(-1, ids([4, 0, 1, 2], [2, 2])),
    ref: (x) => build([2, 2], ([i, j]) => at(x, [i, [4, 0, 1, 2][i * 2 + j]])),
  },
  {
    name: "indexSelect dim 0",
    cases: [[[3, 4]]],
    f: (x) => x.indexSelect(0, sel),
    ref: (x) => build([3, 4], ([i, j]) => at(x, [sel.toArray()[i], j])),
  },
  {
    name: "indexSelect dim -1",
    cases: [[[2, 3, 4]]],
    f: (x) => x.indexSelect(-1, sel),
    ref: (x) => build([2, 3, 3], ([a, b, c]) => at(x, [a, b, sel.toArray()[c]])),
  },
  {
    name: "indexSelect empty index",
    cases: [[[3, 4]]],
    f: (x) => x.indexSelect(1, ids([], [0])),
    ref: () => build([3, 0], () => 0),
  },
  {
    name: "embedding",
    cases: [[[4, 3]]],
    f: (w) => gl.embedding(w, emb),
    ref: (w) => build([2, 3, 3], ([i, j, k]) => at(w, [emb.toArray()[i * 3 + j], k])),
  },
  {
    name: "scatterAdd",
    cases: [[[3, 3], [2, 3]]],
    f: (base, src) => gl.scatterAdd(base, 0, g0, src),
    ref: (base, src) =>
      build([3, 3], ([i, j]) => {
        let v = at(base, [i, j]);
        for (let r = 0; r < 2; r++) if (g0.toArray()[r * 3 + j] === i) v += at(src, [r, j]);
        return v;
      }),
  },
]);

test("embedding gradient accumulates repeated ids into their rows", () => {
  const w = gl.zeros([4, 2], { dtype: "float64", requiresGrad: true });
  gl.embedding(w, ids([1, 3, 3, 1, 1], [5])).sum().backward();
  assert.deepEqual(w.grad!.tolist(), [[0, 0], [3, 3], [0, 0], [2, 2]]);
});

test("index ops check index dtype and range, naming the op", () => {
  const x = gl.zeros([3, 4]);
  const cases: [() => unknown, RegExp][] = [
    [() => x.gather(0, gl.zeros([1, 4])), /gather: index must be an int32 tensor, got float32/],
    [() => x.gather(0, ids([3], [1, 1])), /gather: index 3 is out of bounds for dim 0 with size 3/],
    [() => x.gather(0, ids([0], [1])), /gather: index \[1\] must have the same number of dims as the input \[3, 4\]/],
    [() => x.gather(0, ids([0, 0, 0, 0, 0], [1, 5])), /gather: index \[1, 5\] is larger than the input \[3, 4\] in dim 1/],
    [() => x.indexSelect(1, ids([-1], [1])), /indexSelect: index -1 is out of bounds for dim 1 with size 4/],
    [() => x.indexSelect(1, ids([0, 1], [1, 2])), /indexSelect: index must be 0-d or 1-d, got \[1, 2\]/],
    [() => gl.embedding(x, ids([4], [1])), /indexSelect: index 4 is out of bounds for dim 0 with size 3/],
    [() => gl.embedding(x, gl.zeros([2])), /embedding: input ids must be an int32 tensor, got float32/],
    [() => gl.embedding(gl.zeros([3]), ids([0], [1])), /embedding: weight must be 2-d \[num, dim\], got \[3\]/],
  ];
  for (const [f, re] of cases) assert.throws(f, (e: Error) => e instanceof gl.GradlabError && re.test(e.message), String(re));
});
