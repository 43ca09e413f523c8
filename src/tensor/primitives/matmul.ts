import { DTypeError, ShapeError, fmtShape } from "../../core/errors.js";
import { broadcastShapes, numel } from "../../core/shape.js";
import { kernel } from "../../backend/registry.js";
import { record } from "../record.js";
import type { Tensor } from "../tensor.js";
import { expand, permute, reshape } from "./movement.js";
import { deviceOf, dv, emptyOn, onDevice } from "../device.js";

/** Batched product of 3-d operands a [B, M, K] and b [B, K, N] (views of any strides). */
export function bmm(a: Tensor, b: Tensor): Tensor {
  if (a.ndim !== 3 || b.ndim !== 3) {
    throw new ShapeError(`bmm: both operands must be 3-d, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  }
  if (a.dtype !== b.dtype) {
    throw new DTypeError(`bmm: both operands must have the same dtype, got ${a.dtype} and ${b.dtype}`);
  }
  if (a.shape[0] !== b.shape[0]) {
    throw new ShapeError(`bmm: batch sizes differ: ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  }
  if (a.shape[2] !== b.shape[1]) {
    throw new ShapeError(`bmm: shapes ${fmtShape(a.shape)} and ${fmtShape(b.shape)} cannot be multiplied (${a.shape[2]} vs ${b.shape[1]})`);
  }
  const [B, M] = a.shape;
  const N = b.shape[2];
  const dev = deviceOf("matmul", a, b);
  const k = onDevice(dev);
  const out = emptyOn(dev, a.dtype, [B, M, N]);
  if (k) k.matmul(dv(a, k), dv(b, k), out.dev!);
  else kernel("matmul")(a, b, out.data);
  record("matmul", [out], [a, b], ([g]) => [
    a.requiresGrad ? bmm(g, permute(b, [0, 2, 1])) : null,
    b.requiresGrad ? bmm(permute(a, [0, 2, 1]), g) : null,
  ]);
  return out;
}

/** torch.matmul: 1-d operands are promoted and squeezed back; batch dims broadcast. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.dtype !== b.dtype) {
    throw new DTypeError(`matmul: both operands must have the same dtype, got ${a.dtype} and ${b.dtype}`);
  }
  if (a.ndim === 0 || b.ndim === 0) {
    throw new ShapeError(`matmul: both operands need at least 1 dim, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  }
  const a2 = a.ndim === 1 ? reshape(a, [1, a.shape[0]]) : a;
  const b2 = b.ndim === 1 ? reshape(b, [b.shape[0], 1]) : b;
  const M = a2.shape[a2.ndim - 2];
  const K = a2.shape[a2.ndim - 1];
  const N = b2.shape[b2.ndim - 1];
  if (b2.shape[b2.ndim - 2] !== K) {
    throw new ShapeError(
      `matmul: shapes ${fmtShape(a.shape)} and ${fmtShape(b.shape)} cannot be multiplied (${K} vs ${b2.shape[b2.ndim - 2]})`,
    );
  }
  const batchA = a2.shape.slice(0, -2);
  const batchB = b2.shape.slice(0, -2);
  let out: Tensor;
  let batch: number[];
  if (batchB.length === 0) {
    // (..., M, K) @ (K, N): fold the batch into M, one large product.
    batch = batchA;
    const P = numel(batchA) * M;
    out = bmm(reshape(a2, [1, P, K]), reshape(b2, [1, K, N]));
  } else {
    batch = broadcastShapes("matmul", batchA, batchB);
    const Bn = numel(batch);
    const a3 = reshape(expand(a2, [...batch, M, K]), [Bn, M, K]);
    const b3 = reshape(expand(b2, [...batch, K, N]), [Bn, K, N]);
    out = bmm(a3, b3);
  }
  const shape = [...batch];
  if (a.ndim > 1) shape.push(M);
  if (b.ndim > 1) shape.push(N);
  return reshape(out, shape);
}
