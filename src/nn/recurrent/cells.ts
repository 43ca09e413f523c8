import type { DType } from "../../core/dtype.js";
import { GradlabError, ShapeError, fmtShape } from "../../core/errors.js";
import { type Generator, defaultGenerator } from "../../core/rng.js";
import type { RecurrentCell } from "../../backend/kernels.js";
import { Tensor, empty } from "../../tensor/tensor.js";
import { uniform_ } from "../init.js";
import { Module } from "../module.js";
import { Parameter } from "../parameter.js";
import { cellStep } from "./composite.js";
import { type LayerParams, fusedLayer } from "./fused.js";
import { deviceLayer } from "./device-layer.js";
import { zerosOn } from "../../tensor/device.js";
import { checkChoice, checkFeatures, checkPositiveInt, checkState } from "./validate.js";
import type { RecurrentImpl } from "./base.js";

export interface CellOptions {
  inputSize?: number;
  hiddenSize?: number;
  bias?: boolean;
  dtype?: "float32" | "float64";
  generator?: Generator;
  impl?: RecurrentImpl;
}

/**
 * One step of a recurrent layer, as torch.nn.*Cell: weight_ih [G·H, in], weight_hh [G·H, H],
 * bias_ih, bias_hh [G·H]. Takes (inputSize, hiddenSize, options?) like PyTorch, or one options
 * object. Input [B, in] or unbatched [in].
 */
abstract class CellBase extends Module {
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly bias: boolean;
  impl: RecurrentImpl;
  declare weight_ih: Parameter;
  declare weight_hh: Parameter;
  declare bias_ih: Parameter | null;
  declare bias_hh: Parameter | null;

  protected constructor(
    private readonly _name: string,
    private readonly _cell: RecurrentCell,
    private readonly _resetAfter: boolean,
    gates: number,
    a: number | CellOptions,
    b?: number,
    c?: CellOptions,
  ) {
    super();
    const o: CellOptions = typeof a === "number" ? { ...c, inputSize: a, hiddenSize: b } : (a ?? {});
    this.inputSize = checkPositiveInt(_name, "inputSize", o.inputSize);
    this.hiddenSize = checkPositiveInt(_name, "hiddenSize", o.hiddenSize);
    this.bias = o.bias ?? true;
    this.impl = checkChoice(_name, "impl", o.impl ?? "fused", ["fused", "composite"]);
    const dtype: DType = checkChoice(_name, "dtype", o.dtype ?? "float32", ["float32", "float64"]);
    const G = gates * this.hiddenSize;
    const stdv = 1 / Math.sqrt(this.hiddenSize);
    const gen = o.generator ?? defaultGenerator;
    const add = (name: string, shape: number[]) => {
      const p = new Parameter(empty(shape, dtype));
      uniform_(p, -stdv, stdv, gen);
      this.registerParameter(name, p);
    };
    add("weight_ih", [G, this.inputSize]);
    add("weight_hh", [G, this.hiddenSize]);
    if (this.bias) {
      add("bias_ih", [G]);
      add("bias_hh", [G]);
    } else {
      this.registerParameter("bias_ih", null);
      this.registerParameter("bias_hh", null);
    }
  }

  protected params(): LayerParams {
    return { wIh: this.weight_ih, wHh: this.weight_hh, bIh: this.bias_ih, bHh: this.bias_hh, wHr: null };
  }

  /** One step: returns [h', c' | null] with the input's batch layout. */
  protected step(x: unknown, h: Tensor | null | undefined, c: Tensor | null | undefined): [Tensor, Tensor | null] {
    const op = `${this._name}.forward`;
    const dtype = this.weight_ih.dtype;
    if (!(x instanceof Tensor)) throw new GradlabError(`${op}: input must be a Tensor, got ${x === null ? "null" : typeof x}`);
    if (x.ndim !== 1 && x.ndim !== 2) {
      throw new ShapeError(`${op}: expected input of rank 2 ([batch, ${this.inputSize}]) or 1 (unbatched), got rank ${x.ndim} with shape ${fmtShape(x.shape)}`);
    }
    checkFeatures(op, x, dtype, this.inputSize);
    const unbatched = x.ndim === 1;
    const xb = unbatched ? x.unsqueeze(0) : x;
    const B = xb.shape[0];
    const shape = (w: number) => (unbatched ? [w] : [B, w]);
    const lift = (t: Tensor) => (unbatched ? t.unsqueeze(0) : t);
    const hb = h ? lift(checkState(op, "hx", h, shape(this.hiddenSize), dtype)) : null;
    const cb = c ? lift(checkState(op, "cx", c, shape(this.hiddenSize), dtype)) : null;
    let h2: Tensor;
    let c2: Tensor | null;
    const lo = { cell: this._cell, resetAfter: this._resetAfter, reverse: false, lengths: null };
    // On a device: its fused kernels for one step where it has them, else the composite.
    const fused = this.impl === "composite" ? null : xb.dev ? deviceLayer(xb.unsqueeze(0), this.params(), hb, cb, lo) : fusedLayer(xb.unsqueeze(0), this.params(), hb, cb, lo);
    if (fused) {
      h2 = fused.h;
      c2 = fused.c;
    } else {
      const zeros = () => zerosOn(xb.device, dtype, [B, this.hiddenSize]);
      [h2, c2] = cellStep(this._cell, this._resetAfter, xb, hb ?? zeros(), this._cell === "lstm" ? (cb ?? zeros()) : null, this.params());
    }
    return unbatched ? [h2.squeeze(0), c2 ? c2.squeeze(0) : null] : [h2, c2];
  }

  override extraRepr(): string {
    return `${this.inputSize}, ${this.hiddenSize}${this.bias ? "" : ", bias=false"}`;
  }
}

/** torch.nn.LSTMCell: forward(x, [h, c]?) → [h', c']. */
export class LSTMCell extends CellBase {
  constructor(inputSize: number | CellOptions, hiddenSize?: number, opts?: CellOptions) {
    super("LSTMCell", "lstm", true, 4, inputSize, hiddenSize, opts);
  }

  override forward(x: Tensor, state?: readonly [Tensor, Tensor] | null): [Tensor, Tensor] {
    if (state !== undefined && state !== null && (!Array.isArray(state) || state.length !== 2)) {
      throw new GradlabError("LSTMCell.forward: the state must be a pair [h, c]");
    }
    const [h, c] = this.step(x, state?.[0], state?.[1]);
    return [h, c!];
  }
}

export interface GRUCellOptions extends CellOptions {
  /** See GRU: reset gate after (default, PyTorch) or before (Cho et al.) the recurrent product. */
  resetAfter?: boolean;
}

/** torch.nn.GRUCell: forward(x, h?) → h'. */
export class GRUCell extends CellBase {
  readonly resetAfter: boolean;

  constructor(inputSize: number | GRUCellOptions, hiddenSize?: number, opts?: GRUCellOptions) {
    const resetAfter = (typeof inputSize === "number" ? opts?.resetAfter : inputSize?.resetAfter) ?? true;
    super("GRUCell", "gru", resetAfter, 3, inputSize, hiddenSize, opts);
    this.resetAfter = resetAfter;
  }

  override forward(x: Tensor, h?: Tensor | null): Tensor {
    return this.step(x, h, null)[0];
  }
}

export interface RNNCellOptions extends CellOptions {
  nonlinearity?: "tanh" | "relu";
}

/** torch.nn.RNNCell: forward(x, h?) → h' = act(W_ih x + b_ih + W_hh h + b_hh). */
export class RNNCell extends CellBase {
  readonly nonlinearity: "tanh" | "relu";

  constructor(inputSize: number | RNNCellOptions, hiddenSize?: number, opts?: RNNCellOptions) {
    const raw = (typeof inputSize === "number" ? opts?.nonlinearity : inputSize?.nonlinearity) ?? "tanh";
    const nl = checkChoice("RNNCell", "nonlinearity", raw, ["tanh", "relu"] as const);
    super("RNNCell", nl === "relu" ? "rnnRelu" : "rnnTanh", true, 1, inputSize, hiddenSize, opts);
    this.nonlinearity = nl;
  }

  override forward(x: Tensor, h?: Tensor | null): Tensor {
    return this.step(x, h, null)[0];
  }
}
