import { GradlabError } from "../core/errors.js";
import type { Module } from "../nn/module.js";
import type { RecurrentGrad } from "../nn/recurrent/base.js";
import type { Tensor } from "../tensor/tensor.js";
import {
  DEFAULT_THRESHOLDS,
  type Flag,
  type GradFlowRecord,
  type HiddenGradStats,
  type ParamStats,
  type Thresholds,
} from "./records.js";

type HiddenGrad = Pick<RecurrentGrad, "layer" | "direction" | "dh">;

/** A module offering per-time-step gradient hooks (the recurrent layers, found by this method). */
interface GradHookable {
  registerGradHook(fn: (g: RecurrentGrad) => void): () => void;
}

function isHookable(m: Module): m is Module & GradHookable {
  return typeof (m as Partial<GradHookable>).registerGradHook === "function";
}

function values(t: Tensor): ArrayLike<number> {
  return t.offset === 0 && t.data.length === t.numel() && t.isContiguous() ? t.data : t.toArray();
}

function norm(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}

/** Gradient and weight statistics of named parameters, read after a backward pass. */
export function paramStats(named: [string, Tensor][]): ParamStats[] {
  return named.map(([name, p]) => {
    const w = values(p);
    const base: ParamStats = {
      name,
      shape: [...p.shape],
      numel: w.length,
      gradNorm: null,
      weightNorm: norm(w),
      updateRatio: null,
      zeroGradFraction: null,
      nonFinite: 0,
    };
    if (!p.grad) return base;
    const g = values(p.grad);
    let zeros = 0;
    let bad = 0;
    let s = 0;
    for (let i = 0; i < g.length; i++) {
      const v = g[i];
      if (v === 0) zeros++;
      else if (!Number.isFinite(v)) bad++;
      s += v * v;
    }
    return { ...base, gradNorm: Math.sqrt(s), zeroGradFraction: g.length ? zeros / g.length : 0, nonFinite: bad };
  });
}

/** ‖∂J/∂h_t‖ for every t of one hook call (Frobenius norm over batch and hidden units). */
export function hiddenGradStats(module: string, g: HiddenGrad): HiddenGradStats {
  const [T] = g.dh.shape;
  const a = values(g.dh);
  const per = T ? a.length / T : 0;
  const dhNorm: number[] = [];
  for (let t = 0; t < T; t++) {
    let s = 0;
    for (let i = t * per; i < (t + 1) * per; i++) s += a[i] * a[i];
    dhNorm.push(Math.sqrt(s));
  }
  const [first, last] = g.direction === "forward" ? [dhNorm[0], dhNorm[T - 1]] : [dhNorm[T - 1], dhNorm[0]];
  return { module, layer: g.layer, direction: g.direction, dhNorm, firstOverLast: T && last > 0 ? first / last : null };
}

export function hiddenTarget(h: Pick<HiddenGradStats, "module" | "layer" | "direction">): string {
  return `${h.module || "<model>"}[layer ${h.layer}, ${h.direction}]`;
}

/** The vanishing / exploding / non-finite flags for these statistics (see Thresholds). */
export function gradFlags(params: ParamStats[], hidden: HiddenGradStats[], t: Thresholds = DEFAULT_THRESHOLDS): Flag[] {
  const flags: Flag[] = [];
  for (const p of params) {
    if (p.gradNorm === null) continue;
    if (p.nonFinite > 0) {
      flags.push({ kind: "nonFinite", target: p.name, value: p.nonFinite, threshold: 0, message: `${p.name}: ${p.nonFinite} gradient values are NaN or infinite` });
    } else if (p.gradNorm < t.vanishingGradNorm) {
      flags.push({
        kind: "vanishing", target: p.name, value: p.gradNorm, threshold: t.vanishingGradNorm,
        message: `${p.name}: gradient norm ${p.gradNorm.toExponential(2)} is below ${t.vanishingGradNorm}`,
      });
    } else if (p.gradNorm > t.explodingGradNorm) {
      flags.push({
        kind: "exploding", target: p.name, value: p.gradNorm, threshold: t.explodingGradNorm,
        message: `${p.name}: gradient norm ${p.gradNorm.toExponential(2)} is above ${t.explodingGradNorm}`,
      });
    }
  }
  for (const h of hidden) {
    const r = h.firstOverLast;
    const target = hiddenTarget(h);
    if (r === null) continue;
    if (!Number.isFinite(r)) {
      flags.push({ kind: "nonFinite", target, value: r, threshold: 0, message: `${target}: ‖∂J/∂h_t‖ is not finite` });
    } else if (r < t.vanishingRatio) {
      flags.push({
        kind: "vanishing", target, value: r, threshold: t.vanishingRatio,
        message: `${target}: ‖∂J/∂h‖ shrinks by ${r.toExponential(2)} from the last step back to the first (threshold ${t.vanishingRatio})`,
      });
    } else if (r > t.explodingRatio) {
      flags.push({
        kind: "exploding", target, value: r, threshold: t.explodingRatio,
        message: `${target}: ‖∂J/∂h‖ grows by ${r.toExponential(2)} from the last step back to the first (threshold ${t.explodingRatio})`,
      });
    }
  }
  return flags;
}

export interface GradFlowMonitorOptions {
  /** Hook the recurrent layers for ‖∂J/∂h_t‖ (default true). */
  hidden?: boolean;
  thresholds?: Partial<Thresholds>;
}

/**
 * Watches a model's gradient flow. Per training step:
 *
 *     loss.backward();
 *     monitor.beforeStep();              // gradient statistics, weights remembered
 *     optimizer.step();
 *     const rec = monitor.afterStep({ step, loss });   // + update/weight ratios and flags
 *
 * (or `monitor.collect({ step })` without an optimizer step). Recurrent layers report ‖∂J/∂h_t‖
 * through their gradient hooks during backward; with several backward passes per step (gradient
 * accumulation, truncated BPTT) the last one's norms are kept. dispose() removes the hooks.
 */
export class GradFlowMonitor {
  readonly thresholds: Thresholds;
  private readonly removers: (() => void)[] = [];
  private hidden = new Map<string, HiddenGradStats>();
  private pending: { stats: ParamStats[]; before: Float64Array[] } | null = null;

  constructor(
    readonly model: Module,
    opts: GradFlowMonitorOptions = {},
  ) {
    this.thresholds = { ...DEFAULT_THRESHOLDS, ...opts.thresholds };
    if (opts.hidden ?? true) {
      for (const [name, m] of model.namedModules()) {
        if (!isHookable(m)) continue;
        this.removers.push(
          m.registerGradHook((g) => {
            const s = hiddenGradStats(name, g);
            this.hidden.set(hiddenTarget(s), s);
          }),
        );
      }
    }
  }

  /** Number of recurrent layers (modules) hooked. */
  get hookedModules(): number {
    return this.removers.length;
  }

  /** Reads the gradients now and remembers the weights, to measure the coming update. */
  beforeStep(): void {
    const named = this.model.namedParameters();
    this.pending = { stats: paramStats(named), before: named.map(([, p]) => Float64Array.from(values(p))) };
  }

  /** Completes the record begun by beforeStep() with each parameter's update/weight ratio. */
  afterStep(meta: { step: number; loss?: number }): GradFlowRecord {
    if (!this.pending) throw new GradlabError("GradFlowMonitor.afterStep: call beforeStep() after backward and before optimizer.step()");
    const { stats, before } = this.pending;
    this.pending = null;
    const named = this.model.namedParameters();
    if (named.length !== stats.length) throw new GradlabError("GradFlowMonitor.afterStep: the model's parameters changed since beforeStep()");
    named.forEach(([, p], k) => {
      const now = values(p);
      const old = before[k];
      let d = 0;
      let w = 0;
      for (let i = 0; i < old.length; i++) {
        d += (now[i] - old[i]) ** 2;
        w += old[i] * old[i];
      }
      stats[k].updateRatio = w > 0 ? Math.sqrt(d / w) : d > 0 ? Infinity : 0;
    });
    return this.finish(meta, stats);
  }

  /** A record of the gradients as they are now, without an optimizer step. */
  collect(meta: { step: number; loss?: number }): GradFlowRecord {
    this.pending = null;
    return this.finish(meta, paramStats(this.model.namedParameters()));
  }

  private finish(meta: { step: number; loss?: number }, params: ParamStats[]): GradFlowRecord {
    const hidden = [...this.hidden.values()];
    this.hidden.clear();
    const rec: GradFlowRecord = { type: "gradflow", step: meta.step, params, hidden, flags: gradFlags(params, hidden, this.thresholds) };
    if (meta.loss !== undefined) rec.loss = meta.loss;
    return rec;
  }

  dispose(): void {
    for (const r of this.removers.splice(0)) r();
  }
}
