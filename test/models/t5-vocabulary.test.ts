import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as gl from "../../src/index.js";

test("the bundled T5 vocabulary (data/t5-spiece.model) is the unigram model its recipe learns", () => {
  // Recipe: the first 90% of Tiny Shakespeare by line, plus sources and targets of 3000 generated
  // tasks (Generator(1)), 1000 pieces. Rebuilding it pins the file to code anyone can rerun.
  const text = readFileSync("data/tinyshakespeare.txt", "utf8");
  const lines = text.slice(0, Math.floor(text.length * 0.9)).split("\n");
  const tasks = gl.t5.makeTasks(3000, new gl.Generator(1)).flatMap((t) => [t.source, t.target]);
  const rebuilt = gl.t5.trainUnigramModel([...lines, ...tasks], { vocabSize: 1000 });
  const bundled = new Uint8Array(readFileSync("data/t5-spiece.model"));
  assert.equal(rebuilt.length, bundled.length);
  assert.ok(Buffer.from(rebuilt).equals(Buffer.from(bundled)), "byte for byte");
  const tok = gl.t5.T5Tokenizer.fromBytes(bundled);
  assert.equal(tok.vocabSize, 1100, "1000 pieces and 100 sentinels");
  // Every character of the task prefixes and operands is a known piece, so tasks never hit <unk>.
  for (const t of gl.t5.makeTasks(30, new gl.Generator(2))) {
    assert.ok(!tok.encode(`${t.source} ${t.target}`).includes(2), `${t.source} → ${t.target}`);
  }
});
