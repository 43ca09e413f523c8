import type { Tensor } from "./tensor.js";

const EDGE = 3;
const SUMMARIZE = 1000;

function fmtNumbers(values: number[], isInt: boolean): (v: number) => string {
  if (isInt) return (v) => String(v);
  const finite = values.filter((v) => Number.isFinite(v));
  const maxAbs = finite.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
  const minAbs = finite.filter((v) => v !== 0).reduce((a, v) => Math.min(a, Math.abs(v)), Infinity);
  const allInt = finite.every((v) => Number.isInteger(v));
  const sci = maxAbs >= 1e8 || (minAbs < 1e-4 && minAbs !== Infinity) || maxAbs / Math.max(minAbs, 1e-300) > 1e3 * 1e3;
  return (v) => {
    if (Number.isNaN(v)) return "nan";
    if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
    if (sci) return v.toExponential(4);
    if (allInt) return `${v.toFixed(0)}.`;
    return v.toFixed(4);
  };
}

/** PyTorch-like rendering: aligned columns, summarised with "..." past 1000 elements. */
export function formatTensor(t: Tensor): string {
  const flat = Array.from(t.toArray() as ArrayLike<number>);
  const summarize = flat.length > SUMMARIZE;
  const fmt = fmtNumbers(flat, t.dtype === "int32");
  const width = flat.reduce((w, v) => Math.max(w, fmt(v).length), 1);
  const cell = (v: number) => fmt(v).padStart(width);
  const shape = t.shape;
  const strides: number[] = [];
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  const indent = "tensor(".length;
  const render = (d: number, off: number): string => {
    if (d === shape.length) return cell(flat[off]);
    const n = shape[d];
    const idx = summarize && n > 2 * EDGE ? [...range(0, EDGE), -1, ...range(n - EDGE, n)] : range(0, n);
    const parts = idx.map((i) => (i < 0 ? "..." : render(d + 1, off + i * strides[d])));
    if (d === shape.length - 1) return `[${parts.join(", ")}]`;
    const sep = "," + "\n".repeat(shape.length - 1 - d) + " ".repeat(indent + d + 1);
    return `[${parts.join(sep)}]`;
  };
  const extras: string[] = [];
  if (summarize || shape.length === 0 || flat.length === 0) {
    if (flat.length === 0) extras.push(`size=[${shape.join(", ")}]`);
  }
  if (t.dtype !== "float32") extras.push(`dtype=${t.dtype}`);
  if (t.gradFn) extras.push(`gradFn=<${t.gradFn.name}>`);
  else if (t.requiresGrad) extras.push("requiresGrad=true");
  const body = flat.length === 0 ? "[]" : render(0, 0);
  return `tensor(${[body, ...extras].join(", ")})`;
}

function range(a: number, b: number): number[] {
  return Array.from({ length: Math.max(0, b - a) }, (_, i) => a + i);
}
