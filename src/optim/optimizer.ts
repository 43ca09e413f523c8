import { GradlabError, ShapeError, fmtShape } from "../core/errors.js";
import { enableGrad, noGrad } from "../autograd/mode.js";
import { Tensor } from "../tensor/tensor.js";
import { type FloatArray, checkParam, deviceGrad, gradData, isDense, paramData, stateTensor } from "./arrays.js";
import { DeviceError } from "../core/errors.js";
import { clampValues, pNorm, scaleToNorm } from "./clip.js";

/** Per-parameter state: tensors (moments, buffers) and plain numbers (the step count). */
export type ParamState = Record<string, Tensor | number>;

/** JSON-able option values: numbers, booleans, null, and short tuples such as betas. */
export type OptionValue = number | boolean | null | readonly (number | null)[];

export interface BaseOptions {
  lr: number;
  maximize: boolean;
}

/** A parameter group as the user passes it: its parameters and any options that differ from the defaults. */
export type ParamGroupInput<O> = { params: Iterable<Tensor> } & Partial<O>;

export type ParamGroup<O> = O & { params: Tensor[] };

export type ParamsInput<O> = Iterable<Tensor> | ParamGroupInput<O>[];

/**
 * Step-level safety options, shared by every optimizer. Clipping happens in place on `.grad`,
 * after the non-finite check and before the update: per-tensor or global norm first, then value.
 */
export interface GuardOptions {
  /** Rescale each parameter's gradient to L2 norm at most this (PyTorch's clip coefficient). */
  clipNorm?: number;
  /** Rescale all gradients together to joint L2 norm at most this (as clipGradNorm). */
  globalClipNorm?: number;
  /** Clamp every gradient value to [-clipValue, clipValue]. */
  clipValue?: number;
  /** Skip (and record) a step whose gradients hold NaN or ±Infinity instead of applying it. */
  skipNonFinite?: boolean;
}

/** What the last step() saw and did, for logs and diagnostics. */
export interface StepInfo {
  /** Number of step() calls so far, skipped ones included (1 for the first call). */
  call: number;
  skipped: boolean;
  /** Gradient values that were NaN or ±Infinity. */
  nonFinite: number;
  /** Joint L2 norm of all gradients before any clipping (NaN or Infinity when non-finite). */
  gradNorm: number;
  /** Fraction of gradient values changed by clipping (a norm clip changes every value of its tensor). */
  clipFraction: number;
  /** Parameters that had a gradient. */
  numParams: number;
}

export interface OptimizerStateDict {
  /** Per-parameter state keyed by the parameter's position over all groups ("0", "1", ...). */
  state: Record<string, ParamState>;
  paramGroups: ({ params: number[] } & Record<string, OptionValue | number[]>)[];
  /** step() calls so far and the calls that were skipped for non-finite gradients. */
  stepCalls: number;
  skippedSteps: number[];
}

const GUARD_KEYS = ["clipNorm", "globalClipNorm", "clipValue", "skipNonFinite"] as const;

function isGroupList<O>(params: ParamsInput<O>): params is ParamGroupInput<O>[] {
  return Array.isArray(params) && params.length > 0 && !(params[0] instanceof Tensor);
}

function copyValue(v: OptionValue): OptionValue {
  return Array.isArray(v) ? [...v] : v;
}

/**
 * Base of every optimizer: parameter groups with per-group options, lazily created per-parameter
 * state, the step-level guards, and a state dict of tensors plus JSON-able numbers. Subclasses
 * implement `initState` and `update` for one parameter, mirroring PyTorch's single-tensor code.
 */
export abstract class Optimizer<O extends BaseOptions = BaseOptions> {
  readonly paramGroups: ParamGroup<O>[] = [];
  readonly defaults: O;
  readonly state = new Map<Tensor, ParamState>();
  readonly guards: GuardOptions;
  /** step() calls so far, skipped ones included. */
  stepCalls = 0;
  /** The step() calls (1-based) that were skipped because a gradient was not finite. */
  readonly skippedSteps: number[] = [];
  lastStepInfo: StepInfo | null = null;

  protected constructor(
    readonly name: string,
    params: ParamsInput<O>,
    defaults: O,
    options: Partial<O> & GuardOptions,
  ) {
    const known = new Set<string>([...Object.keys(defaults), ...GUARD_KEYS]);
    this.checkKeys(options, known);
    const d = { ...defaults } as O;
    for (const k of Object.keys(defaults) as (keyof O)[]) {
      if (options[k] !== undefined) d[k] = options[k] as O[keyof O];
    }
    this.defaults = d;
    this.guards = {};
    for (const k of GUARD_KEYS) if (options[k] !== undefined) (this.guards as Record<string, unknown>)[k] = options[k];
    this.checkGuards();
    const groups: ParamGroupInput<O>[] = isGroupList(params) ? params : [{ params } as ParamGroupInput<O>];
    for (const g of groups) this.addParamGroup(g);
    if (this.paramGroups.every((g) => g.params.length === 0)) throw new GradlabError(`${name}: got an empty parameter list`);
  }

  private checkKeys(obj: object, known: Set<string>): void {
    for (const k of Object.keys(obj)) {
      if (known.has(k) || (obj as Record<string, unknown>)[k] === undefined) continue;
      const camel = k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
      const hint = known.has(camel) ? ` (options are camelCase: did you mean "${camel}"?)` : "";
      throw new GradlabError(`${this.name}: unknown option "${k}"${hint}; known options: ${[...known].join(", ")}`);
    }
  }

  private checkGuards(): void {
    const g = this.guards;
    for (const k of ["clipNorm", "globalClipNorm", "clipValue"] as const) {
      const v = g[k];
      if (v !== undefined && !(v > 0)) throw new GradlabError(`${this.name}: ${k} must be a positive number, got ${v}`);
    }
    if (g.clipNorm !== undefined && g.globalClipNorm !== undefined) {
      throw new GradlabError(`${this.name}: clipNorm (per tensor) and globalClipNorm are exclusive; choose one`);
    }
  }

  /** Validates one group's options; throws with the offending option and value. */
  protected abstract validate(group: O): void;

  /** Creates a parameter's state the first time it has a gradient. */
  protected abstract initState(p: Tensor, group: ParamGroup<O>): ParamState;

  /** Updates one parameter in place from its gradient (values only; dense arrays). */
  protected abstract update(p: FloatArray, grad: FloatArray, state: ParamState, group: ParamGroup<O>, param: Tensor): void;

  addParamGroup(input: ParamGroupInput<O>): void {
    const { params, ...opts } = input;
    if (!params || typeof (params as Iterable<Tensor>)[Symbol.iterator] !== "function") {
      throw new GradlabError(`${this.name}: a parameter group needs "params", an iterable of tensors`);
    }
    this.checkKeys(opts, new Set(Object.keys(this.defaults)));
    const list = [...params];
    const group = { ...this.defaults } as ParamGroup<O>;
    for (const [k, v] of Object.entries(opts)) if (v !== undefined) (group as unknown as Record<string, unknown>)[k] = v;
    for (const [k, v] of Object.entries(group)) (group as unknown as Record<string, unknown>)[k] = copyValue(v as OptionValue);
    group.params = list;
    this.validate(group);
    const taken = new Set(this.paramGroups.flatMap((g) => g.params));
    list.forEach((p, i) => {
      if (!(p instanceof Tensor)) throw new GradlabError(`${this.name}: parameter ${i} of a group is not a Tensor`);
      if (!p.isLeaf) throw new GradlabError(`${this.name}: can't optimize a non-leaf tensor (parameter ${i}, shape ${fmtShape(p.shape)})`);
      checkParam(this.name, p);
      if (taken.has(p)) throw new GradlabError(`${this.name}: parameter ${i} (shape ${fmtShape(p.shape)}) appears in more than one group`);
      taken.add(p);
    });
    this.paramGroups.push(group);
  }

  /** Drops every gradient (PyTorch's default set_to_none), or zeroes them in place. */
  zeroGrad(setToNone = true): void {
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        if (!p.grad) continue;
        if (setToNone) p.grad = null;
        else p.grad.fill_(0);
      }
    }
  }

  /**
   * One update of every parameter that has a gradient. With a closure, it is called first (with
   * gradient recording on) and its value returned, as in PyTorch.
   */
  step<R = unknown>(closure?: () => R): R | undefined {
    const loss = closure ? enableGrad(closure) : undefined;
    this.stepCalls++;
    const entries: { p: Tensor; group: ParamGroup<O> }[] = [];
    for (const group of this.paramGroups) for (const p of group.params) if (p.grad) entries.push({ p, group });
    if (entries.some(({ p }) => p.dev)) {
      this.deviceStep(entries);
      return loss;
    }
    const grads = entries.map(({ p }) => gradData(this.name, p));
    // A NaN or ±Infinity makes its tensor's norm non-finite, so only such tensors are scanned
    // for the count (one pass over the gradients instead of two on a healthy step).
    const norms = grads.map(l2Norm);
    let nonFinite = 0;
    let total = 0;
    grads.forEach((g, k) => {
      if (!Number.isFinite(norms[k])) for (let i = 0; i < g.length; i++) if (!Number.isFinite(g[i])) nonFinite++;
      total += g.length;
    });
    const gradNorm = pNorm(norms, 2);
    const info: StepInfo = { call: this.stepCalls, skipped: false, nonFinite, gradNorm, clipFraction: 0, numParams: entries.length };
    this.lastStepInfo = info;
    if (this.guards.skipNonFinite && nonFinite > 0) {
      info.skipped = true;
      this.skippedSteps.push(this.stepCalls);
      return loss;
    }
    if (total > 0) info.clipFraction = this.clip(grads) / total;
    for (let k = 0; k < entries.length; k++) {
      const { p, group } = entries[k];
      let s = this.state.get(p);
      if (!s) this.state.set(p, (s = this.initState(p, group)));
      this.update(paramData(this.name, p), grads[k], s, group, p);
    }
    return loss;
  }

  /**
   * A step over parameters on a device. Nothing is read back: the clip guards scale or clamp on
   * the device, and the step info's gradient statistics are NaN (not measured). Skipping
   * non-finite steps would need the gradients' values on the host first, so it is refused.
   */
  private deviceStep(entries: { p: Tensor; group: ParamGroup<O> }[]): void {
    const dev = entries.find(({ p }) => p.dev)!.p.device;
    const cpu = entries.find(({ p }) => p.device !== dev);
    if (cpu) throw new DeviceError(`${this.name}: parameters on ${dev} and ${cpu.p.device} in one optimizer; move the whole model with module.to({ device })`);
    if (this.guards.skipNonFinite) {
      throw new DeviceError(`${this.name}: skipNonFinite reads the gradients back on every step and runs on the CPU only; parameters are on ${dev}`);
    }
    noGrad(() => this.deviceUpdate(entries));
  }

  private deviceUpdate(entries: { p: Tensor; group: ParamGroup<O> }[]): void {
    const grads = entries.map(({ p }) => deviceGrad(this.name, p));
    this.lastStepInfo = { call: this.stepCalls, skipped: false, nonFinite: NaN, gradNorm: NaN, clipFraction: NaN, numParams: entries.length };
    const { clipNorm, globalClipNorm, clipValue } = this.guards;
    const scale = (gs: Tensor[], maxNorm: number) => {
      const total = gs.map((g) => g.square().sum()).reduce((a, b) => a.add(b)).sqrt();
      const coef = total.add(1e-6).reciprocal().mul(maxNorm).clamp(null, 1);
      for (const g of gs) g.copy_(g.mul(coef));
    };
    if (clipNorm !== undefined) for (const g of grads) scale([g], clipNorm);
    if (globalClipNorm !== undefined) scale(grads, globalClipNorm);
    if (clipValue !== undefined) for (const g of grads) g.copy_(g.clamp(-clipValue, clipValue));
    for (let k = 0; k < entries.length; k++) {
      const { p, group } = entries[k];
      let s = this.state.get(p);
      if (!s) this.state.set(p, (s = this.initState(p, group)));
      this.updateOnDevice(p, grads[k], s, group);
    }
  }

  /** Updates one device parameter in place; optimizers with a device kernel override it. */
  protected updateOnDevice(p: Tensor, _grad: Tensor, _state: ParamState, _group: ParamGroup<O>): void {
    throw new DeviceError(`${this.name} does not run on ${p.device}; train on the CPU or switch optimizer`);
  }

  /** Moves every state tensor to `device` in place (after the parameters moved there; uploads). */
  stateToDevice(device: string): void {
    for (const s of this.state.values()) {
      for (const v of Object.values(s)) {
        if (!(v instanceof Tensor) || v.device === device) continue;
        const c = v.toDevice(device);
        v.setStorage(c.storage, c.strides, 0);
      }
    }
  }

  /** Moves every state tensor back to the CPU in place (reading a device is asynchronous). */
  async stateToCpu(): Promise<void> {
    for (const s of this.state.values()) {
      for (const v of Object.values(s)) {
        if (!(v instanceof Tensor) || v.device === "cpu") continue;
        const c = await v.cpu();
        v.setStorage(c.storage, c.strides, 0);
      }
    }
  }

  /** Applies the clip guards in place; returns how many gradient values they changed. */
  private clip(grads: FloatArray[]): number {
    const { clipNorm, globalClipNorm, clipValue } = this.guards;
    const scaled = grads.map(() => false);
    if (clipNorm !== undefined) {
      grads.forEach((g, k) => {
        if (scaleToNorm([g], pNorm(g, 2), clipNorm) < 1) scaled[k] = true;
      });
    }
    if (globalClipNorm !== undefined) {
      const total = pNorm(grads.map((g) => pNorm(g, 2)), 2);
      if (scaleToNorm(grads, total, globalClipNorm) < 1) scaled.fill(true);
    }
    let changed = 0;
    grads.forEach((g, k) => {
      if (scaled[k]) changed += g.length;
      if (clipValue !== undefined) {
        const n = clampValues([g], clipValue);
        if (!scaled[k]) changed += n;
      }
    });
    return changed;
  }

  /** Options and state by parameter position; tensors are the optimizer's own (copy before mutating). */
  stateDict(): OptimizerStateDict {
    const index = new Map<Tensor, number>();
    const paramGroups = this.paramGroups.map((g) => {
      const { params, ...opts } = g;
      const out: Record<string, OptionValue | number[]> = {};
      for (const [k, v] of Object.entries(opts)) out[k] = copyValue(v as OptionValue);
      const ids = params.map((p) => {
        index.set(p, index.size);
        return index.size - 1;
      });
      return { ...out, params: ids };
    });
    const state: Record<string, ParamState> = {};
    for (const [p, s] of this.state) {
      const i = index.get(p);
      if (i !== undefined) state[String(i)] = { ...s };
    }
    return { state, paramGroups, stepCalls: this.stepCalls, skippedSteps: [...this.skippedSteps] };
  }

  /**
   * Restores options and state saved by stateDict() from an optimizer over parameters of the same
   * shapes in the same groups. State tensors are copied in each parameter's dtype.
   */
  loadStateDict(sd: OptimizerStateDict): void {
    const op = `${this.name}.loadStateDict`;
    if (!sd || !Array.isArray(sd.paramGroups) || typeof sd.state !== "object") {
      throw new GradlabError(`${op}: expected { state, paramGroups } as returned by stateDict()`);
    }
    if (sd.paramGroups.length !== this.paramGroups.length) {
      throw new GradlabError(`${op}: the saved state has ${sd.paramGroups.length} parameter groups, this optimizer has ${this.paramGroups.length}`);
    }
    const byIndex = new Map<number, Tensor>();
    sd.paramGroups.forEach((saved, gi) => {
      const group = this.paramGroups[gi];
      if (saved.params.length !== group.params.length) {
        throw new GradlabError(`${op}: group ${gi} has ${saved.params.length} parameters in the saved state and ${group.params.length} here`);
      }
      saved.params.forEach((idx, j) => byIndex.set(idx, group.params[j]));
    });
    const state = new Map<Tensor, ParamState>();
    for (const [key, saved] of Object.entries(sd.state)) {
      const p = byIndex.get(Number(key));
      if (!p) throw new GradlabError(`${op}: state for parameter ${key}, which no saved group lists`);
      const s: ParamState = {};
      for (const [name, v] of Object.entries(saved)) {
        if (typeof v === "number") s[name] = v;
        else if (v instanceof Tensor) s[name] = this.copyStateTensor(op, key, name, v, p);
        else throw new GradlabError(`${op}: state "${name}" of parameter ${key} is neither a number nor a Tensor`);
      }
      state.set(p, s);
    }
    sd.paramGroups.forEach((saved, gi) => {
      const group = this.paramGroups[gi] as unknown as Record<string, unknown>;
      const next = { ...group };
      for (const [k, v] of Object.entries(saved)) if (k !== "params") next[k] = copyValue(v as OptionValue);
      this.validate(next as unknown as O);
      Object.assign(group, next);
    });
    this.state.clear();
    for (const [p, s] of state) this.state.set(p, s);
    this.stepCalls = sd.stepCalls ?? 0;
    this.skippedSteps.splice(0, this.skippedSteps.length, ...(sd.skippedSteps ?? []));
  }

  /** The shape a state tensor must have; moments have the parameter's shape unless overridden. */
  protected stateShape(p: Tensor, _name: string): readonly number[] {
    return p.shape;
  }

  private copyStateTensor(op: string, key: string, name: string, v: Tensor, p: Tensor): Tensor {
    const want = this.stateShape(p, name);
    if (v.shape.join() !== want.join()) {
      throw new ShapeError(`${op}: state "${name}" of parameter ${key} has shape ${fmtShape(v.shape)}, expected ${fmtShape(want)}`);
    }
    const t = stateTensor(p, want);
    t.data.set(isDense(v) && v.dtype === p.dtype ? v.data : v.to(p.dtype).toArray());
    return t;
  }
}

/**
 * pNorm(g, 2) with the same summation order, in loops that each see one array type: the shared
 * pNorm also takes plain arrays, and that polymorphism made it ≈5 ns per element.
 */
function l2Norm(g: FloatArray): number {
  return Math.sqrt(g instanceof Float32Array ? sumSquares32(g) : sumSquares64(g));
}

function sumSquares32(g: Float32Array): number {
  let s = 0;
  for (let i = 0; i < g.length; i++) s += g[i] * g[i];
  return s;
}

function sumSquares64(g: Float64Array): number {
  let s = 0;
  for (let i = 0; i < g.length; i++) s += g[i] * g[i];
  return s;
}
