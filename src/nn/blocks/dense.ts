import { GradlabError, ShapeError, fmtShape } from "../../core/errors.js";
import type { Generator } from "../../core/rng.js";
import { cat } from "../../tensor/primitives/movement.js";
import { Tensor } from "../../tensor/tensor.js";
import { ReLU, Tanh } from "../activation.js";
import { ModuleList, Sequential } from "../container.js";
import { Linear, type FloatDType } from "../linear.js";
import { Module } from "../module.js";

/**
 * DenseNet-style connectivity (Huang et al. 2017) for feature vectors: layer k reads the
 * concatenation (last dim) of the block's input and the outputs of layers 0..k−1, and the block
 * returns the concatenation of its input and every layer's output, so features are reused and
 * every layer has a short path to the loss. Layer k must accept in + Σ_{j<k} width_j features.
 */
export class DenseBlock extends Module {
  layers: ModuleList;

  constructor(layers: Iterable<Module>) {
    super();
    this.layers = new ModuleList(layers);
    if (this.layers.length === 0) throw new GradlabError("DenseBlock: expected at least one layer");
  }

  /** `numLayers` layers act(Linear(in + k·growth → growth)): output width in + numLayers·growth. */
  static ofLinear(
    inFeatures: number, growth: number, numLayers: number,
    opts: { activation?: "relu" | "tanh"; dtype?: FloatDType; generator?: Generator } = {},
  ): DenseBlock {
    const layers = Array.from({ length: numLayers }, (_, k) => {
      const act = opts.activation === "tanh" ? new Tanh() : new ReLU();
      return new Sequential(new Linear(inFeatures + k * growth, growth, { dtype: opts.dtype, generator: opts.generator }), act);
    });
    return new DenseBlock(layers);
  }

  override forward(x: Tensor): Tensor {
    if (!(x instanceof Tensor) || x.ndim === 0) throw new GradlabError("DenseBlock: input must be a Tensor with a feature dim");
    const feats: Tensor[] = [x];
    let k = 0;
    for (const layer of this.layers) {
      const input = feats.length === 1 ? x : cat(feats, -1);
      const y = layer.forward(input);
      if (!(y instanceof Tensor) || y.ndim !== x.ndim || y.shape.some((d, i) => i < x.ndim - 1 && d !== x.shape[i])) {
        const got = y instanceof Tensor ? fmtShape(y.shape) : typeof y;
        throw new ShapeError(`DenseBlock: layer ${k} returned ${got}; it must keep the leading dims of ${fmtShape(input.shape)} and change only the last`);
      }
      feats.push(y);
      k++;
    }
    return cat(feats, -1);
  }
}
