import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as gl from "../../src/index.js";

function withDir(fn: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), "gradlab-io-"));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

test("saveSafetensors then loadSafetensors round-trips tensors and metadata", withDir(async (dir) => {
  const path = join(dir, "model.safetensors");
  const dict = { w: gl.randn([3, 4], { dtype: "float64", generator: new gl.Generator(1) }), n: gl.tensor([5], { dtype: "int32" }) };
  await gl.io.saveSafetensors(dict, path, { step: "12" });
  const back = await gl.io.loadSafetensors(path);
  assert.deepEqual(Array.from(back.w.toArray()), Array.from(dict.w.toArray()));
  assert.deepEqual(Array.from(back.n.toArray()), [5]);
  const { metadata } = await gl.io.loadSafetensorsWithMetadata(path);
  assert.deepEqual(metadata, { step: "12" });
  assert.deepEqual(new Uint8Array(readFileSync(path)), gl.io.writeSafetensors(dict, { step: "12" }));
  assert.deepEqual(readdirSync(dir), ["model.safetensors"], "no temporary file is left behind");
}));

test("writeFileAtomic replaces an existing file and leaves no temporary files", withDir(async (dir) => {
  const path = join(dir, "ckpt.bin");
  writeFileSync(path, "old contents");
  await gl.io.writeFileAtomic(path, new TextEncoder().encode("new"));
  assert.equal(readFileSync(path, "utf8"), "new");
  assert.deepEqual(readdirSync(dir), ["ckpt.bin"]);
}));

test("a failed atomic write raises an IOError naming the path and removes its temporary file", withDir(async (dir) => {
  // Renaming a file over a non-empty directory fails after the temporary file was written.
  const target = join(dir, "taken");
  mkdirSync(target);
  writeFileSync(join(target, "inside"), "x");
  await assert.rejects(gl.io.writeFileAtomic(target, new Uint8Array([1, 2])), (e: unknown) => {
    assert.ok(e instanceof gl.IOError);
    assert.match(e.message, /^writeFileAtomic\(.*taken\): /);
    return true;
  });
  assert.deepEqual(readdirSync(dir), ["taken"]);
  await assert.rejects(gl.io.saveSafetensors({ a: gl.tensor([1]) }, join(dir, "no", "such", "dir.safetensors")), gl.IOError);
}));

test("loadSafetensors names the file when it is missing or malformed", withDir(async (dir) => {
  const missing = join(dir, "missing.safetensors");
  await assert.rejects(gl.io.loadSafetensors(missing), (e: unknown) => e instanceof gl.IOError && e.message.includes(missing));
  const bad = join(dir, "bad.safetensors");
  writeFileSync(bad, new Uint8Array([200, 0, 0, 0, 0, 0, 0, 0, 123, 125]));
  await assert.rejects(gl.io.loadSafetensors(bad), (e: unknown) => {
    assert.ok(e instanceof gl.IOError);
    assert.match(e.message, new RegExp(`readSafetensors\\(${bad.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\): header length 200 runs past the end`));
    return true;
  });
}));

test("loadSafetensors reads a PyTorch-written fixture file", async () => {
  const t = await gl.io.loadSafetensors("test/fixtures/rnn/lstm_proj.safetensors");
  assert.deepEqual(t["param.weight_hr_l0"].shape, [3, 6]);
});
