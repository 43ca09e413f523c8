import { GradlabError, fmtShape } from "../core/errors.js";
import type { Node } from "../autograd/graph.js";
import { inBackward, setBackwardObserver } from "../autograd/engine.js";
import { setForwardObserver } from "../tensor/record.js";
import type { Tensor } from "../tensor/tensor.js";

export type AnomalyPhase = "forward" | "backward";

/** Thrown by anomaly mode at the first op whose result holds NaN or ±Infinity. */
export class AnomalyError extends GradlabError {
  constructor(
    message: string,
    readonly phase: AnomalyPhase,
    /** The op's name as recorded in the graph (e.g. "log", "div", "matmul"). */
    readonly op: string,
    readonly inputShapes: number[][],
    /** NaN and infinite values in the offending tensor. */
    readonly nan: number,
    readonly inf: number,
  ) {
    super(message);
  }
}

export interface AnomalyOptions {
  /** Check every forward op's outputs (default true). */
  forward?: boolean;
  /** Check every backward node's input gradients (default true). */
  backward?: boolean;
  /** Count only NaN, letting ±Infinity pass (e.g. −Infinity attention masks); default false. */
  nanOnly?: boolean;
}

interface Counts {
  nan: number;
  inf: number;
}

function countBad(t: Tensor): Counts {
  const a = t.offset === 0 && t.data.length === t.numel() && t.isContiguous() ? t.data : t.toArray();
  let nan = 0;
  let inf = 0;
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (v !== v) nan++;
    else if (v === Infinity || v === -Infinity) inf++;
  }
  return { nan, inf };
}

let enabled = false;
let current: Required<AnomalyOptions> = { forward: true, backward: true, nanOnly: false };

function isBad(c: Counts): boolean {
  return c.nan > 0 || (!current.nanOnly && c.inf > 0);
}

function describe(c: Counts): string {
  const parts = [];
  if (c.nan) parts.push(`${c.nan} NaN`);
  if (c.inf) parts.push(`${c.inf} infinite`);
  return parts.join(" and ");
}

const shapesOf = (ts: readonly { shape: readonly number[] }[]): number[][] => ts.map((t) => [...t.shape]);
const fmtShapes = (shapes: readonly (readonly number[])[]): string => shapes.map(fmtShape).join(", ");

/**
 * Every op reports to this observer, also under noGrad, so the first op that turns finite values
 * into NaN/Inf is seen before anything consumes its result. An op whose inputs are already bad
 * got them from outside the ops checked so far (data, a parameter, an in-place write) and is
 * reported as such. Ops run by backward functions are left to the backward check, which names
 * the node they belong to.
 */
function onForward(name: string, outputs: Tensor[], inputs: Tensor[]): void {
  if (inBackward()) return;
  let bad: { index: number; counts: Counts } | null = null;
  for (let i = 0; i < outputs.length && !bad; i++) {
    if (outputs[i].dtype === "int32") continue;
    const c = countBad(outputs[i]);
    if (isBad(c)) bad = { index: i, counts: c };
  }
  if (!bad) return;
  const shapes = shapesOf(inputs);
  for (let k = 0; k < inputs.length; k++) {
    if (inputs[k].dtype === "int32") continue;
    const c = countBad(inputs[k]);
    if (isBad(c)) {
      throw new AnomalyError(
        `anomaly (forward): input ${k} of op "${name}" (input shapes ${fmtShapes(shapes)}) already holds ${describe(c)} values; ` +
          `no op checked in anomaly mode produced them (they come from the data, a parameter or an in-place write)`,
        "forward", name, shapes, c.nan, c.inf,
      );
    }
  }
  const out = outputs[bad.index];
  throw new AnomalyError(
    `anomaly (forward): op "${name}" turned finite inputs of shapes ${fmtShapes(shapes)} into ${describe(bad.counts)} values ` +
      `in its output ${bad.index} of shape ${fmtShape(out.shape)}`,
    "forward", name, shapes, bad.counts.nan, bad.counts.inf,
  );
}

/** Nodes run in reverse order, so the first node reporting bad input gradients is where they arose. */
function onBackward(node: Node<Tensor>, inputGrads: (Tensor | null)[]): void {
  inputGrads.forEach((g, k) => {
    if (!g) return;
    const c = countBad(g);
    if (!isBad(c)) return;
    const shapes = node.inputShapes.map((s) => [...s]);
    throw new AnomalyError(
      `anomaly (backward): the backward of op "${node.name}" (input shapes ${fmtShapes(shapes)}) returned ${describe(c)} values ` +
        `in the gradient of its input ${k}`,
      "backward", node.name, shapes, c.nan, c.inf,
    );
  });
}

/** Turns anomaly mode on or off for all following work. */
export function setDetectAnomaly(on: boolean, opts: AnomalyOptions = {}): void {
  enabled = on;
  current = { forward: opts.forward ?? true, backward: opts.backward ?? true, nanOnly: opts.nanOnly ?? false };
  setForwardObserver(on && current.forward ? onForward : null);
  setBackwardObserver<Tensor>(on && current.backward ? onBackward : null);
}

export function isAnomalyEnabled(): boolean {
  return enabled;
}

/**
 * Runs fn with anomaly mode on and restores the previous mode afterwards (after the promise
 * settles, for an async fn). The first op producing NaN/Inf throws an AnomalyError naming it.
 */
export function detectAnomaly<T>(fn: () => T, opts: AnomalyOptions = {}): T {
  const prev = { on: enabled, opts: { ...current } };
  const restore = () => setDetectAnomaly(prev.on, prev.opts);
  setDetectAnomaly(true, opts);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    restore();
    throw e;
  }
  if (result instanceof Promise) return result.finally(restore) as T;
  restore();
  return result;
}
