import type { DType } from "../../core/dtype.js";
import type { UnaryOp } from "../../backend/kernels.js";
import { kernel } from "../../backend/registry.js";
import { record } from "../record.js";
import type { Tensor } from "../tensor.js";
import { mul, sub, where } from "./binary.js";
import { dv, emptyOn, onDevice } from "../device.js";

const FLOAT_ONLY = new Set<UnaryOp>([
  "exp", "log", "sqrt", "rsqrt", "tanh", "sigmoid", "erf", "sin", "cos", "log1p", "expm1", "reciprocal",
]);

function run(op: UnaryOp, x: Tensor, dtype?: DType): Tensor {
  // Transcendental functions of integers give floats, as in PyTorch.
  const dt = dtype ?? (x.dtype === "int32" && FLOAT_ONLY.has(op) ? "float32" : x.dtype);
  const k = onDevice(x.device);
  const out = emptyOn(x.device, dt, x.shape);
  if (k) k.unary(op, dv(x, k), out.dev!);
  else kernel("unary")(op, x, out.data);
  return out;
}

function unaryOp(op: UnaryOp, grad: ((g: Tensor, x: Tensor, out: Tensor) => Tensor) | null) {
  return (x: Tensor): Tensor => {
    const out = run(op, x);
    if (grad) record(op, [out], [x], ([g]) => [grad(g, x, out)]);
    return out;
  };
}

export const neg = unaryOp("neg", (g) => neg(g));
export const exp = unaryOp("exp", (g, _x, y) => mul(g, y));
export const log = unaryOp("log", (g, x) => g.div(x));
export const sqrt = unaryOp("sqrt", (g, _x, y) => g.div(mul(y, 2)));
export const rsqrt = unaryOp("rsqrt", (g, _x, y) => mul(g, mul(y.pow(3), -0.5)));
export const abs = unaryOp("abs", (g, x) => mul(g, sign(x)));
export const sign = unaryOp("sign", (g) => mul(g, 0));
export const tanh = unaryOp("tanh", (g, _x, y) => mul(g, sub(1, mul(y, y))));
export const sigmoid = unaryOp("sigmoid", (g, _x, y) => mul(g, mul(y, sub(1, y))));
export const relu = unaryOp("relu", (g, x) => mul(g, x.gt(0)));
export const erf = unaryOp("erf", (g, x) => mul(g, exp(mul(x, x).neg()).mul(2 / Math.sqrt(Math.PI))));
export const sin = unaryOp("sin", (g, x) => mul(g, cos(x)));
export const cos = unaryOp("cos", (g, x) => mul(g, sin(x)).neg());
export const log1p = unaryOp("log1p", (g, x) => g.div(x.add(1)));
export const expm1 = unaryOp("expm1", (g, _x, y) => mul(g, y.add(1)));
export const reciprocal = unaryOp("reciprocal", (g, _x, y) => mul(g, mul(y, y)).neg());
export const square = unaryOp("square", (g, x) => mul(g, mul(x, 2)));
export const floor = unaryOp("floor", (g) => mul(g, 0));
export const ceil = unaryOp("ceil", (g) => mul(g, 0));
export const round = unaryOp("round", (g) => mul(g, 0));

export function isfinite(x: Tensor): Tensor {
  return run("isfinite", x, "int32");
}
export function isnan(x: Tensor): Tensor {
  return run("isnan", x, "int32");
}

/** Gradient passes where min <= x <= max (inclusive bounds, as in PyTorch). */
export function clamp(x: Tensor, min: number, max: number): Tensor {
  const k = onDevice(x.device);
  const out = emptyOn(x.device, x.dtype, x.shape);
  if (k) k.clamp(dv(x, k), min, max, out.dev!);
  else kernel("clamp")(x, min, max, out.data);
  record("clamp", [out], [x], ([g]) => [where(x.ge(min).mul(x.le(max)), g, 0)]);
  return out;
}
