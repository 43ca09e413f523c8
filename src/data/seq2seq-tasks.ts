import { GradlabError } from "../core/errors.js";
import { type Generator, defaultGenerator } from "../core/rng.js";
import { DEFAULT_SPECIAL, type SpecialTokens } from "./batching.js";
import { CharTokenizer } from "./tokenizer.js";

/**
 * Generated translation-like tasks for sequence-to-sequence models. Token ids 0, 1, 2 are
 * pad, bos and eos (DEFAULT_SPECIAL); the symbols of the token-string tasks are ids 3.. .
 */

export interface TokenPair {
  src: Int32Array;
  tgt: Int32Array;
}

export interface TokenTaskOptions {
  /** Alphabet size: symbols are ids 3..3+symbols−1. */
  symbols: number;
  minLength: number;
  maxLength: number;
}

/** Vocabulary size of a token-string task: the specials plus the symbols. */
export function tokenTaskVocab(symbols: number): number {
  return 3 + symbols;
}

function randomStrings(op: string, o: TokenTaskOptions, count: number, gen: Generator): Int32Array[] {
  if (!Number.isInteger(o.symbols) || o.symbols < 1) throw new GradlabError(`${op}: symbols must be an integer ≥ 1, got ${o.symbols}`);
  if (!Number.isInteger(o.minLength) || !Number.isInteger(o.maxLength) || o.minLength < 1 || o.maxLength < o.minLength) {
    throw new GradlabError(`${op}: need integers 1 ≤ minLength ≤ maxLength, got ${o.minLength}, ${o.maxLength}`);
  }
  return Array.from({ length: count }, () => {
    const s = new Int32Array(gen.randint(o.minLength, o.maxLength + 1));
    for (let i = 0; i < s.length; i++) s[i] = 3 + gen.randint(0, o.symbols);
    return s;
  });
}

/** Random strings and their reversals: the first output token depends on the last input token. */
export function reverseTask(o: TokenTaskOptions, count: number, gen: Generator = defaultGenerator): TokenPair[] {
  return randomStrings("reverseTask", o, count, gen).map((src) => ({ src, tgt: src.slice().reverse() }));
}

/** Random strings and the same symbols sorted ascending. */
export function sortTask(o: TokenTaskOptions, count: number, gen: Generator = defaultGenerator): TokenPair[] {
  return randomStrings("sortTask", o, count, gen).map((src) => ({ src, tgt: src.slice().sort() }));
}

const MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"];
const DAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];
const pad2 = (n: number) => String(n).padStart(2, "0");

/** The source formats of dateTask, by name; each maps (year, month 1..12, day, weekday 0..6) to text. */
export const DATE_FORMATS: Record<string, (y: number, m: number, d: number, w: number) => string> = {
  long: (y, m, d) => `${MONTHS[m - 1]} ${d}, ${y}`,
  short: (y, m, d) => `${d} ${MONTHS[m - 1].slice(0, 3)} ${y}`,
  weekday: (y, m, d, w) => `${DAYS[w]}, ${MONTHS[m - 1]} ${d}, ${y}`,
  european: (y, m, d) => `${pad2(d)}/${pad2(m)}/${y}`,
  dotted: (y, m, d) => `${y}.${pad2(m)}.${pad2(d)}`,
  compact: (y, m, d) => `${d}${MONTHS[m - 1].slice(0, 3)}${String(y).slice(2)}`,
};

export interface DateTask {
  pairs: TokenPair[];
  /** Text of each pair, for reading results. */
  text: { src: string; tgt: string }[];
  /** One character vocabulary for both sides; ids 0..2 are the specials. */
  tokenizer: CharTokenizer;
  special: SpecialTokens;
}

/**
 * Dates written in human formats (DATE_FORMATS) to ISO 8601 ("march 5, 1997" → "1997-03-05"), as
 * characters: the network must find the day, month and year wherever the format puts them, and
 * a two-digit year ("5mar97") must be completed (1950–2049).
 */
export function dateTask(count: number, gen: Generator = defaultGenerator, formats: readonly string[] = Object.keys(DATE_FORMATS)): DateTask {
  for (const f of formats) if (!DATE_FORMATS[f]) throw new GradlabError(`dateTask: unknown format ${JSON.stringify(f)} (${Object.keys(DATE_FORMATS).join(", ")})`);
  const chars = new Set<string>("0123456789-/., ");
  for (const w of [...MONTHS, ...DAYS]) for (const c of w) chars.add(c);
  const tokenizer = CharTokenizer.fromJSON({ kind: "char", vocab: ["<pad>", "<bos>", "<eos>", ...[...chars].sort()], unk: null });
  const text: { src: string; tgt: string }[] = [];
  const day0 = Date.UTC(1950, 0, 1);
  const days = Math.round((Date.UTC(2050, 0, 1) - day0) / 86400000);
  for (let i = 0; i < count; i++) {
    const date = new Date(day0 + gen.randint(0, days) * 86400000);
    const [y, m, d, w] = [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate(), date.getUTCDay()];
    const f = formats[gen.randint(0, formats.length)];
    text.push({ src: DATE_FORMATS[f](y, m, d, w), tgt: `${y}-${pad2(m)}-${pad2(d)}` });
  }
  const pairs = text.map((t) => ({ src: tokenizer.encode(t.src), tgt: tokenizer.encode(t.tgt) }));
  return { pairs, text, tokenizer, special: DEFAULT_SPECIAL };
}
