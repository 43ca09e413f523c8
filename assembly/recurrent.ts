// Pointwise gate kernels of one recurrent time step, the twins of the reference ones (same
// formulas, same layouts): n rows, gates of a row side by side ([i|f|g|o] for LSTM, [r|z|n] for
// GRU), everything contiguous in this module's memory. Four hidden units per vector; a ragged
// tail goes one unit at a time through the same vector code, so its numerics match.

import { sigmoidv as sigm, tanhv } from "./math";

@inline function ld(p: usize, full: bool): v128 {
  return full ? v128.load(p) : f32x4.splat(load<f32>(p));
}

@inline function st(p: usize, v: v128, full: bool): void {
  if (full) v128.store(p, v);
  else store<f32>(p, f32x4.extract_lane(v, 0));
}

@inline function one(): v128 {
  return f32x4.splat(1);
}

@inline function lstmFwdAt(
  full: bool, H: usize, xg: usize, hg: usize, cPrev: usize, gates: usize, c: usize, h: usize,
): void {
  const i = sigm(f32x4.add(ld(xg, full), ld(hg, full)));
  const f = sigm(f32x4.add(ld(xg + H, full), ld(hg + H, full)));
  const g = tanhv(f32x4.add(ld(xg + 2 * H, full), ld(hg + 2 * H, full)));
  const o = sigm(f32x4.add(ld(xg + 3 * H, full), ld(hg + 3 * H, full)));
  st(gates, i, full);
  st(gates + H, f, full);
  st(gates + 2 * H, g, full);
  st(gates + 3 * H, o, full);
  const cv = f32x4.add(f32x4.mul(f, ld(cPrev, full)), f32x4.mul(i, g));
  st(c, cv, full);
  st(h, f32x4.mul(o, tanhv(cv)), full);
}

export function lstmForward(n: i32, H: i32, xg: usize, hg: usize, cPrev: usize, gates: usize, c: usize, h: usize): void {
  const hb = <usize>H << 2;
  for (let b = 0; b < n; b++) {
    const gr = <usize>(b * 4 * H) << 2;
    const sr = <usize>(b * H) << 2;
    let j = 0;
    for (; j + 4 <= H; j += 4) {
      const o = <usize>j << 2;
      lstmFwdAt(true, hb, xg + gr + o, hg + gr + o, cPrev + sr + o, gates + gr + o, c + sr + o, h + sr + o);
    }
    for (; j < H; j++) {
      const o = <usize>j << 2;
      lstmFwdAt(false, hb, xg + gr + o, hg + gr + o, cPrev + sr + o, gates + gr + o, c + sr + o, h + sr + o);
    }
  }
}

@inline function lstmBwdAt(
  full: bool, H: usize, gates: usize, cPrev: usize, c: usize, dh: usize, dc: usize,
  dg: usize, dcPrev: usize, dcTotal: usize, total: bool,
): void {
  const i = ld(gates, full);
  const f = ld(gates + H, full);
  const g = ld(gates + 2 * H, full);
  const o = ld(gates + 3 * H, full);
  const tc = tanhv(ld(c, full));
  const dhv = ld(dh, full);
  const dct = f32x4.add(ld(dc, full), f32x4.mul(f32x4.mul(dhv, o), f32x4.sub(one(), f32x4.mul(tc, tc))));
  if (total) st(dcTotal, dct, full);
  st(dg, f32x4.mul(f32x4.mul(f32x4.mul(dct, g), i), f32x4.sub(one(), i)), full);
  st(dg + H, f32x4.mul(f32x4.mul(f32x4.mul(dct, ld(cPrev, full)), f), f32x4.sub(one(), f)), full);
  st(dg + 2 * H, f32x4.mul(f32x4.mul(dct, i), f32x4.sub(one(), f32x4.mul(g, g))), full);
  st(dg + 3 * H, f32x4.mul(f32x4.mul(f32x4.mul(dhv, tc), o), f32x4.sub(one(), o)), full);
  st(dcPrev, f32x4.mul(dct, f), full);
}

/** dcTotal = 0: not wanted. */
export function lstmBackward(
  n: i32, H: i32, gates: usize, cPrev: usize, c: usize, dh: usize, dc: usize, dg: usize, dcPrev: usize, dcTotal: usize,
): void {
  const hb = <usize>H << 2;
  const total = dcTotal != 0;
  for (let b = 0; b < n; b++) {
    const gr = <usize>(b * 4 * H) << 2;
    const sr = <usize>(b * H) << 2;
    let j = 0;
    for (; j + 4 <= H; j += 4) {
      const o = <usize>j << 2;
      lstmBwdAt(true, hb, gates + gr + o, cPrev + sr + o, c + sr + o, dh + sr + o, dc + sr + o, dg + gr + o, dcPrev + sr + o, dcTotal + sr + o, total);
    }
    for (; j < H; j++) {
      const o = <usize>j << 2;
      lstmBwdAt(false, hb, gates + gr + o, cPrev + sr + o, c + sr + o, dh + sr + o, dc + sr + o, dg + gr + o, dcPrev + sr + o, dcTotal + sr + o, total);
    }
  }
}

@inline function gruFwdAt(
  full: bool, H: usize, xg: usize, hg: usize, bhn: usize, hasB: bool, hPrev: usize, gates: usize, ghn: usize, h: usize,
): void {
  const r = sigm(f32x4.add(ld(xg, full), ld(hg, full)));
  const z = sigm(f32x4.add(ld(xg + H, full), ld(hg + H, full)));
  let hn = ld(hg + 2 * H, full);
  if (hasB) hn = f32x4.add(hn, ld(bhn, full));
  const nv = tanhv(f32x4.add(ld(xg + 2 * H, full), f32x4.mul(r, hn)));
  st(gates, r, full);
  st(gates + H, z, full);
  st(gates + 2 * H, nv, full);
  st(ghn, hn, full);
  st(h, f32x4.add(f32x4.mul(f32x4.sub(one(), z), nv), f32x4.mul(z, ld(hPrev, full))), full);
}

/** bhn = 0: no recurrent bias. */
export function gruForward(n: i32, H: i32, xg: usize, hg: usize, bhn: usize, hPrev: usize, gates: usize, ghn: usize, h: usize): void {
  const hb = <usize>H << 2;
  const hasB = bhn != 0;
  for (let b = 0; b < n; b++) {
    const gr = <usize>(b * 3 * H) << 2;
    const sr = <usize>(b * H) << 2;
    let j = 0;
    for (; j + 4 <= H; j += 4) {
      const o = <usize>j << 2;
      gruFwdAt(true, hb, xg + gr + o, hg + gr + o, bhn + o, hasB, hPrev + sr + o, gates + gr + o, ghn + sr + o, h + sr + o);
    }
    for (; j < H; j++) {
      const o = <usize>j << 2;
      gruFwdAt(false, hb, xg + gr + o, hg + gr + o, bhn + o, hasB, hPrev + sr + o, gates + gr + o, ghn + sr + o, h + sr + o);
    }
  }
}

@inline function gruBwdAt(
  full: bool, H: usize, gates: usize, ghn: usize, hPrev: usize, dh: usize, dgx: usize, dgh: usize, dhPrev: usize,
): void {
  const r = ld(gates, full);
  const z = ld(gates + H, full);
  const nv = ld(gates + 2 * H, full);
  const dhv = ld(dh, full);
  const dnp = f32x4.mul(f32x4.mul(dhv, f32x4.sub(one(), z)), f32x4.sub(one(), f32x4.mul(nv, nv)));
  const dzp = f32x4.mul(f32x4.mul(f32x4.mul(dhv, f32x4.sub(ld(hPrev, full), nv)), z), f32x4.sub(one(), z));
  const drp = f32x4.mul(f32x4.mul(f32x4.mul(dnp, ld(ghn, full)), r), f32x4.sub(one(), r));
  st(dgx, drp, full);
  st(dgx + H, dzp, full);
  st(dgx + 2 * H, dnp, full);
  st(dgh, drp, full);
  st(dgh + H, dzp, full);
  st(dgh + 2 * H, f32x4.mul(dnp, r), full);
  st(dhPrev, f32x4.mul(dhv, z), full);
}

export function gruBackward(n: i32, H: i32, gates: usize, ghn: usize, hPrev: usize, dh: usize, dgx: usize, dgh: usize, dhPrev: usize): void {
  const hb = <usize>H << 2;
  for (let b = 0; b < n; b++) {
    const gr = <usize>(b * 3 * H) << 2;
    const sr = <usize>(b * H) << 2;
    let j = 0;
    for (; j + 4 <= H; j += 4) {
      const o = <usize>j << 2;
      gruBwdAt(true, hb, gates + gr + o, ghn + sr + o, hPrev + sr + o, dh + sr + o, dgx + gr + o, dgh + gr + o, dhPrev + sr + o);
    }
    for (; j < H; j++) {
      const o = <usize>j << 2;
      gruBwdAt(false, hb, gates + gr + o, ghn + sr + o, hPrev + sr + o, dh + sr + o, dgx + gr + o, dgh + gr + o, dhPrev + sr + o);
    }
  }
}

@inline function rnnFwdAt(full: bool, relu: bool, xg: usize, hg: usize, h: usize): void {
  const v = f32x4.add(ld(xg, full), ld(hg, full));
  st(h, relu ? f32x4.max(v, f32x4.splat(0)) : tanhv(v), full);
}

/** h = act(xg + hg) over len values; act tanh, or relu when `relu` (NaN passes through). */
export function rnnForward(len: i32, relu: bool, xg: usize, hg: usize, h: usize): void {
  let k = 0;
  for (; k + 4 <= len; k += 4) {
    const o = <usize>k << 2;
    rnnFwdAt(true, relu, xg + o, hg + o, h + o);
  }
  for (; k < len; k++) {
    const o = <usize>k << 2;
    rnnFwdAt(false, relu, xg + o, hg + o, h + o);
  }
}

@inline function rnnBwdAt(full: bool, relu: bool, h: usize, dh: usize, dpre: usize): void {
  const hv = ld(h, full);
  const d = ld(dh, full);
  st(dpre, relu ? v128.and(d, f32x4.gt(hv, f32x4.splat(0))) : f32x4.mul(d, f32x4.sub(one(), f32x4.mul(hv, hv))), full);
}

/** dpre = dh·act'(pre) from the activated h: 1 − h² for tanh, [h > 0] for relu. */
export function rnnBackward(len: i32, relu: bool, h: usize, dh: usize, dpre: usize): void {
  let k = 0;
  for (; k + 4 <= len; k += 4) {
    const o = <usize>k << 2;
    rnnBwdAt(true, relu, h + o, dh + o, dpre + o);
  }
  for (; k < len; k++) {
    const o = <usize>k << 2;
    rnnBwdAt(false, relu, h + o, dh + o, dpre + o);
  }
}
