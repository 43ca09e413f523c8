import { gelu } from "../tensor/ops/activation.js";
import type { Tensor } from "../tensor/tensor.js";
import { Module } from "./module.js";

/** Returns its input: a placeholder layer (e.g. to switch a block off without changing the structure). */
export class Identity extends Module {
  override forward(x: Tensor): Tensor {
    return x;
  }
}

export class ReLU extends Module {
  override forward(x: Tensor): Tensor {
    return x.relu();
  }
}

export class Tanh extends Module {
  override forward(x: Tensor): Tensor {
    return x.tanh();
  }
}

export class Sigmoid extends Module {
  override forward(x: Tensor): Tensor {
    return x.sigmoid();
  }
}

/** GELU with the exact erf or, with approximate "tanh", the tanh approximation. */
export class GELU extends Module {
  readonly approximate: "none" | "tanh";

  constructor(opts: { approximate?: "none" | "tanh" } = {}) {
    super();
    this.approximate = opts.approximate ?? "none";
  }

  override forward(x: Tensor): Tensor {
    return gelu(x, this.approximate);
  }

  override extraRepr(): string {
    return `approximate="${this.approximate}"`;
  }
}
