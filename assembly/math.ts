// Vector exp and tanh for float32 lanes: Cephes-style range reduction and polynomials (≈1–2 ulp).
// Kept apart from the exported kernels because functions of v128 cannot be exported to JS.

// Fused multiply-add where the build has relaxed SIMD (one rounding: as accurate or more).
@inline function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

const LOG2E: f32 = 1.44269504088896341;
const LN2_HI: f32 = 0.693359375;
const LN2_LO: f32 = -2.12194440e-4;
const ROUND_MAGIC: f32 = 12582912; // 1.5·2^23
const ROUND_MAGIC_BITS: i32 = 0x4b400000;

@inline export function expv(x: v128): v128 {
  // Clamp so 2^n below stays representable; exp(89) still overflows to +Inf and exp(-104) flushes
  // to 0, as float32 does. pmax/pmin (one machine instruction each, where min/max cost about
  // seven for their NaN rules) keep a NaN x because it is their first operand.
  const xc = f32x4.pmin(f32x4.pmax(x, f32x4.splat(-104)), f32x4.splat(89));
  // Round to nearest by adding 1.5·2^23: the sum's low mantissa bits are the integer n, so one add
  // and one subtract replace nearest and the float→int conversion (exact for |n| < 2^22).
  const t = f32x4.add(f32x4.mul(xc, f32x4.splat(LOG2E)), f32x4.splat(ROUND_MAGIC));
  const fx = f32x4.sub(t, f32x4.splat(ROUND_MAGIC));
  let r = f32x4.sub(xc, f32x4.mul(fx, f32x4.splat(LN2_HI)));
  r = f32x4.sub(r, f32x4.mul(fx, f32x4.splat(LN2_LO)));
  let p = f32x4.splat(1.9875691500e-4);
  p = madd(p, r, f32x4.splat(1.3981999507e-3));
  p = madd(p, r, f32x4.splat(8.3334519073e-3));
  p = madd(p, r, f32x4.splat(4.1665795894e-2));
  p = madd(p, r, f32x4.splat(1.6666665459e-1));
  p = madd(p, r, f32x4.splat(5.0000001201e-1));
  p = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), f32x4.splat(1));
  // 2^n as two factors, since n reaches 128 and -150, outside one float's exponent range.
  const n = i32x4.sub(t, i32x4.splat(ROUND_MAGIC_BITS));
  const n1 = i32x4.shr_s(n, 1);
  const n2 = i32x4.sub(n, n1);
  const bias = i32x4.splat(127);
  const s1 = i32x4.shl(i32x4.add(n1, bias), 23);
  const s2 = i32x4.shl(i32x4.add(n2, bias), 23);
  return f32x4.mul(f32x4.mul(p, s1), s2);
}

@inline export function tanhv(x: v128): v128 {
  const ax = f32x4.abs(x);
  // Small |x|: odd polynomial keeps relative accuracy near 0.
  const z = f32x4.mul(x, x);
  let p = f32x4.splat(-5.70498872745e-3);
  p = madd(p, z, f32x4.splat(2.06390887954e-2));
  p = madd(p, z, f32x4.splat(-5.37397155531e-2));
  p = madd(p, z, f32x4.splat(1.33314422036e-1));
  p = madd(p, z, f32x4.splat(-3.33332819422e-1));
  const small = f32x4.add(f32x4.mul(f32x4.mul(p, z), x), x);
  // Large |x|: 1 − 2/(e^{2|x|} + 1), sign restored; e^{2|x|} = Inf gives exactly ±1.
  const e = expv(f32x4.add(ax, ax));
  const t = f32x4.sub(f32x4.splat(1), f32x4.div(f32x4.splat(2), f32x4.add(e, f32x4.splat(1))));
  const signBit = v128.and(x, i32x4.splat(0x80000000));
  const large = v128.or(t, signBit);
  return v128.bitselect(small, large, f32x4.lt(ax, f32x4.splat(0.625)));
}

@inline export function sigmoidv(x: v128): v128 {
  const one = f32x4.splat(1);
  return f32x4.div(one, f32x4.add(one, expv(f32x4.neg(x))));
}
