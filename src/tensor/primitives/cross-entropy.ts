import { allocate } from "../../core/dtype.js";
import { ShapeError, fmtShape } from "../../core/errors.js";
import { kernel } from "../../backend/registry.js";
import { record } from "../record.js";
import { Tensor } from "../tensor.js";
import { requireFloat } from "./util.js";
import { dv, emptyOn, onDevice } from "../device.js";

/**
 * Cross-entropy of each row of logits x [N, C] (any strides) at class targets, as one node:
 * log-softmax, the pick at the target and label smoothing run in one kernel pass, and the
 * gradient softmax − target distribution is written by hand instead of through the 6–8 nodes
 * of the composite. Rows whose target is ignoreIndex get loss 0 and gradient 0. `target` holds
 * one class index per row, already checked to lie in [0, C) or equal ignoreIndex.
 */
export function crossEntropyRows(x: Tensor, target: Int32Array, ignoreIndex: number, labelSmoothing: number): Tensor {
  requireFloat("crossEntropy", x);
  if (x.ndim !== 2 || target.length !== x.shape[0]) {
    throw new ShapeError(`crossEntropy: fused rows need logits [N, C] and N targets, got ${fmtShape(x.shape)} and ${target.length}`);
  }
  const N = x.shape[0];
  const C = x.shape[1];
  const k = onDevice(x.device);
  if (k) {
    const loss = emptyOn(x.device, x.dtype, [N]);
    const lse = emptyOn(x.device, x.dtype, [N]);
    k.crossEntropyForward(dv(x, k), target, ignoreIndex, labelSmoothing, loss.dev!, lse.dev!);
    record("crossEntropy", [loss], [x], ([g]) => {
      const gk = onDevice(g.device)!;
      const dx = emptyOn(x.device, x.dtype, [N, C]);
      gk.crossEntropyBackward(dv(x, gk), target, ignoreIndex, labelSmoothing, lse.dev!, dv(g.dtype === x.dtype ? g : g.to(x.dtype), gk), dx.dev!);
      return [dx];
    });
    return loss;
  }
  const loss = new Tensor(allocate(x.dtype, N), [N]);
  const lse = allocate(x.dtype, N);
  kernel("crossEntropyForward")(x, target, ignoreIndex, labelSmoothing, loss.data, lse);
  record("crossEntropy", [loss], [x], ([g]) => {
    const dx = new Tensor(allocate(x.dtype, N * C), [N, C]);
    // The incoming gradient is often a broadcast view of one number (from sum or mean).
    const gLoss = g.dtype === x.dtype ? g.toArray() : g.to(x.dtype).toArray();
    kernel("crossEntropyBackward")(x, target, ignoreIndex, labelSmoothing, lse, gLoss, dx.data);
    return [dx];
  });
  return loss;
}
