import type { DType } from "../../core/dtype.js";
import { broadcastShapes } from "../../core/shape.js";
import type { BinaryOp } from "../../backend/kernels.js";
import { kernel } from "../../backend/registry.js";
import { record } from "../record.js";
import { Tensor, type TensorLike } from "../tensor.js";
import { cast, expand, sumToShape } from "./movement.js";
import { asTensor, resultType } from "./util.js";
import { deviceOf, dv, emptyOn, onDevice } from "../device.js";

/** Runs a broadcasting binary kernel; returns the output and the (cast) operands. */
function apply(op: BinaryOp, name: string, a: TensorLike, b: TensorLike, outDtype?: DType): [Tensor, Tensor, Tensor] {
  const dt = resultType(a, b);
  let ta = asTensor(name, a, dt);
  let tb = asTensor(name, b, dt);
  if (ta.dtype !== dt) ta = cast(ta, dt);
  if (tb.dtype !== dt) tb = cast(tb, dt);
  const shape = broadcastShapes(name, ta.shape, tb.shape);
  const dev = deviceOf(name, ta, tb);
  const k = onDevice(dev);
  const out = emptyOn(dev, outDtype ?? dt, shape);
  const ea = expand(ta.detach(), shape);
  const eb = expand(tb.detach(), shape);
  if (k) k.binary(op, dv(ea, k), dv(eb, k), out.dev!);
  else kernel("binary")(op, ea, eb, out.data);
  return [out, ta, tb];
}

export function add(a: TensorLike, b: TensorLike): Tensor {
  const [out, ta, tb] = apply("add", "add", a, b);
  record("add", [out], [ta, tb], ([g]) => [
    ta.requiresGrad ? sumToShape(g, ta.shape) : null,
    tb.requiresGrad ? sumToShape(g, tb.shape) : null,
  ]);
  return out;
}

export function sub(a: TensorLike, b: TensorLike): Tensor {
  const [out, ta, tb] = apply("sub", "sub", a, b);
  record("sub", [out], [ta, tb], ([g]) => [
    ta.requiresGrad ? sumToShape(g, ta.shape) : null,
    tb.requiresGrad ? sumToShape(g.neg(), tb.shape) : null,
  ]);
  return out;
}

export function mul(a: TensorLike, b: TensorLike): Tensor {
  const [out, ta, tb] = apply("mul", "mul", a, b);
  record("mul", [out], [ta, tb], ([g]) => [
    ta.requiresGrad ? sumToShape(mul(g, tb), ta.shape) : null,
    tb.requiresGrad ? sumToShape(mul(g, ta), tb.shape) : null,
  ]);
  return out;
}

export function div(a: TensorLike, b: TensorLike): Tensor {
  // Integer tensors divide as floats (true division), as in PyTorch.
  const dt = resultType(a, b);
  const fa = dt === "int32" ? toFloat(a) : a;
  const fb = dt === "int32" ? toFloat(b) : b;
  const [out, ta, tb] = apply("div", "div", fa, fb);
  record("div", [out], [ta, tb], ([g]) => [
    ta.requiresGrad ? sumToShape(div(g, tb), ta.shape) : null,
    tb.requiresGrad ? sumToShape(mul(g, out).div(tb).neg(), tb.shape) : null,
  ]);
  return out;
}

function toFloat(x: TensorLike): TensorLike {
  return x instanceof Tensor ? cast(x, "float32") : x;
}

export function pow(a: TensorLike, b: TensorLike): Tensor {
  const [out, ta, tb] = apply("pow", "pow", a, b);
  record("pow", [out], [ta, tb], ([g]) => [
    ta.requiresGrad ? sumToShape(mul(g, mul(tb, pow(ta, sub(tb, 1)))), ta.shape) : null,
    // d/db a^b = a^b log a, taken as 0 where a == 0 and b >= 0 (PyTorch's convention).
    tb.requiresGrad
      ? sumToShape(where(ta.eq(0).mul(tb.ge(0)), 0, mul(g, mul(out, ta.log()))), tb.shape)
      : null,
  ]);
  return out;
}

/** Where a and b tie, each receives half of the gradient, as in PyTorch. */
function minmax(op: "maximum" | "minimum", a: TensorLike, b: TensorLike): Tensor {
  const [out, ta, tb] = apply(op, op, a, b);
  record(op, [out], [ta, tb], ([g]) => {
    const win = op === "maximum" ? ta.gt(tb) : ta.lt(tb);
    const tie = ta.eq(tb);
    const wa = add(win, mul(tie, 0.5));
    return [
      ta.requiresGrad ? sumToShape(mul(g, wa), ta.shape) : null,
      tb.requiresGrad ? sumToShape(mul(g, sub(1, wa)), tb.shape) : null,
    ];
  });
  return out;
}

export const maximum = (a: TensorLike, b: TensorLike): Tensor => minmax("maximum", a, b);
export const minimum = (a: TensorLike, b: TensorLike): Tensor => minmax("minimum", a, b);

export function atan2(a: TensorLike, b: TensorLike): Tensor {
  const [out, ta, tb] = apply("atan2", "atan2", a, b);
  record("atan2", [out], [ta, tb], ([g]) => {
    const den = add(mul(ta, ta), mul(tb, tb));
    return [
      ta.requiresGrad ? sumToShape(mul(g, tb).div(den), ta.shape) : null,
      tb.requiresGrad ? sumToShape(mul(g, ta).div(den).neg(), tb.shape) : null,
    ];
  });
  return out;
}

/** Comparisons return int32 masks of 0 and 1 and carry no gradient. */
export function compare(op: "eq" | "ne" | "lt" | "le" | "gt" | "ge", a: TensorLike, b: TensorLike): Tensor {
  return apply(op, op, a, b, "int32")[0];
}

/** Elementwise choice: cond (any dtype, nonzero = true) ? a : b, all three broadcast. */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  const dt = resultType(a, b);
  let ta = asTensor("where", a, dt);
  let tb = asTensor("where", b, dt);
  if (ta.dtype !== dt) ta = cast(ta, dt);
  if (tb.dtype !== dt) tb = cast(tb, dt);
  const shape = broadcastShapes("where", cond.shape, ta.shape, tb.shape);
  const dev = deviceOf("where", cond, ta, tb);
  const k = onDevice(dev);
  const out = emptyOn(dev, dt, shape);
  const [ec, ea, eb] = [cond, ta, tb].map((t) => expand(t.detach(), shape));
  if (k) k.where(dv(ec, k), dv(ea, k), dv(eb, k), out.dev!);
  else kernel("where")(ec, ea, eb, out.data);
  record("where", [out], [ta, tb], ([g]) => [
    ta.requiresGrad ? sumToShape(where(cond, g, 0), ta.shape) : null,
    tb.requiresGrad ? sumToShape(where(cond, 0, g), tb.shape) : null,
  ]);
  return out;
}
