import type { RecurrentCell } from "../../backend/kernels.js";
import { where } from "../../tensor/primitives/binary.js";
import { stack } from "../../tensor/ops/shape.js";
import { linear } from "../../tensor/ops/functional.js";
import { Tensor } from "../../tensor/tensor.js";
import { zerosOn } from "../../tensor/device.js";
import { type LayerOptions, type LayerParams, type LayerResult, zeroPadding } from "./fused.js";

// The composite twin of the fused layer: every step written with primitives (matmul, sigmoid,
// tanh, ...) so that autograd derives the gradients. Slow, but independent of the hand-written
// backward, which the tests compare against it. The step functions also serve the cells.

/** One LSTM step: gates i, f, g, o; h' = o·tanh(c'), projected by W_hr when there is one. */
export function lstmStep(x: Tensor, h: Tensor, c: Tensor, p: LayerParams): [Tensor, Tensor] {
  const gates = linear(x, p.wIh, p.bIh).add(linear(h, p.wHh, p.bHh));
  const [i, f, g, o] = gates.chunk(4, 1);
  const c2 = f.sigmoid().mul(c).add(i.sigmoid().mul(g.tanh()));
  let h2 = o.sigmoid().mul(c2.tanh());
  if (p.wHr) h2 = h2.matmul(p.wHr.t());
  return [h2, c2];
}

/** One GRU step, with the reset gate after (PyTorch) or before (Cho et al.) the recurrent product. */
export function gruStep(x: Tensor, h: Tensor, p: LayerParams, resetAfter: boolean): Tensor {
  const [xr, xz, xn] = linear(x, p.wIh, p.bIh).chunk(3, 1);
  let r: Tensor;
  let z: Tensor;
  let n: Tensor;
  if (resetAfter) {
    const [hr, hz, hn] = linear(h, p.wHh, p.bHh).chunk(3, 1);
    r = xr.add(hr).sigmoid();
    z = xz.add(hz).sigmoid();
    n = xn.add(r.mul(hn)).tanh();
  } else {
    const [wr, wz, wn] = p.wHh.chunk(3, 0);
    const [br, bz, bn] = p.bHh ? p.bHh.chunk(3, 0) : [null, null, null];
    r = xr.add(linear(h, wr, br)).sigmoid();
    z = xz.add(linear(h, wz, bz)).sigmoid();
    n = xn.add(linear(r.mul(h), wn, bn)).tanh();
  }
  return z.neg().add(1).mul(n).add(z.mul(h));
}

export function rnnStep(x: Tensor, h: Tensor, p: LayerParams, relu: boolean): Tensor {
  const pre = linear(x, p.wIh, p.bIh).add(linear(h, p.wHh, p.bHh));
  return relu ? pre.relu() : pre.tanh();
}

export function cellStep(cell: RecurrentCell, resetAfter: boolean, x: Tensor, h: Tensor, c: Tensor | null, p: LayerParams): [Tensor, Tensor | null] {
  if (cell === "lstm") return lstmStep(x, h, c!, p);
  if (cell === "gru") return [gruStep(x, h, p, resetAfter), null];
  return [rnnStep(x, h, p, cell === "rnnRelu"), null];
}

/**
 * The layer of fusedLayer, step by step. With lengths, a sequence's state is frozen (and its
 * output zero) outside its valid steps, so the reverse direction starts at its own end.
 */
export function compositeLayer(x: Tensor, p: LayerParams, h0: Tensor | null, c0: Tensor | null, o: LayerOptions): LayerResult {
  const [T, B] = x.shape;
  const gates = o.cell === "lstm" ? 4 : o.cell === "gru" ? 3 : 1;
  const H = p.wHh.shape[0] / gates;
  const P = p.wHh.shape[1];
  let h = h0 ?? zerosOn(x.device, x.dtype, [B, P]);
  let c = o.cell === "lstm" ? (c0 ?? zerosOn(x.device, x.dtype, [B, H])) : null;
  const ys = new Array<Tensor>(T);
  const onGrad = o.onGrad;
  const lengths = o.lengths;
  const report = (dh: Tensor, dc: Tensor | null) => {
    const pad = (t: Tensor, F: number) => new Tensor(zeroPadding(t.toArray(), lengths, B, F), [...t.shape]);
    onGrad!(pad(dh, P), dc ? pad(dc, H) : null);
  };
  const watch = onGrad ? gradCollector(T, o.cell === "lstm", report) : null;
  for (let k = 0; k < T; k++) {
    const t = o.reverse ? T - 1 - k : k;
    const [h2, c2] = cellStep(o.cell, o.resetAfter, x.select(0, t), h, c, p);
    if (o.lengths) {
      const lengths = o.lengths;
      const flags = new Tensor(Int32Array.from(lengths, (L) => (t < L ? 1 : 0)), [B, 1]);
      const active = flags.toDevice(x.device);
      h = where(active, h2, h);
      if (c) c = where(active, c2!, c);
      // Read y from the state, so that a state's gradient includes its output's, as in the fused node.
      ys[t] = where(active, h, 0);
    } else {
      h = h2;
      c = c2;
      ys[t] = h2;
    }
    // The cell's own outputs: their gradients include every path (through h_t into c_t too).
    watch?.(t, h2, c2);
  }
  return { y: stack(ys, 0), h, c };
}

/** Collects the gradients of every step's state through tensor hooks and reports them once all arrived. */
function gradCollector(T: number, withC: boolean, report: (dh: Tensor, dc: Tensor | null) => void) {
  const dh = new Array<Tensor | undefined>(T);
  const dc = new Array<Tensor | undefined>(T);
  let left = withC ? 2 * T : T;
  const arrived = () => {
    if (--left === 0) report(stack(dh as Tensor[], 0), withC ? stack(dc as Tensor[], 0) : null);
  };
  return (t: number, h: Tensor, c: Tensor | null) => {
    if (h.requiresGrad) h.registerHook((g) => void ((dh[t] = g), arrived()));
    if (withC && c?.requiresGrad) c.registerHook((g) => void ((dc[t] = g), arrived()));
  };
}
