/**
 * The table-driven op checks. Each spec names an op, its gradlab call and an independent float64
 * reference (reference.ts); `checkSpecs` runs, for every spec:
 *  - forward vs the reference on every case (shapes include 0-d, size 0, size 1 and broadcasting),
 *    with every input given contiguous, transposed, sliced with a step and an offset, or expanded;
 *  - float32 forward vs the reference on the rounded inputs;
 *  - NaN/±Inf propagation (elementwise specs);
 *  - a float64 central-difference gradcheck with a random output gradient, through the same views.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as gl from "../../src/index.js";
import { assertClose, gradcheck } from "../helpers/gradcheck.js";
import { type Nd, at, build, fromTensor, nd, permuteNd, size, sliceNd } from "./reference.js";

export interface OpSpec {
  name: string;
  /** Input shapes, one list per case. */
  cases: number[][][];
  f: (...xs: gl.Tensor[]) => gl.Tensor;
  ref: (...xs: Nd[]) => Nd;
  /** Maps standard-normal draws into the op's domain (e.g. positive for log). */
  domain?: (v: number, input: number) => number;
  /** false: not differentiable (or not everywhere), skip the gradcheck. */
  grad?: boolean;
  /** Elementwise: also feed NaN, ±Inf, ±0 through it. */
  specials?: boolean;
  /** Skip the non-contiguous layouts (ops whose inputs must be contiguous by contract). */
  contiguousOnly?: boolean;
  /** The output's dtype when it is not the input's (e.g. int32 for argmax). */
  outDtype?: gl.DType;
  /** Relative tolerance of the float64 forward check. */
  rtol?: number;
}

/** One way to present an input of a given shape: the view, and where its values come from. */
interface Layout {
  name: string;
  base(shape: number[]): number[] | null;
  view(t: gl.Tensor, shape: number[]): gl.Tensor;
  values(base: Nd, shape: number[]): Nd;
}

const swapLast = (s: number[]): number[] => [...s.slice(0, -2), s[s.length - 1], s[s.length - 2]];
const swapPerm = (r: number): number[] => [...Array.from({ length: r - 2 }, (_, i) => i), r - 1, r - 2];
const firstWide = (s: number[]): number => s.findIndex((d) => d > 1);

export const LAYOUTS: Layout[] = [
  { name: "contiguous", base: (s) => s, view: (t) => t, values: (b) => b },
  {
    name: "transposed",
    base: (s) => (s.length >= 2 ? swapLast(s) : null),
    view: (t) => t.transpose(-1, -2),
    values: (b) => permuteNd(b, swapPerm(b.shape.length)),
  },
  {
    // Every second element of a longer last dim, starting at 1: a step and an offset.
    name: "strided",
    base: (s) => (s.length >= 1 ? [...s.slice(0, -1), 2 * s[s.length - 1] + 1] : null),
    view: (t, s) => t.slice(-1, 1, 2 * s[s.length - 1] + 1, 2),
    values: (b, s) => sliceNd(b, s.length - 1, 1, 2 * s[s.length - 1] + 1, 2),
  },
  {
    name: "expanded",
    base: (s) => (firstWide(s) >= 0 ? s.map((d, i) => (i === firstWide(s) ? 1 : d)) : null),
    view: (t, s) => t.expand(s),
    values: (b, s) => build(s, (idx) => at(b, idx.map((v, i) => (b.shape[i] === 1 ? 0 : v)))),
  },
];

function draw(shape: number[], gen: gl.Generator, domain: ((v: number, k: number) => number) | undefined, k: number): Float64Array {
  const v = new Float64Array(size(shape));
  for (let i = 0; i < v.length; i++) {
    const r = gen.normal();
    v[i] = domain ? domain(r, k) : r;
  }
  return v;
}

interface Built {
  inputs: gl.Tensor[];
  values: Nd[];
}

function buildInputs(spec: OpSpec, shapes: number[][], layouts: Layout[], gen: gl.Generator, dtype: gl.DType): Built {
  const inputs: gl.Tensor[] = [];
  const values: Nd[] = [];
  shapes.forEach((s, k) => {
    const lay = layouts[k];
    const bs = lay.base(s)!;
    let base = draw(bs, gen, spec.domain, k);
    if (dtype === "float32") base = base.map(Math.fround);
    const t = gl.tensor(base, { shape: bs, dtype });
    inputs.push(lay.view(t, s));
    values.push(lay.values(nd(bs, base), s));
  });
  return { inputs, values };
}

function compare(spec: OpSpec, out: gl.Tensor, expected: Nd, atol: number, rtol: number, what: string): void {
  assert.deepEqual([...out.shape], expected.shape, `${spec.name} ${what}: shape`);
  assertClose(out.toArray(), expected.data, atol, rtol, `${spec.name} ${what}`);
}

/** The layout choices tried for a case: all contiguous, then each input in each other layout. */
function layoutPlans(spec: OpSpec, shapes: number[][]): Layout[][] {
  const plans: Layout[][] = [shapes.map(() => LAYOUTS[0])];
  if (spec.contiguousOnly) return plans;
  for (const lay of LAYOUTS.slice(1)) {
    if (shapes.every((s) => lay.base(s) === null)) continue;
    plans.push(shapes.map((s) => (lay.base(s) ? lay : LAYOUTS[0])));
  }
  return plans;
}

const SPECIALS = [NaN, Infinity, -Infinity, 0, -0, 0.5, -1.5, 3];

export function checkSpecs(specs: OpSpec[]): void {
  for (const spec of specs) {
    test(spec.name, () => {
      const gen = new gl.Generator(7);
      const rtol = spec.rtol ?? 1e-10;
      spec.cases.forEach((shapes, ci) => {
        const plans = layoutPlans(spec, shapes);
        for (const plan of plans) {
          const { inputs, values } = buildInputs(spec, shapes, plan, gen, "float64");
          const label = `case ${ci} ${JSON.stringify(shapes)} (${plan.map((l) => l.name).join(", ")})`;
          const out = spec.f(...inputs);
          assert.equal(out.dtype, spec.outDtype ?? "float64", `${spec.name}: output dtype`);
          compare(spec, out, spec.ref(...values), 1e-12, rtol, label);
        }
        if (ci === 0) {
          const { inputs, values } = buildInputs(spec, shapes, plans[0], gen, "float32");
          const out = spec.f(...inputs);
          assert.equal(out.dtype, spec.outDtype ?? "float32", `${spec.name}: float32 in, ${out.dtype} out`);
          compare(spec, out, spec.ref(...values), 1e-5, 1e-4, "float32");
        }
        if (spec.grad !== false && shapes.every((s) => size(s) <= 64)) {
          // Rotate through the layouts so each case's gradient also flows through views.
          const plan = plans[ci % plans.length];
          const bases = shapes.map((s, k) => {
            const bs = plan[k].base(s)!;
            return gl.tensor(draw(bs, gen, spec.domain, k), { shape: bs, dtype: "float64", requiresGrad: true });
          });
          gradcheck((...bs) => spec.f(...bs.map((b, k) => plan[k].view(b, shapes[k]))), bases);
        }
      });
      if (spec.specials) checkSpecials(spec);
    });
  }
}

/** Every combination of special values, one per input, as 1-d tensors. */
function checkSpecials(spec: OpSpec): void {
  const arity = spec.cases[0].length;
  const n = SPECIALS.length ** arity;
  const cols: number[][] = Array.from({ length: arity }, () => []);
  for (let i = 0; i < n; i++) {
    let r = i;
    for (let k = arity - 1; k >= 0; k--) {
      cols[k].push(SPECIALS[r % SPECIALS.length]);
      r = Math.floor(r / SPECIALS.length);
    }
  }
  const inputs = cols.map((c) => gl.tensor(c, { dtype: "float64" }));
  const out = gl.noGrad(() => spec.f(...inputs));
  const expected = spec.ref(...cols.map((c) => nd([c.length], c)));
  const got = out.toArray();
  for (let i = 0; i < n; i++) {
    const e = expected.data[i];
    const g = got[i];
    const ok = Number.isNaN(e) ? Number.isNaN(g) : g === e || Math.abs(g - e) <= 1e-12 * Math.abs(e);
    assert.ok(ok, `${spec.name}(${cols.map((c) => c[i]).join(", ")}) = ${g}, expected ${e}`);
  }
}

export { fromTensor };
