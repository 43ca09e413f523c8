import type { TypedArray } from "../core/dtype.js";

/** A strided window on a typed array: what every kernel reads. Tensors satisfy it structurally. */
export interface View {
  readonly data: TypedArray;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
}

export type UnaryOp =
  | "neg" | "exp" | "log" | "sqrt" | "rsqrt" | "abs" | "sign" | "tanh" | "sigmoid" | "relu"
  | "erf" | "sin" | "cos" | "log1p" | "expm1" | "floor" | "ceil" | "round" | "reciprocal" | "square"
  | "isfinite" | "isnan";

export type BinaryOp =
  | "add" | "sub" | "mul" | "div" | "pow" | "maximum" | "minimum" | "atan2"
  | "eq" | "ne" | "lt" | "le" | "gt" | "ge";

export type ReduceOp = "sum" | "max" | "min" | "prod";

/**
 * The signature of every kernel, by name. A backend implements any subset; the registry falls
 * back to the reference ("js") kernel for the rest. Kernels write into `out`, which the caller
 * allocates contiguous, and never allocate tensors themselves.
 */
export interface KernelSignatures {
  /** out[i] = op(x[i]); x has out's shape. */
  unary(op: UnaryOp, x: View, out: TypedArray): void;
  /** a and b are already broadcast to out's shape (stride 0 on broadcast dims). */
  binary(op: BinaryOp, a: View, b: View, out: TypedArray): void;
  clamp(x: View, min: number, max: number, out: TypedArray): void;
  /** out[i] = cond[i] != 0 ? a[i] : b[i]; all three broadcast to out's shape. */
  where(cond: View, a: View, b: View, out: TypedArray): void;
  /** Reduces x over `axes`; out is contiguous with x's shape where reduced axes have size 1. */
  reduce(op: ReduceOp, x: View, axes: readonly number[], out: TypedArray): void;
  /** Index of the first max/min along `axis`; out has x's shape with that axis of size 1. */
  argReduce(op: "argmax" | "argmin", x: View, axis: number, out: Int32Array): void;
  /** Batched product: a is [B, M, K], b is [B, K, N] (any strides); out is contiguous [B, M, N]. */
  matmul(a: View, b: View, out: TypedArray): void;
  /** Strided copy (and dtype conversion) from src into dst of the same shape. */
  copy(src: View, dst: View): void;
  /** out[...idx] = x[... index[...idx] ... at dim]; out has index's shape. */
  gather(x: View, dim: number, index: View, out: TypedArray): void;
  /** dst (contiguous, shape dstShape) [... index[i] at dim ...] += src[i]. */
  scatterAdd(dst: TypedArray, dstShape: readonly number[], dim: number, index: View, src: View): void;
  /** out = x taken at `index` along dim (out contiguous). */
  indexSelect(x: View, dim: number, index: Int32Array, out: TypedArray): void;
  /** dst (contiguous, shape dstShape) rows index[i] along dim += src slice i. */
  indexAdd(dst: TypedArray, dstShape: readonly number[], dim: number, index: Int32Array, src: View): void;

  // ---- fused losses ----
  /**
   * Log-softmax + cross-entropy over the rows of logits x [N, C] at class targets: writes each row's
   * loss (0 where the target is ignoreIndex) and log-sum-exp (for the backward); ε = labelSmoothing.
   */
  crossEntropyForward(x: View, target: Int32Array, ignoreIndex: number, labelSmoothing: number, loss: TypedArray, lse: TypedArray): void;
  /** dx [N, C] (contiguous) = gLoss[n]·(softmax(x_n) − (1 − ε)·onehot(t_n) − ε/C); ignored rows 0. */
  crossEntropyBackward(
    x: View, target: Int32Array, ignoreIndex: number, labelSmoothing: number, lse: TypedArray, gLoss: TypedArray, dx: TypedArray,
  ): void;

  // ---- optimizers ----
  /**
   * One Adam step (AdamW with `decoupled`) in place over contiguous p, m, v and, for AMSGrad, vmax,
   * with PyTorch's single-tensor arithmetic operation by operation, each rounded to p's precision.
   */
  adamUpdate(p: TypedArray, grad: TypedArray, m: TypedArray, v: TypedArray, vmax: TypedArray | null, h: AdamHyper): void;
  /** One SGD step in place; buf is the momentum buffer (null without momentum). */
  sgdUpdate(p: TypedArray, grad: TypedArray, buf: TypedArray | null, h: SgdHyper): void;
  /** One RMSprop step in place; buf the momentum buffer, gavg the centered mean (null when unused). */
  rmspropUpdate(p: TypedArray, grad: TypedArray, sq: TypedArray, buf: TypedArray | null, gavg: TypedArray | null, h: RmspropHyper): void;

  // ---- recurrent cells: one time step over the first n rows of a batch (see RecurrentSpec) ----
  /** pre = xg + hg (gates i, f, g, o; biases folded into xg); writes activated gates, c and h = o·tanh(c). */
  lstmCellForward(n: number, H: number, xg: TypedArray, hg: TypedArray, cPrev: TypedArray, gates: TypedArray, c: TypedArray, h: TypedArray): void;
  /**
   * dh: ∂J/∂h of the cell's own output (before any projection); dc: the gradient reaching c_t from
   * later steps. Writes pre-activation gate gradients, dcPrev and, when given, dcTotal = ∂J/∂c_t.
   */
  lstmCellBackward(
    n: number, H: number, gates: TypedArray, cPrev: TypedArray, c: TypedArray, dh: TypedArray, dc: TypedArray,
    dgates: TypedArray, dcPrev: TypedArray, dcTotal: TypedArray | null,
  ): void;
  /** GRU with the reset gate applied after the recurrent product (PyTorch): ghn = hg_n + b_hn, n = tanh(xg_n + r·ghn). */
  gruCellForward(
    n: number, H: number, xg: TypedArray, hg: TypedArray, bhn: TypedArray | null, hPrev: TypedArray,
    gates: TypedArray, ghn: TypedArray, h: TypedArray,
  ): void;
  /** Writes dgx (gradient of xg), dgh (of hg; differs from dgx in the n block) and the direct part of dhPrev. */
  gruCellBackward(
    n: number, H: number, gates: TypedArray, ghn: TypedArray, hPrev: TypedArray, dh: TypedArray,
    dgx: TypedArray, dgh: TypedArray, dhPrev: TypedArray,
  ): void;
  /** Reset-before GRU, first half of a step: r, z from xg + hgRz (2H wide), and rh = r·h_{t-1}. */
  gruRbGatesForward(n: number, H: number, xg: TypedArray, hgRz: TypedArray, hPrev: TypedArray, gates: TypedArray, rh: TypedArray): void;
  /** Second half: n = tanh(xg_n + hn) with hn = (r·h_{t-1})·W_hnᵀ, h = (1 − z)·n + z·h_{t-1}. */
  gruRbOutputForward(n: number, H: number, xg: TypedArray, hn: TypedArray, hPrev: TypedArray, gates: TypedArray, h: TypedArray): void;
  /** Writes the z and n blocks of dgx and dhPrev = dh·z. */
  gruRbOutputBackward(n: number, H: number, gates: TypedArray, hPrev: TypedArray, dh: TypedArray, dgx: TypedArray, dhPrev: TypedArray): void;
  /** drh = ∂J/∂(r·h_{t-1}); writes the r block of dgx and adds drh·r to dhPrev. */
  gruRbGatesBackward(n: number, H: number, gates: TypedArray, hPrev: TypedArray, drh: TypedArray, dgx: TypedArray, dhPrev: TypedArray): void;
  /** h = act(xg + hg), act tanh or relu. */
  rnnCellForward(n: number, H: number, relu: boolean, xg: TypedArray, hg: TypedArray, h: TypedArray): void;
  /** dpre = dh·act'(h), from the activated output h. */
  rnnCellBackward(n: number, H: number, relu: boolean, h: TypedArray, dh: TypedArray, dpre: TypedArray): void;

  // ---- whole recurrent sequences: one layer and direction (the reference composes the cells) ----
  lstmSequenceForward(a: RecurrentForwardArgs): void;
  lstmSequenceBackward(a: RecurrentBackwardArgs): void;
  gruSequenceForward(a: RecurrentForwardArgs): void;
  gruSequenceBackward(a: RecurrentBackwardArgs): void;
  rnnSequenceForward(a: RecurrentForwardArgs): void;
  rnnSequenceBackward(a: RecurrentBackwardArgs): void;
}

/** Hyper-parameters of one Adam step; `step` counts from 1 (bias corrections use it). */
export interface AdamHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  decoupled: boolean;
  maximize: boolean;
  step: number;
}

export interface SgdHyper {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  maximize: boolean;
  /** The momentum buffer is new: it becomes the gradient itself. */
  first: boolean;
}

export interface RmspropHyper {
  lr: number;
  alpha: number;
  eps: number;
  weightDecay: number;
  momentum: number;
  maximize: boolean;
}

export type RecurrentCell = "lstm" | "gru" | "rnnTanh" | "rnnRelu";

/**
 * One layer and direction of a recurrent network over a sequence, in step order: step t of the
 * arrays is the t-th step the cell takes (a reverse direction is reordered by the caller), and
 * rows are sorted by length, longest first, so the rows still running at step t are a prefix.
 */
export interface RecurrentSpec {
  cell: RecurrentCell;
  /** GRU only: reset gate after the recurrent product (PyTorch) or before it (Cho et al. 2014). */
  resetAfter: boolean;
  T: number;
  B: number;
  /** Input features. */
  I: number;
  H: number;
  /** Width of h: the projection size of an LSTM with projSize, else H. */
  P: number;
  /** Rows still running at each step (non-increasing); null: all B rows at every step. */
  batchSizes: Int32Array | null;
}

/**
 * Contiguous parameters with PyTorch's shapes: wIh [G·H, I], wHh [G·H, P], biases [G·H],
 * wHr [P, H]; G is 4 (LSTM i, f, g, o), 3 (GRU r, z, n) or 1.
 */
export interface RecurrentWeights {
  wIh: TypedArray;
  wHh: TypedArray;
  bIh: TypedArray | null;
  bHh: TypedArray | null;
  wHr: TypedArray | null;
}

export interface RecurrentWeightGrads {
  wIh: TypedArray | null;
  wHh: TypedArray | null;
  bIh: TypedArray | null;
  bHh: TypedArray | null;
  wHr: TypedArray | null;
}

/**
 * What the forward pass keeps for backward, allocated zero-filled by the caller; rows past a
 * step's batch size stay zero. gates [T, B, G·H] activated gates (RNN: h itself); aux [T, B, H]
 * LSTM c_t, GRU W_hn·h + b_hn (reset-after) or r·h_{t-1} (reset-before), empty for RNN;
 * hPrev [T, B, P] the state entering each step; m [T, B, H] LSTM o·tanh(c) before projection.
 */
export interface RecurrentSaved {
  gates: TypedArray;
  aux: TypedArray;
  hPrev: TypedArray;
  m: TypedArray | null;
}

export interface RecurrentForwardArgs {
  spec: RecurrentSpec;
  /** [T, B, I] in step order. */
  x: TypedArray;
  w: RecurrentWeights;
  /** [B, P] and (LSTM) [B, H]; null: zeros. */
  h0: TypedArray | null;
  c0: TypedArray | null;
  /** Outputs: y [T, B, P] (zero-filled by the caller; rows past a step's batch size stay zero), hN [B, P], cN [B, H]. */
  y: TypedArray;
  hN: TypedArray;
  cN: TypedArray | null;
  /** null when no gradient is needed. */
  saved: RecurrentSaved | null;
}

export interface RecurrentBackwardArgs {
  spec: RecurrentSpec;
  x: TypedArray;
  w: RecurrentWeights;
  c0: TypedArray | null;
  saved: RecurrentSaved;
  /** Incoming gradients of y, hN, cN; null: zero. */
  dy: TypedArray | null;
  dhN: TypedArray | null;
  dcN: TypedArray | null;
  /** Outputs written (not accumulated) when non-null. */
  dx: TypedArray | null;
  dw: RecurrentWeightGrads;
  dh0: TypedArray | null;
  dc0: TypedArray | null;
  /**
   * Optional per-step record for gradient-flow hooks: dhSteps [T, B, P] = ∂J/∂h_t and
   * dcSteps [T, B, H] = ∂J/∂c_t (LSTM), total derivatives; a row past its length holds the
   * gradient reaching its carried (final) state.
   */
  dhSteps: TypedArray | null;
  dcSteps: TypedArray | null;
}

export type KernelName = keyof KernelSignatures;
