#!/usr/bin/env node
// Entry point of the `gradlab` command: runs the compiled CLI (npm install / npm run build makes it).
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const main = new URL("../dist/cli/main.js", import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  console.error("gradlab: the CLI is not built yet; run `npm run build` in the gradlab folder first.");
  process.exit(1);
}
await import(main.href);
