import assert from "node:assert/strict";
import * as gl from "../../src/index.js";

export interface GradcheckOptions {
  eps?: number;
  atol?: number;
  rtol?: number;
  seed?: number;
}

/**
 * Central finite-difference check in float64: f's output is contracted with a random gradient R,
 * so every output element is tested. Inputs must be float64 tensors with requiresGrad.
 */
export function gradcheck(f: (...xs: gl.Tensor[]) => gl.Tensor, inputs: gl.Tensor[], opts: GradcheckOptions = {}): void {
  const { eps = 1e-6, atol = 1e-5, rtol = 1e-3, seed = 1234 } = opts;
  for (const x of inputs) assert.equal(x.dtype, "float64", "gradcheck inputs must be float64");
  const out = f(...inputs);
  const R = gl.randn(out.shape, { dtype: "float64", generator: new gl.Generator(seed) });
  for (const x of inputs) x.grad = null;
  out.mul(R).sum().backward();
  const analytic = inputs.map((x) => (x.grad ? x.grad.toArray() : new Float64Array(x.numel())));
  const J = (): number => gl.noGrad(() => f(...inputs).mul(R).sum().item());
  inputs.forEach((x, k) => {
    if (!x.requiresGrad) return;
    // Perturb through a contiguous copy written back, so views and strides don't matter.
    const n = x.numel();
    for (let i = 0; i < n; i++) {
      const base = x.toArray() as Float64Array;
      const orig = base[i];
      base[i] = orig + eps;
      x.copy_(gl.tensor(base, { shape: x.shape }));
      const plus = J();
      base[i] = orig - eps;
      x.copy_(gl.tensor(base, { shape: x.shape }));
      const minus = J();
      base[i] = orig;
      x.copy_(gl.tensor(base, { shape: x.shape }));
      const numeric = (plus - minus) / (2 * eps);
      const a = analytic[k][i];
      const tol = atol + rtol * Math.abs(numeric);
      if (!(Math.abs(a - numeric) <= tol)) {
        assert.fail(`gradcheck: input ${k} element ${i}: analytic ${a} vs numeric ${numeric} (tol ${tol})`);
      }
    }
  });
}

export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol = 1e-6, rtol = 1e-5, what = "value"): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} vs ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (a === e) continue;
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      assert.fail(`${what}[${i}]: ${a} vs expected ${e} (atol ${atol}, rtol ${rtol})`);
    }
  }
}

/** A float64 leaf with seeded normal values. */
export function randLeaf(shape: number[], seed: number): gl.Tensor {
  return gl.randn(shape, { dtype: "float64", generator: new gl.Generator(seed) }).requiresGrad_(true);
}
