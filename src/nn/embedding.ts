import { DTypeError, GradlabError, ShapeError, fmtShape } from "../core/errors.js";
import type { Generator } from "../core/rng.js";
import { isGradEnabled } from "../autograd/mode.js";
import { embedding } from "../tensor/primitives/indexing.js";
import { Tensor, empty } from "../tensor/tensor.js";
import { normal_ } from "./init.js";
import { checkCount, checkFloatDType, type FloatDType } from "./linear.js";
import { Module } from "./module.js";
import { Parameter } from "./parameter.js";

export interface EmbeddingOptions {
  /** This row starts at zero and never receives a gradient (negative counts from the end). */
  paddingIdx?: number | null;
  dtype?: FloatDType;
  generator?: Generator;
}

/** A lookup table [numEmbeddings, embeddingDim] indexed by int32 ids, initialised N(0, 1) as torch.nn.Embedding. */
export class Embedding extends Module {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  readonly paddingIdx: number | null;
  weight: Parameter;

  constructor(numEmbeddings: number, embeddingDim: number, opts: EmbeddingOptions = {}) {
    super();
    this.numEmbeddings = checkCount("Embedding", "numEmbeddings", numEmbeddings);
    this.embeddingDim = checkCount("Embedding", "embeddingDim", embeddingDim);
    this.paddingIdx = resolvePadding(opts.paddingIdx, numEmbeddings);
    this.weight = new Parameter(empty([numEmbeddings, embeddingDim], checkFloatDType("Embedding", opts.dtype)));
    this.resetParameters(opts.generator);
  }

  /** An Embedding holding `weight` [num, dim] (copied); frozen (no gradient) unless freeze is false. */
  static fromPretrained(weight: Tensor, opts: { freeze?: boolean; paddingIdx?: number | null } = {}): Embedding {
    if (!(weight instanceof Tensor) || weight.ndim !== 2) {
      throw new ShapeError(`Embedding.fromPretrained: weight must be a 2-d Tensor [num, dim], got ${weight instanceof Tensor ? fmtShape(weight.shape) : typeof weight}`);
    }
    const e = new Embedding(weight.shape[0], weight.shape[1], { paddingIdx: opts.paddingIdx, dtype: checkFloatDType("Embedding.fromPretrained", weight.dtype) });
    e.weight.copy_(weight);
    if (opts.freeze ?? true) e.weight.requiresGrad_(false);
    return e;
  }

  resetParameters(generator?: Generator): void {
    normal_(this.weight, 0, 1, generator);
    if (this.paddingIdx !== null) this.weight.select(0, this.paddingIdx).fill_(0);
  }

  /** ids: int32 of any shape → [...ids.shape, embeddingDim]. */
  override forward(ids: Tensor): Tensor {
    if (!(ids instanceof Tensor)) throw new GradlabError(`Embedding: input must be an int32 Tensor of ids, got ${typeof ids}`);
    if (ids.dtype !== "int32") throw new DTypeError(`Embedding: ids must be int32, got ${ids.dtype}`);
    const v = ids.toArray();
    for (let i = 0; i < v.length; i++) {
      if (v[i] < 0 || v[i] >= this.numEmbeddings) {
        throw new ShapeError(`Embedding(${this.numEmbeddings}, ${this.embeddingDim}): id ${v[i]} (at flat position ${i} of ids ${fmtShape(ids.shape)}) is out of range [0, ${this.numEmbeddings})`);
      }
    }
    const rows = embedding(this.weight, ids);
    if (this.paddingIdx === null || !rows.requiresGrad || !isGradEnabled()) return rows;
    // Same values, but padding positions read a detached copy, so their row gets no gradient.
    const pad = ids.eq(this.paddingIdx).unsqueeze(-1);
    // The ids are on the host; the mask joins the rows where they are.
    const isPad = pad.toDevice(rows.device);
    return rows.detach().where(isPad, rows);
  }

  override extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}${this.paddingIdx !== null ? `, paddingIdx=${this.paddingIdx}` : ""}`;
  }
}

function resolvePadding(p: number | null | undefined, num: number): number | null {
  if (p === undefined || p === null) return null;
  if (!Number.isInteger(p) || p < -num || p >= num) {
    throw new GradlabError(`Embedding: paddingIdx must be an integer in [-${num}, ${num}), got ${p}`);
  }
  return p < 0 ? p + num : p;
}
