import { AutogradError } from "../core/errors.js";
import type { DType } from "../core/dtype.js";

/**
 * What the engine needs of a tensor. autograd knows nothing else about tensors, so the tensor
 * layer supplies arithmetic (add, zeros, copy) through `GradOps`.
 */
export interface Differentiable<T> {
  gradFn: Node<T> | null;
  outputIndex: number;
  requiresGrad: boolean;
  grad: T | null;
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** Hooks of a leaf; a non-leaf's hooks live on its node, per output. */
  leafHooks: Hook<T>[];
}

export type Hook<T> = (grad: T) => T | void;

export type Edge<T> = { kind: "node"; node: Node<T>; index: number } | { kind: "leaf"; tensor: T } | null;

export interface OutputMeta {
  shape: readonly number[];
  dtype: DType;
  /** Where the output lives ("cpu" or a device): a missing gradient is made there. */
  device?: string;
}

export type BackwardFn<T> = (grads: T[]) => (T | null)[];

let nextId = 0;

/** One recorded operation: its inputs' edges, its outputs' shapes, and how to send gradients back. */
export class Node<T> {
  readonly id = nextId++;
  readonly outputHooks: Hook<T>[][];
  private fn: BackwardFn<T> | null;

  constructor(
    readonly name: string,
    readonly next: Edge<T>[],
    readonly outputs: OutputMeta[],
    fn: BackwardFn<T>,
    /** Shapes of the inputs, for error messages and anomaly reports. */
    readonly inputShapes: (readonly number[])[],
  ) {
    this.fn = fn;
    this.outputHooks = outputs.map(() => []);
  }

  get released(): boolean {
    return this.fn === null;
  }

  apply(grads: T[]): (T | null)[] {
    if (!this.fn) {
      throw new AutogradError(
        `backward through the graph a second time (op "${this.name}"): its saved values were freed ` +
          `after the first backward; pass { retainGraph: true } to the first backward() to keep them`,
      );
    }
    return this.fn(grads);
  }

  release(): void {
    this.fn = null;
  }
}

export function edgeOf<T extends Differentiable<T>>(t: T): Edge<T> {
  if (!t.requiresGrad) return null;
  if (t.gradFn) return { kind: "node", node: t.gradFn, index: t.outputIndex };
  return { kind: "leaf", tensor: t };
}
