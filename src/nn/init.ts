/**
 * In-place initialisers with torch.nn.init's maths (fans, gains, bounds). They write values
 * without recording autograd, like PyTorch's no_grad initialisers, and draw from `generator`
 * (default: the global one that manualSeed seeds).
 */
import { allocate } from "../core/dtype.js";
import { DTypeError, GradlabError, ShapeError, fmtShape } from "../core/errors.js";
import { type Generator, defaultGenerator } from "../core/rng.js";
import { Tensor } from "../tensor/tensor.js";
import { householderQ } from "./qr.js";

export type Nonlinearity =
  | "linear" | "conv1d" | "conv2d" | "conv3d" | "conv_transpose1d" | "conv_transpose2d" | "conv_transpose3d"
  | "sigmoid" | "tanh" | "relu" | "leaky_relu" | "selu";

export type FanMode = "fan_in" | "fan_out";

export interface KaimingOptions {
  /** Negative slope of the leaky ReLU that follows (0 for ReLU). */
  a?: number;
  mode?: FanMode;
  nonlinearity?: Nonlinearity;
  generator?: Generator;
}

/** The recommended gain for a nonlinearity, as torch.nn.init.calculate_gain. */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case "linear": case "conv1d": case "conv2d": case "conv3d":
    case "conv_transpose1d": case "conv_transpose2d": case "conv_transpose3d": case "sigmoid":
      return 1;
    case "tanh":
      return 5 / 3;
    case "relu":
      return Math.SQRT2;
    case "leaky_relu": {
      const slope = param ?? 0.01;
      if (!Number.isFinite(slope)) throw new GradlabError(`calculateGain: negative slope ${slope} is not a valid number`);
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case "selu":
      return 3 / 4;
    default:
      throw new GradlabError(`calculateGain: unsupported nonlinearity "${String(nonlinearity)}"`);
  }
}

/** [fanIn, fanOut] of a weight [out, in, ...receptive field], as PyTorch computes them. */
export function calculateFanInAndFanOut(t: Tensor): [number, number] {
  if (t.ndim < 2) {
    throw new ShapeError(`calculateFanInAndFanOut: fan in and fan out need a tensor with at least 2 dims, got ${fmtShape(t.shape)}`);
  }
  const receptive = t.shape.slice(2).reduce((a, b) => a * b, 1);
  return [t.shape[1] * receptive, t.shape[0] * receptive];
}

function requireFloatTensor(op: string, t: Tensor): void {
  if (!(t instanceof Tensor)) throw new GradlabError(`${op}: expected a Tensor, got ${typeof t}`);
  if (t.dtype === "int32") throw new DTypeError(`${op}: expected a floating-point tensor, got int32`);
}

/** Writes n values from `next` into t in row-major order, whatever t's strides. */
function fillWith(t: Tensor, next: () => number): Tensor {
  const vals = allocate(t.dtype, t.numel());
  for (let i = 0; i < vals.length; i++) vals[i] = next();
  return t.copy_(new Tensor(vals, [...t.shape]));
}

export function uniform_(t: Tensor, a = 0, b = 1, generator: Generator = defaultGenerator): Tensor {
  requireFloatTensor("uniform_", t);
  if (!(a <= b)) throw new GradlabError(`uniform_: expects a <= b, got a=${a}, b=${b}`);
  return fillWith(t, () => a + (b - a) * generator.random());
}

export function normal_(t: Tensor, mean = 0, std = 1, generator: Generator = defaultGenerator): Tensor {
  requireFloatTensor("normal_", t);
  if (!(std >= 0)) throw new GradlabError(`normal_: std must be non-negative, got ${std}`);
  return fillWith(t, () => mean + std * generator.normal());
}

export function constant_(t: Tensor, value: number): Tensor {
  if (!(t instanceof Tensor)) throw new GradlabError(`constant_: expected a Tensor, got ${typeof t}`);
  return t.fill_(value);
}

export const zeros_ = (t: Tensor): Tensor => constant_(t, 0);
export const ones_ = (t: Tensor): Tensor => constant_(t, 1);

/** U(-a, a) with a = gain·√(6 / (fanIn + fanOut)) (Glorot & Bengio). */
export function xavierUniform_(t: Tensor, gain = 1, generator: Generator = defaultGenerator): Tensor {
  requireFloatTensor("xavierUniform_", t);
  const [fanIn, fanOut] = calculateFanInAndFanOut(t);
  const a = Math.sqrt(3) * gain * Math.sqrt(2 / (fanIn + fanOut));
  return uniform_(t, -a, a, generator);
}

/** N(0, std²) with std = gain·√(2 / (fanIn + fanOut)). */
export function xavierNormal_(t: Tensor, gain = 1, generator: Generator = defaultGenerator): Tensor {
  requireFloatTensor("xavierNormal_", t);
  const [fanIn, fanOut] = calculateFanInAndFanOut(t);
  return normal_(t, 0, gain * Math.sqrt(2 / (fanIn + fanOut)), generator);
}

function kaimingStd(op: string, t: Tensor, opts: KaimingOptions): number {
  const { a = 0, mode = "fan_in", nonlinearity = "leaky_relu" } = opts;
  if (mode !== "fan_in" && mode !== "fan_out") throw new GradlabError(`${op}: mode must be "fan_in" or "fan_out", got "${String(mode)}"`);
  const [fanIn, fanOut] = calculateFanInAndFanOut(t);
  return calculateGain(nonlinearity, a) / Math.sqrt(mode === "fan_in" ? fanIn : fanOut);
}

/**
 * U(-b, b) with b = gain·√(3 / fan) (He et al.). With a = √5 this is the default init of
 * PyTorch's Linear: b = 1/√fanIn.
 */
export function kaimingUniform_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  requireFloatTensor("kaimingUniform_", t);
  // PyTorch leaves zero-element tensors alone (their fan may be 0).
  if (t.numel() === 0) return t;
  const bound = Math.sqrt(3) * kaimingStd("kaimingUniform_", t, opts);
  return uniform_(t, -bound, bound, opts.generator);
}

export function kaimingNormal_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  requireFloatTensor("kaimingNormal_", t);
  if (t.numel() === 0) return t;
  return normal_(t, 0, kaimingStd("kaimingNormal_", t, opts), opts.generator);
}

/**
 * A (semi-)orthogonal matrix, as torch.nn.init.orthogonal_: the tensor is viewed as
 * [shape[0], rest]; a normal matrix of that shape (transposed if wide) is QR-factorised and Q's
 * columns are multiplied by the signs of R's diagonal, which makes Q uniformly (Haar) distributed.
 */
export function orthogonal_(t: Tensor, gain = 1, generator: Generator = defaultGenerator): Tensor {
  requireFloatTensor("orthogonal_", t);
  if (t.ndim < 2) throw new ShapeError(`orthogonal_: only tensors with 2 or more dims are supported, got ${fmtShape(t.shape)}`);
  if (t.numel() === 0) return t;
  const rows = t.shape[0];
  const cols = t.numel() / rows;
  const wide = rows < cols;
  const m = wide ? cols : rows;
  const n = wide ? rows : cols;
  // The normal matrix is drawn row-major [rows, cols]; A is it (or its transpose when wide), stored column-major.
  const a = new Float64Array(m * n);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) a[wide ? i * cols + j : j * rows + i] = generator.normal();
  }
  const q = householderQ(a, m, n);
  // q is column-major m×n; the result is row-major [rows, cols]: q itself when wide, qᵀ otherwise.
  const out = allocate(t.dtype, rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) out[i * cols + j] = gain * (wide ? q[i * cols + j] : q[j * rows + i]);
  }
  return t.copy_(new Tensor(out, [...t.shape]));
}
