// What the benches share: flag parsing and the token ids they train on.

/** `has("--quick")` and `value("--configs", "S,M")` over the process's command-line arguments. */
export function cliArgs(args: readonly string[] = process.argv.slice(2)): { has(name: string): boolean; value(name: string, dflt: string): string } {
  return {
    has: (name) => args.includes(name),
    value: (name, dflt) => {
      const i = args.indexOf(name);
      return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
    },
  };
}

/**
 * Deterministic ids in [0, V) from a small LCG, independent of any library's generator, so every
 * bench (gradlab, TF.js, the GPU) trains on the same tokens.
 */
export function lcgIds(n: number, V: number, seed: number): Int32Array {
  const out = new Int32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s % V;
  }
  return out;
}
