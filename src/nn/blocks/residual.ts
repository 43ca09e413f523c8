import { GradlabError, ShapeError, fmtShape } from "../../core/errors.js";
import { Tensor } from "../../tensor/tensor.js";
import { Module } from "../module.js";

/**
 * y = x + module(x) (He et al. 2016), around any module that maps a tensor to one of the same
 * shape; where it changes the width, pass a `projection` module (e.g. a Linear without bias)
 * applied to x on the skip path.
 */
export class Residual extends Module {
  module: Module;
  projection: Module | null;

  constructor(module: Module, opts: { projection?: Module | null } = {}) {
    super();
    if (!(module instanceof Module)) throw new GradlabError(`Residual: expected a Module to wrap, got ${module === null ? "null" : typeof module}`);
    if (opts.projection != null && !(opts.projection instanceof Module)) throw new GradlabError("Residual: projection must be a Module");
    this.module = module;
    this.projection = opts.projection ?? null;
  }

  override forward(x: Tensor): Tensor {
    const y = this.module.forward(x);
    const skip = this.projection ? this.projection.forward(x) : x;
    if (!(y instanceof Tensor) || !(skip instanceof Tensor)) throw new GradlabError("Residual: the wrapped module must return a Tensor");
    if (y.shape.length !== skip.shape.length || y.shape.some((d, i) => d !== skip.shape[i])) {
      throw new ShapeError(
        `Residual: the wrapped ${this.module.constructor.name} maps ${fmtShape(x.shape)} to ${fmtShape(y.shape)}, but the skip path gives ` +
          `${fmtShape(skip.shape)}; a residual sum needs equal shapes (pass { projection } where widths differ)`,
      );
    }
    return y.add(skip);
  }
}
