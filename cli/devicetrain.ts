import * as gl from "../src/index.js";
import { GPU_LOG_EVERY, LateReads } from "./gputrain.js";
import type { LMSession } from "./lmsession.js";

/** What trains a session on a GPU: GpuTrainer (the fused language model) or TensorDeviceTrainer. */
export interface DeviceRun {
  step(s: LMSession, elapsed: number): Promise<number | null>;
  flush(): Promise<number | null>;
  pull(s: LMSession): Promise<void>;
  dispose(): void;
}

/**
 * Trains a session's own model on the "webgpu" tensor device: any configuration the CPU trains
 * (dropout, skip connections, tied weights, plain RNNs, every optimizer, clipping by value), the
 * same code as the CPU step. Model, optimizer state and carried state move to the GPU in place
 * and come back for evaluation, sampling and checkpoints (pull), so checkpoints keep the CPU
 * format. On the GPU the loss is read back only at logging steps, non-finite steps are not
 * skipped (that needs the gradients on the host) and the gradient-flow probes are off.
 */
export class TensorDeviceTrainer implements DeviceRun {
  private onDevice = false;
  private skipNonFinite: boolean | undefined;
  private readonly reads = new LateReads();

  private constructor(readonly gpu: gl.webgpu.Gpu) {}

  static async open(s: LMSession, gpu: gl.webgpu.Gpu): Promise<TensorDeviceTrainer> {
    await gl.webgpu.init({ gpu, setDefault: false });
    s.dropMonitor();
    return new TensorDeviceTrainer(gpu);
  }

  private toDevice(s: LMSession): void {
    if (this.onDevice) return;
    s.model.to({ device: "webgpu" });
    s.optimizer.stateToDevice("webgpu");
    if (s.carry !== null) s.carry = Array.isArray(s.carry) ? [s.carry[0].toDevice("webgpu"), s.carry[1].toDevice("webgpu")] : s.carry.toDevice("webgpu");
    this.skipNonFinite = s.optimizer.guards.skipNonFinite;
    s.optimizer.guards.skipNonFinite = undefined;
    this.onDevice = true;
  }

  async step(s: LMSession, elapsed: number): Promise<number | null> {
    this.toDevice(s);
    const loss = s.optimize();
    await this.reads.settle();
    if (s.step % GPU_LOG_EVERY === 0) {
      const step = s.step;
      this.reads.start(loss.itemAsync().then((l) => {
        s.recorder.write({ type: "train", step, loss: l, lr: s.config.lr, seen: step * s.tokensPerStep, time: elapsed });
        return l;
      }));
    }
    return this.reads.take();
  }

  flush(): Promise<number | null> {
    return this.reads.flush();
  }

  /** Brings model, optimizer state and carried state back to the CPU (the next step moves them again). */
  async pull(s: LMSession): Promise<void> {
    await this.reads.settle();
    if (!this.onDevice) return;
    await s.model.cpu();
    await s.optimizer.stateToCpu();
    if (s.carry !== null) s.carry = Array.isArray(s.carry) ? [await s.carry[0].cpu(), await s.carry[1].cpu()] : await s.carry.cpu();
    s.optimizer.guards.skipNonFinite = this.skipNonFinite;
    this.onDevice = false;
  }

  dispose(): void {
    gl.webgpu.shutdown();
  }
}
