// Runs every test/**/*.test.ts with Node's test runner (TypeScript through tsx).
// Usage: node scripts/run-tests.mjs [path-substring ...]
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith(".test.ts") ? [p] : [];
  });
}

const filters = process.argv.slice(2);
const files = walk("test")
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error(`no test files match ${filters.join(" ")}`);
  process.exit(1);
}
const run = (list, env = {}) =>
  spawnSync(process.execPath, ["--import", "tsx", "--test", "--test-reporter=spec", ...list], {
    stdio: "inherit",
    env: { ...process.env, ...env },
  }).status ?? 1;

let status = run(files);
// The full run checks the ops and recurrent layers once more on the reference backend, so every
// backend passes the same suite (the first pass used the default, fast one where it loads).
const CONFORMANCE = ["test/tensor", "test/autograd", "test/nn/recurrent/fixtures", "test/nn/recurrent/twin"];
if (filters.length === 0) {
  console.log("\n# conformance: the op and recurrent suites on the reference backend (GRADLAB_BACKEND=js)\n");
  const again = files.filter((f) => CONFORMANCE.some((c) => f.startsWith(c)));
  status = Math.max(status, run(again, { GRADLAB_BACKEND: "js" }));
}
process.exit(status);
