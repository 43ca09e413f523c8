/**
 * SentencePiece's normaliser, byte for byte: at each position the longest rule of the
 * precompiled character map (a Darts trie of UTF-8 keys → NUL-terminated replacements, e.g.
 * nmt_nfkc's NFKC folding plus "\t" → " ") rewrites the input; then runs of spaces collapse,
 * leading and trailing spaces go, a dummy "▁" prefix marks the first word, and spaces become
 * "▁" (U+2581). User-defined symbols pass through unchanged.
 */
import { IOError } from "../../core/errors.js";
import { DoubleArray } from "./darts.js";
import type { NormalizerSpec } from "./proto.js";

export const SPACE_SYMBOL = "\u2581";
const SPACE_BYTES = [0xe2, 0x96, 0x81];
const SPACE = 0x20;
const REPLACEMENT_CHAR = Uint8Array.of(0xef, 0xbf, 0xbd);

/**
 * Length of the UTF-8 character at bytes[i] when it is well formed (no overlong forms, no
 * surrogates, at most U+10FFFF), else 0.
 */
export function validCharLength(bytes: Uint8Array, i: number): number {
  const b0 = bytes[i];
  if (b0 < 0x80) return 1;
  const cont = (k: number) => i + k < bytes.length && (bytes[i + k] & 0xc0) === 0x80;
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(1) ? 2 : 0;
  if (b0 >= 0xe0 && b0 <= 0xef) {
    if (!cont(1) || !cont(2)) return 0;
    const cp = ((b0 & 0x0f) << 12) | ((bytes[i + 1] & 0x3f) << 6) | (bytes[i + 2] & 0x3f);
    return cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff) ? 0 : 3;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    const cp = ((b0 & 0x07) << 18) | ((bytes[i + 1] & 0x3f) << 12) | ((bytes[i + 2] & 0x3f) << 6) | (bytes[i + 3] & 0x3f);
    return cp < 0x10000 || cp > 0x10ffff ? 0 : 4;
  }
  return 0;
}

/** SentencePiece's OneCharLen: the length the lead byte announces, without validation. */
export function leadCharLength(b0: number): number {
  return [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4][b0 >> 4];
}

/** Longest-prefix matcher over a small set of byte strings (user-defined symbols). */
export class PrefixMatcher {
  private readonly keys: Uint8Array[];

  constructor(symbols: readonly string[]) {
    const enc = new TextEncoder();
    this.keys = symbols.filter((s) => s.length > 0).map((s) => enc.encode(s));
  }

  /** Length of the longest symbol starting at bytes[i], or 0. */
  match(bytes: Uint8Array, i: number): number {
    let best = 0;
    for (const k of this.keys) {
      if (k.length <= best || i + k.length > bytes.length) continue;
      let ok = true;
      for (let j = 0; j < k.length && ok; j++) ok = bytes[i + j] === k[j];
      if (ok) best = k.length;
    }
    return best;
  }
}

export class Normalizer {
  private readonly spec: NormalizerSpec;
  private readonly trie: DoubleArray | null = null;
  private readonly replacements: Uint8Array = new Uint8Array(0);
  private readonly treatWhitespaceAsSuffix: boolean;
  private readonly matcher: PrefixMatcher | null;

  constructor(spec: NormalizerSpec, opts: { treatWhitespaceAsSuffix?: boolean; matcher?: PrefixMatcher | null; source?: string } = {}) {
    this.spec = spec;
    this.treatWhitespaceAsSuffix = opts.treatWhitespaceAsSuffix ?? false;
    this.matcher = opts.matcher ?? null;
    const blob = spec.precompiledCharsmap;
    if (blob.length > 0) {
      const source = `${opts.source ?? "SentencePiece model"}: precompiled charsmap of "${spec.name}"`;
      if (blob.length <= 4) throw new IOError(`${source}: the blob is broken (${blob.length} bytes)`);
      const trieSize = new DataView(blob.buffer, blob.byteOffset, 4).getUint32(0, true);
      if (trieSize >= blob.length) throw new IOError(`${source}: the trie (${trieSize} bytes) exceeds the blob (${blob.length} bytes)`);
      this.trie = new DoubleArray(blob.subarray(4, 4 + trieSize), source);
      this.replacements = blob.subarray(4 + trieSize);
    }
  }

  /** The replacement for the longest rule at bytes[i] and the number of input bytes it consumes. */
  private normalizePrefix(bytes: Uint8Array, i: number): [Uint8Array, number] {
    const user = this.matcher?.match(bytes, i) ?? 0;
    if (user > 0) return [bytes.subarray(i, i + user), user];
    let longest = 0;
    let value = 0;
    if (this.trie) {
      for (const m of this.trie.commonPrefixSearch(bytes, i, bytes.length)) {
        if (longest === 0 || m.length > longest) {
          longest = m.length;
          value = m.value;
        }
      }
    }
    if (longest === 0) {
      const n = validCharLength(bytes, i);
      // A malformed byte becomes U+FFFD but consumes only itself.
      return n === 0 ? [REPLACEMENT_CHAR, 1] : [bytes.subarray(i, i + n), n];
    }
    let end = value;
    while (end < this.replacements.length && this.replacements[end] !== 0) end++;
    return [this.replacements.subarray(value, end), longest];
  }

  /** Normalises UTF-8 bytes; the result is UTF-8 with spaces escaped as "▁" (when the spec says so). */
  normalizeBytes(input: Uint8Array): Uint8Array {
    const { removeExtraWhitespaces: removeWs, escapeWhitespaces: escape, addDummyPrefix } = this.spec;
    let i = 0;
    if (removeWs) {
      while (i < input.length) {
        const [rep, n] = this.normalizePrefix(input, i);
        if (!(rep.length === 1 && rep[0] === SPACE)) break;
        i += n;
      }
    }
    if (i >= input.length) return new Uint8Array(0);
    const out: number[] = [];
    const addSpace = () => (escape ? out.push(...SPACE_BYTES) : out.push(SPACE));
    if (!this.treatWhitespaceAsSuffix && addDummyPrefix) addSpace();
    let prevSpace = removeWs;
    while (i < input.length) {
      const [rep, n] = this.normalizePrefix(input, i);
      let k = 0;
      if (prevSpace) while (k < rep.length && rep[k] === SPACE) k++;
      if (k < rep.length) {
        for (; k < rep.length; k++) {
          if (escape && rep[k] === SPACE) out.push(...SPACE_BYTES);
          else out.push(rep[k]);
        }
        prevSpace = rep[rep.length - 1] === SPACE;
      }
      i += n;
      if (!removeWs) prevSpace = false;
    }
    if (removeWs) {
      const tail = escape ? SPACE_BYTES : [SPACE];
      while (out.length >= tail.length && tail.every((b, j) => out[out.length - tail.length + j] === b)) out.length -= tail.length;
    }
    if (this.treatWhitespaceAsSuffix && addDummyPrefix) addSpace();
    return Uint8Array.from(out);
  }

  normalize(text: string): string {
    return new TextDecoder().decode(this.normalizeBytes(new TextEncoder().encode(text)));
  }
}
