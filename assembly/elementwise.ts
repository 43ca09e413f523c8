// float32 elementwise and reduction kernels over contiguous buffers in this module's memory.
// Transcendentals use Cephes-style range reduction and polynomials (≈1–2 ulp in float32), so the
// results stay within float32 rounding of the reference, which evaluates in float64.

import { expv, sigmoidv, tanhv } from "./math";

export const U_EXP: i32 = 0;
export const U_TANH: i32 = 1;
export const U_SIGMOID: i32 = 2;
export const U_RELU: i32 = 3;

@inline function applyUnary(op: i32, v: v128): v128 {
  switch (op) {
    case U_EXP:
      return expv(v);
    case U_TANH:
      return tanhv(v);
    case U_SIGMOID:
      return sigmoidv(v);
    default:
      return f32x4.max(v, f32x4.splat(0));
  }
}

/** out[i] = op(x[i]) for n floats; x and out may be the same buffer. */
export function unary(op: i32, x: usize, out: usize, n: i32): void {
  // One loop per op, so the op's choice stays out of the inner loop (applyUnary inlines the constant).
  if (op == U_EXP) for (let i = 0; i < n; i += 4) unary4(U_EXP, x, out, i, n);
  else if (op == U_TANH) for (let i = 0; i < n; i += 4) unary4(U_TANH, x, out, i, n);
  else if (op == U_SIGMOID) for (let i = 0; i < n; i += 4) unary4(U_SIGMOID, x, out, i, n);
  else for (let i = 0; i < n; i += 4) unary4(U_RELU, x, out, i, n);
}

@inline function unary4(op: i32, x: usize, out: usize, i: i32, n: i32): void {
  const o = <usize>i << 2;
  if (i + 4 <= n) {
    v128.store(out + o, applyUnary(op, v128.load(x + o)));
    return;
  }
  // Tail: one lane at a time through the same vector code, so numerics match the body.
  for (let j = i; j < n; j++) {
    const p = <usize>j << 2;
    store<f32>(out + p, f32x4.extract_lane(applyUnary(op, f32x4.splat(load<f32>(x + p))), 0));
  }
}

export const B_ADD: i32 = 0;
export const B_SUB: i32 = 1;
export const B_MUL: i32 = 2;
export const B_DIV: i32 = 3;

@inline function applyBinary(op: i32, a: v128, b: v128): v128 {
  switch (op) {
    case B_ADD:
      return f32x4.add(a, b);
    case B_SUB:
      return f32x4.sub(a, b);
    case B_MUL:
      return f32x4.mul(a, b);
    default:
      return f32x4.div(a, b);
  }
}

/**
 * out[r, c] = a[r·ra + c·ca] op b[r·rb + c·cb] for a rows×cols output, where ca and cb are 1
 * (contiguous row) or 0 (one value broadcast along the row). Covers same-shape, scalar, bias-row
 * and column broadcasts.
 */
export function binary(op: i32, a: usize, ra: i32, ca: i32, b: usize, rb: i32, cb: i32, out: usize, rows: i32, cols: i32): void {
  if (op == B_ADD) for (let r = 0; r < rows; r++) binaryRow(B_ADD, a, ra, ca, b, rb, cb, out, r, cols);
  else if (op == B_SUB) for (let r = 0; r < rows; r++) binaryRow(B_SUB, a, ra, ca, b, rb, cb, out, r, cols);
  else if (op == B_MUL) for (let r = 0; r < rows; r++) binaryRow(B_MUL, a, ra, ca, b, rb, cb, out, r, cols);
  else for (let r = 0; r < rows; r++) binaryRow(B_DIV, a, ra, ca, b, rb, cb, out, r, cols);
}

@inline function binaryRow(op: i32, a: usize, ra: i32, ca: i32, b: usize, rb: i32, cb: i32, out: usize, r: i32, cols: i32): void {
  const pa = a + (<usize>(r * ra) << 2);
  const pb = b + (<usize>(r * rb) << 2);
  const po = out + (<usize>(r * cols) << 2);
  let j = 0;
  if (ca == 1 && cb == 1) {
    for (; j + 4 <= cols; j += 4) {
      const o = <usize>j << 2;
      v128.store(po + o, applyBinary(op, v128.load(pa + o), v128.load(pb + o)));
    }
  } else if (ca == 1) {
    const bv = v128.load32_splat(pb);
    for (; j + 4 <= cols; j += 4) {
      const o = <usize>j << 2;
      v128.store(po + o, applyBinary(op, v128.load(pa + o), bv));
    }
  } else if (cb == 1) {
    const av = v128.load32_splat(pa);
    for (; j + 4 <= cols; j += 4) {
      const o = <usize>j << 2;
      v128.store(po + o, applyBinary(op, av, v128.load(pb + o)));
    }
  }
  for (; j < cols; j++) {
    const x = f32x4.splat(load<f32>(pa + (<usize>(j * ca) << 2)));
    const y = f32x4.splat(load<f32>(pb + (<usize>(j * cb) << 2)));
    store<f32>(po + (<usize>j << 2), f32x4.extract_lane(applyBinary(op, x, y), 0));
  }
}

@inline function promoteHigh(v: v128): v128 {
  return f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1));
}

/** out[r] = Σ_c x[r, c] for a contiguous rows×cols matrix, accumulated in float64 and rounded once. */
export function sumRows(x: usize, rows: i32, cols: i32, out: usize): void {
  for (let r = 0; r < rows; r++) {
    const p = x + (<usize>(r * cols) << 2);
    let s0 = f64x2.splat(0), s1 = s0;
    let j = 0;
    for (; j + 4 <= cols; j += 4) {
      const v = v128.load(p + (<usize>j << 2));
      s0 = f64x2.add(s0, f64x2.promote_low_f32x4(v));
      s1 = f64x2.add(s1, promoteHigh(v));
    }
    const s = f64x2.add(s0, s1);
    let t = f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
    for (; j < cols; j++) t += <f64>load<f32>(p + (<usize>j << 2));
    store<f32>(out + (<usize>r << 2), <f32>t);
  }
}

/**
 * out[c] = Σ_r x[r, c] for a contiguous rows×cols matrix (a sum over leading axes), accumulated in
 * float64 in `acc` (cols doubles, 16-byte aligned) and rounded once.
 */
export function sumCols(x: usize, rows: i32, cols: i32, out: usize, acc: usize): void {
  memory.fill(acc, 0, <usize>cols << 3);
  for (let r = 0; r < rows; r++) {
    const p = x + (<usize>(r * cols) << 2);
    let j = 0;
    for (; j + 4 <= cols; j += 4) {
      const v = v128.load(p + (<usize>j << 2));
      const q = acc + (<usize>j << 3);
      v128.store(q, f64x2.add(v128.load(q), f64x2.promote_low_f32x4(v)));
      v128.store(q, f64x2.add(v128.load(q, 16), promoteHigh(v)), 16);
    }
    for (; j < cols; j++) {
      const q = acc + (<usize>j << 3);
      store<f64>(q, load<f64>(q) + <f64>load<f32>(p + (<usize>j << 2)));
    }
  }
  for (let j = 0; j < cols; j++) store<f32>(out + (<usize>j << 2), <f32>load<f64>(acc + (<usize>j << 3)));
}
