/**
 * Runs one experiment (or all) and writes its report:
 *   node --import tsx experiments/run.ts NAME [--full] [--seed N] [--out DIR] [--threads N]
 * NAME: vanishing, long-range, exploding, depth, lstm-vs-gru, bidirectional, stacking, seq2seq, all.
 * Without --full the reduced setting runs (seconds); the output goes to runs/experiments/NAME.
 */
import { join } from "node:path";
import * as gl from "../src/index.js";
import { EXPERIMENTS } from "./index.js";
import { writeReport } from "./report.js";

function main(argv: string[]): number {
  const args = argv.slice(2);
  const flag = (name: string) => {
    const i = args.indexOf(name);
    if (i < 0) return undefined;
    const v = args[i + 1];
    args.splice(i, 2);
    return v;
  };
  const full = args.includes("--full");
  if (full) args.splice(args.indexOf("--full"), 1);
  const seed = Number(flag("--seed") ?? 0);
  const out = flag("--out");
  const threads = flag("--threads");
  if (threads !== undefined) gl.setNumThreads(Number(threads));
  const name = args[0];
  const names = name === "all" ? Object.keys(EXPERIMENTS) : [name];
  if (!name || names.some((n) => !EXPERIMENTS[n]) || !Number.isInteger(seed)) {
    console.error(`usage: node --import tsx experiments/run.ts <${[...Object.keys(EXPERIMENTS), "all"].join("|")}> [--full] [--seed N] [--out DIR] [--threads N]`);
    return 2;
  }
  for (const n of names) {
    const dir = out ? (names.length > 1 ? join(out, n) : out) : join("runs", "experiments", n);
    const r = EXPERIMENTS[n]({ full, seed, log: (l) => console.log(l) });
    const files = writeReport(dir, r);
    console.log(`${n} (${r.setting}, ${r.seconds.toFixed(1)} s): ${files.length} files in ${dir}`);
  }
  return 0;
}

process.exitCode = main(process.argv);
