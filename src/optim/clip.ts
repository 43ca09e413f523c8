import { DeviceError, GradlabError } from "../core/errors.js";
import { Tensor } from "../tensor/tensor.js";
import { noGrad } from "../autograd/mode.js";
import { type FloatArray, gradData } from "./arrays.js";

export type ParamsArg = Tensor | Iterable<Tensor>;

function withGrads(params: ParamsArg): Tensor[] {
  const list = params instanceof Tensor ? [params] : [...params];
  return list.filter((p) => p.grad !== null);
}

function checkNormType(op: string, p: number): void {
  if (!(p > 0) && p !== Infinity) throw new GradlabError(`${op}: normType must be a positive number or Infinity, got ${p}`);
}

/** The p-norm of one array of values (p = Infinity: largest magnitude). NaN anywhere gives NaN. */
export function pNorm(a: ArrayLike<number>, p: number): number {
  if (p === Infinity) {
    let m = 0;
    for (let i = 0; i < a.length; i++) {
      const v = Math.abs(a[i]);
      if (Number.isNaN(v)) return NaN;
      if (v > m) m = v;
    }
    return m;
  }
  let s = 0;
  if (p === 2) for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  else if (p === 1) for (let i = 0; i < a.length; i++) s += Math.abs(a[i]);
  else for (let i = 0; i < a.length; i++) s += Math.abs(a[i]) ** p;
  return p === 2 ? Math.sqrt(s) : p === 1 ? s : s ** (1 / p);
}

/**
 * The norm of all gradients together, computed as PyTorch does: the norm of the per-tensor norms.
 * Throws on a non-finite total when asked to.
 */
export function totalGradNorm(op: string, grads: ArrayLike<number>[], normType: number, errorIfNonfinite: boolean): number {
  checkNormType(op, normType);
  const total = pNorm(grads.map((g) => pNorm(g, normType)), normType);
  if (errorIfNonfinite && !Number.isFinite(total)) {
    throw new GradlabError(
      `${op}: the total norm of order ${normType} of the gradients is ${total}, so they cannot be clipped; ` +
        `pass { errorIfNonfinite: false } to clip anyway (the gradients become NaN), or find the first non-finite op with gl.detectAnomaly`,
    );
  }
  return total;
}

/** Scales every value by min(1, maxNorm / (total + 1e-6)) and returns that factor. */
export function scaleToNorm(grads: FloatArray[], total: number, maxNorm: number): number {
  // PyTorch multiplies even when the factor is 1, and a NaN total makes every value NaN.
  const coef = Math.min(maxNorm / (total + 1e-6), 1);
  for (const g of grads) for (let i = 0; i < g.length; i++) g[i] *= coef;
  return coef;
}

export interface ClipGradNormOptions {
  /** Throw when the total norm is NaN or infinite instead of clipping (default false, as PyTorch). */
  errorIfNonfinite?: boolean;
}

/**
 * Rescales the gradients in place so that their joint `normType`-norm is at most `maxNorm`
 * (torch.nn.utils.clip_grad_norm_). Returns the total norm before clipping.
 */
export function clipGradNorm(params: ParamsArg, maxNorm: number, normType = 2, opts: ClipGradNormOptions = {}): number {
  const op = "clipGradNorm";
  if (!(maxNorm >= 0)) throw new GradlabError(`${op}: maxNorm must be a non-negative number, got ${maxNorm}`);
  const withG = withGrads(params);
  const on = withG.find((p) => p.dev);
  if (on) {
    throw new DeviceError(
      `${op}: returns the total norm, which on ${on.device} is only known asynchronously; use \`await clipGradNormAsync(...)\` or the optimizer's globalClipNorm guard`,
    );
  }
  const grads = withG.map((p) => gradData(op, p));
  if (grads.length === 0) {
    checkNormType(op, normType);
    return 0;
  }
  const total = totalGradNorm(op, grads, normType, opts.errorIfNonfinite ?? false);
  scaleToNorm(grads, total, maxNorm);
  return total;
}

/**
 * clipGradNorm for gradients on any device: on a device the norm and the scaling run there, and
 * only the total norm is read back (the promise). On the CPU it is clipGradNorm.
 */
export async function clipGradNormAsync(params: ParamsArg, maxNorm: number, normType = 2, opts: ClipGradNormOptions = {}): Promise<number> {
  const op = "clipGradNormAsync";
  const ps = withGrads(params);
  const dev = ps.find((p) => p.grad!.dev)?.grad!.device;
  if (!dev) return clipGradNorm(ps, maxNorm, normType, opts);
  if (!(maxNorm >= 0)) throw new GradlabError(`${op}: maxNorm must be a non-negative number, got ${maxNorm}`);
  checkNormType(op, normType);
  const grads = ps.map((p) => p.grad!);
  const other = grads.find((g) => g.device !== dev);
  if (other) throw new DeviceError(`${op}: gradients on ${dev} and ${other.device}; move the whole model with module.to({ device })`);
  const norms = grads.map((g) => g.norm(normType));
  const total = noGrad(() =>
    normType === Infinity ? norms.reduce((a, b) => a.maximum(b)) : norms.map((n) => n.pow(normType)).reduce((a, b) => a.add(b)).pow(1 / normType),
  );
  const value = total.itemAsync();
  if (opts.errorIfNonfinite && !Number.isFinite(await value)) {
    throw new GradlabError(`${op}: the total norm of order ${normType} of the gradients is ${await value}, so they cannot be clipped; pass { errorIfNonfinite: false } to clip anyway`);
  }
  // PyTorch multiplies even when the factor is 1, and a NaN total makes every value NaN.
  const coef = noGrad(() => total.add(1e-6).reciprocal().mul(maxNorm).clamp(null, 1));
  for (const g of grads) g.copy_(g.mul(coef));
  return value;
}

/** Clamps values to [-value, value] in place and returns how many were changed; NaN stays NaN. */
export function clampValues(grads: FloatArray[], value: number): number {
  let clipped = 0;
  for (const g of grads) {
    for (let i = 0; i < g.length; i++) {
      const v = g[i];
      if (v > value) {
        g[i] = value;
        clipped++;
      } else if (v < -value) {
        g[i] = -value;
        clipped++;
      }
    }
  }
  return clipped;
}

/** Clamps every gradient value to [-clipValue, clipValue] in place (torch.nn.utils.clip_grad_value_). */
export function clipGradValue(params: ParamsArg, clipValue: number): void {
  const op = "clipGradValue";
  if (!(clipValue >= 0)) throw new GradlabError(`${op}: clipValue must be a non-negative number, got ${clipValue}`);
  const ps = withGrads(params);
  // On a device the clamp runs there, in place; nothing needs reading back.
  for (const p of ps) if (p.grad?.dev) p.grad.copy_(p.grad.clamp(-clipValue, clipValue));
  clampValues(ps.filter((p) => !p.grad?.dev).map((p) => gradData(op, p)), clipValue);
}
