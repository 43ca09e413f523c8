/**
 * WGSL for the tensor ops on strided views. Every shader reads its sizes, strides and offsets
 * from one uniform array of u32 words (floats bit-cast), so one pipeline per op and dtype serves
 * every shape; views are decomposed index by index, up to MAX_RANK dims after the host merged
 * the dims it could.
 */
import type { BinaryOp, ReduceOp, UnaryOp } from "../../backend/kernels.js";

export const MAX_RANK = 8;
export const WG = 256;
export type Elem = "f32" | "i32";

// Float classification through the bits: WGSL lets compilers assume finite floats, so x != x
// is not a safe NaN test.
export const HELPERS = /* wgsl */ `
@group(0) @binding(0) var<uniform> U: array<vec4<u32>, 16>;
fn w(k: u32) -> u32 { return U[k / 4u][k % 4u]; }
fn wf(k: u32) -> f32 { return bitcast<f32>(w(k)); }
fn isnan_(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn isinf_(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) == 0x7f800000u; }
// Word 63 is always 0: going through it keeps NaN and infinity out of constant evaluation, which rejects them.
fn nan_() -> f32 { return bitcast<f32>(w(63u) | 0x7fc00000u); }
fn inf_() -> f32 { return bitcast<f32>(w(63u) | 0x7f800000u); }
fn flat(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 { return (wg.y * nwg.x + wg.x) * ${WG}u + li; }
fn tanh_(x: f32) -> f32 { let e = exp(-2.0 * abs(x)); let t = (1.0 - e) / (1.0 + e); return select(-t, t, x >= 0.0); }
// Abramowitz & Stegun 7.1.26 after a Taylor start near 0: |error| < 2e-7.
fn erf_(x: f32) -> f32 {
  let a = abs(x);
  if (a < 0.5) { let x2 = x * x; return x * (1.1283791671 + x2 * (-0.3761263890 + x2 * (0.1128379167 + x2 * (-0.0268661706 + x2 * 0.0052239777)))); }
  let t = 1.0 / (1.0 + 0.3275911 * a);
  let y = 1.0 - t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) * exp(-a * a);
  return select(-y, y, x >= 0.0);
}
fn log1p_(x: f32) -> f32 { let u = 1.0 + x; if (u == 1.0 || isinf_(x)) { return select(x, log(u), isinf_(x)); } return log(u) * x / (u - 1.0); }
fn expm1_(x: f32) -> f32 {
  let u = exp(x);
  if (u == 1.0) { return x; }
  if (isinf_(u)) { return u; }
  let um1 = u - 1.0;
  if (um1 == -1.0) { return -1.0; }
  return um1 * x / log(u);
}
fn pow_(x: f32, y: f32) -> f32 {
  if (y == 0.0 || x == 1.0) { return 1.0; }
  if (isnan_(x) || isnan_(y)) { return nan_(); }
  let yInt = fract(y) == 0.0;
  let odd = yInt && fract(y * 0.5) != 0.0;
  if (x == 0.0) { return select(0.0, inf_(), y < 0.0); }
  let r = exp2(y * log2(abs(x)));
  if (x < 0.0) {
    if (!yInt) { return nan_(); }
    if (odd) { return -r; }
  }
  return r;
}
fn ipow_(x: i32, y: i32) -> i32 {
  if (y < 0) { return select(0, select(-1, 1, (y & 1) == 0), x == -1) + select(0, 1, x == 1); }
  var r = 1; var b = x; var e = y;
  loop { if (e == 0) { break; } if ((e & 1) != 0) { r = r * b; } b = b * b; e = e >> 1; }
  return r;
}
fn fmax_(x: f32, y: f32) -> f32 { if (isnan_(x) || isnan_(y)) { return nan_(); } return max(x, y); }
fn fmin_(x: f32, y: f32) -> f32 { if (isnan_(x) || isnan_(y)) { return nan_(); } return min(x, y); }
fn fsign_(x: f32) -> f32 { if (isnan_(x)) { return x; } return sign(x); }
// Through the sign bit: GLSL backends may not keep IEEE comparisons with NaN.
fn relu_(x: f32) -> f32 { return select(x, 0.0, (bitcast<u32>(x) & 0x80000000u) != 0u && !isnan_(x)); }
// clamp's bounds: flags word 2 (bit 0 min, bit 1 max), values in words 48 and 49.
fn clampf_(x: f32) -> f32 {
  if (isnan_(x)) { return x; }
  var r = x;
  if ((w(2u) & 1u) != 0u) { r = max(r, wf(48u)); }
  if ((w(2u) & 2u) != 0u) { r = min(r, wf(49u)); }
  return r;
}
fn clampi_(x: i32) -> i32 {
  var r = x;
  if ((w(2u) & 1u) != 0u) { r = max(r, bitcast<i32>(w(48u))); }
  if ((w(2u) & 2u) != 0u) { r = min(r, bitcast<i32>(w(49u))); }
  return r;
}
`;

/** The entry point of a one-invocation-per-element shader: `i` is the element; those past `count` return. */
export const perElement = (count: string): string => /* wgsl */ `@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = flat(wg, nwg, li);
  if (i >= ${count}) { return; }`;

const UNARY_F: Record<UnaryOp, string> = {
  neg: "-x", exp: "exp(x)", log: "log(x)", sqrt: "sqrt(x)", rsqrt: "inverseSqrt(x)", abs: "abs(x)",
  sign: "fsign_(x)", tanh: "tanh_(x)", sigmoid: "1.0 / (1.0 + exp(-x))", relu: "relu_(x)", erf: "erf_(x)",
  sin: "sin(x)", cos: "cos(x)", log1p: "log1p_(x)", expm1: "expm1_(x)", floor: "floor(x)", ceil: "ceil(x)",
  round: "round(x)", reciprocal: "1.0 / x", square: "x * x",
  isfinite: "select(0, 1, (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u)", isnan: "select(0, 1, isnan_(x))",
};
const UNARY_I: Partial<Record<UnaryOp, string>> = {
  neg: "-x", abs: "abs(x)", sign: "sign(x)", relu: "max(x, 0)", square: "x * x", floor: "x", ceil: "x", round: "x",
  isfinite: "1", isnan: "0",
};
const BINARY_F: Record<BinaryOp, string> = {
  add: "x + y", sub: "x - y", mul: "x * y", div: "x / y", pow: "pow_(x, y)", maximum: "fmax_(x, y)",
  minimum: "fmin_(x, y)", atan2: "atan2(x, y)",
  eq: "select(0, 1, x == y)", ne: "select(0, 1, x != y)", lt: "select(0, 1, x < y)", le: "select(0, 1, x <= y)",
  gt: "select(0, 1, x > y)", ge: "select(0, 1, x >= y)",
};
const BINARY_I: Partial<Record<BinaryOp, string>> = {
  add: "x + y", sub: "x - y", mul: "x * y", pow: "ipow_(x, y)", maximum: "max(x, y)", minimum: "min(x, y)",
  eq: "select(0, 1, x == y)", ne: "select(0, 1, x != y)", lt: "select(0, 1, x < y)", le: "select(0, 1, x <= y)",
  gt: "select(0, 1, x > y)", ge: "select(0, 1, x >= y)",
};

/** The element type the op computes in: integers only where the op is exact on them. */
export function computeType(op: string, kind: "unary" | "binary", inputs: Elem[]): Elem {
  if (inputs.some((e) => e === "f32")) return "f32";
  const table = kind === "unary" ? UNARY_I : BINARY_I;
  return op in table ? "i32" : "f32";
}

/**
 * Word layout of the elementwise uniform: 0 n, 1 rank, 2-3 flags, 4-7 offsets of inputs 0-2 and
 * the output, 8-15 shape, then strides: 16 input 0, 24 input 1, 32 input 2, 40 output, and
 * 48-49 two float parameters.
 */
export const EW = { n: 0, rank: 1, flags: 2, off: 4, shape: 8, strides: [16, 24, 32, 40], params: 48 } as const;

/**
 * An elementwise shader: `expr` over x, y, z (the inputs converted to the compute type `ct`);
 * the output is contiguous unless `stridedOut`.
 */
export function elementwiseSource(inputs: Elem[], out: Elem, ct: Elem, expr: string, stridedOut: boolean): string {
  const names = ["x", "y", "z"];
  const decls = inputs.map((e, k) => `@group(0) @binding(${k + 1}) var<storage, read> A${k}: array<${e}>;`).join("\n");
  const loads = inputs.map((_, k) => `  let ${names[k]} = ${ct}(A${k}[o${k}]);`).join("\n");
  const offs = inputs.map((_, k) => `  var o${k} = w(${EW.off + k}u);`).join("\n");
  const adds = inputs.map((_, k) => `    o${k} += c * w(${EW.strides[k]}u + d);`).join("\n");
  const value = `${out}(${expr})`;
  return /* wgsl */ `${HELPERS}
${decls}
@group(0) @binding(${inputs.length + 1}) var<storage, read_write> Y: array<${out}>;
${perElement(`w(${EW.n}u)`)}
${offs}
  var oy = w(${EW.off + 3}u);
  var rem = i;
  let rank = w(${EW.rank}u);
  for (var k = 0u; k < rank; k++) {
    let d = rank - 1u - k;
    let s = w(${EW.shape}u + d);
    let c = rem % s;
    rem = rem / s;
${adds}
    oy += c * w(${EW.strides[3]}u + d);
  }
${loads}
  Y[${stridedOut ? "oy" : "i"}] = ${value};
}`;
}

export function unaryExpr(op: UnaryOp, ct: Elem): string {
  const e = ct === "f32" ? UNARY_F[op] : UNARY_I[op];
  if (e === undefined) throw new Error(`no integer form of ${op}`);
  return e;
}

export function binaryExpr(op: BinaryOp, ct: Elem): string {
  const e = ct === "f32" ? BINARY_F[op] : BINARY_I[op];
  if (e === undefined) throw new Error(`no integer form of ${op}`);
  return e;
}


/** clamp with optional bounds (flags bit 0: min, bit 1: max); NaN passes through, as in PyTorch. */
export function clampExpr(ct: Elem): string {
  return ct === "f32" ? "clampf_(x)" : "clampi_(x)";
}

/**
 * Word layout of the reduction uniform: 0 outputs, 1 reduced count R, 2 kept rank, 3 reduced
 * rank, 4 input offset, 8-15 kept shape, 16-23 kept strides, 24-31 reduced shape, 32-39 reduced
 * strides.
 */
export const RD = { nOut: 0, R: 1, rankK: 2, rankR: 3, off: 4, kShape: 8, kStride: 16, rShape: 24, rStride: 32 } as const;

function reduceOps(op: ReduceOp, e: Elem): { id: string; comb: string } {
  const f = e === "f32";
  switch (op) {
    case "sum":
      return { id: f ? "0.0" : "0", comb: "a + b" };
    case "prod":
      return { id: f ? "1.0" : "1", comb: "a * b" };
    case "max":
      return { id: f ? "-inf_()" : "i32(-2147483647 - 1)", comb: f ? "fmax_(a, b)" : "max(a, b)" };
    case "min":
      return { id: f ? "inf_()" : "2147483647", comb: f ? "fmin_(a, b)" : "min(a, b)" };
  }
}

const KEPT_OFFSET = /* wgsl */ `
fn keptOffset(out: u32) -> u32 {
  var rem = out;
  var o = w(${RD.off}u);
  let rank = w(${RD.rankK}u);
  for (var k = 0u; k < rank; k++) {
    let d = rank - 1u - k;
    let s = w(${RD.kShape}u + d);
    o += (rem % s) * w(${RD.kStride}u + d);
    rem = rem / s;
  }
  return o;
}
fn reducedOffset(j: u32) -> u32 {
  var rem = j;
  var o = 0u;
  let rank = w(${RD.rankR}u);
  for (var k = 0u; k < rank; k++) {
    let d = rank - 1u - k;
    let s = w(${RD.rShape}u + d);
    o += (rem % s) * w(${RD.rStride}u + d);
    rem = rem / s;
  }
  return o;
}`;

/**
 * A reduction over the reduced dims of each output. `cooperative`: one workgroup per output,
 * its threads striding over the reduced elements then combining in a tree (long reductions);
 * otherwise one thread per output (short ones).
 */
export function reduceSource(op: ReduceOp, e: Elem, cooperative: boolean): string {
  const { id, comb } = reduceOps(op, e);
  const head = `${HELPERS}${KEPT_OFFSET}
fn comb(a: ${e}, b: ${e}) -> ${e} { return ${comb}; }
@group(0) @binding(1) var<storage, read> X: array<${e}>;
@group(0) @binding(2) var<storage, read_write> Y: array<${e}>;`;
  if (!cooperative) {
    return /* wgsl */ `${head}
${perElement(`w(${RD.nOut}u)`)}
  let base = keptOffset(i);
  var acc: ${e} = ${id};
  for (var j = 0u; j < w(${RD.R}u); j++) { acc = comb(acc, X[base + reducedOffset(j)]); }
  Y[i] = acc;
}`;
  }
  return /* wgsl */ `${head}
var<workgroup> part: array<${e}, 64>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = wg.y * nwg.x + wg.x;
  let live = i < w(${RD.nOut}u);
  var acc: ${e} = ${id};
  if (live) {
    let base = keptOffset(i);
    for (var j = li; j < w(${RD.R}u); j += 64u) { acc = comb(acc, X[base + reducedOffset(j)]); }
  }
  part[li] = acc;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s = s >> 1u) {
    if (li < s) { part[li] = comb(part[li], part[li + s]); }
    workgroupBarrier();
  }
  if (live && li == 0u) { Y[i] = part[0]; }
}`;
}

/** Index of the first extreme along the reduced dim (R elements at stride rStride[0]); NaN wins, as in PyTorch. */
export function argReduceSource(op: "argmax" | "argmin", e: Elem): string {
  const better = op === "argmax" ? "v > best" : "v < best";
  const nanCheck = e === "f32" ? "if (isnan_(v)) { bi = j; break; }" : "";
  return /* wgsl */ `${HELPERS}${KEPT_OFFSET}
@group(0) @binding(1) var<storage, read> X: array<${e}>;
@group(0) @binding(2) var<storage, read_write> Y: array<i32>;
${perElement(`w(${RD.nOut}u)`)}
  let base = keptOffset(i);
  let st = w(${RD.rStride}u);
  var best = X[base];
  var bi = 0u;
  for (var j = 0u; j < w(${RD.R}u); j++) {
    let v = X[base + j * st];
    ${nanCheck}
    if (${better}) { best = v; bi = j; }
  }
  Y[i] = i32(bi);
}`;
}

/** Per row of x [N, C] (contiguous): lse and the (label-smoothed) loss at the target; ignored rows 0. */
export const CE_FORWARD = /* wgsl */ `${HELPERS}
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> T: array<i32>;
@group(0) @binding(3) var<storage, read_write> L: array<f32>;
@group(0) @binding(4) var<storage, read_write> LSE: array<f32>;
var<workgroup> red: array<f32, 64>;
var<workgroup> red2: array<f32, 64>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let row = wg.y * nwg.x + wg.x;
  let N = w(0u);
  let C = w(1u);
  let live = row < N;
  let base = row * C;
  var m = -inf_();
  if (live) { for (var j = li; j < C; j += 64u) { m = fmax_(m, X[base + j]); } }
  red[li] = m;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s = s >> 1u) { if (li < s) { red[li] = fmax_(red[li], red[li + s]); } workgroupBarrier(); }
  let mx = red[0];
  workgroupBarrier();
  var se = 0.0;
  var sx = 0.0;
  if (live) { for (var j = li; j < C; j += 64u) { let v = X[base + j]; se += exp(v - mx); sx += v; } }
  red[li] = se;
  red2[li] = sx;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s = s >> 1u) { if (li < s) { red[li] += red[li + s]; red2[li] += red2[li + s]; } workgroupBarrier(); }
  if (live && li == 0u) {
    let lse = mx + log(red[0]);
    LSE[row] = lse;
    let t = T[row];
    let eps = wf(3u);
    if (t == bitcast<i32>(w(2u))) { L[row] = 0.0; }
    else { L[row] = (1.0 - eps) * (lse - X[base + u32(t)]) + eps * (lse - red2[0] / f32(C)); }
  }
}`;

/** dx = g[n]·(softmax(x_n) − (1 − ε)·onehot(t_n) − ε/C); g read at offset w4 with stride w5. */
export const CE_BACKWARD = /* wgsl */ `${HELPERS}
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> T: array<i32>;
@group(0) @binding(3) var<storage, read> LSE: array<f32>;
@group(0) @binding(4) var<storage, read> G: array<f32>;
@group(0) @binding(5) var<storage, read_write> DX: array<f32>;
${perElement("w(0u) * w(1u)")}
  let C = w(1u);
  let row = i / C;
  let c = i % C;
  let t = T[row];
  if (t == bitcast<i32>(w(2u))) { DX[i] = 0.0; return; }
  let eps = wf(3u);
  let g = G[w(4u) + row * w(5u)];
  var d = exp(X[i] - LSE[row]) - eps / f32(C);
  if (u32(t) == c) { d -= 1.0 - eps; }
  DX[i] = g * d;
}`;

/**
 * PyTorch's single-tensor Adam/AdamW step, operation by operation in float32 (as the reference
 * kernel rounds them). Words: 0 n, 1 flags (1 decoupled, 2 maximize, 4 amsgrad, 8 weight decay),
 * 2 -step size, 3 sqrt(bias correction 2), 4 1 − lr·λ, 5 λ, 6 1 − β1, 7 β2, 8 1 − β2, 9 eps.
 */
export const ADAM = /* wgsl */ `${HELPERS}
@group(0) @binding(1) var<storage, read_write> Pm: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
@group(0) @binding(3) var<storage, read_write> M: array<f32>;
@group(0) @binding(4) var<storage, read_write> V: array<f32>;
@group(0) @binding(5) var<storage, read_write> VMAX: array<f32>;
${perElement("w(0u)")}
  let fl = w(1u);
  var g = G[i];
  if ((fl & 2u) != 0u) { g = -g; }
  var p = Pm[i];
  if ((fl & 8u) != 0u) {
    if ((fl & 1u) != 0u) { p = p * wf(4u); } else { g = g + wf(5u) * p; }
  }
  let w1 = wf(6u);
  let d = g - M[i];
  var m = 0.0;
  if (abs(w1) < 0.5) { m = M[i] + w1 * d; } else { m = g - d * (1.0 - w1); }
  M[i] = m;
  let v = V[i] * wf(7u) + (wf(8u) * g) * g;
  V[i] = v;
  var second = v;
  if ((fl & 4u) != 0u) { second = max(VMAX[i], v); VMAX[i] = second; }
  let denom = sqrt(second) / wf(3u) + wf(9u);
  Pm[i] = p + (wf(2u) * m) / denom;
}`;

/** PyTorch's single-tensor SGD. Words: 0 n, 1 flags (1 momentum, 2 first, 4 nesterov, 8 maximize, 16 decay), 2 μ, 3 λ, 4 −lr, 5 1 − dampening. */
export const SGD = /* wgsl */ `${HELPERS}
@group(0) @binding(1) var<storage, read_write> Pm: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
@group(0) @binding(3) var<storage, read_write> B: array<f32>;
${perElement("w(0u)")}
  let fl = w(1u);
  var g = G[i];
  if ((fl & 8u) != 0u) { g = -g; }
  if ((fl & 16u) != 0u) { g = g + wf(3u) * Pm[i]; }
  if ((fl & 1u) != 0u) {
    var b = g;
    if ((fl & 2u) == 0u) { b = B[i] * wf(2u) + wf(5u) * g; }
    B[i] = b;
    if ((fl & 4u) != 0u) { g = g + wf(2u) * b; } else { g = b; }
  }
  Pm[i] = Pm[i] + wf(4u) * g;
}`;
