import { AutogradError } from "../core/errors.js";
import type { Differentiable, Node } from "./graph.js";
import { noGrad } from "./mode.js";

export interface GradOps<T> {
  add(a: T, b: T): T;
  zeros(shape: readonly number[], dtype: T extends { dtype: infer D } ? D : never, device?: string): T;
  /** An owned, contiguous copy: a leaf's .grad must not alias a tensor someone else holds. */
  clone(a: T): T;
}

export interface BackwardOptions {
  retainGraph?: boolean;
}

/** Optional observer called after every node's backward, used by anomaly mode. */
export type NodeObserver<T> = (node: Node<T>, inputGrads: (T | null)[]) => void;
let observer: NodeObserver<unknown> | null = null;
export function setBackwardObserver<T>(fn: NodeObserver<T> | null): void {
  observer = fn as NodeObserver<unknown> | null;
}

let backwardDepth = 0;
/** True while a backward sweep runs (the ops inside backward functions are then not forward ops). */
export function inBackward(): boolean {
  return backwardDepth > 0;
}

/**
 * Reverse-mode sweep from `root` seeded with `grad`. Nodes run in dependency order (each one after
 * all of its consumers), gradients of an output used several times are summed, and leaves
 * accumulate into `.grad`.
 */
export function runBackward<T extends Differentiable<T>>(root: T, grad: T, ops: GradOps<T>, opts: BackwardOptions = {}): void {
  backwardDepth++;
  try {
    sweep(root, grad, ops, opts);
  } finally {
    backwardDepth--;
  }
}

function sweep<T extends Differentiable<T>>(root: T, grad: T, ops: GradOps<T>, opts: BackwardOptions): void {
  noGrad(() => {
    if (!root.gradFn) {
      accumulateLeaf(root, grad, ops);
      return;
    }
    const rootNode = root.gradFn;
    // Count, for every reachable node and leaf, how many edges point at it: a leaf's hooks and
    // accumulation run once, on its total gradient, when the last of its consumers is done.
    const deps = new Map<Node<T>, number>();
    const leafDeps = new Map<T, number>();
    const stack: Node<T>[] = [rootNode];
    const seen = new Set<Node<T>>([rootNode]);
    while (stack.length) {
      const n = stack.pop()!;
      for (const e of n.next) {
        if (e?.kind === "leaf") leafDeps.set(e.tensor, (leafDeps.get(e.tensor) ?? 0) + 1);
        if (e?.kind !== "node") continue;
        deps.set(e.node, (deps.get(e.node) ?? 0) + 1);
        if (!seen.has(e.node)) {
          seen.add(e.node);
          stack.push(e.node);
        }
      }
    }
    const buffers = new Map<Node<T>, (T | null)[]>();
    const leafBuffers = new Map<T, T>();
    buffers.set(rootNode, rootNode.outputs.map((_, i) => (i === root.outputIndex ? grad : null)));
    const ready: Node<T>[] = [rootNode];
    while (ready.length) {
      const node = ready.pop()!;
      const buf = buffers.get(node)!;
      buffers.delete(node);
      const grads = node.outputs.map((meta, i) => {
        let g = buf[i] ?? ops.zeros(meta.shape, meta.dtype as never, meta.device);
        for (const h of node.outputHooks[i]) {
          const r = h(g);
          if (r) g = r;
        }
        return g;
      });
      const inGrads = node.apply(grads);
      if (observer) observer(node as Node<unknown>, inGrads);
      if (!opts.retainGraph) node.release();
      node.next.forEach((e, i) => {
        const g = inGrads[i];
        if (!e) return;
        if (e.kind === "leaf") {
          const t = e.tensor;
          const prev = leafBuffers.get(t);
          if (g) leafBuffers.set(t, prev ? ops.add(prev, g) : g);
          const left = leafDeps.get(t)! - 1;
          leafDeps.set(t, left);
          const total = leafBuffers.get(t);
          if (left === 0 && total) {
            leafBuffers.delete(t);
            accumulateLeaf(t, total, ops);
          }
          return;
        }
        let b = buffers.get(e.node);
        if (!b) buffers.set(e.node, (b = e.node.outputs.map(() => null)));
        if (g) b[e.index] = b[e.index] ? ops.add(b[e.index]!, g) : g;
        const left = deps.get(e.node)! - 1;
        deps.set(e.node, left);
        if (left === 0) ready.push(e.node);
      });
    }
  });
}

function accumulateLeaf<T extends Differentiable<T>>(t: T, g: T, ops: GradOps<T>): void {
  if (!t.requiresGrad) return;
  for (const h of t.leafHooks) {
    const r = h(g);
    if (r) g = r;
  }
  t.grad = t.grad ? ops.add(t.grad, g) : ops.clone(g);
}

export function checkBackwardRoot(shape: readonly number[], hasGrad: boolean, requiresGrad: boolean): void {
  if (!requiresGrad) {
    throw new AutogradError("backward(): the tensor does not require grad and has no grad_fn");
  }
  const n = shape.reduce((a, b) => a * b, 1);
  if (!hasGrad && n !== 1) {
    throw new AutogradError(
      `backward(): grad can be implicitly created only for scalar outputs; this tensor has shape [${shape.join(", ")}] — pass a gradient of that shape`,
    );
  }
}
