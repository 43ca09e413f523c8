/**
 * The dashboard page: follows the server's event stream (history first, then live lines) and
 * redraws at most a few times a second, whatever the rate of records.
 */
import "uplot/dist/uPlot.min.css";
import "./style.css";
import type * as gl from "../../src/index.js";
import { Chart, type Line } from "./chart.js";
import { fmt } from "./scale.js";
import { Heatmap } from "./heatmap.js";
import { type RunData, type RunInfo, applyRecord, cumulativeNonFinite, newRun, parseRecordsJson, rollingMean, smooth } from "./state.js";

const RUN_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"];
const RUN_DASHES: (number[] | undefined)[] = [undefined, [7, 4], [2, 3], [10, 3, 2, 3]];
const CLIP_WINDOW = 25;
const REDRAW_MS = 250;

const runs = new Map<number, RunData>();
const problems: string[] = [];
const layerOrder: string[] = [];

const runColor = (id: number) => RUN_COLORS[id % RUN_COLORS.length];
const runDash = (id: number) => RUN_DASHES[id % RUN_DASHES.length];

function card(id: string, title: string, caption: string, wide = false): HTMLElement {
  const el = document.createElement("section");
  el.className = wide ? "card wide" : "card";
  el.id = id;
  el.innerHTML = `<h2></h2><p class="caption"></p><div class="plot"></div>`;
  el.querySelector("h2")!.textContent = title;
  el.querySelector(".caption")!.textContent = caption;
  document.getElementById("cards")!.appendChild(el);
  return el.querySelector(".plot") as HTMLElement;
}

const charts = {
  loss: new Chart(card("loss", "Loss", "Training loss per step (faint) and smoothed; dots: validation loss. Falling is learning."), {
    yLabel: "loss (nats)",
    empty: "waiting for training steps…",
  }),
  perplexity: new Chart(card("perplexity", "Perplexity", "exp(loss): the number of equally likely next tokens the model is torn between. Log scale."), {
    yLabel: "perplexity",
    log: true,
    empty: "waiting for training steps…",
  }),
  lr: new Chart(card("lr", "Learning rate", "The step size the optimizer used, after any schedule. Log scale, so runs with different rates compare."), {
    yLabel: "learning rate",
    log: true,
    empty: "no learning rate recorded yet",
  }),
  gradNorm: new Chart(
    card("gradnorm", "Gradient norm per layer", "‖∂J/∂θ‖ of each layer's parameters (log scale). A layer whose norm sinks towards zero stops learning; a climbing one is exploding. Faint: the whole model's norm before clipping."),
    { yLabel: "‖∂J/∂θ‖", log: true, empty: "waiting for gradient-flow probes…" },
  ),
  clip: new Chart(card("clip", "Clipped steps", `Share of the last ${CLIP_WINDOW} steps whose gradient was clipped. Near 1 the clip threshold, not the gradient, sets the step size.`), {
    yLabel: "fraction clipped",
    yRange: [0, 1],
    empty: "no clipping recorded (records carry clipFraction, or the run's config names a clip threshold)",
  }),
  nonFinite: new Chart(card("nonfinite", "Non-finite events", "Steps so far with a NaN or infinite loss or gradient, or a skipped update. Flat at 0 is healthy."), {
    yLabel: "steps (cumulative)",
    yRange: (_lo, hi) => [0, Math.max(1, Math.ceil(hi * 1.1))],
    empty: "waiting for training steps…",
  }),
};
const heatmapHost = card(
  "heatmaps",
  "‖∂J/∂h_t‖ over the window",
  "How much of the loss gradient reaches each time step of the training window (across), at each probe (down), log colour scale. A dark left edge is a vanishing gradient: early steps get no learning signal.",
  true,
);
const heatmaps = new Map<string, Heatmap>();
const heatmapNote = heatmapHost.appendChild(document.createElement("p"));
heatmapNote.className = "empty";
heatmapNote.textContent = "waiting for gradient-flow probes of a recurrent layer…";
const eventsHost = card("events", "Flags", "Vanishing, exploding and non-finite gradients flagged by the gradient-flow monitor, and problems reading the runs.", true);

/**
 * Smoothing of the per-step loss: an exponential moving average that lags about 1/60 of the
 * longest run (a fixed factor would flatten a short run into a lagging line, or leave a long one noisy).
 */
function smoothing(): number {
  const n = Math.max(0, ...[...runs.values()].map((r) => r.train.step.length));
  const lag = n / 60;
  return Math.min(0.98, lag / (1 + lag));
}

function lossLines(): Line[] {
  const out: Line[] = [];
  for (const r of runs.values()) {
    const c = runColor(r.info.id);
    const dash = runDash(r.info.id);
    out.push({ label: `${r.info.name} train (raw)`, color: c, x: r.train.step, y: r.train.loss, faint: true, dash });
    out.push({ label: `${r.info.name} train`, color: c, x: r.train.step, y: smooth(r.train.loss, smoothing()), dash });
    out.push({ label: `${r.info.name} val`, color: c, x: r.evals.step, y: r.evals.loss, pointsOnly: true });
  }
  return out;
}

function perplexityLines(): Line[] {
  return [...runs.values()].flatMap((r) => {
    const c = runColor(r.info.id);
    const ppl = smooth(r.train.loss, smoothing()).map((v) => (v === null ? null : Math.exp(v)));
    return [
      { label: `${r.info.name} train`, color: c, x: r.train.step, y: ppl, dash: runDash(r.info.id) },
      { label: `${r.info.name} val`, color: c, x: r.evals.step, y: r.evals.perplexity, pointsOnly: true },
    ];
  });
}

function gradNormLines(): Line[] {
  const out: Line[] = [];
  for (const r of runs.values()) {
    for (const k of r.flow.layers.keys()) if (!layerOrder.includes(k)) layerOrder.push(k);
  }
  for (const r of runs.values()) {
    const dash = runDash(r.info.id);
    if (r.train.gradNorm.some((v) => v !== null)) {
      out.push({ label: `${r.info.name} · total`, color: "#555555", x: r.train.step, y: r.train.gradNorm, faint: true, dash });
    }
    for (const [k, y] of r.flow.layers) {
      const color = RUN_COLORS[layerOrder.indexOf(k) % RUN_COLORS.length];
      out.push({ label: `${r.info.name} · ${k}`, color, x: r.flow.step, y, dash });
    }
  }
  return out;
}

function perRun(y: (r: RunData) => (number | null)[]): Line[] {
  return [...runs.values()].map((r) => ({ label: r.info.name, color: runColor(r.info.id), x: r.train.step, y: y(r), dash: runDash(r.info.id) }));
}

function drawHeatmaps(): void {
  for (const r of runs.values()) {
    for (const [key, m] of r.hidden) {
      const id = `${r.info.id}:${key}`;
      let hm = heatmaps.get(id);
      if (!hm) {
        const box = heatmapHost.appendChild(document.createElement("figure"));
        box.className = "heatmap";
        box.dataset.run = r.info.name;
        box.appendChild(document.createElement("figcaption")).textContent = `${r.info.name} · ${key}`;
        hm = new Heatmap(box.appendChild(document.createElement("div")));
        heatmaps.set(id, hm);
        box.dataset.order = `${String(r.info.id).padStart(4, "0")} ${key}`;
        // Layers can first appear in any order (backward reaches the top layer first): keep run, then layer order.
        const boxes = Array.from(heatmapHost.querySelectorAll<HTMLElement>("figure.heatmap"));
        boxes.sort((a, b) => a.dataset.order!.localeCompare(b.dataset.order!, undefined, { numeric: true }));
        for (const b of boxes) heatmapHost.appendChild(b);
      }
      hm.update(m);
    }
  }
  heatmapHost.dataset.points = String([...heatmaps.values()].reduce((n, h) => n + Number(h.el.dataset.points), 0));
  heatmapNote.style.display = heatmaps.size ? "none" : "";
}

function drawEvents(): void {
  const rows: string[][] = [];
  for (const r of runs.values()) {
    for (const e of r.events.values()) {
      const steps = e.first === e.last ? `step ${e.first}` : `steps ${e.first}–${e.last} (${e.count}×)`;
      rows.push([r.info.name, e.kind, e.target, steps, e.message]);
    }
  }
  for (const p of problems) rows.push(["", "file", "", "", p]);
  eventsHost.replaceChildren();
  eventsHost.dataset.points = String(rows.length);
  if (!rows.length) {
    eventsHost.appendChild(document.createElement("p")).textContent = "No vanishing, exploding or non-finite gradients flagged.";
    return;
  }
  const table = eventsHost.appendChild(document.createElement("table"));
  table.className = "events";
  for (const row of rows) {
    const tr = table.appendChild(document.createElement("tr"));
    tr.className = row[1];
    for (const cell of row) tr.appendChild(document.createElement("td")).textContent = cell;
  }
}

/** A one-line model description from a run's config (the demo's and the train command's spellings). */
function modelText(cfg: Record<string, unknown> | null): string {
  if (!cfg) return "";
  const parts: string[] = [];
  const cell = cfg.cell ?? cfg.model ?? (cfg.command === "demo" ? "lstm" : undefined);
  const layers = cfg.numLayers ?? cfg.layers;
  const hidden = cfg.hiddenSize ?? cfg.hidden;
  if (cell !== undefined) parts.push(String(cell) + (layers !== undefined && hidden !== undefined ? ` ${layers}×${hidden}` : ""));
  if (typeof cfg.skip === "string" && cfg.skip !== "none") parts.push(`skip ${cfg.skip}`);
  if (typeof cfg.parameters === "number") parts.push(`${cfg.parameters.toLocaleString()} parameters`);
  if (typeof cfg.optimizer === "string") parts.push(cfg.optimizer + (typeof cfg.lr === "number" ? ` lr ${cfg.lr}` : ""));
  if (cfg.batch !== undefined && cfg.bptt !== undefined) parts.push(`batch ${cfg.batch}×${cfg.bptt}`);
  return parts.join(", ");
}

function drawRunTable(): void {
  const body = document.querySelector("#runs tbody")!;
  body.replaceChildren();
  const now = Date.now();
  for (const r of runs.values()) {
    const t = r.train;
    const n = t.step.length;
    const last = <T>(a: T[]): T | undefined => a[a.length - 1];
    const status = r.info.summary ? "finished" : r.info.modified !== null && now - r.info.modified < 30000 ? "training" : n ? "stopped" : "waiting";
    const sum = r.info.summary as { tokensPerSecond?: number } | null;
    const seen = last(t.seen);
    const time = last(t.time);
    const rate = sum?.tokensPerSecond ?? (seen != null && time ? seen / time : null);
    const cells = [
      r.info.name,
      status,
      n ? String(last(t.step)) : "–",
      n ? fmt(last(smooth(t.loss, smoothing())) ?? null) : "–",
      r.evals.step.length ? fmt(last(r.evals.loss) ?? null) : "–",
      r.evals.step.length ? fmt(last(r.evals.perplexity) ?? null) : "–",
      rate ? Math.round(rate).toLocaleString() : "–",
      modelText(r.info.config),
    ];
    const tr = body.appendChild(document.createElement("tr"));
    tr.dataset.status = status;
    cells.forEach((c, i) => {
      const td = tr.appendChild(document.createElement("td"));
      if (i === 0) {
        const sw = td.appendChild(document.createElement("span"));
        sw.className = "swatch";
        sw.style.background = runColor(r.info.id);
      }
      td.appendChild(document.createTextNode(c));
      if (i === 1) td.className = `status ${status}`;
      if (i === 0) td.title = r.info.dir;
    });
  }
}

function redraw(): void {
  charts.loss.update(lossLines());
  charts.perplexity.update(perplexityLines());
  charts.lr.update(perRun((r) => r.train.lr));
  charts.gradNorm.update(gradNormLines());
  charts.clip.update(perRun((r) => rollingMean(r.train.clip, CLIP_WINDOW)));
  charts.nonFinite.update(perRun((r) => (r.train.step.length ? cumulativeNonFinite(r) : [])));
  drawHeatmaps();
  drawEvents();
  drawRunTable();
}

let pending = false;
let lastDraw = 0;
function schedule(): void {
  if (pending) return;
  pending = true;
  const wait = Math.max(0, REDRAW_MS - (performance.now() - lastDraw));
  setTimeout(() => {
    pending = false;
    lastDraw = performance.now();
    redraw();
  }, wait);
}

function setConnection(text: string, ok: boolean): void {
  const el = document.getElementById("connection")!;
  el.textContent = text;
  el.className = ok ? "connection ok" : "connection";
}

const source = new EventSource("/events");
source.addEventListener("hello", (e) => {
  // Also sent again after a reconnect: start over from the history that follows.
  const hello = parseRecordsJson<{ runs: RunInfo[]; problems: string[] }>((e as MessageEvent).data);
  runs.clear();
  problems.length = 0;
  problems.push(...hello.problems);
  for (const info of hello.runs) runs.set(info.id, newRun(info));
  setConnection("live", true);
  schedule();
});
source.addEventListener("records", (e) => {
  const msg = parseRecordsJson<{ run: number; modified: number | null; records: gl.diagnostics.DiagnosticRecord[] }>((e as MessageEvent).data);
  const run = runs.get(msg.run);
  if (!run) return;
  run.info.modified = msg.modified;
  for (const rec of msg.records) applyRecord(run, rec);
  schedule();
});
source.addEventListener("run", (e) => {
  const info = parseRecordsJson<RunInfo>((e as MessageEvent).data);
  const run = runs.get(info.id);
  if (run) run.info = info;
  else runs.set(info.id, newRun(info));
  schedule();
});
source.addEventListener("reset", (e) => {
  const { run } = JSON.parse((e as MessageEvent).data) as { run: number };
  const old = runs.get(run);
  if (old) runs.set(run, newRun(old.info));
  schedule();
});
source.addEventListener("problem", (e) => {
  problems.push((JSON.parse((e as MessageEvent).data) as { message: string }).message);
  schedule();
});
source.onerror = () => setConnection("disconnected: retrying…", false);

// The status column ages ("training" → "stopped") even when no record arrives.
setInterval(drawRunTable, 5000);
window.addEventListener("resize", () => {
  for (const c of Object.values(charts)) c.resize();
  for (const h of heatmaps.values()) h.draw();
});

/** Counts for tests and curious users (in the console: gradlabDashboard.counts()). */
(window as unknown as { gradlabDashboard: unknown }).gradlabDashboard = {
  counts: () => ({
    runs: [...runs.values()].map((r) => ({
      name: r.info.name,
      train: r.train.step.length,
      evals: r.evals.step.length,
      probes: r.flow.step.length,
      events: r.events.size,
      finished: r.info.summary !== null,
    })),
    charts: Object.fromEntries(Object.entries(charts).map(([k, c]) => [k, c.points])),
    heatmaps: heatmaps.size,
  }),
};
