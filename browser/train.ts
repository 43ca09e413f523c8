/**
 * Trains a small character LSTM in the browser with live plots. The loop runs on the page's own
 * thread in slices of ~40 ms, so the plots redraw and the Stop button answers between slices.
 * Query parameters preset the form (?steps=200&hidden=32&autostart=1): the e2e test uses them.
 */
import "uplot/dist/uPlot.min.css";
import "./style.css";
import uPlot from "uplot";
import * as gl from "../src/index.js";
import { SHAKESPEARE } from "./corpus.js";

const BATCH = 16;
const PROBE_EVERY = 10;
const SAMPLE_EVERY = 50;
const SLICE_MS = 40;
const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"];

/** What the page exposes for tests and the console. */
interface TrainState {
  running: boolean;
  done: boolean;
  step: number;
  losses: number[];
  error: string | null;
  backend: string;
}
const state: TrainState = { running: false, done: false, step: 0, losses: [], error: null, backend: gl.getBackend() };
(window as unknown as { gradlabTrain: TrainState }).gradlabTrain = state;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const text = $<HTMLTextAreaElement>("text");
text.value = SHAKESPEARE;
const params = new URLSearchParams(location.search);
for (const k of ["hidden", "bptt", "lr", "steps"]) {
  const v = params.get(k);
  if (v !== null) $<HTMLInputElement>(k).value = v;
}

function plotWidth(el: HTMLElement): number {
  return Math.max(280, el.clientWidth - 4);
}

function lossPlot(el: HTMLElement): uPlot {
  return new uPlot(
    {
      width: plotWidth(el),
      height: 240,
      scales: { x: { time: false } },
      axes: [{ label: "step" }, { label: "loss (nats)" }],
      series: [
        { label: "step" },
        { label: "loss", stroke: "rgba(31,119,180,0.3)", width: 1 },
        { label: "smoothed", stroke: "#1f77b4", width: 2 },
        { label: "uniform guess", stroke: "#999", dash: [5, 4], width: 1 },
      ],
    },
    [[], [], [], []],
    el,
  );
}

function gradPlot(el: HTMLElement, layers: string[]): uPlot {
  return new uPlot(
    {
      width: plotWidth(el),
      height: 240,
      scales: { x: { time: false }, y: { distr: 3 } },
      axes: [{ label: "step" }, { label: "‖∂J/∂θ‖" }],
      series: [{ label: "step" }, ...layers.map((l, i) => ({ label: l, stroke: COLORS[i % COLORS.length], width: 1.8 }))],
    },
    [[], ...layers.map(() => [])],
    el,
  );
}

/** The layer a parameter belongs to: "rnn.weight_hh_l0" → "rnn l0", "decoder.bias" → "decoder". */
function layerOf(name: string): string {
  const m = /^(?:(.*)\.)?(?:weight|bias)_(?:ih|hh|hr)_l(\d+)(_reverse)?$/.exec(name);
  if (m) return `${m[1] ?? "rnn"} l${m[2]}${m[3] ? " reverse" : ""}`;
  return name.slice(0, Math.max(0, name.lastIndexOf("."))) || name;
}

const nextSlice = () => new Promise<void>((ok) => setTimeout(ok, 0));

async function train(): Promise<void> {
  const hidden = Number($<HTMLSelectElement>("hidden").value);
  const bptt = Number($<HTMLInputElement>("bptt").value);
  const lr = Number($<HTMLInputElement>("lr").value);
  const steps = Number($<HTMLInputElement>("steps").value);
  const status = $("status");
  gl.manualSeed(0);
  const tok = gl.data.CharTokenizer.fromText(text.value);
  const stream = new gl.data.LMStream(tok.encode(text.value), BATCH, bptt);
  const model = new gl.models.RNNLM({ vocabSize: tok.size, embeddingDim: 32, hiddenSize: hidden, cell: "lstm", forgetBias: 1 });
  const opt = new gl.optim.Adam(model.parameters(), { lr, globalClipNorm: 1 });
  const monitor = new gl.diagnostics.GradFlowMonitor(model);
  const uniform = Math.log(tok.size);
  // A short last window would put a periodic dip in the loss curve: each pass uses full windows only.
  const fullWindows = Math.max(1, Math.floor((stream.streamLength - 1) / bptt));

  const layers = [...new Set(model.namedParameters().map(([n]) => layerOf(n)))];
  const lossEl = $("loss-plot");
  const gradEl = $("grad-plot");
  lossEl.replaceChildren();
  gradEl.replaceChildren();
  const lp = lossPlot(lossEl);
  const gp = gradPlot(gradEl, layers);
  const ld: number[][] = [[], [], [], []];
  const gd: (number | null)[][] = [[], ...layers.map(() => [])];

  state.losses = [];
  state.step = 0;
  state.done = false;
  let stateH: gl.models.RecurrentState | null = null;
  let win = 0;
  let ema = NaN;
  const t0 = performance.now();
  try {
    while (state.running && state.step < steps) {
      const sliceEnd = performance.now() + SLICE_MS;
      while (state.running && state.step < steps && performance.now() < sliceEnd) {
        if (win >= fullWindows) (win = 0), (stateH = null);
        const { input, target } = stream.window(win++);
        const r = model.loss(input, target, stateH);
        opt.zeroGrad();
        r.loss.backward();
        const probe = state.step % PROBE_EVERY === 0;
        if (probe) monitor.beforeStep();
        opt.step();
        stateH = gl.models.detachState(r.state);
        const loss = r.loss.item();
        if (!Number.isFinite(loss)) throw new Error(`the loss became ${loss} at step ${state.step + 1}`);
        state.step++;
        state.losses.push(loss);
        ema = Number.isNaN(ema) ? loss : 0.9 * ema + 0.1 * loss;
        ld[0].push(state.step), ld[1].push(loss), ld[2].push(ema), ld[3].push(uniform);
        if (probe) {
          const rec = monitor.afterStep({ step: state.step, loss });
          const sums = new Map<string, number>();
          for (const p of rec.params) if (p.gradNorm !== null) sums.set(layerOf(p.name), (sums.get(layerOf(p.name)) ?? 0) + p.gradNorm ** 2);
          gd[0].push(state.step);
          layers.forEach((l, i) => gd[i + 1].push(sums.has(l) ? Math.sqrt(sums.get(l)!) : null));
        }
        if (state.step % SAMPLE_EVERY === 0) {
          $("sample").textContent = tok.decode(model.sample(tok.encode("\n"), 200, { temperature: 0.8 }));
        }
      }
      lp.setData(ld as uPlot.AlignedData);
      gp.setData(gd as uPlot.AlignedData);
      const secs = (performance.now() - t0) / 1000;
      status.textContent = `step ${state.step}/${steps} · loss ${ema.toFixed(3)} · ${(state.step / secs).toFixed(1)} steps/s · backend ${gl.getBackend()}`;
      await nextSlice();
    }
    status.textContent += state.step >= steps ? " · done" : " · stopped";
  } catch (e) {
    state.error = e instanceof Error ? e.message : String(e);
    status.textContent = `error: ${state.error}`;
  } finally {
    monitor.dispose();
    state.running = false;
    state.done = true;
    $("start").textContent = "Train";
  }
}

/** Starts training, or stops the run in progress (the button does both). */
function toggle(): void {
  if (state.running) {
    state.running = false;
    return;
  }
  state.running = true;
  $("start").textContent = "Stop";
  void train();
}

$("controls").addEventListener("submit", (e) => {
  e.preventDefault();
  toggle();
});

if (params.get("autostart") === "1") toggle();
