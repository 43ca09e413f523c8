import { GradlabError } from "./errors.js";

/**
 * Seeded random numbers, identical on every platform: xoshiro128** on 32-bit integer maths
 * (Math.imul and >>> are exact everywhere), seeded by splitmix32. Normals use Box-Muller.
 */
export class Generator {
  private s = new Uint32Array(4);
  private spare: number | null = null;

  constructor(seed = 0) {
    this.seed(seed);
  }

  seed(seed: number): void {
    if (!Number.isFinite(seed)) throw new GradlabError(`Generator.seed: the seed must be a finite number, got ${seed}`);
    const s = Math.floor(seed);
    // The high word is hashed before it meets the low word: a plain XOR made -1 and 2^32+1 the
    // same stream as 0. Seeds in [0, 2^32) have no high word and are unaffected.
    const hi = Math.floor(s / 4294967296);
    let x = (s >>> 0) ^ (hi === 0 ? 0 : mix32(hi));
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) | 0;
      this.s[i] = mix32(x);
    }
    if ((this.s[0] | this.s[1] | this.s[2] | this.s[3]) === 0) this.s[0] = 1;
    this.spare = null;
  }

  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  random(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.random();
    const v = this.random();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Integer in [low, high). */
  randint(low: number, high: number): number {
    return low + Math.floor(this.random() * (high - low));
  }

  getState(): number[] {
    return [...this.s, this.spare === null ? 0 : 1, this.spare ?? 0];
  }

  setState(state: readonly number[]): void {
    if (state.length !== 6) throw new GradlabError(`Generator.setState: expected 6 numbers, got ${state.length}`);
    const words = state.slice(0, 4);
    if (words.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffffffff) || words.every((w) => w === 0)) {
      throw new GradlabError(`Generator.setState: the first 4 numbers must be 32-bit unsigned words, not all 0; got [${words.join(", ")}]`);
    }
    for (let i = 0; i < 4; i++) this.s[i] = state[i] >>> 0;
    this.spare = state[4] ? state[5] : null;
  }
}

/** splitmix32's finaliser: a bijection on 32-bit words that spreads every input bit. */
function mix32(x: number): number {
  let z = x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

export const defaultGenerator = new Generator(0);

export function manualSeed(seed: number): Generator {
  defaultGenerator.seed(seed);
  return defaultGenerator;
}
