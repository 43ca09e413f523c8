import * as gl from "../src/index.js";
import { indexed, mean, now, smooth, trainStreamLM } from "./common.js";
import { shakespeareText } from "./lstm-vs-gru.js";
import type { ExperimentOptions, ExperimentResult, Figure } from "./report.js";
import { fmt } from "./report.js";

type Skip = "none" | "residual" | "dense" | "highway";

interface Run {
  depth: number;
  skip: Skip;
  params: number;
  /** ‖∂J/∂W_ih‖ of each layer at initialisation (mean over probe windows), bottom first. */
  layerGrad: number[];
  losses: number[];
  valLoss: number;
  secondsPerStep: number;
}

function evalLoss(lm: gl.models.RNNLM, val: Int32Array): number {
  return gl.noGrad(() => {
    lm.eval();
    let st: gl.models.RecurrentState | null = null;
    let sum = 0;
    let n = 0;
    for (const w of new gl.data.LMStream(val, 1, 256)) {
      const r = lm.loss(w.input, w.target, st);
      st = r.state;
      sum += r.loss.item() * w.input.numel();
      n += w.input.numel();
    }
    lm.train();
    return sum / n;
  });
}

/**
 * Experiment 7, stacking: character language models of 1 to 8 LSTM layers, plain and with
 * residual, dense or highway connections between layers, trained for the same number of steps:
 * how much gradient reaches the bottom layer, and what extra depth buys.
 */
export function stacking(opts: ExperimentOptions = {}): ExperimentResult {
  const t0 = now();
  const full = opts.full ?? false;
  const seed = opts.seed ?? 0;
  const c = full
    ? { depths: [1, 2, 4, 6, 8], skips: ["none", "residual", "dense", "highway"] as Skip[], chars: 200_000, embed: 64, hidden: 64, batch: 32, bptt: 64, steps: 400, lr: 3e-3 }
    : { depths: [1, 4], skips: ["none", "residual", "dense"] as Skip[], chars: 20_000, embed: 16, hidden: 16, batch: 16, bptt: 24, steps: 60, lr: 1e-2 };
  const tok = gl.data.CharTokenizer.fromText(shakespeareText());
  const { train, val } = gl.data.trainValSplit(tok.encode(shakespeareText().slice(0, c.chars)), 0.1);
  const stream = new gl.data.LMStream(train, c.batch, c.bptt);
  const probes = [0, 1, 2].map((k) => stream.window(k));
  const runs: Run[] = [];
  for (const skip of c.skips) {
    for (const depth of c.depths) {
      if (depth === 1 && skip !== c.skips[0]) {
        // One layer has nothing to skip between (residual/highway would only wrap the single layer).
        runs.push({ ...runs.find((r) => r.depth === 1)!, skip });
        continue;
      }
      const lm = new gl.models.RNNLM({ vocabSize: tok.size, embeddingDim: c.embed, hiddenSize: c.hidden, numLayers: depth, cell: "lstm", skip, generator: new gl.Generator(seed) });
      const rnn = lm.rnn as unknown as Record<string, gl.Tensor>;
      const sums = new Float64Array(depth);
      for (const w of probes) {
        lm.zeroGrad();
        lm.loss(w.input, w.target).loss.backward();
        for (let l = 0; l < depth; l++) sums[l] += rnn[`weight_ih_l${l}`].grad!.norm().item() / probes.length;
      }
      lm.zeroGrad();
      const s0 = now();
      const { losses } = trainStreamLM(lm, stream, { steps: c.steps, lr: c.lr });
      const secondsPerStep = (now() - s0) / c.steps;
      const run: Run = { depth, skip, params: lm.parameters().reduce((n, p) => n + p.numel(), 0), layerGrad: Array.from(sums), losses, valLoss: evalLoss(lm, val), secondsPerStep };
      runs.push(run);
      opts.log?.(`stacking ${skip} depth ${depth}: val ${fmt(run.valLoss)}, bottom/top gradient ${fmt(run.layerGrad[0] / run.layerGrad[depth - 1])}, ${fmt(secondsPerStep)} s/step`);
    }
  }
  const deepest = Math.max(...c.depths);
  const at = (skip: Skip, depth: number) => runs.find((r) => r.skip === skip && r.depth === depth)!;
  const figures: Figure[] = [
    {
      file: "val-vs-depth.svg",
      title: "Validation loss against depth",
      svg: gl.diagnostics.lineChartSvg(c.skips.map((s) => ({ label: s === "none" ? "plain stack" : s, points: c.depths.map((d) => [d, at(s, d).valLoss] as [number, number]) })), {
        title: `Validation loss after ${c.steps} steps`, xLabel: "LSTM layers", yLabel: "nats per character",
      }),
      caption: `Each point is a character model trained for ${c.steps} steps. Without skip connections, extra layers make the model harder to optimise in a fixed budget; with them, extra depth costs less or helps.`,
    },
    {
      file: `layer-grad-depth${deepest}.svg`,
      title: `Gradient per layer in the ${deepest}-layer stack`,
      svg: gl.diagnostics.lineChartSvg(c.skips.map((s) => ({ label: s === "none" ? "plain stack" : s, points: at(s, deepest).layerGrad.map((v, l) => [l + 1, v] as [number, number]) })), {
        title: `‖∂J/∂W_ih‖ per layer at initialisation, ${deepest} layers`, xLabel: "layer (1 = bottom)", yLabel: "gradient norm (log)", logY: true,
      }),
      caption: "How much gradient each layer's input weights receive at initialisation. In the plain stack the signal reaching the bottom layer passes through every layer above it and shrinks; a residual or dense connection gives it a direct path.",
    },
    {
      file: "loss.svg",
      title: `Training loss, ${deepest} layers`,
      svg: gl.diagnostics.lineChartSvg(
        [...c.skips.map((s) => ({ label: `${s === "none" ? "plain" : s}, ${deepest} layers`, points: indexed(smooth(at(s, deepest).losses, 0.9)), markers: false })), { label: "1 layer", points: indexed(smooth(at(c.skips[0], 1).losses, 0.9)), markers: false, dash: "4 3" }],
        { title: "Training loss (smoothed)", xLabel: "step", yLabel: "nats per character" },
      ),
      caption: "Training curves of the deepest stacks beside the single layer.",
    },
  ];
  const rows = runs.map((r) => [r.skip, r.depth, r.params, r.layerGrad[0] / r.layerGrad[r.depth - 1], r.valLoss, r.secondsPerStep]);
  const ratio = (s: Skip) => at(s, deepest).layerGrad[0] / at(s, deepest).layerGrad[deepest - 1];
  const summary = [
    `Question: does stacking more recurrent layers help, and what do skip connections change? Character-level LSTM language models on the first ${c.chars} characters of Tiny Shakespeare (hidden ${c.hidden}, windows of ${c.bptt}, batch ${c.batch}, ${c.steps} Adam steps at lr ${c.lr}, clipped to norm 1), depths ${c.depths.join(", ")}, connections ${c.skips.join(", ")} (see nn.recurrent's skip option: residual adds each layer's input to its output, dense feeds each layer the concatenation of all earlier outputs, highway gates between them).`,
    `Bottom-to-top gradient ratio at initialisation in the ${deepest}-layer stack: ${c.skips.map((s) => `${s} ${fmt(ratio(s))}`).join(", ")}. Validation loss (nats/char) by depth: ${c.skips.map((s) => `${s}: ${c.depths.map((d) => fmt(at(s, d).valLoss)).join(" / ")}`).join("; ")}.`,
  ];
  return {
    name: "stacking", title: "Stacking recurrent layers: depth 1–8 with and without skip connections", setting: full ? "full" : "reduced",
    config: { ...c, seed }, summary,
    metrics: { runs: runs.map((r) => ({ ...r, losses: undefined, finalTrainLoss: mean(r.losses.slice(-20)), bottomOverTop: r.layerGrad[0] / r.layerGrad[r.depth - 1] })) },
    figures,
    tables: [{ title: "Per run", columns: ["skip", "layers", "parameters", "bottom/top gradient", "val nats/char", "s/step"], rows }],
    seconds: now() - t0,
  };
}
