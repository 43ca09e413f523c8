import { test } from "node:test";
import assert from "node:assert/strict";
import * as gl from "../../src/index.js";

const d = gl.data;

test("adding problem: one marker in each half, target is the sum of the two marked values", () => {
  const T = 13;
  const B = 40;
  const { input, target } = d.addingProblem(T, B, new gl.Generator(1));
  assert.deepEqual(input.shape, [T, B, 2]);
  assert.deepEqual(target.shape, [B, 1]);
  const x = input.toArray();
  const y = target.toArray();
  const half = Math.floor(T / 2);
  for (let b = 0; b < B; b++) {
    const marked: number[] = [];
    for (let t = 0; t < T; t++) {
      const v = x[(t * B + b) * 2];
      assert.ok(v >= 0 && v < 1);
      const m = x[(t * B + b) * 2 + 1];
      assert.ok(m === 0 || m === 1);
      if (m === 1) marked.push(t);
    }
    assert.equal(marked.length, 2);
    assert.ok(marked[0] < half && marked[1] >= half, `markers at ${marked}`);
    assert.equal(y[b], Math.fround(x[marked[0] * B * 2 + b * 2] + x[marked[1] * B * 2 + b * 2]));
  }
  // The same seed gives the same data; the variance of the target is near 1/6.
  assert.deepEqual(d.addingProblem(T, B, new gl.Generator(1)).target.toArray(), y);
  const big = Array.from(d.addingProblem(4, 4000, new gl.Generator(2)).target.toArray());
  const mean = big.reduce((a, b) => a + b, 0) / big.length;
  const v = big.reduce((a, b) => a + (b - mean) ** 2, 0) / big.length;
  assert.ok(Math.abs(mean - 1) < 0.03 && Math.abs(v - 1 / 6) < 0.02, `mean ${mean}, variance ${v}`);
});

test("copy task: symbols, delay blanks, delimiter; the targets repeat the symbols after the delimiter", () => {
  const o = { length: 4, delay: 5, symbols: 6 };
  const B = 7;
  const { input, target } = d.copyTask(o, B, new gl.Generator(3));
  const T = 2 * 4 + 5 + 1;
  assert.deepEqual(input.shape, [T, B]);
  assert.equal(d.copyTaskVocab(6), 8);
  const x = input.toArray();
  const y = target.toArray();
  for (let b = 0; b < B; b++) {
    const col = (a: Int32Array | Float32Array | Float64Array) => Array.from({ length: T }, (_, t) => a[t * B + b]);
    const xs = col(x);
    const ys = col(y);
    const syms = xs.slice(0, 4);
    assert.ok(syms.every((s) => s >= 1 && s <= 6));
    assert.deepEqual(xs.slice(4), [0, 0, 0, 0, 0, 7, 0, 0, 0, 0]);
    assert.deepEqual(ys, [...Array(10).fill(0), ...syms]);
  }
  assert.ok(Math.abs(d.copyTaskBaseline(o) - (4 * Math.log(6)) / 14) < 1e-12);
  assert.throws(() => d.copyTask({ length: 0, delay: 3 }, 2), /copyTask: length must be an integer ≥ 1, got 0/);
});

test("first-token task: the label is the first token", () => {
  const { input, target } = d.firstTokenTask({ length: 9, vocab: 5 }, 30, new gl.Generator(4));
  assert.deepEqual(input.shape, [9, 30]);
  assert.deepEqual(Array.from(target.toArray()), Array.from(input.toArray().slice(0, 30)));
  const seen = new Set(input.toArray());
  assert.deepEqual([...seen].sort(), [0, 1, 2, 3, 4]);
});

test("parentheses: labels agree with a depth check; negatives include equal-count wrong-order strings", () => {
  const samples = d.parenthesesTask({ minPairs: 2, maxPairs: 9 }, 600, new gl.Generator(5));
  const kinds = new Map<string, number>();
  for (const s of samples) {
    kinds.set(s.kind, (kinds.get(s.kind) ?? 0) + 1);
    assert.equal(s.label, d.isBalanced(s.ids) ? 1 : 0, `label of ${Array.from(s.ids).join("")}`);
    assert.equal(s.ids.length % 2, 0);
    assert.ok(s.ids.length >= 4 && s.ids.length <= 18);
    const opens = s.ids.filter((v) => v === d.PAREN.open).length;
    if (s.kind === "order") assert.equal(opens * 2, s.ids.length, "equal counts");
    if (s.kind === "count") assert.notEqual(opens * 2, s.ids.length);
  }
  for (const k of ["balanced", "count", "order"]) assert.ok((kinds.get(k) ?? 0) > 100, `${k}: ${kinds.get(k)}`);
  // The checker itself, on hand-made cases.
  const P = (s: string) => Array.from(s, (c) => (c === "(" ? 1 : 2));
  assert.equal(d.isBalanced(P("(()())")), true);
  assert.equal(d.isBalanced(P("())(()")), false);
  assert.equal(d.isBalanced(P("(()")), false);
});

test("right-context tagging: y_t = (x_t + x_{t+offset}) mod C, zero past the end", () => {
  const T = 6;
  const B = 5;
  const { input, target } = d.rightContextTagging({ length: T, vocab: 8, classes: 4, offset: 2 }, B, new gl.Generator(6));
  const x = input.toArray();
  const y = target.toArray();
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const r = t + 2 < T ? x[(t + 2) * B + b] : 0;
      assert.equal(y[t * B + b], (x[t * B + b] + r) % 4);
    }
  }
});

test("spirals: points of each arm lie on a curve of growing radius, labels balanced", () => {
  const { x, y } = d.spirals({ classes: 3, perClass: 50, noise: 0 }, new gl.Generator(7));
  assert.deepEqual(x.shape, [150, 2]);
  const xs = x.toArray();
  const ys = y.toArray();
  for (let k = 0; k < 3; k++) assert.equal(ys.filter((v) => v === k).length, 50);
  for (let i = 1; i < 50; i++) {
    const r0 = Math.hypot(xs[2 * (i - 1)], xs[2 * (i - 1) + 1]);
    const r1 = Math.hypot(xs[2 * i], xs[2 * i + 1]);
    assert.ok(r1 > r0 - 1e-6 && r1 <= 1.0001 && r0 >= 0.1 - 1e-6);
  }
});

test("reverse, sort and date tasks: targets are the reversal, the sorted string and the ISO date", () => {
  const g = new gl.Generator(8);
  for (const p of d.reverseTask({ symbols: 5, minLength: 2, maxLength: 6 }, 50, g)) {
    assert.deepEqual(Array.from(p.tgt), Array.from(p.src).reverse());
    assert.ok(p.src.every((v) => v >= 3 && v < 8) && p.src.length >= 2 && p.src.length <= 6);
  }
  for (const p of d.sortTask({ symbols: 5, minLength: 2, maxLength: 6 }, 50, g)) {
    assert.deepEqual(Array.from(p.tgt), Array.from(p.src).sort((a, b) => a - b));
  }
  const task = d.dateTask(200, g);
  const iso = /^(\d{4})-(\d{2})-(\d{2})$/;
  for (let i = 0; i < 200; i++) {
    const { src, tgt } = task.text[i];
    const m = iso.exec(tgt)!;
    assert.ok(m, tgt);
    const [y, mo, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
    assert.ok(y >= 1950 && y < 2050);
    // Parse the source independently and check it names the same date.
    const months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    let parsed: [number, number, number] | null = null;
    let r: RegExpExecArray | null;
    if ((r = /^(?:[a-z]+, )?([a-z]+) (\d+), (\d{4})$/.exec(src))) parsed = [Number(r[3]), months.indexOf(r[1].slice(0, 3)) + 1, Number(r[2])];
    else if ((r = /^(\d+) ([a-z]{3}) (\d{4})$/.exec(src))) parsed = [Number(r[3]), months.indexOf(r[2]) + 1, Number(r[1])];
    else if ((r = /^(\d{2})\/(\d{2})\/(\d{4})$/.exec(src))) parsed = [Number(r[3]), Number(r[2]), Number(r[1])];
    else if ((r = /^(\d{4})\.(\d{2})\.(\d{2})$/.exec(src))) parsed = [Number(r[1]), Number(r[2]), Number(r[3])];
    else if ((r = /^(\d+)([a-z]{3})(\d{2})$/.exec(src))) {
      const yy = Number(r[3]);
      parsed = [yy >= 50 ? 1900 + yy : 2000 + yy, months.indexOf(r[2]) + 1, Number(r[1])];
    }
    assert.ok(parsed, `unparsed source ${src}`);
    assert.deepEqual(parsed, [y, mo, day], `${src} → ${tgt}`);
    if (/^[a-z]+, /.test(src)) {
      const wd = new Date(Date.UTC(y, mo - 1, day)).getUTCDay();
      assert.ok(src.startsWith(["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"][wd]));
    }
    assert.equal(task.tokenizer.decode(task.pairs[i].src), src);
    assert.ok(task.pairs[i].src.every((v) => v > 2), "no special ids inside the text");
  }
});

test("batching: shuffled epochs cover every item once; padding, lengths, bos/eos and labels line up", () => {
  const g = new gl.Generator(9);
  const seen: number[] = [];
  for (const idx of d.batchIndices(23, 5, { generator: g })) seen.push(...idx);
  assert.equal(seen.length, 23);
  assert.deepEqual([...seen].sort((a, b) => a - b), Array.from({ length: 23 }, (_, i) => i));
  assert.notDeepEqual(seen, Array.from({ length: 23 }, (_, i) => i));
  assert.equal([...d.batchIndices(23, 5, { generator: null, dropLast: true })].length, 4);

  const { ids, lengths } = d.padSequences([[5, 6, 7], [8]], { pad: 0, prepend: 1, append: 2 });
  assert.deepEqual(ids.tolist(), [[1, 1], [5, 8], [6, 2], [7, 0], [2, 0]]);
  assert.deepEqual(Array.from(lengths), [5, 3]);
  assert.deepEqual(d.padSequences([[5, 6], [8]], { batchFirst: true, pad: 9 }).ids.tolist(), [[5, 6], [8, 9]]);

  const pairs = [{ src: [3, 4, 5], tgt: [5, 4, 3] }, { src: [6], tgt: [6] }];
  const b = d.seq2seqBatch(pairs);
  assert.deepEqual(b.src.tolist(), [[3, 6], [4, 0], [5, 0]]);
  assert.deepEqual(Array.from(b.srcLengths), [3, 1]);
  assert.deepEqual(b.tgtIn.tolist(), [[1, 1], [5, 6], [4, 0], [3, 0]]);
  assert.deepEqual(b.tgtOut.tolist(), [[5, 6], [4, 2], [3, 0], [2, 0]]);
  assert.deepEqual(Array.from(b.tgtLengths), [4, 2]);

  const ds = { x: gl.arange(0, 20).reshape([10, 2]), y: gl.tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], { dtype: "int32" }) };
  let rows = 0;
  for (const { x, y } of d.classificationBatches(ds, 4, { generator: g })) {
    const xv = x.toArray();
    Array.from(y.toArray() as Int32Array).forEach((label, i) => assert.equal(xv[2 * i], 2 * label, "x rows follow their labels"));
    rows += y.shape[0];
  }
  assert.equal(rows, 10);
  const sc = [...d.sequenceClassificationBatches(d.parenthesesTask({ minPairs: 1, maxPairs: 4 }, 10, g), 4, { generator: g })];
  assert.equal(sc.length, 3);
  for (const batch of sc) assert.equal(batch.ids.shape[0], Math.max(...batch.lengths));
});
