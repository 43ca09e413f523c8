import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { skip } from "./helpers.js";

/** Runs the first ```ts block after `heading` in README.md, importing gradlab from src; returns its output. */
function runReadmeBlock(heading: string): string {
  const readme = readFileSync("README.md", "utf8");
  const at = readme.indexOf(heading);
  assert.ok(at >= 0, `README.md has the heading '${heading}'`);
  const block = /```ts\n([\s\S]*?)```/.exec(readme.slice(at))?.[1];
  assert.ok(block, `README.md has a \`\`\`ts block under '${heading}'`);
  const src = pathToFileURL(resolve("src/index.ts")).href;
  const code = block.replace('import * as gl from "gradlab";', `import * as gl from ${JSON.stringify(src)};`);
  assert.notEqual(code, block);
  const file = join(mkdtempSync(join(tmpdir(), "gradlab-readme-gpu-")), "example.mts");
  writeFileSync(file, code);
  const r = spawnSync(process.execPath, ["--import", "tsx", file], { encoding: "utf8", timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

// The README's GPU example must run as written and train (the loss falls below ln 65 ≈ 4.17).
test("the README's GPU example runs and prints a loss", { skip }, () => {
  const out = runReadmeBlock("## GPU (WebGPU)");
  const loss = Number(/loss ([\d.]+)/.exec(out)?.[1]);
  assert.ok(loss > 0 && loss < Math.log(65), out);
});

// The tensor-device example: layers, autograd and Adam on the GPU; the loss must fall well below
// the uniform ln 20 ≈ 3.0 on its learnable sequence.
test("the README's tensor-device example runs, trains on the GPU and reads one loss back", { skip }, () => {
  const out = runReadmeBlock("### Tensors, layers and optimizers on the GPU");
  const m = /loss ([\d.e-]+) webgpu/.exec(out);
  assert.ok(m, out);
  assert.ok(Number(m[1]) < 1.5, out);
});
