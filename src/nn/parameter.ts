import { GradlabError } from "../core/errors.js";
import { Tensor } from "../tensor/tensor.js";

/**
 * A leaf tensor that a Module owns and an optimizer updates in place. Like torch.nn.Parameter it
 * shares the storage of a contiguous `value` (a strided view is copied).
 */
export class Parameter extends Tensor {
  constructor(value: Tensor, requiresGrad = true) {
    if (!(value instanceof Tensor)) throw new GradlabError(`Parameter: expected a Tensor, got ${value === null ? "null" : typeof value}`);
    const own = value.isContiguous() && value.offset === 0 && value.storage.length === value.numel();
    super(own ? value.storage : value.detach().clone().storage, [...value.shape]);
    if (requiresGrad) this.requiresGrad_(true);
  }
}
