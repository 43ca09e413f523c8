import type { DType } from "../../core/dtype.js";
import { DeviceError, GradlabError, ShapeError, fmtShape } from "../../core/errors.js";
import { type Generator, defaultGenerator } from "../../core/rng.js";
import type { RecurrentCell } from "../../backend/kernels.js";
import { noGrad } from "../../autograd/mode.js";
import { cat } from "../../tensor/primitives/movement.js";
import { indexSelect } from "../../tensor/primitives/indexing.js";
import { stack } from "../../tensor/ops/shape.js";
import { dropout } from "../../tensor/ops/functional.js";
import { Tensor, empty } from "../../tensor/tensor.js";
import { constant_, orthogonal_, uniform_ } from "../init.js";
import { Module } from "../module.js";
import { Parameter } from "../parameter.js";
import { compositeLayer } from "./composite.js";
import { deviceLayer } from "./device-layer.js";
import { type LayerOptions, type LayerParams, type LayerResult, fusedLayer } from "./fused.js";
import { SKIP_MODES, type SkipMode, applySkip, createSkipParams } from "./skip.js";
import { type Lengths, checkChoice, checkInput, checkPositiveInt, checkState, parseLengths } from "./validate.js";

export type MergeMode = "concat" | "sum" | "mul" | "ave";
export type RecurrentImpl = "fused" | "composite";

/**
 * What a gradient hook receives, once per layer and direction during backward: dh [T, B, H_out]
 * is ∂J/∂h_t, the total derivative through all later steps (what reaches the recurrent state at
 * step t), and for an LSTM dc [T, B, H] is ∂J/∂c_t. Time-major and in natural time order whatever
 * batchFirst and the direction; zero past a sequence's length, where it has no state.
 */
export interface RecurrentGrad {
  layer: number;
  direction: "forward" | "reverse";
  dh: Tensor;
  dc?: Tensor;
}

export interface RecurrentOptions {
  inputSize: number;
  hiddenSize: number;
  numLayers?: number;
  bias?: boolean;
  /** Input and output are [B, T, F] instead of [T, B, F]; states stay [layers·dirs, B, H]. */
  batchFirst?: boolean;
  /** Dropout on each layer's output except the last's, in training mode only. */
  dropout?: number;
  bidirectional?: boolean;
  /** How a bidirectional layer combines its two directions (Keras' merge_mode); "concat" is PyTorch's. */
  mergeMode?: MergeMode;
  /** Read each sequence from its last valid step to its first and return outputs in that order (Keras). */
  goBackwards?: boolean;
  /** Carry the final state (detached) into the next call that passes no state; resetStates() clears it. */
  stateful?: boolean;
  skip?: SkipMode;
  /** Initial bias of the highway transform gates (negative: start by carrying the input). */
  highwayBias?: number;
  /** "orthogonal": each gate's block of weight_hh is a random orthogonal matrix (Saxe et al. 2014). */
  init?: { recurrent?: "uniform" | "orthogonal" };
  dtype?: "float32" | "float64";
  generator?: Generator;
  /** "composite": the step-by-step twin built from primitives instead of the fused node. */
  impl?: RecurrentImpl;
}

export interface ForwardOptions {
  /** Valid steps of each sequence (1..T, any order): PyTorch's packed-sequence semantics. */
  lengths?: Lengths | null;
}

interface CellConfig {
  cell: RecurrentCell;
  resetAfter: boolean;
  projSize: number;
  forgetBias: number | null;
}

/**
 * Shared machinery of RNN, LSTM and GRU: PyTorch's parameters (weight_ih_l{k}[_reverse],
 * weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k}, weight_hr_l{k}, in PyTorch's order, so a PyTorch
 * state dict loads unchanged), stacking, directions, packed lengths, and the extras.
 */
export abstract class RecurrentBase extends Module {
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly bias: boolean;
  readonly batchFirst: boolean;
  readonly dropout: number;
  readonly bidirectional: boolean;
  readonly projSize: number;
  readonly mergeMode: MergeMode;
  readonly goBackwards: boolean;
  readonly stateful: boolean;
  readonly skip: SkipMode;
  impl: RecurrentImpl;
  private readonly _cfg: CellConfig;
  private readonly _gen: Generator;
  private readonly _hooks: ((g: RecurrentGrad) => void)[] = [];
  private _carry: { h: Tensor; c: Tensor | null } | null = null;

  protected constructor(name: string, o: RecurrentOptions, cfg: CellConfig) {
    super();
    if (!o || typeof o !== "object") throw new GradlabError(`${name}: expected an options object { inputSize, hiddenSize, ... }`);
    this.inputSize = checkPositiveInt(name, "inputSize", o.inputSize);
    this.hiddenSize = checkPositiveInt(name, "hiddenSize", o.hiddenSize);
    this.numLayers = checkPositiveInt(name, "numLayers", o.numLayers ?? 1);
    this.bias = o.bias ?? true;
    this.batchFirst = o.batchFirst ?? false;
    this.dropout = o.dropout ?? 0;
    if (!(this.dropout >= 0 && this.dropout <= 1)) throw new GradlabError(`${name}: dropout must be in [0, 1], got ${o.dropout}`);
    this.bidirectional = o.bidirectional ?? false;
    this.projSize = cfg.projSize;
    if (this.projSize < 0 || !Number.isInteger(this.projSize) || (this.projSize > 0 && this.projSize >= this.hiddenSize)) {
      throw new GradlabError(`${name}: projSize must be an integer in 0..hiddenSize-1 (${this.hiddenSize - 1}), got ${this.projSize}`);
    }
    this.mergeMode = checkChoice(name, "mergeMode", o.mergeMode ?? "concat", ["concat", "sum", "mul", "ave"]);
    this.goBackwards = o.goBackwards ?? false;
    this.stateful = o.stateful ?? false;
    this.skip = checkChoice(name, "skip", o.skip ?? "none", SKIP_MODES);
    this.impl = checkChoice(name, "impl", o.impl ?? "fused", ["fused", "composite"]);
    const dtype: DType = checkChoice(name, "dtype", o.dtype ?? "float32", ["float32", "float64"]);
    const recurrentInit = checkChoice(name, "init.recurrent", o.init?.recurrent ?? "uniform", ["uniform", "orthogonal"]);
    this._cfg = cfg;
    this._gen = o.generator ?? defaultGenerator;

    const H = this.hiddenSize;
    const P = this.outSize;
    const G = gateCount(cfg.cell) * H;
    const D = this.numDirections;
    const created: Parameter[] = [];
    const add = (n: string, shape: number[]) => {
      const p = new Parameter(empty(shape, dtype));
      this.registerParameter(n, p);
      created.push(p);
    };
    for (let l = 0; l < this.numLayers; l++) {
      for (let d = 0; d < D; d++) {
        const sfx = `_l${l}${d ? "_reverse" : ""}`;
        add(`weight_ih${sfx}`, [G, this.layerInputSize(l)]);
        add(`weight_hh${sfx}`, [G, P]);
        if (this.bias) {
          add(`bias_ih${sfx}`, [G]);
          add(`bias_hh${sfx}`, [G]);
        }
        if (this.projSize > 0) add(`weight_hr${sfx}`, [P, H]);
      }
    }
    // PyTorch's default: every parameter U(−1/√H, 1/√H).
    const stdv = 1 / Math.sqrt(H);
    for (const p of created) uniform_(p, -stdv, stdv, this._gen);
    noGrad(() => {
      for (let l = 0; l < this.numLayers; l++) {
        for (let d = 0; d < D; d++) {
          const p = this.layerParams(l, d);
          if (recurrentInit === "orthogonal") {
            for (let g = 0; g < gateCount(cfg.cell); g++) orthogonal_(p.wHh.narrow(0, g * H, H), 1, this._gen);
          }
          // Jozefowicz et al. 2015: start with the forget gate open; b_ih + b_hh is what the gate sees.
          if (cfg.forgetBias !== null && p.bIh && p.bHh) {
            constant_(p.bIh.narrow(0, H, H), cfg.forgetBias);
            constant_(p.bHh.narrow(0, H, H), 0);
          }
        }
      }
    });
    const outW = this.layerOutputSize;
    for (let l = 0; l < this.numLayers; l++) {
      createSkipParams(this, this.skip, l, this.layerInputSize(l), outW, dtype, this._gen, o.highwayBias ?? -1);
    }
  }

  /** Width of h: projSize when set, else hiddenSize. */
  get outSize(): number {
    return this.projSize > 0 ? this.projSize : this.hiddenSize;
  }

  get numDirections(): number {
    return this.bidirectional ? 2 : 1;
  }

  /** Features of each layer's output after merging directions. */
  get layerOutputSize(): number {
    return this.mergeMode === "concat" ? this.numDirections * this.outSize : this.outSize;
  }

  layerInputSize(l: number): number {
    if (l === 0) return this.inputSize;
    return this.skip === "dense" ? this.inputSize + l * this.layerOutputSize : this.layerOutputSize;
  }

  /** The parameters of layer l, direction d (0 forward, 1 reverse). */
  layerParams(l: number, d: number): LayerParams {
    const sfx = `_l${l}${d ? "_reverse" : ""}`;
    const own = this as unknown as Record<string, Parameter | undefined>;
    return {
      wIh: own[`weight_ih${sfx}`]!,
      wHh: own[`weight_hh${sfx}`]!,
      bIh: own[`bias_ih${sfx}`] ?? null,
      bHh: own[`bias_hh${sfx}`] ?? null,
      wHr: own[`weight_hr${sfx}`] ?? null,
    };
  }

  get dtype(): DType {
    return this.layerParams(0, 0).wIh.dtype;
  }

  /**
   * Calls fn with ∂J/∂h_t (and ∂J/∂c_t) of every layer and direction during each backward through
   * a forward made while it is registered. Returns a function that removes it. Costs nothing
   * while no hook is registered.
   */
  registerGradHook(fn: (g: RecurrentGrad) => void): () => void {
    this._hooks.push(fn);
    return () => {
      const i = this._hooks.indexOf(fn);
      if (i >= 0) this._hooks.splice(i, 1);
    };
  }

  /** Forgets the state a stateful layer carries between calls. */
  resetStates(): void {
    this._carry = null;
  }

  /** The state carried by a stateful layer (detached), or null. */
  get carriedState(): { h: Tensor; c: Tensor | null } | null {
    return this._carry;
  }

  protected run(op: string, x: unknown, h0: Tensor | null, c0: Tensor | null, opts: ForwardOptions): LayerResult {
    const dtype = this.dtype;
    const input = checkInput(op, x, dtype, this.inputSize);
    const pd = this.layerParams(0, 0).wIh.device;
    if (input.device !== pd) {
      throw new DeviceError(`${op}: the input is on ${input.device} but the module's parameters are on ${pd}; move one (x.to("${pd}") or module.to({ device: "${input.device}" }))`);
    }
    const unbatched = input.ndim === 2;
    let seq = unbatched ? input.unsqueeze(1) : this.batchFirst ? input.transpose(0, 1) : input;
    const [T, B] = seq.shape;
    if (T === 0) throw new ShapeError(`${op}: the input has no time steps (shape ${fmtShape(input.shape)})`);
    const lengths = parseLengths(op, opts?.lengths, B, T);
    const LD = this.numLayers * this.numDirections;
    const lstm = this._cfg.cell === "lstm";
    const stateShape = (w: number) => (unbatched ? [LD, w] : [LD, B, w]);
    if (h0) h0 = checkState(op, "h0", h0, stateShape(this.outSize), dtype);
    if (c0) c0 = checkState(op, "c0", c0, stateShape(this.hiddenSize), dtype);
    if (unbatched) {
      h0 = h0?.unsqueeze(1) ?? null;
      c0 = c0?.unsqueeze(1) ?? null;
    }
    if (!h0 && !c0 && this.stateful && this._carry) {
      const carried = this._carry.h.shape[1];
      if (carried !== B) {
        throw new ShapeError(`${op}: this stateful layer carries a state for batch size ${carried}, got batch size ${B}; call resetStates() first`);
      }
      h0 = this._carry.h;
      c0 = this._carry.c;
    }
    if (this.goBackwards) seq = reverseSequences(seq, lengths);
    const onDevice = seq.device !== "cpu";
    if (onDevice && this._hooks.length) {
      throw new DeviceError(`${op}: gradient-flow hooks read per-step gradients synchronously and run on the CPU only; this input is on ${seq.device}`);
    }
    const mask = lengths && (this.skip === "residual" || this.skip === "highway") ? lengthMask(T, B, lengths, dtype).toDevice(seq.device) : null;
    // On a device: its fused sequence kernels where it has them for this configuration, else the
    // step-by-step composite; either way every step goes into one command buffer, no read-back.
    const layerFn: typeof fusedLayer =
      this.impl === "composite" ? compositeLayer : onDevice ? (...a) => deviceLayer(...a) ?? compositeLayer(...a) : fusedLayer;
    const outs: Tensor[] = [];
    const hs: Tensor[] = [];
    const cs: Tensor[] = [];
    let prev = seq;
    for (let l = 0; l < this.numLayers; l++) {
      const layerIn = l > 0 && this.skip === "dense" ? cat([seq, ...outs], 2) : prev;
      const ys: Tensor[] = [];
      for (let d = 0; d < this.numDirections; d++) {
        const k = l * this.numDirections + d;
        const lo: LayerOptions = {
          cell: this._cfg.cell,
          resetAfter: this._cfg.resetAfter,
          reverse: d === 1,
          lengths,
          onGrad: this._hooks.length ? this.hookFor(l, d) : null,
        };
        const r = layerFn(layerIn, this.layerParams(l, d), h0 ? h0.select(0, k) : null, lstm && c0 ? c0.select(0, k) : null, lo);
        ys.push(r.y);
        hs.push(r.h);
        if (r.c) cs.push(r.c);
      }
      let out = ys.length === 2 ? merge(this.mergeMode, ys[0], ys[1]) : ys[0];
      out = applySkip(this, this.skip, l, layerIn, out, mask);
      if (l < this.numLayers - 1 && this.training && this.dropout > 0) out = dropout(out, this.dropout, true, this._gen);
      outs.push(out);
      prev = out;
    }
    let y = prev;
    let h = stack(hs, 0);
    let c = cs.length ? stack(cs, 0) : null;
    if (this.stateful) this._carry = { h: h.detach(), c: c ? c.detach() : null };
    if (unbatched) {
      y = y.squeeze(1);
      h = h.squeeze(1);
      c = c ? c.squeeze(1) : null;
    } else if (this.batchFirst) {
      y = y.transpose(0, 1);
    }
    return { y, h, c };
  }

  private hookFor(layer: number, d: number): (dh: Tensor, dc: Tensor | null) => void {
    const hooks = [...this._hooks];
    const direction = d ? "reverse" : "forward";
    return (dh, dc) => {
      const g: RecurrentGrad = dc ? { layer, direction, dh, dc } : { layer, direction, dh };
      for (const fn of hooks) fn(g);
    };
  }

  override extraRepr(): string {
    const parts = [`${this.inputSize}`, `${this.hiddenSize}`];
    if (this.numLayers !== 1) parts.push(`numLayers=${this.numLayers}`);
    if (!this.bias) parts.push("bias=false");
    if (this.batchFirst) parts.push("batchFirst=true");
    if (this.dropout) parts.push(`dropout=${this.dropout}`);
    if (this.bidirectional) parts.push("bidirectional=true");
    if (this.projSize) parts.push(`projSize=${this.projSize}`);
    if (this.skip !== "none") parts.push(`skip=${this.skip}`);
    return parts.join(", ");
  }
}

export function gateCount(cell: RecurrentCell): number {
  return cell === "lstm" ? 4 : cell === "gru" ? 3 : 1;
}

function merge(mode: MergeMode, f: Tensor, r: Tensor): Tensor {
  switch (mode) {
    case "concat":
      return cat([f, r], 2);
    case "sum":
      return f.add(r);
    case "mul":
      return f.mul(r);
    case "ave":
      return f.add(r).mul(0.5);
  }
}

/** Each sequence of x [T, B, F] reversed within its own length; padding stays where it is. */
export function reverseSequences(x: Tensor, lengths: Int32Array | null): Tensor {
  const [T, B, F] = x.shape;
  const idx = new Int32Array(T * B);
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) {
      const L = lengths ? lengths[b] : T;
      idx[t * B + b] = (t < L ? L - 1 - t : t) * B + b;
    }
  }
  return indexSelect(x.reshape([T * B, F]), 0, new Tensor(idx, [T * B])).reshape([T, B, F]);
}

/** [T, B, 1]: 1 inside each sequence's length, 0 after. */
function lengthMask(T: number, B: number, lengths: Int32Array, dtype: DType): Tensor {
  const m = empty([T, B, 1], dtype);
  for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) m.data[t * B + b] = t < lengths[b] ? 1 : 0;
  return m;
}
