// Number formatting and log-axis arithmetic for the charts (pure: tested in Node).

/** Short numbers for axes and the legend: 0.0031 → 3.1e-3, 1234.5 → 1235. */
export function fmt(v: number | null | undefined): string {
  if (v === null || v === undefined) return "";
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a === 0) return "0";
  if (a >= 1e5 || a < 1e-3) return v.toExponential(1).replace("e+", "e").replace(".0e", "e");
  if (a >= 100) return v.toFixed(0);
  return String(Number(v.toPrecision(3)));
}

/**
 * A log10 axis range in whole decades, with a little room: a value right on a decade (a constant
 * learning rate of 1e-3) would otherwise run along the frame.
 */
export function decadeRange(lo: number | null, hi: number | null): [number, number] {
  if (lo === null || hi === null || !Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 1];
  return [Math.floor(lo - 0.05), Math.ceil(hi + 0.05)];
}

/**
 * Grid lines of a log10 axis: every decade, thinned to at most ~8 over huge ranges; within one or
 * two decades also 2× and 5× (as log10 values).
 */
export function logSplits(lo: number, hi: number): number[] {
  const a = Math.ceil(lo - 1e-9);
  const b = Math.floor(hi + 1e-9);
  const every = Math.max(1, Math.ceil((b - a + 1) / 8));
  const out: number[] = [];
  for (let k = a; k <= b; k += every) out.push(k);
  if (hi - lo <= 2) {
    for (let k = Math.floor(lo); k <= hi; k++) {
      for (const m of [Math.log10(2), Math.log10(5)]) if (k + m >= lo && k + m <= hi) out.push(k + m);
    }
  }
  return out.sort((x, y) => x - y);
}
