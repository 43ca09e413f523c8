import type { View } from "../backend/kernels.js";
import { DTypeError, GradlabError, ShapeError, fmtShape } from "../core/errors.js";
import { contiguousStrides, numel } from "../core/shape.js";
import { RNNLM } from "../models/rnnlm.js";
import { clipToNorm, sumSquares } from "./clip.js";
import { Tensor } from "../tensor/tensor.js";
import {
  type AdamHyper, type Gpu, GpuTensor, type GruWork, type Recording, type LstmWork, adamScalars, adamStep, checkIds, copyWithin, crossEntropy, embedding,
  embeddingBackward, embeddingIndex, gruBackward, gruForward, gruWork, lstmBackward, lstmForward, lstmWork, matmul, sum,
} from "../backends/webgpu/index.js";

export interface GpuRNNLMOptions {
  /** "lstm" (default) or "gru" (PyTorch's, b_hn inside the reset product). */
  cell?: "lstm" | "gru";
  vocabSize: number;
  embeddingDim: number;
  hiddenSize: number;
  /** Stacked layers, each reading the previous layer's output sequence (default 1). */
  numLayers?: number;
  /** Dropout between layers: not on the GPU; anything but 0 is refused. */
  dropout?: number;
  /** Adam's settings, PyTorch's defaults. */
  lr?: number;
  betas?: readonly [number, number];
  eps?: number;
  weightDecay?: number;
  /** AdamW (decoupled weight decay) instead of Adam. */
  decoupled?: boolean;
  ignoreIndex?: number;
  /** Clip the gradients to this joint L2 norm before Adam, as clip_grad_norm_ (0 or absent: off). */
  clipNorm?: number;
}

/** Adam's state by PyTorch parameter name: the step count and the moments m (exp_avg) and v (exp_avg_sq). */
export interface GpuAdamState {
  step: number;
  m: Record<string, View>;
  v: Record<string, View>;
}

/** PyTorch names of the parameters, in the order of gradlab's RNNLM with `layers` layers. */
function paramNames(layers: number): string[] {
  const rnn: string[] = [];
  for (let l = 0; l < layers; l++) for (const k of ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]) rnn.push(`rnn.${k}_l${l}`);
  return ["embedding.weight", ...rnn, "decoder.weight", "decoder.bias"];
}
type Name = string;

export interface StepOptions {
  /**
   * Start from the final state of the previous step (same T and B) instead of zeros; the first
   * step, or one with another shape, starts from zeros.
   */
  carryState?: boolean;
}

/** Per-(T, B) buffers: the ids, the CSR index of the ids, activations and their gradients. */
interface StepBuffers {
  T: number;
  B: number;
  ids: GpuTensor;
  targets: GpuTensor;
  offsets: GpuTensor;
  order: GpuTensor;
  /** Each layer's input sequence [T·B, in]: the embeddings, then a copy of the layer below's outputs. */
  X: GpuTensor[];
  rnn: (LstmWork | GruWork)[];
  logits: GpuTensor;
  dlogits: GpuTensor;
  rowLoss: GpuTensor;
  dY: GpuTensor;
  /** Each layer's input gradient: layer l's is the output gradient of layer l − 1; layer 0's feeds the embedding. */
  dX: GpuTensor[];
}

/**
 * Embedding → LSTM or GRU (one or more stacked layers) → Linear on every step → mean cross-entropy → backward →
 * Adam, all on the GPU, one submit per training step and no host round trip inside it (see
 * lstmForward / gruForward and their backward twins for the recurrent part). The loss is read back
 * only when asked. Weights load from and export to a CPU gl.models.RNNLM's state dict (PyTorch names).
 */
export class GpuRNNLM {
  readonly cell: "lstm" | "gru";
  readonly V: number;
  readonly E: number;
  readonly H: number;
  readonly numLayers: number;
  private readonly names: readonly string[];
  private readonly params: Record<Name, GpuTensor>;
  private readonly grads: Record<Name, GpuTensor>;
  private readonly m: Record<Name, GpuTensor>;
  private readonly v: Record<Name, GpuTensor>;
  private readonly hyper: AdamHyper;
  private readonly ignoreIndex: number;
  private readonly scalars: GpuTensor;
  private readonly lossBuf: GpuTensor;
  private readonly clipNorm: number;
  /** Squared norm of each parameter's gradient, written every step (for clipping and gradNorm()). */
  private readonly sqBuf: GpuTensor;
  private bufs: StepBuffers | null = null;
  private steps = 0;
  private beforeEncode: (() => void) | null = null;
  /** Encoded steps by (carry, target count) for the current buffers; dropped when buffers change. */
  private readonly recordings = new Map<string, Recording>();
  private adamRecording: Recording | null = null;

  private constructor(
    readonly gpu: Gpu,
    o: GpuRNNLMOptions,
  ) {
    this.cell = o.cell ?? "lstm";
    if (this.cell !== "lstm" && this.cell !== "gru") throw new GradlabError(`GpuRNNLM: cell must be "lstm" or "gru", got ${JSON.stringify(o.cell)}`);
    for (const k of ["vocabSize", "embeddingDim", "hiddenSize"] as const) {
      if (!Number.isInteger(o[k]) || o[k] < 1) throw new GradlabError(`GpuRNNLM: ${k} must be a positive integer, got ${o[k]}`);
    }
    this.V = o.vocabSize;
    this.E = o.embeddingDim;
    this.H = o.hiddenSize;
    this.numLayers = o.numLayers ?? 1;
    if (!Number.isInteger(this.numLayers) || this.numLayers < 1) throw new GradlabError(`GpuRNNLM: numLayers must be a positive integer, got ${o.numLayers}`);
    if ((o.dropout ?? 0) !== 0) throw new GradlabError(`GpuRNNLM: dropout between layers is not supported on the GPU, got dropout ${o.dropout} (use 0)`);
    this.names = paramNames(this.numLayers);
    const [beta1, beta2] = o.betas ?? [0.9, 0.999];
    this.hyper = { lr: o.lr ?? 1e-3, beta1, beta2, eps: o.eps ?? 1e-8, weightDecay: o.weightDecay ?? 0, decoupled: o.decoupled ?? false };
    this.ignoreIndex = o.ignoreIndex ?? -100;
    const make = (): Record<Name, GpuTensor> => {
      const r = {} as Record<Name, GpuTensor>;
      for (const n of this.names) r[n] = GpuTensor.zeros(gpu, this.shapeOf(n));
      return r;
    };
    this.params = make();
    this.grads = make();
    this.m = make();
    this.v = make();
    this.scalars = GpuTensor.zeros(gpu, [2]);
    this.lossBuf = GpuTensor.zeros(gpu, [1]);
    this.clipNorm = o.clipNorm ?? 0;
    if (!(this.clipNorm >= 0)) throw new GradlabError(`GpuRNNLM: clipNorm must be ≥ 0, got ${o.clipNorm}`);
    this.sqBuf = GpuTensor.zeros(gpu, [this.names.length]);
  }

  /**
   * A model on `gpu`, with the weights of `init` (a state dict with PyTorch names, e.g.
   * `new gl.models.RNNLM({ ..., cell: "lstm" }).stateDict()`) or else PyTorch's initialisation.
   */
  static create(gpu: Gpu, o: GpuRNNLMOptions, init?: Record<string, View>): GpuRNNLM {
    const model = new GpuRNNLM(gpu, o);
    const sd =
      init ?? new RNNLM({ vocabSize: o.vocabSize, embeddingDim: o.embeddingDim, hiddenSize: o.hiddenSize, numLayers: model.numLayers, cell: model.cell }).stateDict();
    model.loadStateDict(sd);
    return model;
  }

  private shapeOf(n: Name): number[] {
    const { V, E, H } = this;
    const G = (this.cell === "lstm" ? 4 : 3) * H;
    if (n === "embedding.weight") return [V, E];
    if (n === "decoder.weight") return [V, H];
    if (n === "decoder.bias") return [V];
    const m = /^rnn\.(weight_ih|weight_hh|bias_ih|bias_hh)_l(\d+)$/.exec(n)!;
    if (m[1] === "weight_ih") return [G, m[2] === "0" ? E : H];
    return m[1] === "weight_hh" ? [G, H] : [G];
  }

  /** Uploads weights by PyTorch name (every layer's, shapes checked) and resets Adam's state. */
  loadStateDict(sd: Record<string, View>): void {
    const missing = this.names.filter((n) => !(n in sd));
    const extra = Object.keys(sd).filter((k) => !this.names.includes(k));
    if (missing.length || extra.length) {
      throw new GradlabError(`GpuRNNLM.loadStateDict: missing ${JSON.stringify(missing)}, unexpected ${JSON.stringify(extra)}`);
    }
    for (const n of this.names) {
      const want = this.shapeOf(n);
      if (sd[n].shape.join() !== want.join()) {
        throw new ShapeError(`GpuRNNLM.loadStateDict: "${n}" has shape ${fmtShape(sd[n].shape)}, expected ${fmtShape(want)}`);
      }
      this.params[n].release();
      this.params[n] = GpuTensor.fromTensor(sd[n], this.gpu);
      this.recordings.clear();
      this.adamRecording = null;
      this.gpu.clear(this.m[n].buffer);
      this.gpu.clear(this.v[n].buffer);
    }
    this.steps = 0;
  }

  /** The weights, read back as float32 tensors by PyTorch name. */
  async stateDict(): Promise<Record<string, Tensor>> {
    return this.readAll(this.params);
  }

  /** The gradients of the last forwardBackward/step, by parameter name. */
  async gradients(): Promise<Record<string, Tensor>> {
    return this.readAll(this.grads);
  }

  private async readAll(r: Record<Name, GpuTensor>): Promise<Record<string, Tensor>> {
    const out: Record<string, Tensor> = {};
    for (const n of this.names) out[n] = new Tensor(await r[n].read(), r[n].shape);
    return out;
  }

  /** The mean loss of the last forwardBackward/step (waits for the GPU). */
  async loss(): Promise<number> {
    return (await this.lossBuf.read())[0];
  }

  /** The joint L2 norm of the last step's gradients, before clipping (waits for the GPU). */
  async gradNorm(): Promise<number> {
    let t = 0;
    for (const x of await this.sqBuf.read()) t += x;
    return Math.sqrt(t);
  }

  /** Training steps taken (Adam's step count). */
  get stepCount(): number {
    return this.steps;
  }

  /** Adam's moments and step count read back, to checkpoint them or continue on the CPU. */
  async adamState(): Promise<{ step: number; m: Record<string, Tensor>; v: Record<string, Tensor> }> {
    return { step: this.steps, m: await this.readAll(this.m), v: await this.readAll(this.v) };
  }

  /** Restores Adam's moments and step count (after loadStateDict, which resets them). */
  loadAdamState(s: GpuAdamState): void {
    if (!Number.isInteger(s.step) || s.step < 0) throw new GradlabError(`GpuRNNLM.loadAdamState: step must be an integer ≥ 0, got ${s.step}`);
    for (const [what, r] of [["m", s.m], ["v", s.v]] as const) {
      for (const n of this.names) {
        const t = r[n];
        if (!t) throw new GradlabError(`GpuRNNLM.loadAdamState: ${what} has no "${n}"`);
        if (t.shape.join() !== this.shapeOf(n).join()) {
          throw new ShapeError(`GpuRNNLM.loadAdamState: ${what}["${n}"] has shape ${fmtShape(t.shape)}, expected ${fmtShape(this.shapeOf(n))}`);
        }
      }
    }
    for (const n of this.names) {
      this.m[n].write(float32(s.m[n]));
      this.v[n].write(float32(s.v[n]));
    }
    this.steps = s.step;
  }

  /**
   * The final recurrent state of the last step, [numLayers, B, H] each like nn.LSTM's h_n and c_n
   * (c for LSTM only), or null before any step: what a carried step would start from.
   */
  async finalState(): Promise<{ h: Tensor; c?: Tensor } | null> {
    const b = this.bufs;
    if (!b) return null;
    const BH = b.B * this.H;
    const L = this.numLayers;
    const slots = async (pick: (w: LstmWork | GruWork) => GpuTensor) => {
      const out = new Float32Array(L * BH);
      for (let l = 0; l < L; l++) out.set(new Float32Array(await this.gpu.read(pick(b.rnn[l]).buffer, b.T * BH * 4, BH * 4)), l * BH);
      return new Tensor(out, [L, b.B, this.H]);
    };
    const h = await slots((w) => w.Hs);
    return this.cell === "lstm" ? { h, c: await slots((w) => (w as LstmWork).Cs) } : { h };
  }

  /**
   * Sets the state that the next step with inputs [T, B] and carryState starts from (h, and c for
   * LSTM, [numLayers, B, H] each, or [B, H] for one layer): resuming truncated BPTT from a
   * checkpoint, or across a change of T.
   */
  setState(T: number, B: number, h: View, c?: View): void {
    const L = this.numLayers;
    for (const [n, t] of [["h", h], ["c", c]] as const) {
      if (n === "c" && this.cell !== "lstm") {
        if (t) throw new GradlabError("GpuRNNLM.setState: a GRU has no cell state c");
        continue;
      }
      if (!t) throw new GradlabError(`GpuRNNLM.setState: an LSTM needs ${n}`);
      const want = L === 1 && t.shape.length === 2 ? [B, this.H] : [L, B, this.H];
      if (t.shape.join() !== want.join()) throw new ShapeError(`GpuRNNLM.setState: ${n} has shape ${fmtShape(t.shape)}, expected ${fmtShape(want)}`);
    }
    const b = this.buffers(T, B);
    const BH = B * this.H;
    this.gpu.submit();
    const put = (pick: (w: LstmWork | GruWork) => GpuTensor, t: View) => {
      const d = float32(t);
      for (let l = 0; l < L; l++) this.gpu.device.queue.writeBuffer(pick(b.rnn[l]).buffer, T * BH * 4, d.buffer, d.byteOffset + l * BH * 4, BH * 4);
    };
    put((w) => w.Hs, h);
    if (c) put((w) => (w as LstmWork).Cs, c);
  }

  private releaseBuffers(): void {
    this.recordings.clear();
    if (!this.bufs) return;
    const { X, dX, rnn, ...rest } = this.bufs;
    for (const t of [...Object.values(rest), ...X, ...dX, ...rnn.flatMap((w) => Object.values(w))]) if (t instanceof GpuTensor) t.release();
    this.bufs = null;
  }

  private buffers(T: number, B: number): StepBuffers {
    if (this.bufs && this.bufs.T === T && this.bufs.B === B) return this.bufs;
    this.releaseBuffers();
    const { gpu, V, E, H } = this;
    const N = T * B;
    const e = (shape: number[], dtype: "float32" | "int32" = "float32"): GpuTensor => GpuTensor.empty(gpu, shape, dtype);
    const layers = Array.from({ length: this.numLayers }, (_, l) => l);
    this.bufs = {
      T, B, ids: e([N], "int32"), targets: e([N], "int32"), offsets: e([V + 1], "int32"), order: e([Math.max(1, N)], "int32"),
      X: layers.map((l) => e([N, l === 0 ? E : H])), rnn: layers.map(() => (this.cell === "lstm" ? lstmWork(gpu, T, B, H) : gruWork(gpu, T, B, H))),
      logits: e([N, V]), dlogits: e([N, V]), rowLoss: e([N]), dY: e([T, B, H]), dX: layers.map((l) => e([N, l === 0 ? E : H])),
    };
    return this.bufs;
  }

  /**
   * Encodes forward and backward for inputs [T, B] and targets [T, B] (or [T·B]) int32, time-major
   * like nn.LSTM's default; gradients land in gradients(). Nothing is submitted yet. The initial
   * state is zero, or with `carryState` the final state of the previous call (same T and B),
   * detached: truncated backpropagation through a long stream, without reading the state back.
   */
  forwardBackward(inputs: View, targets: View, o: StepOptions = {}): void {
    const { gpu, V } = this;
    if (inputs.shape.length !== 2) throw new ShapeError(`GpuRNNLM: inputs must be [T, B], got ${fmtShape(inputs.shape)}`);
    const [T, B] = inputs.shape;
    if (numel(targets.shape) !== T * B) throw new ShapeError(`GpuRNNLM: targets ${fmtShape(targets.shape)} must hold T·B = ${T * B} values`);
    const ids = int32("inputs", inputs);
    const tg = int32("targets", targets);
    checkIds("GpuRNNLM inputs", ids, V);
    let count = 0;
    for (let i = 0; i < tg.length; i++) {
      if (tg[i] === this.ignoreIndex) continue;
      if (tg[i] < 0 || tg[i] >= V) throw new GradlabError(`GpuRNNLM: target ${tg[i]} at position ${i} is out of range for ${V} classes`);
      count++;
    }
    if (count === 0) throw new GradlabError("GpuRNNLM: every target is ignoreIndex; the mean loss is undefined");
    const carry = (o.carryState ?? false) && this.bufs !== null && this.bufs.T === T && this.bufs.B === B;
    const b = this.buffers(T, B);
    b.ids.write(ids);
    b.targets.write(tg);
    const csr = embeddingIndex(ids, V);
    b.offsets.write(csr.offsets);
    gpu.device.queue.writeBuffer(b.order.buffer, 0, csr.order.buffer, 0, csr.order.byteLength);
    this.beforeEncode?.();
    // Same shapes, target count and carry: the same commands as last time, replayed.
    const key = `${carry}|${count}`;
    const rec = this.recordings.get(key);
    if (rec) {
      gpu.replay(rec);
      return;
    }
    if (this.recordings.size >= 16) this.recordings.clear();
    this.recordings.set(key, gpu.record(() => this.encodeForwardBackward(b, carry, count)));
  }

  private encodeForwardBackward(b: StepBuffers, carry: boolean, count: number): void {
    const { gpu, V, H, params: p, grads: g, numLayers: L } = this;
    const { T, B } = b;
    const N = T * B;
    const BH = B * H;
    const named = (r: Record<Name, GpuTensor>, l: number) => ({ wIh: r[`rnn.weight_ih_l${l}`], wHh: r[`rnn.weight_hh_l${l}`], bIh: r[`rnn.bias_ih_l${l}`], bHh: r[`rnn.bias_hh_l${l}`] });
    embedding(gpu, p["embedding.weight"], b.ids, b.X[0]);
    for (let l = 0; l < L; l++) {
      const work = b.rnn[l];
      if (carry) {
        // Slot T of the states (the last step's) becomes slot 0; the backward pass never writes them.
        copyWithin(gpu, work.Hs, T * BH, 0, BH);
        if (this.cell === "lstm") copyWithin(gpu, (work as LstmWork).Cs, T * BH, 0, BH);
      }
      if (this.cell === "lstm") lstmForward(gpu, named(p, l), b.X[l], work as LstmWork, { keepState: carry });
      else gruForward(gpu, named(p, l), b.X[l], work as GruWork, { keepState: carry });
      // The outputs h_1..h_T (slots 1..T) are the next layer's input; its backward reads them again.
      if (l + 1 < L) gpu.copy(work.Hs.buffer, BH * 4, b.X[l + 1].buffer, 0, N * H * 4);
    }
    const top = b.rnn[L - 1];
    matmul(gpu, top.Hs, p["decoder.weight"], b.logits, { transB: true, bias: p["decoder.bias"], M: N, N: V, K: H, offsetA: BH });
    crossEntropy(gpu, b.logits, b.targets, b.rowLoss, this.lossBuf, b.dlogits, { ignoreIndex: this.ignoreIndex, count });

    matmul(gpu, b.dlogits, top.Hs, g["decoder.weight"], { transA: true, M: V, N: H, K: N, offsetB: BH });
    sum(gpu, b.dlogits, 0, g["decoder.bias"]);
    matmul(gpu, b.dlogits, p["decoder.weight"], b.dY, { M: N, N: H, K: V });
    // Layers in reverse: layer l's input gradient is layer l − 1's output gradient.
    for (let l = L - 1; l >= 0; l--) {
      const dY = l === L - 1 ? b.dY : b.dX[l + 1];
      if (this.cell === "lstm") lstmBackward(gpu, named(p, l), b.X[l], b.rnn[l] as LstmWork, dY, named(g, l), b.dX[l]);
      else gruBackward(gpu, named(p, l), b.X[l], b.rnn[l] as GruWork, dY, named(g, l), b.dX[l]);
    }
    embeddingBackward(gpu, b.dX[0], b.offsets, b.order, g["embedding.weight"]);
  }

  /** One training step: forward, backward and Adam, submitted as one command buffer. */
  step(inputs: View, targets: View, o: StepOptions = {}): void {
    // Uploads go before any encoding (a write after it would split the step into two submits).
    this.beforeEncode = () => this.scalars.write(adamScalars(this.steps + 1, this.hyper));
    try {
      this.forwardBackward(inputs, targets, o);
    } finally {
      this.beforeEncode = null;
    }
    this.steps++;
    if (this.adamRecording) this.gpu.replay(this.adamRecording);
    else {
      this.adamRecording = this.gpu.record(() => {
        const grads = this.names.map((n) => this.grads[n]);
        sumSquares(this.gpu, grads, this.sqBuf);
        if (this.clipNorm > 0) clipToNorm(this.gpu, grads, this.sqBuf, this.clipNorm);
        for (const n of this.names) adamStep(this.gpu, this.params[n], this.grads[n], this.m[n], this.v[n], this.scalars, this.hyper);
      });
    }
    this.gpu.submit();
  }

  /** Gives every buffer back to the device's pool. */
  release(): void {
    this.adamRecording = null;
    for (const r of [this.params, this.grads, this.m, this.v]) for (const t of Object.values(r)) t.release();
    this.sqBuf.release();
    this.releaseBuffers();
  }
}

function int32(what: string, t: View): Int32Array {
  if (!(t.data instanceof Int32Array)) throw new DTypeError(`GpuRNNLM: ${what} must be int32, got ${t.data.constructor.name}`);
  const n = numel(t.shape);
  // Contiguous tensors pass their data through; others are gathered in row-major order.
  if (t.offset === 0 && t.data.length === n && contiguousStrides(t.shape).every((s, i) => s === t.strides[i] || t.shape[i] === 1)) return t.data;
  const out = new Int32Array(n);
  const idx = new Array<number>(t.shape.length).fill(0);
  for (let i = 0; i < n; i++) {
    let off = t.offset;
    for (let k = 0; k < idx.length; k++) off += idx[k] * t.strides[k];
    out[i] = t.data[off];
    for (let k = idx.length - 1; k >= 0; k--) {
      if (++idx[k] < t.shape[k]) break;
      idx[k] = 0;
    }
  }
  return out;
}

/** A float32 copy of any contiguous or strided float view, in row-major order. */
function float32(t: View): Float32Array {
  const n = numel(t.shape);
  if (t.data instanceof Float32Array && t.offset === 0 && t.data.length === n && contiguousStrides(t.shape).every((s, i) => s === t.strides[i] || t.shape[i] === 1)) return t.data;
  const out = new Float32Array(n);
  const idx = new Array<number>(t.shape.length).fill(0);
  for (let i = 0; i < n; i++) {
    let off = t.offset;
    for (let k = 0; k < idx.length; k++) off += idx[k] * t.strides[k];
    out[i] = Number(t.data[off]);
    for (let k = idx.length - 1; k >= 0; k--) {
      if (++idx[k] < t.shape[k]) break;
      idx[k] = 0;
    }
  }
  return out;
}
