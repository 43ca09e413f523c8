import type { BinaryOp, ReduceOp, UnaryOp, View } from "../../backend/kernels.js";
import { isContiguous } from "../../backend/view.js";
import type { WasmRuntime } from "./runtime.js";
import { gather, unstage } from "./stage.js";

// Op codes of assembly/elementwise.ts.
const UNARY_CODES: Partial<Record<UnaryOp, number>> = { exp: 0, tanh: 1, sigmoid: 2, relu: 3 };
const BINARY_CODES: Partial<Record<BinaryOp, number>> = { add: 0, sub: 1, mul: 2, div: 3 };

/** Whether the module has this unary op; the rest stay on the reference kernels. */
export function hasUnary(op: UnaryOp): boolean {
  return op in UNARY_CODES;
}

export function hasBinary(op: BinaryOp): boolean {
  return op in BINARY_CODES;
}

/** out = op(x) for a float32 view of any strides (gathered contiguous first). */
export function unaryF32(rt: WasmRuntime, op: UnaryOp, x: View, out: Float32Array): void {
  const n = out.length;
  if (n === 0) return;
  rt.resetScratch();
  let p: number;
  if (isContiguous(x)) {
    p = rt.alloc(n * 4);
    rt.f32.set((x.data as Float32Array).subarray(x.offset, x.offset + n), p >> 2);
  } else p = gather(rt, x, n);
  rt.wasm.unary(UNARY_CODES[op]!, p, p, n);
  unstage(rt, p, n, out);
}

/** A binary op's operands as a rows×cols walk with unit or zero column strides. */
interface Plan2d {
  rows: number;
  cols: number;
  ra: number;
  ca: number;
  rb: number;
  cb: number;
}

/**
 * Folds out's shape into at most two dims by dropping size-1 dims and merging neighbours that
 * both operands step through evenly. Returns null when the inner strides are not 0 or 1 or more
 * than two dims remain; such cases stay on the reference kernel.
 */
export function plan2d(shape: readonly number[], sa: readonly number[], sb: readonly number[]): Plan2d | null {
  const dims: { n: number; a: number; b: number }[] = [];
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const cur = { n: shape[d], a: sa[d], b: sb[d] };
    const prev = dims[dims.length - 1];
    if (prev && prev.a === cur.a * cur.n && prev.b === cur.b * cur.n) {
      prev.n *= cur.n;
      prev.a = cur.a;
      prev.b = cur.b;
    } else dims.push(cur);
  }
  if (dims.length === 0) return { rows: 1, cols: 1, ra: 0, ca: 1, rb: 0, cb: 1 };
  if (dims.length > 2) return null;
  const inner = dims[dims.length - 1];
  if ((inner.a !== 0 && inner.a !== 1) || (inner.b !== 0 && inner.b !== 1)) return null;
  const outer = dims.length === 2 ? dims[0] : { n: 1, a: 0, b: 0 };
  return { rows: outer.n, cols: inner.n, ra: outer.a, ca: inner.a, rb: outer.b, cb: inner.b };
}

/** out = a op b for float32 views already broadcast to out's shape; false when not handled. */
export function binaryF32(rt: WasmRuntime, op: BinaryOp, a: View, b: View, out: Float32Array): boolean {
  const n = out.length;
  if (n === 0) return true;
  const plan = plan2d(a.shape, a.strides, b.strides);
  if (!plan) return false;
  const spanA = span(plan.rows, plan.cols, plan.ra, plan.ca);
  const spanB = span(plan.rows, plan.cols, plan.rb, plan.cb);
  // Negative strides or operands that skip most of their span (column slices) stay on the reference.
  if (spanA < 0 || spanB < 0 || spanA > 2 * n + 16 || spanB > 2 * n + 16) return false;
  rt.resetScratch();
  const pa = stageSpan(rt, a, spanA);
  const pb = stageSpan(rt, b, spanB);
  const po = rt.alloc(n * 4);
  rt.wasm.binary(BINARY_CODES[op]!, pa, plan.ra, plan.ca, pb, plan.rb, plan.cb, po, plan.rows, plan.cols);
  unstage(rt, po, n, out);
  return true;
}

/** Elements from the first to the last one a rows×cols walk touches; -1 for negative strides. */
function span(rows: number, cols: number, r: number, c: number): number {
  return r < 0 || c < 0 ? -1 : (rows - 1) * r + (cols - 1) * c + 1;
}

function stageSpan(rt: WasmRuntime, v: View, count: number): number {
  const p = rt.alloc(count * 4);
  rt.f32.set((v.data as Float32Array).subarray(v.offset, v.offset + count), p >> 2);
  return p;
}

/**
 * Sum of a contiguous float32 view over a suffix of its axes (rows) or a prefix (columns, e.g. a
 * bias gradient); false when the axes are neither.
 */
export function reduceSumF32(rt: WasmRuntime, op: ReduceOp, x: View, axes: readonly number[], out: Float32Array): boolean {
  if (op !== "sum" || !isContiguous(x)) return false;
  const shape = x.shape;
  const reduced = shape.map((d, i) => axes.includes(i) && d !== 1);
  const firstR = reduced.indexOf(true);
  const lastR = reduced.lastIndexOf(true);
  const n = shape.reduce((p, d) => p * d, 1);
  if (firstR < 0) {
    // Only size-1 axes are reduced: the sum is the input itself.
    out.set((x.data as Float32Array).subarray(x.offset, x.offset + n));
    return true;
  }
  // Reduced axes after every kept one (row sums), or before every kept one (column sums).
  const suffix = reduced.slice(firstR).every((r, i) => r || shape[firstR + i] === 1);
  const prefix = reduced.slice(0, lastR + 1).every((r, i) => r || shape[i] === 1);
  if (!suffix && !prefix) return false;
  if (n === 0) {
    out.fill(0);
    return true;
  }
  rt.resetScratch();
  const p = rt.alloc(n * 4);
  rt.f32.set((x.data as Float32Array).subarray(x.offset, x.offset + n), p >> 2);
  const o = rt.alloc(out.length * 4);
  if (suffix) {
    const cols = n / out.length;
    rt.wasm.sumRows(p, out.length, cols, o);
  } else {
    const cols = out.length;
    const acc = rt.alloc(cols * 8);
    rt.wasm.sumCols(p, n / cols, cols, o, acc);
  }
  unstage(rt, o, out.length, out);
  return true;
}
