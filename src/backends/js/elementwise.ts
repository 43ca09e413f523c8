import type { TypedArray } from "../../core/dtype.js";
import type { BinaryOp, UnaryOp, View } from "../../backend/kernels.js";
import { isContiguous } from "../../backend/view.js";
import { denseStrides, nextRow, plan } from "./strided.js";

/** erf to ~1e-16 relative: series for small |x|, continued fraction (Lentz) for large |x|. */
export function erf(x: number): number {
  if (x !== x) return NaN;
  const ax = Math.abs(x);
  if (ax < 2.5) {
    let term = x;
    let sum = x;
    const x2 = x * x;
    for (let n = 1; n < 200; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  if (ax > 6) return x > 0 ? 1 : -1;
  return x > 0 ? 1 - erfcLarge(ax) : erfcLarge(ax) - 1;
}

function erfcLarge(x: number): number {
  // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...)))) evaluated by Lentz.
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let n = 1; n < 300; n++) {
    const an = n / 2;
    d = x + an * d;
    d = d === 0 ? tiny : d;
    c = x + an / c;
    c = c === 0 ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}

export const unaryFns: Record<UnaryOp, (x: number) => number> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  abs: Math.abs,
  sign: (x) => (x > 0 ? 1 : x < 0 ? -1 : x),
  tanh: Math.tanh,
  sigmoid: (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))),
  relu: (x) => (x > 0 ? x : x !== x ? x : 0),
  erf,
  sin: Math.sin,
  cos: Math.cos,
  log1p: Math.log1p,
  expm1: Math.expm1,
  floor: Math.floor,
  ceil: Math.ceil,
  // Round half to even, as PyTorch does.
  round: (x) => {
    const r = Math.round(x);
    return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
  },
  reciprocal: (x) => 1 / x,
  square: (x) => x * x,
  isfinite: (x) => (Number.isFinite(x) ? 1 : 0),
  isnan: (x) => (x !== x ? 1 : 0),
};

export const binaryFns: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: Math.pow,
  maximum: (a, b) => (a !== a || b !== b ? NaN : a > b ? a : b),
  minimum: (a, b) => (a !== a || b !== b ? NaN : a < b ? a : b),
  atan2: Math.atan2,
  eq: (a, b) => (a === b ? 1 : 0),
  ne: (a, b) => (a !== b ? 1 : 0),
  lt: (a, b) => (a < b ? 1 : 0),
  le: (a, b) => (a <= b ? 1 : 0),
  gt: (a, b) => (a > b ? 1 : 0),
  ge: (a, b) => (a >= b ? 1 : 0),
};

type UnaryRow = (x: TypedArray, px: number, sx: number, out: TypedArray, po: number, so: number, n: number) => void;

// Each hot op gets its own loop, so the call per element disappears and V8 inlines the maths;
// the others call through unaryFns. Results are identical either way.
const hotUnaryRows: Partial<Record<UnaryOp, UnaryRow>> = {
  neg: (x, px, sx, out, po, so, n) => {
    for (let i = 0; i < n; i++, px += sx, po += so) out[po] = -x[px];
  },
  exp: (x, px, sx, out, po, so, n) => {
    for (let i = 0; i < n; i++, px += sx, po += so) out[po] = Math.exp(x[px]);
  },
  log: (x, px, sx, out, po, so, n) => {
    for (let i = 0; i < n; i++, px += sx, po += so) out[po] = Math.log(x[px]);
  },
  sqrt: (x, px, sx, out, po, so, n) => {
    for (let i = 0; i < n; i++, px += sx, po += so) out[po] = Math.sqrt(x[px]);
  },
  tanh: (x, px, sx, out, po, so, n) => {
    for (let i = 0; i < n; i++, px += sx, po += so) out[po] = Math.tanh(x[px]);
  },
  sigmoid: (x, px, sx, out, po, so, n) => {
    for (let i = 0; i < n; i++, px += sx, po += so) {
      const v = x[px];
      out[po] = v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v));
    }
  },
  relu: (x, px, sx, out, po, so, n) => {
    for (let i = 0; i < n; i++, px += sx, po += so) {
      const v = x[px];
      out[po] = v > 0 ? v : v !== v ? v : 0;
    }
  },
  square: (x, px, sx, out, po, so, n) => {
    for (let i = 0; i < n; i++, px += sx, po += so) out[po] = x[px] * x[px];
  },
};

export function unary(op: UnaryOp, x: View, out: TypedArray): void {
  const f = unaryFns[op];
  const row: UnaryRow =
    hotUnaryRows[op] ??
    ((xd, px, sx, o2, po, so, n) => {
      for (let i = 0; i < n; i++, px += sx, po += so) o2[po] = f(xd[px]);
    });
  const xd = x.data;
  if (isContiguous(x)) {
    row(xd, x.offset, 1, out, 0, 1, out.length);
    return;
  }
  if (out.length === 0) return;
  const p = plan(x.shape, [x.strides, denseStrides(x.shape)]);
  const last = p.shape.length - 1;
  const sx = p.strides[0][last];
  const so = p.strides[1][last];
  const idx = new Int32Array(p.shape.length);
  const pos = [x.offset, 0];
  for (let r = 0; r < p.rows; r++) {
    row(xd, pos[0], sx, out, pos[1], so, p.shape[last]);
    nextRow(p, idx, pos);
  }
}

type Row = (
  ad: TypedArray, pa: number, sa: number, bd: TypedArray, pb: number, sb: number,
  out: TypedArray, po: number, so: number, n: number,
) => void;

// Hand-written rows for the hot ops keep their loops monomorphic; the rest go through binaryFns.
const hotRows: Partial<Record<BinaryOp, Row>> = {
  add: (ad, pa, sa, bd, pb, sb, out, po, so, n) => {
    for (let i = 0; i < n; i++, pa += sa, pb += sb, po += so) out[po] = ad[pa] + bd[pb];
  },
  sub: (ad, pa, sa, bd, pb, sb, out, po, so, n) => {
    for (let i = 0; i < n; i++, pa += sa, pb += sb, po += so) out[po] = ad[pa] - bd[pb];
  },
  mul: (ad, pa, sa, bd, pb, sb, out, po, so, n) => {
    for (let i = 0; i < n; i++, pa += sa, pb += sb, po += so) out[po] = ad[pa] * bd[pb];
  },
  div: (ad, pa, sa, bd, pb, sb, out, po, so, n) => {
    for (let i = 0; i < n; i++, pa += sa, pb += sb, po += so) out[po] = ad[pa] / bd[pb];
  },
  maximum: (ad, pa, sa, bd, pb, sb, out, po, so, n) => {
    for (let i = 0; i < n; i++, pa += sa, pb += sb, po += so) {
      const x = ad[pa];
      const y = bd[pb];
      out[po] = x !== x || y !== y ? NaN : x > y ? x : y;
    }
  },
  minimum: (ad, pa, sa, bd, pb, sb, out, po, so, n) => {
    for (let i = 0; i < n; i++, pa += sa, pb += sb, po += so) {
      const x = ad[pa];
      const y = bd[pb];
      out[po] = x !== x || y !== y ? NaN : x < y ? x : y;
    }
  },
  // Masks in backward passes (relu, max, clamp) come from these.
  eq: (ad, pa, sa, bd, pb, sb, out, po, so, n) => {
    for (let i = 0; i < n; i++, pa += sa, pb += sb, po += so) out[po] = ad[pa] === bd[pb] ? 1 : 0;
  },
  gt: (ad, pa, sa, bd, pb, sb, out, po, so, n) => {
    for (let i = 0; i < n; i++, pa += sa, pb += sb, po += so) out[po] = ad[pa] > bd[pb] ? 1 : 0;
  },
};

export function binary(op: BinaryOp, a: View, b: View, out: TypedArray): void {
  const f = binaryFns[op];
  const row: Row =
    hotRows[op] ??
    ((ad, pa, sa, bd, pb, sb, o2, po, so, n) => {
      for (let i = 0; i < n; i++, pa += sa, pb += sb, po += so) o2[po] = f(ad[pa], bd[pb]);
    });
  const ad = a.data;
  const bd = b.data;
  if (isContiguous(a) && isContiguous(b)) {
    row(ad, a.offset, 1, bd, b.offset, 1, out, 0, 1, out.length);
    return;
  }
  if (out.length === 0) return;
  const p = plan(a.shape, [a.strides, b.strides, denseStrides(a.shape)]);
  const last = p.shape.length - 1;
  const [sa, sb, so] = p.strides.map((st) => st[last]);
  const idx = new Int32Array(p.shape.length);
  const pos = [a.offset, b.offset, 0];
  for (let r = 0; r < p.rows; r++) {
    row(ad, pos[0], sa, bd, pos[1], sb, out, pos[2], so, p.shape[last]);
    nextRow(p, idx, pos);
  }
}

export function clamp(x: View, min: number, max: number, out: TypedArray): void {
  if (out.length === 0) return;
  const xd = x.data;
  const p = plan(x.shape, [x.strides, denseStrides(x.shape)]);
  const last = p.shape.length - 1;
  const inner = p.shape[last];
  const sx = p.strides[0][last];
  const so = p.strides[1][last];
  const idx = new Int32Array(p.shape.length);
  const pos = [x.offset, 0];
  for (let r = 0; r < p.rows; r++) {
    for (let i = 0, px = pos[0], po = pos[1]; i < inner; i++, px += sx, po += so) {
      // Lower bound first: with min > max every element becomes max, as in PyTorch.
      let v = xd[px];
      if (v < min) v = min;
      out[po] = v > max ? max : v;
    }
    nextRow(p, idx, pos);
  }
}

export function where(cond: View, a: View, b: View, out: TypedArray): void {
  if (out.length === 0) return;
  const cd = cond.data;
  const ad = a.data;
  const bd = b.data;
  const p = plan(cond.shape, [cond.strides, a.strides, b.strides, denseStrides(cond.shape)]);
  const last = p.shape.length - 1;
  const inner = p.shape[last];
  const [sc, sa, sb, so] = p.strides.map((st) => st[last]);
  const idx = new Int32Array(p.shape.length);
  const pos = [cond.offset, a.offset, b.offset, 0];
  for (let r = 0; r < p.rows; r++) {
    let pc = pos[0];
    let pa = pos[1];
    let pb = pos[2];
    let po = pos[3];
    for (let i = 0; i < inner; i++, pc += sc, pa += sa, pb += sb, po += so) out[po] = cd[pc] !== 0 ? ad[pa] : bd[pb];
    nextRow(p, idx, pos);
  }
}

export function copy(src: View, dst: View): void {
  const sd = src.data;
  const dd = dst.data;
  if (dd.length === 0 || sd.length === 0) return;
  if (isContiguous(src) && isContiguous(dst)) {
    const n = countOf(dst);
    if (sd.constructor === dd.constructor) {
      dd.set(sd.subarray(src.offset, src.offset + n), dst.offset);
    } else {
      for (let i = 0; i < n; i++) dd[dst.offset + i] = sd[src.offset + i];
    }
    return;
  }
  // Both views walk one index space, each through its own strides: no temporary.
  const p = plan(dst.shape, [src.strides, dst.strides]);
  const last = p.shape.length - 1;
  const inner = p.shape[last];
  const ss = p.strides[0][last];
  const ds = p.strides[1][last];
  const idx = new Int32Array(p.shape.length);
  const pos = [src.offset, dst.offset];
  for (let r = 0; r < p.rows; r++) {
    for (let i = 0, ps = pos[0], pd = pos[1]; i < inner; i++, ps += ss, pd += ds) dd[pd] = sd[ps];
    nextRow(p, idx, pos);
  }
}

function countOf(v: View): number {
  let n = 1;
  for (const d of v.shape) n *= d;
  return n;
}
