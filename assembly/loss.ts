// Fused log-softmax + cross-entropy over contiguous float32 rows [N, C] in this module's memory,
// the twins of the reference kernels (src/backends/js/loss.ts). Exponentials go four classes per
// vector; sums are carried in float64 and the per-row scalars (lse, loss) computed in float64,
// so the only float32 roundings are those of exp and of the stored results.

import { expv } from "./math";

@inline function promoteHigh(v: v128): v128 {
  return f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1));
}

/** Row maximum; NaN when any element is NaN (f32x4.max and f32.max propagate it). */
@inline function rowMax(p: usize, C: i32): f32 {
  let mv = f32x4.splat(-Infinity);
  let c = 0;
  for (; c + 4 <= C; c += 4) mv = f32x4.max(mv, v128.load(p + (<usize>c << 2)));
  let m = max(max(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)), max(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3)));
  for (; c < C; c++) m = max(m, load<f32>(p + (<usize>c << 2)));
  return m;
}

/** Σ exp(x − shift) over a row, in float64. */
@inline function rowSumExp(p: usize, C: i32, shift: f32): f64 {
  const sv = f32x4.splat(shift);
  let s0 = f64x2.splat(0), s1 = s0;
  let c = 0;
  for (; c + 4 <= C; c += 4) {
    const e = expv(f32x4.sub(v128.load(p + (<usize>c << 2)), sv));
    s0 = f64x2.add(s0, f64x2.promote_low_f32x4(e));
    s1 = f64x2.add(s1, promoteHigh(e));
  }
  const s = f64x2.add(s0, s1);
  let t = f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
  for (; c < C; c++) {
    t += <f64>f32x4.extract_lane(expv(f32x4.splat(load<f32>(p + (<usize>c << 2)) - shift)), 0);
  }
  return t;
}

@inline function rowSum(p: usize, C: i32): f64 {
  let s0 = f64x2.splat(0), s1 = s0;
  let c = 0;
  for (; c + 4 <= C; c += 4) {
    const v = v128.load(p + (<usize>c << 2));
    s0 = f64x2.add(s0, f64x2.promote_low_f32x4(v));
    s1 = f64x2.add(s1, promoteHigh(v));
  }
  const s = f64x2.add(s0, s1);
  let t = f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
  for (; c < C; c++) t += <f64>load<f32>(p + (<usize>c << 2));
  return t;
}

/**
 * loss[n] = (1 − eps)·(lse − x_t) + eps·(lse − mean x), 0 where target[n] == ignoreIndex; lse[n]
 * = log Σ exp(x − m) + m, m the row max or 0 when that is not finite (as the composite does).
 */
export function crossEntropyForward(
  x: usize, N: i32, C: i32, target: usize, ignoreIndex: i32, eps: f64, loss: usize, lse: usize,
): void {
  for (let n = 0; n < N; n++) {
    const p = x + (<usize>(n * C) << 2);
    const m = rowMax(p, C);
    const safe: f32 = isFinite<f32>(m) ? m : 0;
    const l = Math.log(rowSumExp(p, C, safe)) + <f64>safe;
    const l32 = <f32>l;
    store<f32>(lse + (<usize>n << 2), l32);
    const t = load<i32>(target + (<usize>n << 2));
    if (t == ignoreIndex) {
      store<f32>(loss + (<usize>n << 2), 0);
      continue;
    }
    let out = l - <f64>load<f32>(p + (<usize>t << 2));
    if (eps != 0) out = (1 - eps) * out + eps * (l - rowSum(p, C) / <f64>C);
    store<f32>(loss + (<usize>n << 2), <f32>out);
  }
}

/**
 * dx[n, c] = g[n]·exp(x − lse[n]) − g[n]·eps/C, minus (1 − eps)·g[n] at the target; ignored rows
 * 0. dx may be x itself (each element is read before it is written).
 */
export function crossEntropyBackward(
  x: usize, N: i32, C: i32, target: usize, ignoreIndex: i32, eps: f64, lse: usize, gLoss: usize, dx: usize,
): void {
  for (let n = 0; n < N; n++) {
    const row = <usize>(n * C) << 2;
    const p = x + row;
    const q = dx + row;
    const t = load<i32>(target + (<usize>n << 2));
    if (t == ignoreIndex) {
      memory.fill(q, 0, <usize>C << 2);
      continue;
    }
    const g = load<f32>(gLoss + (<usize>n << 2));
    const l = f32x4.splat(load<f32>(lse + (<usize>n << 2)));
    const gv = f32x4.splat(g);
    const off = <f32>(eps / <f64>C * <f64>g);
    const ov = f32x4.splat(off);
    let c = 0;
    for (; c + 4 <= C; c += 4) {
      const o = <usize>c << 2;
      v128.store(q + o, f32x4.sub(f32x4.mul(gv, expv(f32x4.sub(v128.load(p + o), l))), ov));
    }
    for (; c < C; c++) {
      const o = <usize>c << 2;
      const e = f32x4.extract_lane(expv(f32x4.splat(load<f32>(p + o) - f32x4.extract_lane(l, 0))), 0);
      store<f32>(q + o, g * e - off);
    }
    const qt = q + (<usize>t << 2);
    store<f32>(qt, load<f32>(qt) - <f32>((1 - eps) * <f64>g));
  }
}
