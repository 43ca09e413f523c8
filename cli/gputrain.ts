import * as gl from "../src/index.js";
import type { LMConfig } from "./lmconfig.js";
import { RunError, type LMSession } from "./lmsession.js";

export type Device = "cpu" | "webgpu" | "auto";
export const DEVICES: readonly Device[] = ["cpu", "webgpu", "auto"];

/**
 * The loss (and gradient norm) of a GPU run is read back every this many steps, not every step,
 * and waited for only after the next step is submitted, so the GPU never runs dry for the read.
 */
export const GPU_LOG_EVERY = 10;

/**
 * A logging step's loss read on the GPU, handed over one step late: it is awaited only after the
 * next step is submitted, so the GPU has work queued while the host waits.
 */
export class LateReads {
  private inflight: Promise<number> | null = null;
  private ready: number | null = null;

  start(p: Promise<number>): void {
    // Awaited at the next step; this keeps a failure meanwhile from counting as unhandled.
    p.catch(() => {});
    this.inflight = p;
  }

  async settle(): Promise<void> {
    const p = this.inflight;
    if (!p) return;
    this.inflight = null;
    this.ready = await p;
  }

  /** The value read but not yet handed over, or null. */
  take(): number | null {
    const out = this.ready;
    this.ready = null;
    return out;
  }

  async flush(): Promise<number | null> {
    await this.settle();
    return this.take();
  }
}

/** What in `c` the GPU trainer (gl.webgpu.GpuRNNLM) cannot do, one phrase each; empty when it can run. */
export function gpuUnsupported(c: LMConfig): string[] {
  const bad: string[] = [];
  if (c.cell === "rnn") bad.push(`cell rnn (the GPU has lstm and gru)`);
  if (c.dropout > 0) bad.push(`dropout ${c.dropout} (the GPU stacks layers without dropout)`);
  if (c.skip !== "none") bad.push(`skip ${c.skip}`);
  if (c.tieWeights) bad.push("tieWeights");
  if (c.optimizer !== "adam" && c.optimizer !== "adamw") bad.push(`optimizer ${c.optimizer} (the GPU has adam and adamw)`);
  if (c.clipValue > 0) bad.push(`clip-value ${c.clipValue} (the GPU clips by global norm only)`);
  return bad;
}

/**
 * The device a run trains on: null for the CPU, or a GPU, `fused` when GpuRNNLM supports the
 * configuration (else the run trains through the tensor device, TensorDeviceTrainer). "webgpu"
 * fails with the reason when the machine has no GPU (the user asked for it: no silent fallback);
 * "auto" falls back to the CPU and says why.
 */
export async function pickDevice(
  c: LMConfig,
  device: Device,
  log: (s: string) => void,
  // Replaceable so tests can play a machine without an adapter.
  find: { requestGpu(): Promise<gl.webgpu.Gpu | null>; reason(): string } = { requestGpu: () => gl.webgpu.requestGpu(), reason: gl.webgpu.gpuUnavailableReason },
): Promise<{ gpu: gl.webgpu.Gpu; fused: boolean } | null> {
  if (device === "cpu") return null;
  const bad = gpuUnsupported(c);
  const gpu = await find.requestGpu();
  if (!gpu) {
    const why = find.reason();
    if (device === "webgpu") throw new RunError(`--device webgpu: no GPU adapter: ${why}`);
    log(`device: cpu (no GPU: ${why})`);
    return null;
  }
  const name = [gpu.info.vendor, gpu.info.device || gpu.info.description].filter(Boolean).join(" ") || "unnamed adapter";
  log(`device: webgpu (${name}, Dawn backend ${gpu.backend})`);
  if (bad.length) log(`device: the fused GPU trainer lacks ${bad.join("; ")}: training through gradlab's tensor ops on the GPU`);
  return { gpu, fused: bad.length === 0 };
}

/**
 * Trains an LMSession's model on the GPU. The session's CPU model and optimizer stay the record
 * of truth for checkpoints, evaluation and sampling: pull() copies weights, Adam's moments and the
 * carried state back into them, so checkpoints keep the CPU format and either device can resume.
 */
export class GpuTrainer {
  /** Whether a carried state exists on the GPU (or waits in `pending`) for the next window. */
  private carrying = false;
  private pending: { h: gl.Tensor; c?: gl.Tensor } | null = null;
  private lastT = 0;
  private stale = false;
  private readonly reads = new LateReads();

  private constructor(
    readonly gpu: gl.webgpu.Gpu,
    readonly model: gl.webgpu.GpuRNNLM,
  ) {}

  /** Uploads the session's weights, Adam state (if it has stepped) and carried state. */
  static open(s: LMSession, gpu: gl.webgpu.Gpu): GpuTrainer {
    const c = s.config;
    const model = gl.webgpu.GpuRNNLM.create(gpu, {
      cell: c.cell as "lstm" | "gru", vocabSize: s.tokenizer.size, embeddingDim: c.embeddingDim, hiddenSize: c.hiddenSize,
      numLayers: c.numLayers, lr: c.lr, weightDecay: c.weightDecay, decoupled: c.optimizer === "adamw", clipNorm: c.clipNorm,
    }, s.model.stateDict());
    const t = new GpuTrainer(gpu, model);
    const names = s.model.namedParameters().map(([n]) => n);
    const st = s.optimizer.stateDict().state;
    if (Object.keys(st).length) {
      const m: Record<string, gl.Tensor> = {};
      const v: Record<string, gl.Tensor> = {};
      let step = 0;
      names.forEach((n, i) => {
        const p = st[String(i)];
        if (!p) throw new RunError(`the checkpoint's optimizer has no state for ${n}`);
        m[n] = p.expAvg as gl.Tensor;
        v[n] = p.expAvgSq as gl.Tensor;
        step = p.step as number;
      });
      model.loadAdamState({ step, m, v });
    }
    if (s.carry !== null) {
      const [h, cc] = Array.isArray(s.carry) ? s.carry : [s.carry, undefined];
      const B = c.batch;
      const sh = [c.numLayers, B, c.hiddenSize];
      t.pending = { h: h.reshape(sh), c: cc?.reshape(sh) };
      t.carrying = true;
    }
    return t;
  }

  /**
   * One step on the GPU. Returns a logging step's loss one step late (after the next step is
   * submitted, so the GPU has work queued while the host waits), or null; flush() gives the last.
   */
  async step(s: LMSession, elapsed: number): Promise<number | null> {
    if (s.window >= s.train.numWindows) {
      s.window = 0;
      this.carrying = false;
      this.pending = null;
    }
    const { input, target } = s.train.window(s.window++);
    const [T, B] = input.shape;
    if (this.carrying && !this.pending && T !== this.lastT) this.pending = await this.model.finalState();
    if (this.pending) {
      this.model.setState(T, B, this.pending.h, this.pending.c);
      this.pending = null;
    }
    this.model.step(input, target, { carryState: this.carrying });
    this.carrying = true;
    this.lastT = T;
    this.stale = true;
    s.step++;
    await this.reads.settle();
    if (s.step % GPU_LOG_EVERY === 0) {
      const step = s.step;
      // The copies of the loss and the squared norms are encoded now, before the next step overwrites them.
      this.reads.start(Promise.all([this.model.loss(), this.model.gradNorm()]).then(([loss, gradNorm]) => {
        s.recorder.write({ type: "train", step, loss, lr: s.config.lr, gradNorm, seen: step * s.tokensPerStep, time: elapsed });
        return loss;
      }));
    }
    return this.reads.take();
  }

  /** The loss read back but not yet returned by step() (the last logging step's), or null. */
  flush(): Promise<number | null> {
    return this.reads.flush();
  }

  /** Copies the GPU's weights, Adam state and carried state into the session's CPU model and optimizer. */
  async pull(s: LMSession): Promise<void> {
    await this.reads.settle();
    if (!this.stale) return;
    s.model.loadStateDict(await this.model.stateDict());
    const adam = await this.model.adamState();
    const sd = s.optimizer.stateDict();
    const state: Record<string, Record<string, number | gl.Tensor>> = {};
    s.model.namedParameters().forEach(([n], i) => {
      state[String(i)] = { step: adam.step, expAvg: adam.m[n], expAvgSq: adam.v[n] };
    });
    s.optimizer.loadStateDict({ ...sd, state, stepCalls: adam.step, skippedSteps: [] });
    const fin = this.carrying ? (this.pending ?? (await this.model.finalState())) : null;
    if (!fin) s.carry = null;
    // [numLayers, B, H] on both devices.
    else s.carry = fin.c ? [fin.h, fin.c] : fin.h;
    this.stale = false;
  }

  dispose(): void {
    this.model.release();
    this.gpu.destroy();
  }
}
