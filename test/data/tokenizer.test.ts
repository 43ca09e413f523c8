import { test } from "node:test";
import assert from "node:assert/strict";
import * as gl from "../../src/index.js";

const { CharTokenizer, WordTokenizer, tokenizerFromJSON, LMStream, trainValSplit } = gl.data;

test("CharTokenizer round-trips text, including non-BMP characters, and survives JSON", () => {
  const text = "To be, or not to be: 😀 ünïcode\n";
  const tok = CharTokenizer.fromText(text);
  assert.equal(tok.decode(tok.encode(text)), text);
  assert.equal(tok.size, new Set(Array.from(text)).size);
  const again = tokenizerFromJSON(JSON.parse(JSON.stringify(tok)));
  assert.deepEqual(Array.from(again.encode("to be")), Array.from(tok.encode("to be")));
});

test("CharTokenizer without an unknown token refuses unseen characters by name; with one, maps them", () => {
  const strict = CharTokenizer.fromText("abc");
  assert.throws(() => strict.encode("abz"), /"z" is not in the vocabulary/);
  const lax = CharTokenizer.fromText("abc", { unk: "?" });
  assert.deepEqual(lax.decode(lax.encode("abz")), "ab?");
});

test("WordTokenizer keeps the most frequent words, maps the rest to <unk>, and keeps newlines", () => {
  const text = "the cat sat\nthe dog sat\nthe end";
  const tok = WordTokenizer.fromText(text, { maxSize: 4 });
  // Ties (sat, newline: 2 each) keep first-appearance order.
  assert.deepEqual(tok.vocab, ["<unk>", "the", "sat", "\n"]);
  assert.equal(tok.size, 4);
  assert.equal(tok.decode(tok.encode("the cat\nthe sat")), "the <unk>\nthe sat");
});

test("trainValSplit keeps order and sizes", () => {
  const ids = Int32Array.from({ length: 100 }, (_, i) => i);
  const { train, val } = trainValSplit(ids, 0.1);
  assert.equal(train.length, 90);
  assert.equal(val[0], 90);
});

test("LMStream windows are time-major, targets are inputs shifted by one, and streams continue across windows", () => {
  const ids = Int32Array.from({ length: 103 }, (_, i) => i);
  const s = new LMStream(ids, 4, 5); // 4 streams of 25 tokens
  assert.equal(s.streamLength, 25);
  assert.equal(s.numWindows, 5);
  const w0 = s.window(0);
  const w1 = s.window(1);
  assert.deepEqual(w0.input.shape, [5, 4]);
  const in0 = w0.input.tolist() as number[][];
  const tg0 = w0.target.tolist() as number[][];
  // Column b is stream b: tokens b*25 .. b*25+24.
  assert.deepEqual(in0.map((r) => r[2]), [50, 51, 52, 53, 54]);
  assert.deepEqual(tg0.map((r) => r[2]), [51, 52, 53, 54, 55]);
  assert.deepEqual((w1.input.tolist() as number[][])[0], [5, 30, 55, 80]);
  const last = s.window(4);
  assert.deepEqual(last.input.shape, [4, 4]);
  assert.deepEqual((last.target.tolist() as number[][])[3], [24, 49, 74, 99]);
  assert.throws(() => s.window(5), /out of range/);
  assert.equal([...s].length, 5);
});
