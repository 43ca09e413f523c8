import { edgeOf, Node } from "../autograd/graph.js";
import { isGradEnabled } from "../autograd/mode.js";
import type { Tensor } from "./tensor.js";

export type TensorBackward = (grads: Tensor[]) => (Tensor | null)[];

/** Observer of every recorded forward op (anomaly mode uses it to find the first non-finite op). */
export type ForwardObserver = (name: string, outputs: Tensor[], inputs: Tensor[]) => void;
let forwardObserver: ForwardObserver | null = null;
export function setForwardObserver(fn: ForwardObserver | null): void {
  forwardObserver = fn;
}

/**
 * Attaches an autograd node to `outputs` when recording is on and some input requires grad.
 * `backward` receives one gradient per output and returns one per input (null: none).
 */
export function record(name: string, outputs: Tensor[], inputs: Tensor[], backward: TensorBackward): void {
  if (forwardObserver) forwardObserver(name, outputs, inputs);
  if (!isGradEnabled() || !inputs.some((t) => t.requiresGrad)) return;
  if (outputs.some((o) => o.dtype === "int32")) return;
  const node = new Node<Tensor>(
    name,
    inputs.map((t) => edgeOf(t)),
    outputs.map((o) => ({ shape: o.shape, dtype: o.dtype, device: o.device })),
    backward,
    inputs.map((t) => t.shape),
  );
  outputs.forEach((o, i) => {
    o.gradFn = node;
    o.outputIndex = i;
    o.requiresGrad = true;
  });
}
