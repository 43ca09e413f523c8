import type { TypedArray } from "../../core/dtype.js";
import type { BinaryOp, UnaryOp, View } from "../../backend/kernels.js";
import { forEachRow, isContiguous } from "../../backend/view.js";

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

export function unary(op: UnaryOp, x: View, out: TypedArray): void {
  const f = unaryFns[op];
  const xd = x.data;
  if (isContiguous(x)) {
    const o = x.offset;
    for (let i = 0; i < out.length; i++) out[i] = f(xd[o + i]);
    return;
  }
  forEachRow(x, (off, stride, count, start) => {
    for (let i = 0; i < count; i++) out[start + i] = f(xd[off + i * stride]);
  });
}

type Row = (ad: TypedArray, pa: number, sa: number, bd: TypedArray, pb: number, sb: number, out: TypedArray, o: number, n: number) => void;

// Hand-written rows for the hot ops keep their loops monomorphic; the rest go through binaryFns.
const hotRows: Partial<Record<BinaryOp, Row>> = {
  add: (ad, pa, sa, bd, pb, sb, out, o, n) => {
    for (let i = 0; i < n; i++, pa += sa, pb += sb) out[o + i] = ad[pa] + bd[pb];
  },
  sub: (ad, pa, sa, bd, pb, sb, out, o, n) => {
    for (let i = 0; i < n; i++, pa += sa, pb += sb) out[o + i] = ad[pa] - bd[pb];
  },
  mul: (ad, pa, sa, bd, pb, sb, out, o, n) => {
    for (let i = 0; i < n; i++, pa += sa, pb += sb) out[o + i] = ad[pa] * bd[pb];
  },
  div: (ad, pa, sa, bd, pb, sb, out, o, n) => {
    for (let i = 0; i < n; i++, pa += sa, pb += sb) out[o + i] = ad[pa] / bd[pb];
  },
};

export function binary(op: BinaryOp, a: View, b: View, out: TypedArray): void {
  const f = binaryFns[op];
  const row: Row =
    hotRows[op] ??
    ((ad, pa, sa, bd, pb, sb, o2, o, n) => {
      for (let i = 0; i < n; i++, pa += sa, pb += sb) o2[o + i] = f(ad[pa], bd[pb]);
    });
  const ad = a.data;
  const bd = b.data;
  if (isContiguous(a) && isContiguous(b)) {
    row(ad, a.offset, 1, bd, b.offset, 1, out, 0, out.length);
  } else {
    const rank = a.shape.length;
    if (out.length === 0) return;
    if (rank === 0) {
      out[0] = f(ad[a.offset], bd[b.offset]);
    } else {
      const last = rank - 1;
      const inner = a.shape[last];
      const idx = new Array<number>(rank).fill(0);
      let pa = a.offset;
      let pb = b.offset;
      for (let start = 0; start < out.length; start += inner) {
        row(ad, pa, a.strides[last], bd, pb, b.strides[last], out, start, inner);
        for (let d = last - 1; d >= 0; d--) {
          idx[d]++;
          pa += a.strides[d];
          pb += b.strides[d];
          if (idx[d] < a.shape[d]) break;
          pa -= a.strides[d] * a.shape[d];
          pb -= b.strides[d] * a.shape[d];
          idx[d] = 0;
        }
      }
    }
  }
}

export function clamp(x: View, min: number, max: number, out: TypedArray): void {
  const xd = x.data;
  forEachRow(x, (off, stride, count, start) => {
    for (let i = 0; i < count; i++) {
      const v = xd[off + i * stride];
      out[start + i] = v < min ? min : v > max ? max : v;
    }
  });
}

export function where(cond: View, a: View, b: View, out: TypedArray): void {
  const c = new Uint8Array(out.length);
  const cd = cond.data;
  forEachRow(cond, (off, stride, count, start) => {
    for (let i = 0; i < count; i++) c[start + i] = cd[off + i * stride] !== 0 ? 1 : 0;
  });
  const ad = a.data;
  forEachRow(a, (off, stride, count, start) => {
    for (let i = 0; i < count; i++) if (c[start + i]) out[start + i] = ad[off + i * stride];
  });
  const bd = b.data;
  forEachRow(b, (off, stride, count, start) => {
    for (let i = 0; i < count; i++) if (!c[start + i]) out[start + i] = bd[off + i * stride];
  });
}

export function copy(src: View, dst: View): void {
  const sd = src.data;
  const dd = dst.data;
  if (isContiguous(src) && isContiguous(dst)) {
    const n = dd.length === 0 ? 0 : countOf(dst);
    if (sd.constructor === dd.constructor) {
      dd.set(sd.subarray(src.offset, src.offset + n), dst.offset);
    } else {
      for (let i = 0; i < n; i++) dd[dst.offset + i] = sd[src.offset + i];
    }
    return;
  }
  // Walk the destination row by row, reading the source through a contiguous temporary.
  const tmp: number[] = [];
  forEachRow(src, (off, stride, count) => {
    for (let i = 0; i < count; i++) tmp.push(sd[off + i * stride]);
  });
  forEachRow(dst, (off, stride, count, start) => {
    for (let i = 0; i < count; i++) dd[off + i * stride] = tmp[start + i];
  });
}

function countOf(v: View): number {
  let n = 1;
  for (const d of v.shape) n *= d;
  return n;
}
