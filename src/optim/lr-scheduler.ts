import { GradlabError } from "../core/errors.js";
import type { BaseOptions, Optimizer } from "./optimizer.js";

/**
 * A schedule maps the scheduler's step count (0 before the first scheduler.step()) to a factor of
 * each parameter group's base learning rate. Schedules are pure, so the learning rate after a
 * resume depends only on the saved step count.
 */
export type Schedule = (step: number) => number;

function positiveInt(op: string, name: string, v: number, min = 1): void {
  if (!Number.isInteger(v) || v < min) throw new GradlabError(`${op}: ${name} must be an integer >= ${min}, got ${v}`);
}

/** The base learning rate times `factor`, always. */
export function constant(factor = 1): Schedule {
  if (!(factor >= 0)) throw new GradlabError(`constant: factor must be >= 0, got ${factor}`);
  return () => factor;
}

/** gamma^⌊step / stepSize⌋ (PyTorch's StepLR). */
export function stepDecay(opts: { stepSize: number; gamma?: number }): Schedule {
  const { stepSize, gamma = 0.1 } = opts;
  positiveInt("stepDecay", "stepSize", stepSize);
  return (s) => gamma ** Math.floor(s / stepSize);
}

/** gamma^step (PyTorch's ExponentialLR). */
export function exponential(opts: { gamma: number }): Schedule {
  const { gamma } = opts;
  if (!(gamma > 0)) throw new GradlabError(`exponential: gamma must be > 0, got ${gamma}`);
  return (s) => gamma ** s;
}

export interface WarmupOptions {
  /** Steps of linear warm-up from 0 to the base rate. */
  warmupSteps: number;
  /** Step at which the decay reaches its end (minFactor); the factor stays there afterwards. */
  totalSteps: number;
  /** Final factor after the decay (default 0). */
  minFactor?: number;
}

function checkWarmup(op: string, o: WarmupOptions): void {
  positiveInt(op, "warmupSteps", o.warmupSteps, 0);
  positiveInt(op, "totalSteps", o.totalSteps, 1);
  if (o.totalSteps < o.warmupSteps) throw new GradlabError(`${op}: totalSteps (${o.totalSteps}) is shorter than warmupSteps (${o.warmupSteps})`);
  const m = o.minFactor ?? 0;
  if (!(m >= 0 && m <= 1)) throw new GradlabError(`${op}: minFactor must be in [0, 1], got ${m}`);
}

/**
 * Linear warm-up, then half a cosine down to minFactor at totalSteps (Hugging Face's
 * get_cosine_schedule_with_warmup, held at the end instead of rising again past totalSteps).
 */
export function cosineWithWarmup(opts: WarmupOptions): Schedule {
  checkWarmup("cosineWithWarmup", opts);
  const { warmupSteps: w, totalSteps: n, minFactor = 0 } = opts;
  return (s) => {
    if (s < w) return s / Math.max(1, w);
    const progress = Math.min(1, (s - w) / Math.max(1, n - w));
    return minFactor + (1 - minFactor) * 0.5 * (1 + Math.cos(Math.PI * progress));
  };
}

/** Linear warm-up, then a straight line down to minFactor at totalSteps (get_linear_schedule_with_warmup). */
export function linearWarmupDecay(opts: WarmupOptions): Schedule {
  checkWarmup("linearWarmupDecay", opts);
  const { warmupSteps: w, totalSteps: n, minFactor = 0 } = opts;
  return (s) => {
    if (s < w) return s / Math.max(1, w);
    const left = Math.max(0, (n - s) / Math.max(1, n - w));
    return minFactor + (1 - minFactor) * left;
  };
}

/**
 * Constant for `warmupSteps`, then decaying as 1/√step: √warmupSteps / √max(step, warmupSteps).
 * T5's pre-training rate 1/√max(step, 10⁴) is this with warmupSteps 10⁴ and base lr 0.01.
 */
export function inverseSqrt(opts: { warmupSteps?: number } = {}): Schedule {
  const { warmupSteps = 10_000 } = opts;
  positiveInt("inverseSqrt", "warmupSteps", warmupSteps);
  const root = Math.sqrt(warmupSteps);
  return (s) => root / Math.sqrt(Math.max(s, warmupSteps));
}

export interface LRSchedulerState {
  lastStep: number;
  baseLrs: number[];
  lastLrs: number[];
}

/**
 * Sets each parameter group's lr to baseLr · schedule(step). Built before training, it applies
 * schedule(0) at once; call step() after each optimizer.step(), as in PyTorch.
 */
export class LRScheduler {
  readonly baseLrs: number[];
  lastStep = 0;
  private lastLrs: number[] = [];
  private readonly schedules: Schedule[];

  constructor(
    readonly optimizer: Optimizer<BaseOptions>,
    schedule: Schedule | Schedule[],
  ) {
    const groups = optimizer.paramGroups;
    this.schedules = Array.isArray(schedule) ? schedule : groups.map(() => schedule);
    if (this.schedules.length !== groups.length) {
      throw new GradlabError(`LRScheduler: got ${this.schedules.length} schedules for ${groups.length} parameter groups`);
    }
    this.schedules.forEach((f, i) => {
      if (typeof f !== "function") throw new GradlabError(`LRScheduler: schedule ${i} is not a function`);
    });
    this.baseLrs = groups.map((g) => g.lr);
    this.apply();
  }

  /** Advances one step and sets the new learning rates. */
  step(): void {
    this.lastStep++;
    this.apply();
  }

  /** The learning rates set by the last step (one per parameter group). */
  getLastLr(): number[] {
    return [...this.lastLrs];
  }

  private apply(): void {
    this.lastLrs = this.baseLrs.map((base, i) => {
      const f = this.schedules[i](this.lastStep);
      if (!(f >= 0) || !Number.isFinite(f)) {
        throw new GradlabError(`LRScheduler: schedule ${i} returned ${f} at step ${this.lastStep}; it must return a finite factor >= 0`);
      }
      return base * f;
    });
    this.optimizer.paramGroups.forEach((g, i) => (g.lr = this.lastLrs[i]));
  }

  stateDict(): LRSchedulerState {
    return { lastStep: this.lastStep, baseLrs: [...this.baseLrs], lastLrs: [...this.lastLrs] };
  }

  /** Restores the step count and base rates, and sets the optimizer's rates to the saved ones. */
  loadStateDict(sd: LRSchedulerState): void {
    if (!sd || !Number.isInteger(sd.lastStep) || !Array.isArray(sd.baseLrs) || !Array.isArray(sd.lastLrs)) {
      throw new GradlabError("LRScheduler.loadStateDict: expected { lastStep, baseLrs, lastLrs } as returned by stateDict()");
    }
    if (sd.baseLrs.length !== this.baseLrs.length) {
      throw new GradlabError(`LRScheduler.loadStateDict: saved state has ${sd.baseLrs.length} parameter groups, the optimizer has ${this.baseLrs.length}`);
    }
    this.lastStep = sd.lastStep;
    this.baseLrs.splice(0, this.baseLrs.length, ...sd.baseLrs);
    this.lastLrs = [...sd.lastLrs];
    this.optimizer.paramGroups.forEach((g, i) => (g.lr = this.lastLrs[i]));
  }
}

/** lr = baseLr · lrLambda(step) (PyTorch's LambdaLR): the user-function schedule. */
export class LambdaLR extends LRScheduler {
  constructor(optimizer: Optimizer<BaseOptions>, lrLambda: Schedule | Schedule[]) {
    super(optimizer, lrLambda);
  }
}

/** Decays by gamma every stepSize steps (PyTorch's StepLR). */
export class StepLR extends LRScheduler {
  constructor(optimizer: Optimizer<BaseOptions>, opts: { stepSize: number; gamma?: number }) {
    super(optimizer, stepDecay(opts));
  }
}

/** Decays by gamma every step (PyTorch's ExponentialLR). */
export class ExponentialLR extends LRScheduler {
  constructor(optimizer: Optimizer<BaseOptions>, opts: { gamma: number }) {
    super(optimizer, exponential(opts));
  }
}
