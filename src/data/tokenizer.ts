import { GradlabError } from "../core/errors.js";

export interface TokenizerJSON {
  kind: "char" | "word";
  vocab: string[];
  unk: string | null;
}

/**
 * A vocabulary of string tokens with an optional unknown token. Character and word tokenizers
 * differ only in how text is split and joined.
 */
abstract class VocabTokenizer {
  readonly vocab: string[];
  readonly unk: string | null;
  private index: Map<string, number>;

  protected constructor(vocab: string[], unk: string | null) {
    if (new Set(vocab).size !== vocab.length) throw new GradlabError("tokenizer: the vocabulary has duplicate tokens");
    if (unk !== null && !vocab.includes(unk)) throw new GradlabError(`tokenizer: unknown token ${JSON.stringify(unk)} is not in the vocabulary`);
    this.vocab = vocab;
    this.unk = unk;
    this.index = new Map(vocab.map((t, i) => [t, i]));
  }

  get size(): number {
    return this.vocab.length;
  }

  protected abstract split(text: string): string[];
  protected abstract join(tokens: string[]): string;
  abstract get kind(): "char" | "word";

  encode(text: string): Int32Array {
    const toks = this.split(text);
    const out = new Int32Array(toks.length);
    const unkId = this.unk === null ? -1 : this.index.get(this.unk)!;
    for (let i = 0; i < toks.length; i++) {
      const id = this.index.get(toks[i]);
      if (id !== undefined) out[i] = id;
      else if (unkId >= 0) out[i] = unkId;
      else throw new GradlabError(`tokenizer: ${JSON.stringify(toks[i])} is not in the vocabulary and there is no unknown token`);
    }
    return out;
  }

  decode(ids: ArrayLike<number>): string {
    const toks: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const t = this.vocab[ids[i]];
      if (t === undefined) throw new GradlabError(`tokenizer: id ${ids[i]} is out of range for a vocabulary of ${this.size}`);
      toks.push(t);
    }
    return this.join(toks);
  }

  toJSON(): TokenizerJSON {
    return { kind: this.kind, vocab: this.vocab, unk: this.unk };
  }
}

/** One token per Unicode code point. */
export class CharTokenizer extends VocabTokenizer {
  get kind(): "char" {
    return "char";
  }
  protected split(text: string): string[] {
    return Array.from(text);
  }
  protected join(tokens: string[]): string {
    return tokens.join("");
  }

  /** The sorted set of characters of `text`; `unk` (if given) is added as id 0. */
  static fromText(text: string, opts: { unk?: string } = {}): CharTokenizer {
    const chars = [...new Set(Array.from(text))].sort();
    const vocab = opts.unk !== undefined ? [opts.unk, ...chars.filter((c) => c !== opts.unk)] : chars;
    return new CharTokenizer(vocab, opts.unk ?? null);
  }

  static fromJSON(j: TokenizerJSON): CharTokenizer {
    if (j.kind !== "char") throw new GradlabError(`CharTokenizer.fromJSON: expected kind "char", got ${JSON.stringify(j.kind)}`);
    return new CharTokenizer(j.vocab, j.unk);
  }
}

/** Whitespace-separated words (newlines kept as a token), the vocabulary capped by frequency. */
export class WordTokenizer extends VocabTokenizer {
  get kind(): "word" {
    return "word";
  }
  protected split(text: string): string[] {
    return text.replace(/\n/g, " \n ").split(/[ \t\r]+/).filter((w) => w.length > 0);
  }
  protected join(tokens: string[]): string {
    return tokens.join(" ").replace(/ ?\n ?/g, "\n");
  }

  /** The `maxSize` most frequent words (ties by first appearance), plus `unk` as id 0. */
  static fromText(text: string, opts: { maxSize?: number; minCount?: number; unk?: string } = {}): WordTokenizer {
    const unk = opts.unk ?? "<unk>";
    const counts = new Map<string, number>();
    const probe = new WordTokenizer([unk], unk);
    for (const w of probe.split(text)) counts.set(w, (counts.get(w) ?? 0) + 1);
    counts.delete(unk);
    let words = [...counts.entries()].filter(([, c]) => c >= (opts.minCount ?? 1));
    words.sort((a, b) => b[1] - a[1]);
    if (opts.maxSize !== undefined) words = words.slice(0, Math.max(0, opts.maxSize - 1));
    return new WordTokenizer([unk, ...words.map(([w]) => w)], unk);
  }

  static fromJSON(j: TokenizerJSON): WordTokenizer {
    if (j.kind !== "word") throw new GradlabError(`WordTokenizer.fromJSON: expected kind "word", got ${JSON.stringify(j.kind)}`);
    return new WordTokenizer(j.vocab, j.unk);
  }
}

export function tokenizerFromJSON(j: TokenizerJSON): CharTokenizer | WordTokenizer {
  if (j?.kind === "char") return CharTokenizer.fromJSON(j);
  if (j?.kind === "word") return WordTokenizer.fromJSON(j);
  throw new GradlabError(`tokenizerFromJSON: unknown tokenizer kind ${JSON.stringify((j as { kind?: unknown })?.kind)}`);
}
