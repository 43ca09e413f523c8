import type { TypedArray } from "../core/dtype.js";
import { noGrad } from "../autograd/mode.js";
import type { Module } from "../nn/module.js";
import type { Tensor } from "../tensor/tensor.js";

/**
 * A decoding loop written as a generator: it yields the tensor whose values it needs next (a
 * step's logits) and receives them. runSearch() reads them synchronously (CPU tensors);
 * runSearchAsync() awaits them, so the same search runs on a device whose values come back later.
 */
export type Search<T> = Generator<Tensor, T, TypedArray>;

/** Runs fn in eval mode without recording gradients, restoring the model's mode after. */
export function inference<T>(model: Module, fn: () => T): T {
  const was = model.training;
  model.eval();
  try {
    return noGrad(fn);
  } finally {
    model.train(was);
  }
}

// Each resumption runs as inference(), and the mode is restored between them, so an asynchronous
// search never leaves the model changed while it waits.
const resume = inference;

function start<T>(model: Module, begin: () => Search<T>): { g: Search<T>; r: IteratorResult<Tensor, T> } {
  let g: Search<T> | null = null;
  const r = resume(model, () => {
    g = begin();
    return g.next(undefined as unknown as TypedArray);
  });
  return { g: g!, r };
}

export function runSearch<T>(model: Module, begin: () => Search<T>): T {
  let { g, r } = start(model, begin);
  while (!r.done) {
    const v = r.value.toArray();
    r = resume(model, () => g.next(v));
  }
  return r.value;
}

export async function runSearchAsync<T>(model: Module, begin: () => Search<T>): Promise<T> {
  let { g, r } = start(model, begin);
  while (!r.done) {
    const v = await r.value.toArrayAsync();
    r = resume(model, () => g.next(v));
  }
  return r.value;
}
