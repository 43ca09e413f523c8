import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

// The README's library example must keep working as written (the file load is swapped for an
// in-memory safetensors round trip of the model's own state dict).
test("the README's library example runs and prints per-layer ‖∂J/∂h_t‖ ratios", () => {
  const readme = readFileSync("README.md", "utf8");
  const block = /## The library\s+```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(block, "README.md has a ```ts block under '## The library'");
  const src = pathToFileURL(resolve("src/index.ts")).href;
  const code = block
    .replace('import * as gl from "gradlab";', `import * as gl from ${JSON.stringify(src)};`)
    .replace('await gl.io.loadSafetensors("lstm.safetensors")', "gl.io.readSafetensors(gl.io.writeSafetensors(lstm.stateDict()))");
  assert.notEqual(code, block);
  const file = join(mkdtempSync(join(tmpdir(), "gradlab-readme-")), "example.mts");
  writeFileSync(file, code);
  const r = spawnSync(process.execPath, ["--import", "tsx", file], { encoding: "utf8", timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  // Two layers × two directions, each with its ratio.
  assert.equal((r.stdout.match(/'(forward|reverse)'/g) ?? []).length, 4, r.stdout);
});
