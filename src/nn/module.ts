import type { DType } from "../core/dtype.js";
import { GradlabError, ShapeError, fmtShape } from "../core/errors.js";
import { cast } from "../tensor/primitives/movement.js";
import { Tensor } from "../tensor/tensor.js";
import { Parameter } from "./parameter.js";

export type StateDict = Record<string, Tensor>;

export interface LoadResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

/**
 * Base of every layer. Parameters, buffers and child modules are found by walking the module's
 * own properties in insertion order (names starting with "_" are private), so a layer declares
 * `this.weight = new Parameter(...)` and PyTorch's dotted names follow.
 */
export class Module {
  training = true;
  private _bufferNames = new Set<string>();

  /** Registers a parameter under a computed name (e.g. "weight_ih_l0"); null keeps the slot empty (bias=false). */
  registerParameter(name: string, p: Parameter | null): void {
    checkName("registerParameter", name);
    if (p !== null && !(p instanceof Parameter)) {
      throw new GradlabError(`registerParameter: "${name}" must be a Parameter or null (wrap a Tensor in new Parameter(t))`);
    }
    (this as Record<string, unknown>)[name] = p;
  }

  registerModule(name: string, m: Module | null): void {
    checkName("registerModule", name);
    if (m !== null && !(m instanceof Module)) throw new GradlabError(`registerModule: "${name}" must be a Module or null`);
    (this as Record<string, unknown>)[name] = m;
  }

  /** A tensor saved in the state dict but not trained (e.g. running statistics). */
  registerBuffer(name: string, t: Tensor | null): void {
    checkName("registerBuffer", name);
    if (t !== null && !(t instanceof Tensor)) throw new GradlabError(`registerBuffer: "${name}" must be a Tensor or null`);
    this._bufferNames.add(name);
    (this as Record<string, unknown>)[name] = t;
  }

  private entries(): [string, unknown][] {
    return Object.entries(this).filter(([k]) => !k.startsWith("_"));
  }

  namedChildren(): [string, Module][] {
    return this.entries().filter((e): e is [string, Module] => e[1] instanceof Module);
  }

  children(): Module[] {
    return this.namedChildren().map(([, m]) => m);
  }

  namedModules(prefix = ""): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [n, m] of this.namedChildren()) out.push(...m.namedModules(prefix ? `${prefix}.${n}` : n));
    return out;
  }

  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  /** Own parameters first, then each child's, with dotted names; a shared parameter is listed once. */
  namedParameters(prefix = "", recurse = true): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    const seen = new Set<Parameter>();
    const walk = (m: Module, pre: string) => {
      for (const [k, v] of m.entries()) {
        if (v instanceof Parameter && !seen.has(v)) {
          seen.add(v);
          out.push([pre + k, v]);
        }
      }
      if (!recurse) return;
      for (const [k, c] of m.namedChildren()) walk(c, `${pre}${k}.`);
    };
    walk(this, prefix ? `${prefix}.` : "");
    return out;
  }

  parameters(recurse = true): Parameter[] {
    return this.namedParameters("", recurse).map(([, p]) => p);
  }

  namedBuffers(prefix = ""): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const walk = (m: Module, pre: string) => {
      for (const name of m._bufferNames) {
        const t = (m as unknown as Record<string, unknown>)[name];
        if (t instanceof Tensor) out.push([pre + name, t]);
      }
      for (const [k, c] of m.namedChildren()) walk(c, `${pre}${k}.`);
    };
    walk(this, prefix ? `${prefix}.` : "");
    return out;
  }

  numParameters(): number {
    return this.parameters().reduce((a, p) => a + p.numel(), 0);
  }

  /** Parameters and buffers by dotted name, detached and sharing storage (as PyTorch). */
  stateDict(): StateDict {
    const sd: StateDict = {};
    const walk = (m: Module, pre: string) => {
      for (const [k, v] of m.entries()) {
        if (v instanceof Parameter || (m._bufferNames.has(k) && v instanceof Tensor)) sd[pre + k] = (v as Tensor).detach();
      }
      for (const [k, c] of m.namedChildren()) walk(c, `${pre}${k}.`);
    };
    walk(this, "");
    return sd;
  }

  /**
   * Copies values in by name. Shapes must match; values are cast to each parameter's dtype.
   * With strict (default), missing and unexpected keys are an error that lists them all.
   */
  loadStateDict(sd: StateDict, opts: { strict?: boolean } = {}): LoadResult {
    const strict = opts.strict ?? true;
    const own = this.stateDict();
    const targets = new Map<string, Tensor>();
    for (const [n, p] of this.namedParameters()) targets.set(n, p);
    for (const [n, b] of this.namedBuffers()) targets.set(n, b);
    // A tied parameter appears once in namedParameters but under every name in the state dict.
    for (const n of Object.keys(own)) if (!targets.has(n)) targets.set(n, this.lookup(n));
    const missingKeys = [...targets.keys()].filter((k) => !(k in sd));
    const unexpectedKeys = Object.keys(sd).filter((k) => !targets.has(k));
    const mismatched: string[] = [];
    for (const [k, t] of targets) {
      const src = sd[k];
      if (!src) continue;
      if (!(src instanceof Tensor)) throw new GradlabError(`loadStateDict: value of "${k}" is not a Tensor`);
      if (src.shape.join() !== t.shape.join()) mismatched.push(`${k}: checkpoint ${fmtShape(src.shape)} vs model ${fmtShape(t.shape)}`);
    }
    const problems: string[] = [];
    if (mismatched.length) problems.push(`size mismatch for ${mismatched.join("; ")}`);
    if (strict && missingKeys.length) problems.push(`missing keys: ${missingKeys.join(", ")}`);
    if (strict && unexpectedKeys.length) problems.push(`unexpected keys: ${unexpectedKeys.join(", ")}`);
    if (problems.length) throw new ShapeError(`loadStateDict: ${problems.join(". ")}`);
    for (const [k, t] of targets) {
      const src = sd[k];
      if (src) t.copy_(src.dtype === t.dtype ? src : cast(src.detach(), t.dtype));
    }
    return { missingKeys, unexpectedKeys };
  }

  private lookup(path: string): Tensor {
    let cur: unknown = this;
    for (const part of path.split(".")) cur = (cur as Record<string, unknown>)[part];
    if (!(cur instanceof Tensor)) throw new GradlabError(`loadStateDict: "${path}" does not name a tensor`);
    return cur;
  }

  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Drops every parameter's gradient (PyTorch's default set_to_none). */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /**
   * Converts floating-point parameters and buffers in place, keeping their identities, to a dtype
   * and/or a device. Moving to a device uploads; moving back is asynchronous: \`await module.cpu()\`.
   */
  to(opts: { dtype?: DType; device?: string }): this {
    const { dtype, device } = opts;
    if (dtype === "int32") throw new GradlabError("Module.to: dtype must be float32 or float64");
    if (device === "cpu" && this.allTensors().some((t) => t.device !== "cpu")) {
      throw new GradlabError("Module.to({ device: \"cpu\" }): reading parameters back from a device is asynchronous; use `await module.cpu()`");
    }
    const convert = (t: Tensor) => {
      if (dtype && t.dtype !== "int32" && t.dtype !== dtype) {
        const c = cast(t.detach(), dtype);
        t.setStorage(c.storage, c.strides, 0);
        if (t.grad) t.grad = cast(t.grad, dtype);
      }
      if (device && device !== "cpu" && t.device !== device) {
        const c = t.detach().contiguous().toDevice(device);
        t.setStorage(c.storage, c.strides, 0);
        if (t.grad) t.grad = t.grad.detach().toDevice(device);
      }
    };
    for (const t of this.allTensors()) convert(t);
    return this;
  }

  /** Moves every parameter and buffer back to the CPU in place (reading a device is asynchronous). */
  async cpu(): Promise<this> {
    for (const t of this.allTensors()) {
      if (t.device === "cpu") continue;
      const c = await t.cpu();
      t.setStorage(c.storage, c.strides, 0);
      if (t.grad) t.grad = await t.grad.cpu();
    }
    return this;
  }

  private allTensors(): Tensor[] {
    return [...this.parameters(), ...[...this.namedBuffers()].map(([, b]) => b)];
  }

  /** Calls fn on every submodule, children before their parent, as PyTorch's apply. */
  apply(fn: (m: Module) => void): this {
    for (const c of this.children()) c.apply(fn);
    fn(this);
    return this;
  }

  forward(..._args: unknown[]): unknown {
    throw new GradlabError(`${this.constructor.name}.forward is not implemented`);
  }

  /** Extra text shown in toString(), e.g. "in=3, out=4". */
  extraRepr(): string {
    return "";
  }

  /** PyTorch's layout: extra repr and children one per line, indented, or `Name(extra)` for a leaf. */
  toString(): string {
    const extra = this.extraRepr();
    const lines = extra ? extra.split("\n") : [];
    for (const [n, m] of this.namedChildren()) lines.push(`(${n}): ${m.toString().replace(/\n/g, "\n  ")}`);
    const name = this.constructor.name;
    if (lines.length === 0) return `${name}()`;
    if (lines.length === 1 && this.namedChildren().length === 0) return `${name}(${lines[0]})`;
    return `${name}(\n  ${lines.join("\n  ")}\n)`;
  }
}

function checkName(op: string, name: string): void {
  if (typeof name !== "string" || name === "" || name.includes(".") || name.startsWith("_")) {
    throw new GradlabError(`${op}: name must be a non-empty string without "." that does not start with "_", got ${JSON.stringify(name)}`);
  }
}
