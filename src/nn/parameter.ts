import { isContiguous } from "../backend/view.js";
import { Tensor } from "../tensor/tensor.js";

/** A leaf tensor that a Module owns and an optimizer updates in place. */
export class Parameter extends Tensor {
  constructor(value: Tensor, requiresGrad = true) {
    const own = isContiguous(value) && value.offset === 0 && value.data.length === value.numel();
    super(own ? value.data : value.toArray(), [...value.shape]);
    if (requiresGrad) this.requiresGrad_(true);
  }
}
