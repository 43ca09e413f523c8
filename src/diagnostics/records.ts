/**
 * The records diagnostics emit: plain, typed, JSON-serialisable objects (the CLI and the dashboard
 * draw them; nothing here refers to tensors). Non-finite numbers survive JSONL through jsonl.ts.
 */

/** One parameter after a backward pass (and, with updateRatio, after the optimizer step). */
export interface ParamStats {
  name: string;
  shape: number[];
  numel: number;
  /** L2 norm of the gradient; null when the parameter got none. */
  gradNorm: number | null;
  weightNorm: number;
  /** ‖w_after − w_before‖ / ‖w_before‖ over the optimizer step; null when no step was observed. */
  updateRatio: number | null;
  /** Fraction of gradient values exactly 0 (dead units, masked inputs); null without a gradient. */
  zeroGradFraction: number | null;
  /** Gradient values that are NaN or ±Infinity. */
  nonFinite: number;
}

/** ‖∂J/∂h_t‖ of one recurrent layer and direction over the time steps of the last backward. */
export interface HiddenGradStats {
  /** The recurrent module's dotted name in the model ("" for the model itself). */
  module: string;
  layer: number;
  direction: "forward" | "reverse";
  /** dhNorm[t]: Frobenius norm over batch and hidden units of ∂J/∂h_t, t = 0..T−1 in time order. */
  dhNorm: number[];
  /**
   * ‖∂J/∂h‖ at the first step the layer processes over that at its last (forward: t = 0 over
   * t = T−1; reverse: the other way): how much of the gradient survives the trip back through
   * time. null when the last step's gradient is 0.
   */
  firstOverLast: number | null;
}

export type FlagKind = "vanishing" | "exploding" | "nonFinite";

export interface Flag {
  kind: FlagKind;
  /** A parameter name, or "<module>[layer l, direction]" for a recurrent layer. */
  target: string;
  value: number;
  threshold: number;
  message: string;
}

/**
 * When a flag is raised. Gradient norms are absolute; the recurrent ratios are
 * ‖∂J/∂h_first‖ / ‖∂J/∂h_last‖ (see HiddenGradStats.firstOverLast).
 */
export interface Thresholds {
  /** A parameter gradient norm below this is flagged vanishing (default 1e-7). */
  vanishingGradNorm: number;
  /** A parameter gradient norm above this is flagged exploding (default 1e3). */
  explodingGradNorm: number;
  /** A recurrent layer whose ratio is below this is flagged vanishing (default 1e-3: under 0.1 % survives). */
  vanishingRatio: number;
  /** A recurrent layer whose ratio is above this is flagged exploding (default 1e3). */
  explodingRatio: number;
}

export const DEFAULT_THRESHOLDS: Readonly<Thresholds> = Object.freeze({
  vanishingGradNorm: 1e-7,
  explodingGradNorm: 1e3,
  vanishingRatio: 1e-3,
  explodingRatio: 1e3,
});

export interface GradFlowRecord {
  type: "gradflow";
  step: number;
  loss?: number;
  params: ParamStats[];
  hidden: HiddenGradStats[];
  flags: Flag[];
}

/** One optimizer step of a training run. */
export interface TrainRecord {
  type: "train";
  step: number;
  loss: number;
  lr?: number;
  /** Joint gradient norm before clipping (optimizer.lastStepInfo.gradNorm). */
  gradNorm?: number;
  /** True when the optimizer skipped the step for non-finite gradients. */
  skipped?: boolean;
  /** Fraction of gradient values changed by clipping (optimizer.lastStepInfo.clipFraction). */
  clipFraction?: number;
  /** Examples or tokens seen so far, when the loop counts them. */
  seen?: number;
  /** Seconds since the run started. */
  time?: number;
}

/** One evaluation on held-out data. */
export interface EvalRecord {
  type: "eval";
  step: number;
  loss: number;
  metrics?: Record<string, number>;
}

export type DiagnosticRecord = TrainRecord | EvalRecord | GradFlowRecord;
