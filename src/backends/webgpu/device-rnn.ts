/**
 * Recurrent layers on the "webgpu" device with the fused gate kernels of the GPU language model:
 * all steps' input projection as one matmul, then per step one recurrent matmul and one gate
 * kernel, the backward sweep likewise, all encoded into the open command buffer. Unlike the
 * language model's path, initial and final states take part in the gradient.
 */
import type { DeviceBuffer, DeviceLayerSpec, DeviceLayerWeights, DeviceView } from "../../backend/device.js";
import { GpuTensor } from "./gpu-tensor.js";
import { type GruWork, gruForward, gruGatesBackward } from "./gru.js";
import { type LstmWeights, type LstmWork, lstmForward, lstmGatesBackward } from "./lstm.js";
import { matmul } from "./matmul.js";
import { sum } from "./reduce.js";
import type { WebGpuBuffer, WebGpuDevice } from "./device.js";

interface Saved {
  work: LstmWork | GruWork;
  /** Keeps the buffers behind `work` alive (and pooled when collected). */
  owners: WebGpuBuffer[];
}

function tensors(dev: WebGpuDevice, s: DeviceLayerSpec, w: DeviceLayerWeights): LstmWeights {
  const G = s.cell === "lstm" ? 4 : 3;
  const t = (v: DeviceView, shape: number[]) => new GpuTensor(dev.gpu, dev.buf(dev.contiguousAt0(v).buf), shape, "float32");
  return { wIh: t(w.wIh, [G * s.H, s.I]), wHh: t(w.wHh, [G * s.H, s.H]), bIh: t(w.bIh, [G * s.H]), bHh: t(w.bHh, [G * s.H]) };
}

function input(dev: WebGpuDevice, s: DeviceLayerSpec, x: DeviceView): GpuTensor {
  return new GpuTensor(dev.gpu, dev.buf(dev.contiguousAt0(x).buf), [s.T * s.B, s.I], "float32");
}

export function layerForward(
  dev: WebGpuDevice, s: DeviceLayerSpec, x: DeviceView, w: DeviceLayerWeights, h0: DeviceView | null, c0: DeviceView | null,
  y: DeviceBuffer, hN: DeviceBuffer, cN: DeviceBuffer | null, keep: boolean,
): Saved | null {
  const { T, B, H } = s;
  const gpu = dev.gpu;
  const owners: WebGpuBuffer[] = [];
  const e = (shape: number[]) => {
    const b = dev.alloc("float32", shape.reduce((a, c) => a * c, 1));
    owners.push(b);
    return new GpuTensor(gpu, b.buffer, shape, "float32");
  };
  const bytes = B * H * 4;
  const state = (v: DeviceView | null, into: GpuTensor) => {
    if (v) gpu.copy(dev.buf(dev.contiguousAt0(v).buf), 0, into.buffer, 0, bytes);
  };
  const X = input(dev, s, x);
  const W = tensors(dev, s, w);
  let work: LstmWork | GruWork;
  if (s.cell === "lstm") {
    const lw: LstmWork = { T, B, G: e([T, B, 4 * H]), Cs: e([T + 1, B, H]), Hs: e([T + 1, B, H]), bias: e([4 * H]), dG: e([T, B, 4 * H]), dhRec: e([B, H]), dc: e([B, H]) };
    state(h0, lw.Hs);
    if (!h0) gpu.clear(lw.Hs.buffer, 0, bytes);
    state(c0, lw.Cs);
    if (!c0) gpu.clear(lw.Cs.buffer, 0, bytes);
    lstmForward(gpu, W, X, lw, { keepState: true });
    gpu.copy(lw.Cs.buffer, T * bytes, dev.buf(cN!), 0, bytes);
    work = lw;
  } else {
    const gw: GruWork = { T, B, GI: e([T, B, 3 * H]), GH: e([T, B, 3 * H]), Hs: e([T + 1, B, H]), dGI: e([T, B, 3 * H]), dGH: e([T, B, 3 * H]), dhRec: e([B, H]) };
    state(h0, gw.Hs);
    if (!h0) gpu.clear(gw.Hs.buffer, 0, bytes);
    gruForward(gpu, W, X, gw, { keepState: true });
    work = gw;
  }
  gpu.copy(work.Hs.buffer, bytes, dev.buf(y), 0, T * bytes);
  gpu.copy(work.Hs.buffer, T * bytes, dev.buf(hN), 0, bytes);
  return keep ? { work, owners } : null;
}

export function layerBackward(
  dev: WebGpuDevice, s: DeviceLayerSpec, saved: unknown, x: DeviceView, w: DeviceLayerWeights,
  dy: DeviceView | null, dhN: DeviceView | null, dcN: DeviceView | null,
  dx: DeviceBuffer | null, dw: DeviceLayerWeights, dh0: DeviceBuffer | null, dc0: DeviceBuffer | null,
): void {
  const { T, B, H, I } = s;
  const gpu = dev.gpu;
  const G = s.cell === "lstm" ? 4 : 3;
  const bytes = B * H * 4;
  const { work } = saved as Saved;
  const X = input(dev, s, x);
  const W = tensors(dev, s, w);
  const out = (b: DeviceBuffer, shape: number[]) => new GpuTensor(gpu, dev.buf(b), shape, "float32");
  const grads = {
    wIh: out(dw.wIh.buf, [G * H, I]), wHh: out(dw.wHh.buf, [G * H, H]), bIh: out(dw.bIh.buf, [G * H]), bHh: out(dw.bHh.buf, [G * H]),
  };
  let dY: GpuTensor;
  if (dy) dY = new GpuTensor(gpu, dev.buf(dev.contiguousAt0(dy).buf), [T, B, H], "float32");
  else {
    const z = dev.alloc("float32", T * B * H);
    dev.fill(z, 0);
    dY = out(z, [T, B, H]);
  }
  const start = (v: DeviceView | null, into: GpuTensor) => {
    if (v) gpu.copy(dev.buf(dev.contiguousAt0(v).buf), 0, into.buffer, 0, bytes);
    else gpu.clear(into.buffer, 0, bytes);
  };
  const TB = T * B;
  const wantDh0 = dh0 !== null;
  if (s.cell === "lstm") {
    const lw = work as LstmWork;
    start(dhN, lw.dhRec);
    start(dcN, lw.dc);
    for (let t = T - 1; t >= 0; t--) {
      lstmGatesBackward(gpu, lw.G, lw.Cs, dY, lw.dhRec, lw.dc, lw.dG, t, B, H);
      if (t > 0 || wantDh0) matmul(gpu, lw.dG, W.wHh, lw.dhRec, { M: B, N: H, K: 4 * H, offsetA: t * B * 4 * H });
    }
    matmul(gpu, lw.dG, X, grads.wIh, { transA: true, M: 4 * H, N: I, K: TB });
    matmul(gpu, lw.dG, lw.Hs, grads.wHh, { transA: true, M: 4 * H, N: H, K: TB });
    sum(gpu, lw.dG.reshape([TB, 4 * H]), 0, grads.bIh);
    gpu.copy(grads.bIh.buffer, 0, grads.bHh.buffer, 0, 4 * H * 4);
    if (dx) matmul(gpu, lw.dG, W.wIh, out(dx, [TB, I]), { M: TB, N: I, K: 4 * H });
    if (dc0) gpu.copy(lw.dc.buffer, 0, dev.buf(dc0), 0, bytes);
    if (dh0) gpu.copy(lw.dhRec.buffer, 0, dev.buf(dh0), 0, bytes);
  } else {
    const gw = work as GruWork;
    start(dhN, gw.dhRec);
    for (let t = T - 1; t >= 0; t--) {
      gruGatesBackward(gpu, gw, dY, t, B, H);
      if (t > 0 || wantDh0) matmul(gpu, gw.dGH, W.wHh, gw.dhRec, { accumulate: true, M: B, N: H, K: 3 * H, offsetA: t * B * 3 * H });
    }
    matmul(gpu, gw.dGI, X, grads.wIh, { transA: true, M: 3 * H, N: I, K: TB });
    matmul(gpu, gw.dGH, gw.Hs, grads.wHh, { transA: true, M: 3 * H, N: H, K: TB });
    sum(gpu, gw.dGI.reshape([TB, 3 * H]), 0, grads.bIh);
    sum(gpu, gw.dGH.reshape([TB, 3 * H]), 0, grads.bHh);
    if (dx) matmul(gpu, gw.dGI, W.wIh, out(dx, [TB, I]), { M: TB, N: I, K: 3 * H });
    if (dh0) gpu.copy(gw.dhRec.buffer, 0, dev.buf(dh0), 0, bytes);
  }
}
