import { GradlabError } from "../core/errors.js";
import type { Tensor } from "../tensor/tensor.js";
import { Module } from "./module.js";

/**
 * An ordered list of modules registered as children "0", "1", ..., so their parameters get
 * PyTorch's names (`layers.0.weight`). Plain arrays of modules are not walked; use this.
 */
export class ModuleList<M extends Module = Module> extends Module implements Iterable<M> {
  private _items: M[] = [];

  constructor(modules: Iterable<M> = []) {
    super();
    this.extend(modules);
  }

  append(m: M): this {
    if (!(m instanceof Module)) throw new GradlabError(`${this.constructor.name}.append: expected a Module, got ${m === null ? "null" : typeof m}`);
    this.registerModule(String(this._items.length), m);
    this._items.push(m);
    return this;
  }

  extend(modules: Iterable<M>): this {
    for (const m of modules) this.append(m);
    return this;
  }

  get length(): number {
    return this._items.length;
  }

  /** The i-th module; negative i counts from the end. */
  at(i: number): M {
    const n = this._items.length;
    if (!Number.isInteger(i) || i < -n || i >= n) {
      throw new GradlabError(`${this.constructor.name}.at: index ${i} is out of range for ${n} modules`);
    }
    return this._items[i < 0 ? i + n : i];
  }

  [Symbol.iterator](): Iterator<M> {
    return this._items[Symbol.iterator]();
  }
}

/** Applies its modules in order, each to the previous one's output. */
export class Sequential extends ModuleList<Module> {
  constructor(...modules: Module[]) {
    super(modules);
  }

  override forward(x: Tensor): Tensor {
    let y: unknown = x;
    for (const m of this) y = m.forward(y);
    return y as Tensor;
  }
}
