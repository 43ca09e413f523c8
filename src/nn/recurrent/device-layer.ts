import { isGradEnabled } from "../../autograd/mode.js";
import { type DeviceLayerSpec, type DeviceLayerWeights, deviceKernels } from "../../backend/device.js";
import { record } from "../../tensor/record.js";
import { dv, emptyOn } from "../../tensor/device.js";
import { indexSelect } from "../../tensor/primitives/indexing.js";
import { Tensor } from "../../tensor/tensor.js";
import type { LayerOptions, LayerParams, LayerResult } from "./fused.js";

/** x [T, B, F] with time reversed (all sequences full length), through autograd. */
function flipTime(x: Tensor): Tensor {
  const T = x.shape[0];
  return indexSelect(x, 0, new Tensor(Int32Array.from({ length: T }, (_, t) => T - 1 - t), [T]));
}

/**
 * One layer and direction on a device with its fused sequence kernels, as one autograd node; null
 * when the device or the configuration has none (lengths, a projection, no biases, Cho's GRU,
 * a plain RNN), and the caller runs the composite instead.
 */
export function deviceLayer(x: Tensor, p: LayerParams, h0: Tensor | null, c0: Tensor | null, o: LayerOptions): LayerResult | null {
  const k = deviceKernels(x.device);
  const fusable = o.cell === "lstm" || (o.cell === "gru" && o.resetAfter);
  if (!k.layerForward || !k.layerBackward || !fusable || o.lengths || !p.bIh || !p.bHh || p.wHr || x.dtype !== "float32") return null;
  const xin = o.reverse ? flipTime(x) : x;
  const [T, B, I] = xin.shape;
  const H = p.wHh.shape[1];
  const lstm = o.cell === "lstm";
  const s: DeviceLayerSpec = { cell: lstm ? "lstm" : "gru", T, B, I, H };
  const weights = [p.wIh, p.wHh, p.bIh, p.bHh];
  const view = (ts: Tensor[]): DeviceLayerWeights => {
    const [wIh, wHh, bIh, bHh] = ts.map((t) => dv(t, k));
    return { wIh, wHh, bIh, bHh };
  };
  const dev = x.device;
  const y = emptyOn(dev, "float32", [T, B, H]);
  const hN = emptyOn(dev, "float32", [B, H]);
  const cN = lstm ? emptyOn(dev, "float32", [B, H]) : null;
  const inputs = [xin, ...weights, ...(h0 ? [h0] : []), ...(lstm && c0 ? [c0] : [])];
  const keep = isGradEnabled() && inputs.some((t) => t.requiresGrad);
  const saved = k.layerForward(s, dv(xin, k), view(weights), h0 ? dv(h0, k) : null, lstm && c0 ? dv(c0, k) : null, y.dev!, hN.dev!, cN?.dev ?? null, keep);
  const outputs = cN ? [y, hN, cN] : [y, hN];
  record(lstm ? "lstmLayer" : "gruLayer", outputs, inputs, ([gy, gh, gc]) => {
    const need = (t: Tensor | null) => (t?.requiresGrad ? emptyOn(dev, "float32", t.shape) : null);
    const dx = need(xin);
    const dw = weights.map((w) => emptyOn(dev, "float32", w.shape));
    const dh0 = need(h0);
    const dc0 = lstm ? need(c0) : null;
    k.layerBackward!(
      s, saved, dv(xin, k), view(weights), dv(gy, k), dv(gh, k), gc ? dv(gc, k) : null,
      dx?.dev ?? null, view(dw), dh0?.dev ?? null, dc0?.dev ?? null,
    );
    return [dx, ...dw, ...(h0 ? [dh0] : []), ...(lstm && c0 ? [dc0] : [])];
  });
  return { y: o.reverse ? flipTime(y) : y, h: hN, c: cN };
}
