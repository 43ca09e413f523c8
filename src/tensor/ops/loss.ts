import { DeviceError, GradlabError, ShapeError, fmtShape } from "../../core/errors.js";
import { crossEntropyRows } from "../primitives/cross-entropy.js";
import { gather } from "../primitives/indexing.js";
import { requireFloat, requireInt } from "../primitives/util.js";
import { logSoftmax } from "./activation.js";
import { Tensor } from "../tensor.js";

export type Reduction = "mean" | "sum" | "none";

export interface CrossEntropyOptions {
  ignoreIndex?: number;
  reduction?: Reduction;
  labelSmoothing?: number;
}

function reduce(loss: Tensor, reduction: Reduction, op: string): Tensor {
  if (reduction === "none") return loss;
  if (reduction === "sum") return loss.sum();
  if (reduction === "mean") return loss.mean();
  throw new GradlabError(`${op}: reduction must be "mean", "sum" or "none", got ${String(reduction)}`);
}

/**
 * torch.nn.functional.cross_entropy with class-index targets: logits [N, C] (or [N, C, d...])
 * and int32 targets [N] (or [N, d...]). Ignored targets add nothing and are not counted in the mean.
 * Runs as one fused node (crossEntropyRows); crossEntropyComposite is its twin built from
 * primitives, which tests hold it to.
 */
export function crossEntropy(logits: Tensor, target: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  return crossEntropyWith(logits, target, opts, true);
}

/** The same loss as log-softmax, gather and masking primitives (the fused path's reference). */
export function crossEntropyComposite(logits: Tensor, target: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  return crossEntropyWith(logits, target, opts, false);
}

function crossEntropyWith(logits: Tensor, target: Tensor, opts: CrossEntropyOptions, fused: boolean): Tensor {
  const { ignoreIndex = -100, reduction = "mean", labelSmoothing = 0 } = opts;
  requireFloat("crossEntropy", logits);
  requireInt("crossEntropy", target, "target");
  if (target.dev) {
    throw new DeviceError(`crossEntropy: the target must be a CPU tensor (its classes are checked on the host), got one on ${target.device}`);
  }
  if (!(labelSmoothing >= 0 && labelSmoothing <= 1)) {
    throw new GradlabError(`crossEntropy: labelSmoothing must be in [0, 1], got ${labelSmoothing}`);
  }
  if (reduction !== "mean" && reduction !== "sum" && reduction !== "none") {
    throw new GradlabError(`crossEntropy: reduction must be "mean", "sum" or "none", got ${String(reduction)}`);
  }
  let x = logits;
  let t = target;
  if (x.ndim === 1) {
    x = x.unsqueeze(0);
    t = t.reshape([1]);
  }
  if (x.ndim < 2) throw new ShapeError(`crossEntropy: logits must be [N, C] or [N, C, ...], got ${fmtShape(logits.shape)}`);
  const expect = [x.shape[0], ...x.shape.slice(2)];
  if (t.ndim !== expect.length || t.shape.some((v, i) => v !== expect[i])) {
    throw new ShapeError(`crossEntropy: target shape ${fmtShape(target.shape)} does not match logits ${fmtShape(logits.shape)} (expected ${fmtShape(expect)})`);
  }
  const C = x.shape[1];
  if (x.ndim > 2) {
    // Move classes last and flatten: [N, C, d...] → [N·d..., C].
    const perm = [0, ...x.shape.slice(2).map((_, i) => i + 2), 1];
    x = x.permute(perm).reshape([-1, C]);
    t = t.reshape([-1]);
  }
  const tv = t.toArray() as Int32Array;
  const safe = new Int32Array(tv.length);
  const keep = new Int32Array(tv.length);
  let count = 0;
  for (let i = 0; i < tv.length; i++) {
    const k = tv[i];
    if (k === ignoreIndex) continue;
    if (k < 0 || k >= C) throw new ShapeError(`crossEntropy: target ${k} is out of range for ${C} classes`);
    safe[i] = k;
    keep[i] = 1;
    count++;
  }
  // An empty batch or no classes: the composite gives PyTorch's results (NaN mean, 0 sum).
  const loss = fused && x.numel() > 0
    ? crossEntropyRows(x, tv, ignoreIndex, labelSmoothing)
    : compositeRows(x, safe, keep, labelSmoothing);
  if (reduction === "mean") return loss.sum().div(count);
  if (reduction === "none") return loss.reshape(target.ndim === 0 ? [] : [...target.shape]);
  return loss.sum();
}

function compositeRows(x: Tensor, safe: Int32Array, keep: Int32Array, labelSmoothing: number): Tensor {
  const C = x.shape[1];
  const n = safe.length;
  const logp = logSoftmax(x, 1);
  let loss = gather(logp, 1, new Tensor(safe, [n, 1])).reshape([-1]).neg();
  if (labelSmoothing > 0) {
    const smooth = logp.sum(1).neg().div(C);
    loss = loss.mul(1 - labelSmoothing).add(smooth.mul(labelSmoothing));
  }
  const weight = new Tensor(keep, [n]).to(loss.dtype);
  return loss.mul(weight.toDevice(loss.device));
}

export function mseLoss(input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  requireFloat("mseLoss", input);
  if (input.shape.join() !== target.shape.join()) {
    throw new ShapeError(`mseLoss: input ${fmtShape(input.shape)} and target ${fmtShape(target.shape)} must have the same shape`);
  }
  const d = input.sub(target);
  return reduce(d.mul(d), opts.reduction ?? "mean", "mseLoss");
}

/** Negative log-likelihood of log-probabilities [N, C] at int32 targets [N]. */
export function nllLoss(logProbs: Tensor, target: Tensor, opts: { reduction?: Reduction; ignoreIndex?: number } = {}): Tensor {
  requireInt("nllLoss", target, "target");
  const { ignoreIndex = -100, reduction = "mean" } = opts;
  const tv = target.toArray();
  const safe = Int32Array.from(tv, (k) => (k === ignoreIndex ? 0 : k));
  const keep = new Tensor(Int32Array.from(tv, (k) => (k === ignoreIndex ? 0 : 1)), [tv.length]);
  const weight = keep.to(logProbs.dtype);
  const loss = gather(logProbs, 1, new Tensor(safe, [tv.length, 1])).reshape([-1]).neg().mul(weight.toDevice(logProbs.device));
  if (reduction === "mean") return loss.sum().div(keep.sum().item());
  return reduce(loss, reduction, "nllLoss");
}
