import { test } from "node:test";
import assert from "node:assert/strict";
import * as gl from "../../../src/index.js";
import type { AdamHyper, RmspropHyper, SgdHyper } from "../../../src/backend/kernels.js";
import { adamUpdate as refAdam, rmspropUpdate as refRmsprop, sgdUpdate as refSgd } from "../../../src/backends/js/optim.js";
import { adamUpdateF32, rmspropUpdateF32, sgdUpdateF32 } from "../../../src/backends/fast/optim.js";
import { fastRuntime } from "../../../src/backends/fast/index.js";
import { assertNear, forEachVariant, randData } from "./helpers.js";

const HYPERS: [string, Omit<AdamHyper, "step">][] = [
  ["Adam", { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false, maximize: false }],
  ["Adam L2 maximize", { lr: 3e-2, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0.1, decoupled: false, maximize: true }],
  ["AdamW", { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-2, decoupled: true, maximize: false }],
  // β1 = 0.3: the lerp weight 0.7 takes PyTorch's other form.
  ["AdamW β1 0.3", { lr: 5e-2, beta1: 0.3, beta2: 0.5, eps: 1e-3, weightDecay: 0.5, decoupled: true, maximize: false }],
];

test("fast Adam/AdamW/AMSGrad step is bit-identical to the reference float32 step over many steps, odd sizes included", async () => {
  await forEachVariant((variant) => {
    const rt = fastRuntime()!;
    for (const n of [1, 3, 5, 255, 1001]) {
      for (const [name, h] of HYPERS) {
        for (const amsgrad of [false, true]) {
          const p0 = randData(n, n + 1), m0 = new Float32Array(n), v0 = new Float32Array(n);
          const a = { p: Float32Array.from(p0), m: Float32Array.from(m0), v: Float32Array.from(v0), x: amsgrad ? new Float32Array(n) : null };
          const b = { p: Float32Array.from(p0), m: Float32Array.from(m0), v: Float32Array.from(v0), x: amsgrad ? new Float32Array(n) : null };
          for (let step = 1; step <= 6; step++) {
            // Gradients shrinking then growing, so AMSGrad's max matters.
            const g = randData(n, 100 * step + n).map((x) => x * (step === 4 ? 0.01 : 1));
            refAdam(a.p, g, a.m, a.v, a.x, { ...h, step });
            adamUpdateF32(rt, b.p, g, b.m, b.v, b.x, { ...h, step });
          }
          const what = `${variant} ${name} amsgrad=${amsgrad} n=${n}`;
          assertNear(b.p, a.p, 0, 0, `${what} p`);
          assertNear(b.m, a.m, 0, 0, `${what} m`);
          assertNear(b.v, a.v, 0, 0, `${what} v`);
          if (a.x) assertNear(b.x!, a.x, 0, 0, `${what} vmax`);
        }
      }
    }
  });
});

test("float32 Adam rounds each op to float32 and stays within float32 rounding of the float64 step", () => {
  const n = 64;
  const h: AdamHyper = { ...HYPERS[2][1], step: 1 };
  const p32 = randData(n, 3), g32 = randData(n, 4);
  const p64 = Float64Array.from(p32);
  refAdam(p32, g32, new Float32Array(n), new Float32Array(n), null, h);
  refAdam(p64, Float64Array.from(g32), new Float64Array(n), new Float64Array(n), null, h);
  assertNear(p32, p64, 1e-6, 1e-6, "p");
  assert.ok(p32.some((x, i) => x !== p64[i]), "float32 results are rounded");
});

test("Adam through the optimizer gives the same parameters on the fast and the reference backends (float32)", () => {
  const run = (backend: string): Float32Array[] => {
    gl.setBackend(backend);
    gl.manualSeed(7);
    const lin = new gl.nn.Linear(40, 30);
    const opt = new gl.optim.AdamW(lin.parameters(), { lr: 1e-2, amsgrad: true });
    const x = gl.randn([8, 40], { generator: new gl.Generator(1) });
    for (let i = 0; i < 5; i++) {
      opt.zeroGrad();
      lin.forward(x).square().mean().backward();
      opt.step();
    }
    return lin.parameters().map((p) => p.toArray() as Float32Array);
  };
  try {
    const fast = run("fast");
    const ref = run("js");
    // The forward and backward products differ in rounding between backends; the update does not add more.
    fast.forEach((f, i) => assertNear(f, ref[i], 1e-5, 1e-4, `param ${i}`));
  } finally {
    gl.setBackend("fast");
  }
});

const SGD: [string, Omit<SgdHyper, "first">][] = [
  ["plain", { lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false }],
  ["momentum dampening L2", { lr: 0.05, momentum: 0.9, dampening: 0.3, weightDecay: 0.01, nesterov: false, maximize: false }],
  ["nesterov maximize", { lr: 0.02, momentum: 0.8, dampening: 0, weightDecay: 0.1, nesterov: true, maximize: true }],
];

const RMSPROP: [string, RmspropHyper, boolean][] = [
  ["plain", { lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, maximize: false }, false],
  ["centered momentum L2", { lr: 1e-2, alpha: 0.9, eps: 1e-6, weightDecay: 0.1, momentum: 0.7, maximize: false }, true],
  // α = 0.3: the centered mean's lerp weight 0.7 takes PyTorch's other form.
  ["centered α 0.3 maximize", { lr: 3e-2, alpha: 0.3, eps: 1e-3, weightDecay: 0, momentum: 0, maximize: true }, true],
];

test("fast SGD and RMSprop steps are bit-identical to the reference float32 steps, odd sizes included", async () => {
  await forEachVariant((variant) => {
    const rt = fastRuntime()!;
    for (const n of [1, 3, 5, 255, 1001]) {
      for (const [name, h] of SGD) {
        const a = { p: randData(n, n), buf: h.momentum ? new Float32Array(n) : null };
        const b = { p: Float32Array.from(a.p), buf: h.momentum ? new Float32Array(n) : null };
        for (let step = 1; step <= 5; step++) {
          const g = randData(n, 10 * step + n);
          refSgd(a.p, g, a.buf, { ...h, first: step === 1 });
          sgdUpdateF32(rt, b.p, g, b.buf, { ...h, first: step === 1 });
        }
        assertNear(b.p, a.p, 0, 0, `${variant} SGD ${name} n=${n} p`);
        if (a.buf) assertNear(b.buf!, a.buf, 0, 0, `${variant} SGD ${name} n=${n} buf`);
      }
      for (const [name, h, centered] of RMSPROP) {
        const mk = () => ({
          p: randData(n, 2 * n), sq: new Float32Array(n),
          buf: h.momentum ? new Float32Array(n) : null, gavg: centered ? new Float32Array(n) : null,
        });
        const a = mk();
        const b = mk();
        for (let step = 1; step <= 5; step++) {
          const g = randData(n, 20 * step + n);
          refRmsprop(a.p, g, a.sq, a.buf, a.gavg, h);
          rmspropUpdateF32(rt, b.p, g, b.sq, b.buf, b.gavg, h);
        }
        const what = `${variant} RMSprop ${name} n=${n}`;
        assertNear(b.p, a.p, 0, 0, `${what} p`);
        assertNear(b.sq, a.sq, 0, 0, `${what} sq`);
        if (a.buf) assertNear(b.buf!, a.buf, 0, 0, `${what} buf`);
        if (a.gavg) assertNear(b.gavg!, a.gavg, 0, 0, `${what} gavg`);
      }
    }
  });
});

test("SGD and RMSprop through the optimizers agree between the fast and the reference backends (float32)", () => {
  const run = (backend: string, make: (ps: gl.Tensor[]) => gl.optim.Optimizer): Float32Array[] => {
    gl.setBackend(backend);
    gl.manualSeed(11);
    const lin = new gl.nn.Linear(40, 30);
    const opt = make(lin.parameters());
    const x = gl.randn([8, 40], { generator: new gl.Generator(2) });
    for (let i = 0; i < 5; i++) {
      opt.zeroGrad();
      lin.forward(x).square().mean().backward();
      opt.step();
    }
    return lin.parameters().map((p) => p.toArray() as Float32Array);
  };
  const makers: [string, (ps: gl.Tensor[]) => gl.optim.Optimizer][] = [
    ["SGD", (ps) => new gl.optim.SGD(ps, { lr: 0.1, momentum: 0.9, nesterov: true })],
    ["RMSprop", (ps) => new gl.optim.RMSprop(ps, { lr: 1e-2, centered: true, momentum: 0.5 })],
  ];
  try {
    for (const [name, make] of makers) {
      const fast = run("fast", make);
      const ref = run("js", make);
      fast.forEach((f, i) => assertNear(f, ref[i], 1e-5, 1e-4, `${name} param ${i}`));
    }
  } finally {
    gl.setBackend("fast");
  }
});
