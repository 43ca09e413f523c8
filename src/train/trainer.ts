import { GradlabError } from "../core/errors.js";
import type { Generator } from "../core/rng.js";
import { noGrad } from "../autograd/mode.js";
import type { GradFlowMonitor } from "../diagnostics/gradflow.js";
import type { JsonlRecorder } from "../diagnostics/jsonl.js";
import type { GradFlowRecord } from "../diagnostics/records.js";
import type { CheckpointTargets } from "../io/checkpoint.js";
import { loadLatestCheckpoint, saveCheckpoint } from "../io/checkpoint.js";
import type { Module, StateDict } from "../nn/module.js";
import type { LRScheduler } from "../optim/lr-scheduler.js";
import type { BaseOptions, Optimizer } from "../optim/optimizer.js";
import type { Tensor } from "../tensor/tensor.js";

/** Sent after every optimizer step; enough for a progress bar and a live loss readout. */
export interface StepEvent {
  step: number;
  epoch: number;
  /** Micro-batches consumed in this epoch. */
  batch: number;
  /** Micro-batches per epoch when the data has a length, else null. */
  batchesPerEpoch: number | null;
  maxSteps: number | null;
  /** Mean loss of the micro-batches of this step. */
  loss: number;
  lr: number;
  /** Joint gradient norm before clipping. */
  gradNorm: number;
  /** The optimizer skipped this step for non-finite gradients. */
  skipped: boolean;
  /** Seconds since fit() started. */
  elapsed: number;
}

export interface EvalEvent {
  step: number;
  epoch: number;
  loss: number;
  best: number;
  improved: boolean;
  /** Evaluations in a row without improvement. */
  badEvals: number;
}

export interface TrainerCallbacks {
  onStep?(e: StepEvent): void;
  onEval?(e: EvalEvent): void;
  onEpochEnd?(epoch: number): void;
  onCheckpoint?(path: string): void;
  onGradFlow?(r: GradFlowRecord): void;
}

export interface TrainerOptions<B> {
  model: Module;
  optimizer: Optimizer<BaseOptions>;
  scheduler?: LRScheduler;
  /** The loss of one batch (a scalar tensor); the trainer calls backward on it. */
  loss: (batch: B) => Tensor;
  /**
   * The training batches of an epoch. Resuming replays the epoch and skips the batches already
   * seen, so derive any shuffling from the epoch number (not from a shared generator).
   */
  trainData: (epoch: number) => Iterable<B>;
  /** Held-out batches, evaluated in eval mode without gradients (mean of the batch losses). */
  evalData?: () => Iterable<B>;
  /** A custom evaluation returning the loss to monitor (instead of evalData). */
  evaluate?: () => number;
  /** Evaluate every this many steps (and at the end when set). */
  evalEvery?: number;
  epochs?: number;
  maxSteps?: number;
  /** Micro-batches per optimizer step; each micro-batch loss is divided by it (default 1). */
  accumulate?: number;
  /** Stop after `patience` evaluations without the loss improving by more than minDelta. */
  earlyStopping?: { patience: number; minDelta?: number; restoreBest?: boolean };
  callbacks?: TrainerCallbacks;
  /** Receives a "train" record per step, an "eval" record per evaluation, and gradient-flow records. */
  recorder?: JsonlRecorder;
  /** Gradient-flow monitor, read every `gradFlowEvery` steps (default 1). */
  monitor?: GradFlowMonitor;
  gradFlowEvery?: number;
  /** Save a checkpoint every `every` steps and at the end; resume from the latest one (Node). */
  checkpoint?: { dir: string; every?: number; keepLast?: number; resume?: boolean };
  /** Extra generators that checkpoints must save (the global one and the model's are automatic). */
  generators?: Record<string, Generator>;
}

export interface FitResult {
  steps: number;
  epochs: number;
  stoppedEarly: boolean;
  bestEvalLoss: number | null;
  lastLoss: number | null;
  resumedFrom: string | null;
}

function positive(name: string, v: number | undefined): void {
  if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new GradlabError(`Trainer: ${name} must be an integer >= 1, got ${v}`);
}

/**
 * An optional training loop: gradient accumulation, periodic evaluation with early stopping,
 * records for the diagnostics, crash-safe checkpoints with exact resume, and progress callbacks.
 */
export class Trainer<B> {
  step = 0;
  epoch = 0;
  /** Micro-batches consumed in the current epoch. */
  batch = 0;
  bestEvalLoss = Infinity;
  badEvals = 0;
  private stopping = false;
  private stoppedEarly = false;
  private best: StateDict | null = null;
  private lastLoss: number | null = null;
  private started = 0;

  constructor(readonly opts: TrainerOptions<B>) {
    for (const k of ["epochs", "maxSteps", "accumulate", "evalEvery", "gradFlowEvery"] as const) positive(k, opts[k]);
    positive("checkpoint.every", opts.checkpoint?.every);
    if (opts.epochs === undefined && opts.maxSteps === undefined) throw new GradlabError("Trainer: give epochs or maxSteps");
    if (opts.earlyStopping && !opts.evalData && !opts.evaluate) throw new GradlabError("Trainer: earlyStopping needs evalData or evaluate");
    if (opts.earlyStopping) positive("earlyStopping.patience", opts.earlyStopping.patience);
  }

  /** Asks the loop to stop after the current step (e.g. from a callback). */
  stop(): void {
    this.stopping = true;
  }

  private get targets(): CheckpointTargets {
    const { model, optimizer, scheduler, generators } = this.opts;
    return { model, optimizer, ...(scheduler ? { scheduler } : {}), ...(generators ? { generators } : {}) };
  }

  private done(): boolean {
    const { maxSteps, epochs } = this.opts;
    return this.stopping || (maxSteps !== undefined && this.step >= maxSteps) || (epochs !== undefined && this.epoch >= epochs);
  }

  async fit(): Promise<FitResult> {
    const { optimizer, checkpoint } = this.opts;
    const accumulate = this.opts.accumulate ?? 1;
    let resumedFrom: string | null = null;
    if (checkpoint?.resume) resumedFrom = await this.resume(checkpoint.dir);
    this.started = Date.now();
    this.stopping = false;
    optimizer.zeroGrad();
    while (!this.done()) {
      const data = this.opts.trainData(this.epoch);
      const length = (data as { length?: unknown }).length;
      const perEpoch = typeof length === "number" ? length : null;
      let seen = 0;
      let micro = 0;
      let sum = 0;
      let completed = true;
      for (const b of data) {
        if (seen++ < this.batch) continue;
        const loss = this.opts.loss(b);
        if (loss.numel() !== 1) throw new GradlabError(`Trainer: the loss must be a scalar, got shape [${loss.shape}]`);
        sum += loss.item();
        (accumulate > 1 ? loss.div(accumulate) : loss).backward();
        this.batch++;
        if (++micro === accumulate) {
          await this.update(sum / micro, perEpoch);
          micro = 0;
          sum = 0;
          if (this.done()) {
            completed = false;
            break;
          }
        }
      }
      // Stopped mid-epoch: the position stays inside this epoch, so a resume continues there.
      if (!completed) break;
      if (seen === 0) throw new GradlabError(`Trainer: trainData(${this.epoch}) gave no batches`);
      if (micro > 0) await this.update(sum / micro, perEpoch);
      this.opts.callbacks?.onEpochEnd?.(this.epoch);
      this.epoch++;
      this.batch = 0;
    }
    const needsFinalEval = this.opts.evalEvery !== undefined && (this.opts.evalData || this.opts.evaluate) && this.step % this.opts.evalEvery !== 0;
    if (needsFinalEval && !this.stoppedEarly) this.runEval();
    if (this.stoppedEarly && this.best) this.opts.model.loadStateDict(this.best);
    if (checkpoint) await this.save(checkpoint);
    return {
      steps: this.step,
      epochs: this.epoch,
      stoppedEarly: this.stoppedEarly,
      bestEvalLoss: Number.isFinite(this.bestEvalLoss) ? this.bestEvalLoss : null,
      lastLoss: this.lastLoss,
      resumedFrom,
    };
  }

  private async update(loss: number, perEpoch: number | null): Promise<void> {
    const { optimizer, scheduler, monitor, recorder, callbacks, evalEvery, checkpoint } = this.opts;
    const flowDue = monitor !== undefined && (this.step + 1) % (this.opts.gradFlowEvery ?? 1) === 0;
    if (flowDue) monitor.beforeStep();
    optimizer.step();
    const info = optimizer.lastStepInfo!;
    // A skipped step leaves the schedule where it is, as if the step had not been attempted.
    if (scheduler && !info.skipped) scheduler.step();
    optimizer.zeroGrad();
    this.step++;
    this.lastLoss = loss;
    const lr = optimizer.paramGroups[0].lr;
    const elapsed = (Date.now() - this.started) / 1000;
    recorder?.write({ type: "train", step: this.step, loss, lr, gradNorm: info.gradNorm, ...(info.skipped ? { skipped: true } : {}), time: elapsed });
    if (flowDue) {
      const r = monitor.afterStep({ step: this.step, loss });
      recorder?.write(r);
      callbacks?.onGradFlow?.(r);
    }
    callbacks?.onStep?.({
      step: this.step, epoch: this.epoch, batch: this.batch, batchesPerEpoch: perEpoch, maxSteps: this.opts.maxSteps ?? null,
      loss, lr, gradNorm: info.gradNorm, skipped: info.skipped, elapsed,
    });
    if (evalEvery !== undefined && this.step % evalEvery === 0) this.runEval();
    if (checkpoint?.every !== undefined && this.step % checkpoint.every === 0) await this.save(checkpoint);
  }

  /** Mean loss over evalData in eval mode without gradients (or the custom evaluate()). */
  evaluateNow(): number {
    const { model, evalData, evaluate } = this.opts;
    if (evaluate) return evaluate();
    if (!evalData) throw new GradlabError("Trainer: no evalData or evaluate given");
    const wasTraining = model.training;
    model.eval();
    try {
      let sum = 0;
      let n = 0;
      noGrad(() => {
        for (const b of evalData()) {
          sum += this.opts.loss(b).item();
          n++;
        }
      });
      if (n === 0) throw new GradlabError("Trainer: evalData gave no batches");
      return sum / n;
    } finally {
      model.train(wasTraining);
    }
  }

  private runEval(): void {
    const loss = this.evaluateNow();
    const es = this.opts.earlyStopping;
    const improved = loss < this.bestEvalLoss - (es?.minDelta ?? 0);
    if (improved) {
      this.bestEvalLoss = loss;
      this.badEvals = 0;
      if (es?.restoreBest) this.best = snapshot(this.opts.model);
    } else {
      this.badEvals++;
    }
    this.opts.recorder?.write({ type: "eval", step: this.step, loss });
    this.opts.callbacks?.onEval?.({ step: this.step, epoch: this.epoch, loss, best: this.bestEvalLoss, improved, badEvals: this.badEvals });
    if (es && this.badEvals >= es.patience) {
      this.stoppedEarly = true;
      this.stopping = true;
    }
  }

  private async save(c: NonNullable<TrainerOptions<B>["checkpoint"]>): Promise<void> {
    const path = await saveCheckpoint(
      c.dir,
      this.targets,
      {
        step: this.step,
        dataPosition: { epoch: this.epoch, batch: this.batch },
        extra: {
          bestEvalLoss: Number.isFinite(this.bestEvalLoss) ? this.bestEvalLoss : null,
          badEvals: this.badEvals,
          stoppedEarly: this.stoppedEarly,
        },
      },
      c.keepLast !== undefined ? { keepLast: c.keepLast } : {},
    );
    this.opts.callbacks?.onCheckpoint?.(path);
  }

  private async resume(dir: string): Promise<string | null> {
    const r = await loadLatestCheckpoint(dir, this.targets);
    if (!r) return null;
    const pos = r.dataPosition as { epoch: number; batch: number };
    const extra = (r.extra ?? {}) as { bestEvalLoss?: number | null; badEvals?: number };
    this.step = r.step;
    this.epoch = pos.epoch;
    this.batch = pos.batch;
    this.bestEvalLoss = extra.bestEvalLoss ?? Infinity;
    this.badEvals = extra.badEvals ?? 0;
    return r.path;
  }
}

function snapshot(model: Module): StateDict {
  const out: StateDict = {};
  for (const [k, t] of Object.entries(model.stateDict())) out[k] = t.clone();
  return out;
}
