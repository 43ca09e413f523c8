import { test } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JsonlTail } from "../../dashboard/tail.js";

const fresh = () => join(mkdtempSync(join(tmpdir(), "gradlab-tail-")), "metrics.jsonl");

test("a line counts only once its newline is written; the partial tail waits for the next poll", async () => {
  const path = fresh();
  const tail = new JsonlTail(path);
  assert.deepEqual(await tail.poll(), { lines: [], reset: false }, "a missing file is not an error");
  writeFileSync(path, '{"step":1}\n{"st');
  assert.deepEqual((await tail.poll()).lines, ['{"step":1}']);
  assert.deepEqual((await tail.poll()).lines, [], "nothing new");
  appendFileSync(path, 'ep":2}');
  assert.deepEqual((await tail.poll()).lines, [], "still no newline");
  appendFileSync(path, '\n{"step":3}\n');
  assert.deepEqual((await tail.poll()).lines, ['{"step":2}', '{"step":3}']);
  assert.equal(tail.position, Buffer.byteLength('{"step":1}\n{"step":2}\n{"step":3}\n'));
});

test("a multi-byte character split between two writes is decoded whole", async () => {
  const path = fresh();
  const tail = new JsonlTail(path);
  const line = Buffer.from('{"name":"‖∂J/∂h‖ é"}\n', "utf8");
  const cut = line.indexOf(Buffer.from("∂", "utf8")) + 1; // inside the 3-byte character
  writeFileSync(path, line.subarray(0, cut));
  assert.deepEqual((await tail.poll()).lines, []);
  appendFileSync(path, line.subarray(cut));
  assert.deepEqual((await tail.poll()).lines, ['{"name":"‖∂J/∂h‖ é"}']);
});

test("CRLF endings and blank lines are tolerated", async () => {
  const path = fresh();
  writeFileSync(path, '{"a":1}\r\n\n  \n{"b":2}\n');
  assert.deepEqual((await new JsonlTail(path).poll()).lines, ['{"a":1}', '{"b":2}']);
});

test("a file that shrinks, is replaced or disappears resets the reader", async () => {
  const path = fresh();
  const tail = new JsonlTail(path);
  writeFileSync(path, '{"step":1}\n{"step":2}\n');
  assert.equal((await tail.poll()).lines.length, 2);

  writeFileSync(path, '{"step":1}\n');
  assert.deepEqual(await tail.poll(), { lines: ['{"step":1}'], reset: true }, "truncated: read again from the start");

  // A new file moved into place, longer than the old one: same size check would miss it, the inode does not.
  const other = path + ".new";
  writeFileSync(other, '{"step":7}\n{"step":8}\n{"step":9}\n');
  renameSync(other, path);
  assert.deepEqual(await tail.poll(), { lines: ['{"step":7}', '{"step":8}', '{"step":9}'], reset: true });

  rmSync(path);
  assert.deepEqual(await tail.poll(), { lines: [], reset: true });
  writeFileSync(path, '{"step":1}\n');
  assert.deepEqual(await tail.poll(), { lines: ['{"step":1}'], reset: false }, "after a reset the new file is read from 0");
});
