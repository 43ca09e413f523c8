import type { DType } from "../../core/dtype.js";
import type { Generator } from "../../core/rng.js";
import { empty, type Tensor } from "../../tensor/tensor.js";
import { constant_, uniform_ } from "../init.js";
import type { Module } from "../module.js";
import { Parameter } from "../parameter.js";

/**
 * Connections between stacked recurrent layers (Britz et al. 2017, "Massive Exploration of Neural
 * Machine Translation Architectures"):
 * - "residual": a layer's output plus its input, through a learned projection
 *   (`residual_proj_l{k}`, [out, in]) where the widths differ;
 * - "dense": each layer reads the concatenation of the network's input and every earlier layer's
 *   output (its `weight_ih` is wider accordingly); the network returns the last layer's output;
 * - "highway" (Srivastava et al. 2015): out = T·layer + (1 − T)·input with the transform gate
 *   T = σ(input·W_Tᵀ + b_T) (`highway_weight_l{k}`, `highway_bias_l{k}`; `highway_proj_l{k}` carries
 *   the input where widths differ); b_T starts negative so that each layer starts close to carrying
 *   its input through, which keeps deep stacks trainable.
 * Residual and highway apply to every layer, the first included (it sees the network's input).
 */
export type SkipMode = "none" | "residual" | "dense" | "highway";
export const SKIP_MODES: readonly SkipMode[] = ["none", "residual", "dense", "highway"];

type Params = Record<string, Parameter | undefined>;

function param(shape: number[], dtype: DType): Parameter {
  return new Parameter(empty(shape, dtype));
}

/** Creates layer k's skip parameters on the module, U(±1/√in) like a linear layer's weights. */
export function createSkipParams(
  owner: Module, mode: SkipMode, k: number, inW: number, outW: number, dtype: DType, gen: Generator, highwayBias: number,
): void {
  const bound = 1 / Math.sqrt(inW);
  const add = (name: string, shape: number[]) => {
    const p = param(shape, dtype);
    uniform_(p, -bound, bound, gen);
    owner.registerParameter(name, p);
    return p;
  };
  if (mode === "residual" && inW !== outW) add(`residual_proj_l${k}`, [outW, inW]);
  if (mode === "highway") {
    add(`highway_weight_l${k}`, [outW, inW]);
    constant_(add(`highway_bias_l${k}`, [outW]), highwayBias);
    if (inW !== outW) add(`highway_proj_l${k}`, [outW, inW]);
  }
}

/** Combines layer k's input and output; `mask` [T, B, 1] (1 inside each length) keeps padding zero. */
export function applySkip(owner: Module, mode: SkipMode, k: number, input: Tensor, output: Tensor, mask: Tensor | null): Tensor {
  if (mode === "none" || mode === "dense") return output;
  const p = owner as unknown as Params;
  const proj = p[`${mode}_proj_l${k}`];
  let carry = proj ? input.matmul(proj.t()) : input;
  if (mask) carry = carry.mul(mask);
  if (mode === "residual") return output.add(carry);
  const gate = input.matmul(p[`highway_weight_l${k}`]!.t()).add(p[`highway_bias_l${k}`]!).sigmoid();
  return gate.mul(output).add(gate.neg().add(1).mul(carry));
}
