import * as gl from "../src/index.js";
import { RecurrentNet, indexed, mean, now } from "./common.js";
import type { ExperimentOptions, ExperimentResult, Figure } from "./report.js";
import { fmt } from "./report.js";

type Method = "sgd" | "sgd-clip-value" | "sgd-clip-norm" | "adam" | "rmsprop" | "adagrad";
const METHODS: Method[] = ["sgd", "sgd-clip-value", "sgd-clip-norm", "adam", "rmsprop", "adagrad"];
const LABEL: Record<Method, string> = {
  sgd: "SGD, no clipping",
  "sgd-clip-value": "SGD, clip by value (1)",
  "sgd-clip-norm": "SGD, clip by global norm (1)",
  adam: "Adam",
  rmsprop: "RMSprop",
  adagrad: "Adagrad",
};

interface Config {
  T: number;
  hidden: number;
  gain: number;
  batch: number;
  steps: number;
  lr: { sgd: number; adam: number; rmsprop: number; adagrad: number };
}

/** A ReLU RNN on the adding problem whose recurrent matrix is `gain` × a random orthogonal matrix. */
function explodingModel(c: Config, seed: number): RecurrentNet {
  const model = new RecurrentNet({ cell: "relu-rnn", inputSize: 2, hiddenSize: c.hidden, outputs: 1, perStep: false, generator: new gl.Generator(seed) });
  const w = (model.rnn as unknown as Record<string, gl.Tensor>).weight_hh_l0;
  gl.nn.init.orthogonal_(w, c.gain, new gl.Generator(seed + 3));
  return model;
}

function optimizerFor(m: Method, params: gl.nn.Parameter[], c: Config): gl.optim.Optimizer {
  if (m === "adam") return new gl.optim.Adam(params, { lr: c.lr.adam });
  if (m === "rmsprop") return new gl.optim.RMSprop(params, { lr: c.lr.rmsprop });
  if (m === "adagrad") return new gl.optim.Adagrad(params, { lr: c.lr.adagrad });
  return new gl.optim.SGD(params, { lr: c.lr.sgd });
}

function globalNorm(params: gl.nn.Parameter[]): number {
  let s = 0;
  for (const p of params) if (p.grad) s += p.grad.square().sum().item();
  return Math.sqrt(s);
}

/**
 * Experiment 3, exploding gradients: a ReLU RNN whose recurrent weights are 2.5 × orthogonal
 * amplifies the backward signal at every step. Trained on the adding problem from the same
 * initialisation with plain SGD, SGD with gradient clipping by value and by global norm, and
 * the adaptive optimizers, whose step size does not scale with the gradient.
 */
export function exploding(opts: ExperimentOptions = {}): ExperimentResult {
  const t0 = now();
  const full = opts.full ?? false;
  const seed = opts.seed ?? 0;
  const c: Config = { T: 20, hidden: 32, gain: 2.5, batch: 32, steps: full ? 2000 : 100, lr: { sgd: 1e-2, adam: 1e-3, rmsprop: 1e-3, adagrad: 1e-2 } };
  // How the gradient grows going back in time at initialisation.
  const probeModel = explodingModel(c, seed);
  const probe = gl.data.addingProblem(c.T, c.batch, new gl.Generator(seed + 5));
  let dhInit: number[] = [];
  const remove = probeModel.rnn.registerGradHook(({ dh }) => {
    const a = Array.from(dh.toArray());
    const per = a.length / c.T;
    dhInit = Array.from({ length: c.T }, (_, t) => Math.sqrt(a.slice(t * per, (t + 1) * per).reduce((s, v) => s + v * v, 0)));
  });
  gl.mseLoss(probeModel.forward(probe.input), probe.target).backward();
  remove();

  const res: Record<string, { losses: number[]; gradNorms: number[]; firstNonFinite: number | null; finalLoss: number; maxGradNorm: number }> = {};
  for (const m of METHODS) {
    const model = explodingModel(c, seed);
    const params = model.parameters();
    const opt = optimizerFor(m, params, c);
    const data = new gl.Generator(seed + 1);
    const losses: number[] = [];
    const gradNorms: number[] = [];
    let firstNonFinite: number | null = null;
    for (let step = 0; step < c.steps; step++) {
      const b = gl.data.addingProblem(c.T, c.batch, data);
      const loss = gl.mseLoss(model.forward(b.input), b.target);
      opt.zeroGrad();
      loss.backward();
      const gn = globalNorm(params);
      if (m === "sgd-clip-value") gl.optim.clipGradValue(params, 1);
      if (m === "sgd-clip-norm") gl.optim.clipGradNorm(params, 1);
      opt.step();
      const l = loss.item();
      losses.push(l);
      gradNorms.push(gn);
      if (firstNonFinite === null && !(Number.isFinite(l) && Number.isFinite(gn))) {
        firstNonFinite = step;
        // Once NaN the run cannot recover; the rest of its curve would only repeat NaN.
        break;
      }
    }
    const finalLoss = mean(losses.slice(-10));
    res[m] = { losses, gradNorms, firstNonFinite, finalLoss, maxGradNorm: Math.max(...gradNorms.filter(Number.isFinite)) };
    opts.log?.(`exploding ${m}: first non-finite ${firstNonFinite}, final loss ${fmt(finalLoss)}`);
  }
  const figures: Figure[] = [
    {
      file: "loss.svg",
      title: "Training loss per method",
      svg: gl.diagnostics.lineChartSvg(METHODS.map((m) => ({ label: LABEL[m], points: indexed(res[m].losses), markers: res[m].losses.length < 10 })), {
        title: "Adding problem (T = 20), ReLU RNN with W_hh = 2.5·orthogonal", xLabel: "step", yLabel: "MSE (log)", logY: true, guides: [{ y: 1 / 6, label: "predict the mean: 1/6" }],
      }),
      caption: "Plain SGD takes one step along a gradient of norm in the thousands and the weights overflow: its curve stops where the loss became NaN. Clipping bounds each update (by value: every component to ±1; by global norm: the whole gradient rescaled to norm 1, keeping its direction), and the adaptive optimizers divide by a running gradient scale, so all of them recover from the same start.",
    },
    {
      file: "grad-norm.svg",
      title: "Gradient norm before clipping",
      svg: gl.diagnostics.lineChartSvg(METHODS.map((m) => ({ label: LABEL[m], points: indexed(res[m].gradNorms), markers: res[m].gradNorms.length < 10 })), {
        title: "Global gradient norm ‖∂J/∂θ‖ (before clipping)", xLabel: "step", yLabel: "norm (log)", logY: true,
      }),
      caption: "The raw gradient norm each step. Every stable method brings it down by orders of magnitude as the recurrent weights shrink out of the exploding regime.",
    },
    {
      file: "dh-init.svg",
      title: "‖∂J/∂h_t‖ at initialisation",
      svg: gl.diagnostics.lineChartSvg([{ label: "ReLU RNN, gain 2.5", points: dhInit.map((v, t) => [t, v] as [number, number]) }], {
        title: "‖∂J/∂h_t‖ at initialisation", xLabel: "time step t", yLabel: "norm (log)", logY: true,
      }),
      caption: `The mirror image of the vanishing experiment: going back from the loss at t = ${c.T - 1}, each step multiplies the gradient by W_hhᵀ (restricted to the active ReLUs), so it grows geometrically, by ${fmt(dhInit[0] / dhInit[c.T - 1])} over ${c.T} steps.`,
    },
  ];
  const rows = METHODS.map((m) => [LABEL[m], res[m].firstNonFinite === null ? "never" : String(res[m].firstNonFinite), res[m].losses[0], res[m].finalLoss, res[m].maxGradNorm]);
  const summary = [
    `Question: what happens when the backward signal grows instead of shrinking, and what contains it? A ReLU RNN (hidden ${c.hidden}) gets recurrent weights ${c.gain} × a random orthogonal matrix, so ‖∂J/∂h_t‖ grows by ${fmt(dhInit[0] / dhInit[c.T - 1])} from the last step back to the first. Every method starts from the same weights and sees the same adding-problem batches (T = ${c.T}) for ${c.steps} steps; SGD uses lr ${c.lr.sgd}, Adam and RMSprop ${c.lr.adam}, Adagrad ${c.lr.adagrad}.`,
    `Plain SGD: ${res.sgd.firstNonFinite === null ? "stayed finite" : `the loss became non-finite at step ${res.sgd.firstNonFinite}`}. Clipping by value, clipping by global norm, Adam, RMSprop and Adagrad end at losses ${METHODS.slice(1).map((m) => fmt(res[m].finalLoss)).join(", ")} (from ${fmt(res.sgd.losses[0])} at the first step).`,
    "Clipping by global norm keeps the update's direction and caps its length (Pascanu et al. 2013); clipping by value caps each component, which changes the direction but is just as effective at preventing a blow-up. Adam and RMSprop normalise each parameter's step by a running RMS of its gradient, so a gradient of norm 10⁴ moves a weight by about lr, the same as one of norm 1; Adagrad's accumulated sum does the same and then shrinks the steps further.",
  ];
  return {
    name: "exploding", title: "Exploding gradients: clipping and adaptive optimizers", setting: full ? "full" : "reduced",
    config: { ...c, seed, task: "adding", methods: METHODS },
    summary,
    metrics: {
      ratioFirstOverLast: dhInit[0] / dhInit[c.T - 1],
      dhInit,
      methods: Object.fromEntries(METHODS.map((m) => [m, { firstNonFinite: res[m].firstNonFinite, firstLoss: res[m].losses[0], finalLoss: res[m].finalLoss, maxGradNorm: res[m].maxGradNorm, losses: res[m].losses }])),
    },
    figures,
    tables: [{ title: "Outcome per method", columns: ["method", "first non-finite step", "first loss", "final loss (last 10)", "largest gradient norm"], rows }],
    seconds: now() - t0,
  };
}
