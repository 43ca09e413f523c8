/**
 * Generated text-to-text tasks for fine-tuning a tiny T5, each marked by a task prefix as in T5:
 *   "reverse: k f a q" → "q a f k"      (3-6 letters)
 *   "sort: 7 2 9 4"    → "2 4 7 9"      (3-6 digits)
 *   "add: 12 + 7"      → "19"           (two numbers in 0..99)
 */
import type { Generator } from "../../core/rng.js";

export type TaskKind = "reverse" | "sort" | "add";
export const TASKS: readonly TaskKind[] = ["reverse", "sort", "add"];

export interface TaskExample {
  kind: TaskKind;
  source: string;
  target: string;
}

const LETTERS = "abcdefghijklmnopqrstuvwxyz";

export function makeTask(kind: TaskKind, gen: Generator): TaskExample {
  if (kind === "add") {
    const a = gen.randint(0, 100);
    const b = gen.randint(0, 100);
    return { kind, source: `add: ${a} + ${b}`, target: String(a + b) };
  }
  const n = gen.randint(3, 7);
  if (kind === "reverse") {
    const items = Array.from({ length: n }, () => LETTERS[gen.randint(0, 26)]);
    return { kind, source: `reverse: ${items.join(" ")}`, target: [...items].reverse().join(" ") };
  }
  const items = Array.from({ length: n }, () => gen.randint(0, 10));
  return { kind, source: `sort: ${items.join(" ")}`, target: [...items].sort((x, y) => x - y).join(" ") };
}

/** A mixture with equal shares of every task, shuffled with the same generator. */
export function makeTasks(count: number, gen: Generator, kinds: readonly TaskKind[] = TASKS): TaskExample[] {
  const out = Array.from({ length: count }, (_, i) => makeTask(kinds[i % kinds.length], gen));
  for (let i = out.length - 1; i > 0; i--) {
    const j = gen.randint(0, i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
