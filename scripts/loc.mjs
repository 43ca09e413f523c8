// Prints non-blank, non-comment-only lines of TypeScript/JavaScript per folder (like tinygrad's sz.py).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

const roots = ["src", "cli", "dashboard", "browser", "bench", "experiments", "test", "scripts", "assembly"];
const exts = [".ts", ".mjs", ".js", ".html", ".css"];
const rows = new Map();

function count(file) {
  let n = 0;
  let inBlock = false;
  for (const raw of readFileSync(file, "utf8").split("\n")) {
    const line = raw.trim();
    if (!line) continue;
    if (inBlock) {
      if (line.includes("*/")) inBlock = false;
      continue;
    }
    if (line.startsWith("//")) continue;
    if (line.startsWith("/*")) {
      if (!line.includes("*/")) inBlock = true;
      continue;
    }
    n++;
  }
  return n;
}

function walk(dir) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of entries) {
    if (name === "node_modules" || name.startsWith(".")) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (exts.some((e) => name.endsWith(e)) && !name.includes(".generated.")) {
      const r = rows.get(dir) ?? { files: 0, lines: 0 };
      r.files++;
      r.lines += count(p);
      rows.set(dir, r);
    }
  }
}

for (const r of roots) walk(r);
const sorted = [...rows.entries()].sort(([a], [b]) => a.localeCompare(b));
let total = 0;
const w = Math.max(...sorted.map(([d]) => d.length), 6);
for (const [dir, { files, lines }] of sorted) {
  total += lines;
  console.log(`${dir.padEnd(w)}  ${String(files).padStart(4)} files  ${String(lines).padStart(6)} lines`);
}
const src = sorted.filter(([d]) => d.startsWith("src")).reduce((a, [, r]) => a + r.lines, 0);
console.log(`${"src/".padEnd(w)}  ${"".padStart(10)}  ${String(src).padStart(6)} lines`);
console.log(`${"total".padEnd(w)}  ${"".padStart(10)}  ${String(total).padStart(6)} lines`);
