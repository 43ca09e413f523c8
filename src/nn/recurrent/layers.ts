import { GradlabError } from "../../core/errors.js";
import type { Tensor } from "../../tensor/tensor.js";
import { type ForwardOptions, RecurrentBase, type RecurrentOptions } from "./base.js";
import { checkChoice } from "./validate.js";

export interface LSTMOptions extends RecurrentOptions {
  /** Project h to this many features through weight_hr_l{k} [projSize, hiddenSize] (0: none). */
  projSize?: number;
  /** Initial forget-gate bias (Jozefowicz et al. 2015 recommend 1): bias_ih's f block, bias_hh's set to 0. */
  forgetBias?: number;
}

export interface GRUOptions extends RecurrentOptions {
  resetAfter?: boolean;
}

export interface RNNOptions extends RecurrentOptions {
  nonlinearity?: "tanh" | "relu";
}

/**
 * Long short-term memory, torch.nn.LSTM: per step, with gates stacked i, f, g, o in weight_ih
 * [4H, in], weight_hh [4H, P], bias_ih, bias_hh [4H]:
 *   i, f, o = σ(W_i· x + b_i· + W_h· h + b_h·), g = tanh(...), c' = f·c + i·g, h' = o·tanh(c')
 * and with projSize P, h' = W_hr (o·tanh(c')) (weight_hr [P, H]).
 * `forward(x, [h0, c0]?, { lengths? })` returns [output, [hN, cN]]: output [T, B, D·P] (or
 * [B, T, D·P] with batchFirst), hN [layers·D, B, P], cN [layers·D, B, H].
 */
export class LSTM extends RecurrentBase {
  constructor(o: LSTMOptions) {
    const forgetBias = o?.forgetBias ?? null;
    if (forgetBias !== null && !Number.isFinite(forgetBias)) throw new GradlabError(`LSTM: forgetBias must be a finite number, got ${forgetBias}`);
    super("LSTM", o, { cell: "lstm", resetAfter: true, projSize: o?.projSize ?? 0, forgetBias });
  }

  override forward(x: Tensor, state?: readonly [Tensor, Tensor] | null, opts: ForwardOptions = {}): [Tensor, [Tensor, Tensor]] {
    if (state !== undefined && state !== null && (!Array.isArray(state) || state.length !== 2)) {
      throw new GradlabError("LSTM.forward: the initial state must be a pair [h0, c0]");
    }
    const r = this.run("LSTM.forward", x, state?.[0] ?? null, state?.[1] ?? null, opts);
    return [r.y, [r.h, r.c!]];
  }
}

/**
 * Gated recurrent unit, torch.nn.GRU. Gates stacked r, z, n: weight_ih [3H, in], weight_hh [3H, H],
 * bias_ih, bias_hh [3H]; both forms use exactly this layout, so their state dicts are
 * interchangeable, but they compute different functions:
 * - resetAfter: true (default; PyTorch, cuDNN, Keras reset_after=True): the reset gate multiplies
 *   the recurrent product, b_hn included:
 *     n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
 * - resetAfter: false (Cho et al. 2014; TF.js, brain.js, Keras reset_after=False): the reset gate
 *   multiplies h before the recurrent product, and b_hn merely adds to b_in:
 *     n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn)
 * In both, r = σ(W_ir x + b_ir + W_hr h + b_hr), z likewise, h' = (1 − z) ⊙ n + z ⊙ h.
 * `forward(x, h0?, { lengths? })` returns [output, hN].
 */
export class GRU extends RecurrentBase {
  readonly resetAfter: boolean;

  constructor(o: GRUOptions) {
    if (o?.resetAfter !== undefined && typeof o.resetAfter !== "boolean") {
      throw new GradlabError(`GRU: resetAfter must be a boolean, got ${String(o.resetAfter)}`);
    }
    if ((o as LSTMOptions)?.projSize) throw new GradlabError("GRU: projSize is only supported by LSTM");
    if ((o as LSTMOptions)?.forgetBias !== undefined) throw new GradlabError("GRU: forgetBias is an LSTM option (a GRU has no forget gate)");
    super("GRU", o, { cell: "gru", resetAfter: o?.resetAfter ?? true, projSize: 0, forgetBias: null });
    this.resetAfter = o.resetAfter ?? true;
  }

  override forward(x: Tensor, h0?: Tensor | null, opts: ForwardOptions = {}): [Tensor, Tensor] {
    const r = this.run("GRU.forward", x, h0 ?? null, null, opts);
    return [r.y, r.h];
  }
}

/**
 * Elman network, torch.nn.RNN: h' = act(W_ih x + b_ih + W_hh h + b_hh), act tanh (default) or relu;
 * weight_ih [H, in], weight_hh [H, H]. `forward(x, h0?, { lengths? })` returns [output, hN].
 */
export class RNN extends RecurrentBase {
  readonly nonlinearity: "tanh" | "relu";

  constructor(o: RNNOptions) {
    const nl = checkChoice("RNN", "nonlinearity", o?.nonlinearity ?? "tanh", ["tanh", "relu"] as const);
    if ((o as LSTMOptions)?.projSize) throw new GradlabError("RNN: projSize is only supported by LSTM");
    if ((o as LSTMOptions)?.forgetBias !== undefined) throw new GradlabError("RNN: forgetBias is an LSTM option (an RNN has no forget gate)");
    super("RNN", o, { cell: nl === "relu" ? "rnnRelu" : "rnnTanh", resetAfter: true, projSize: 0, forgetBias: null });
    this.nonlinearity = nl;
  }

  override forward(x: Tensor, h0?: Tensor | null, opts: ForwardOptions = {}): [Tensor, Tensor] {
    const r = this.run("RNN.forward", x, h0 ?? null, null, opts);
    return [r.y, r.h];
  }
}
