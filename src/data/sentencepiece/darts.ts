/**
 * Read-only lookups in a Darts-clone double-array trie, the structure SentencePiece serialises
 * for its precompiled normalisation rules. Each unit is a little-endian uint32 that packs a
 * label (the byte that leads to it), an XOR offset to its children, and a has-leaf flag; a
 * leaf unit holds a 31-bit value instead. Keys are byte strings.
 */
import { IOError } from "../../core/errors.js";

export interface PrefixMatch {
  /** The value stored for the key (for the charsmap: an offset into the replacement strings). */
  value: number;
  /** Length in bytes of the key that matched. */
  length: number;
}

const hasLeaf = (unit: number): boolean => ((unit >>> 8) & 1) === 1;
const valueOf = (unit: number): number => unit & 0x7fffffff;
// A leaf unit's label has the high bit set, so it never equals an input byte.
const labelOf = (unit: number): number => (unit & 0x800000ff) >>> 0;
const offsetOf = (unit: number): number => (unit >>> 10) << ((unit & (1 << 9)) >>> 6);

export class DoubleArray {
  private readonly units: Uint32Array;

  /** `bytes`: the serialised unit array (a multiple of 4 bytes, little-endian). */
  constructor(bytes: Uint8Array, source = "double-array trie") {
    if (bytes.length % 4 !== 0 || bytes.length === 0) {
      throw new IOError(`${source}: a double-array trie must be a non-empty multiple of 4 bytes, got ${bytes.length}`);
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.units = new Uint32Array(bytes.length / 4);
    for (let i = 0; i < this.units.length; i++) this.units[i] = view.getUint32(4 * i, true);
  }

  get size(): number {
    return this.units.length;
  }

  /** Every stored key that is a prefix of key[start, end), shortest first (Darts' commonPrefixSearch). */
  commonPrefixSearch(key: Uint8Array, start = 0, end = key.length): PrefixMatch[] {
    const units = this.units;
    const results: PrefixMatch[] = [];
    let pos = offsetOf(units[0]);
    for (let i = start; i < end; i++) {
      const b = key[i];
      pos ^= b;
      // A corrupt trie could point outside the array; treat that as "no further match".
      if (pos >= units.length) return results;
      const unit = units[pos];
      if (labelOf(unit) !== b) return results;
      pos ^= offsetOf(unit);
      if (hasLeaf(unit)) {
        if (pos >= units.length) return results;
        results.push({ value: valueOf(units[pos]), length: i - start + 1 });
      }
    }
    return results;
  }

  /** The value stored for exactly key[start, end), or -1. */
  exactMatch(key: Uint8Array, start = 0, end = key.length): number {
    const m = this.commonPrefixSearch(key, start, end);
    const last = m[m.length - 1];
    return last && last.length === end - start ? last.value : -1;
  }
}
