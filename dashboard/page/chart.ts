import uPlot from "uplot";
import { decadeRange, fmt, logSplits } from "./scale.js";

/** One line (or point set) of a chart, with its own x values; charts align them on a shared x axis. */
export interface Line {
  label: string;
  color: string;
  x: readonly number[];
  y: readonly (number | null)[];
  width?: number;
  dash?: number[];
  /** Markers only, no line (evaluations, events). */
  pointsOnly?: boolean;
  /** Drawn faintly behind the others (raw values under a smoothed line). */
  faint?: boolean;
}

export interface ChartOptions {
  yLabel: string;
  log?: boolean;
  /** Fixed y range ([0, 1] for fractions), or one made from the data's extent. */
  yRange?: [number, number] | ((min: number, max: number) => [number, number]);
  height?: number;
  /** Shown over the plot area while no line has a point. */
  empty: string;
}

/**
 * A uPlot chart that is re-fed whole lines as a run grows. The uPlot instance is rebuilt only when
 * the set of lines changes (a new run or layer); otherwise new data goes through setData.
 */
export class Chart {
  private plot: uPlot | null = null;
  private signature = "";
  private readonly host: HTMLDivElement;
  private readonly note: HTMLDivElement;
  /** Points drawn (non-null values over all lines), also on the element as data-points for tests. */
  points = 0;

  constructor(
    readonly el: HTMLElement,
    private readonly opts: ChartOptions,
  ) {
    this.host = el.appendChild(document.createElement("div"));
    this.note = el.appendChild(document.createElement("div"));
    this.note.className = "empty";
    this.note.textContent = opts.empty;
    el.dataset.points = "0";
  }

  update(input: Line[]): void {
    const lines = input.map(thin);
    // Log charts plot log10 of the values on a linear axis: uPlot's own log scale only spans
    // 1e-32..1e32, and an exploding or vanishing gradient is exactly what must stay on the chart.
    // 0 and negatives have no place on it and become gaps.
    const ys = lines.map((l) => (this.opts.log ? l.y.map((v) => (v !== null && v > 0 && Number.isFinite(v) ? Math.log10(v) : null)) : l.y));
    this.points = ys.reduce<number>((n, y) => n + y.reduce<number>((k, v) => k + (v === null ? 0 : 1), 0), 0);
    this.el.dataset.points = String(this.points);
    this.note.style.display = this.points ? "none" : "";
    this.host.style.display = this.points ? "" : "none";
    const shown = lines.map((l, i) => ({ l, y: ys[i] })).filter(({ l }) => l.x.length > 0);
    if (!shown.length) {
      this.plot?.destroy();
      this.plot = null;
      this.signature = "";
      return;
    }
    const data = uPlot.join(shown.map(({ l, y }) => [l.x as number[], y as (number | null)[]]) as uPlot.AlignedData[]);
    const sig = shown.map(({ l }) => `${l.label}|${l.color}|${l.dash}|${l.pointsOnly}|${l.faint}`).join(";");
    if (this.plot && sig === this.signature) {
      this.plot.setData(data);
      return;
    }
    this.plot?.destroy();
    this.signature = sig;
    this.plot = new uPlot(this.config(shown.map((s) => s.l)), data, this.host);
  }

  resize(): void {
    this.plot?.setSize({ width: this.width(), height: this.opts.height ?? 220 });
  }

  private width(): number {
    return Math.max(240, this.el.clientWidth - 4);
  }

  private config(lines: Line[]): uPlot.Options {
    const o = this.opts;
    return {
      width: this.width(),
      height: o.height ?? 220,
      scales: {
        x: { time: false },
        // Whole decades on log axes, so a line never runs along the frame where no label reads it.
        y: o.log ? { range: (_u, lo, hi) => decadeRange(lo, hi) } : typeof o.yRange === "function" ? { range: (_u, lo, hi) => (o.yRange as (a: number, b: number) => [number, number])(lo, hi) } : o.yRange ? { range: o.yRange } : {},
      },
      axes: [
        { label: "step", size: 40, labelSize: 16 },
        o.log
          ? { label: o.yLabel, size: 60, labelSize: 18, splits: (_u, _i, lo, hi) => logSplits(lo, hi), values: (_u, vals) => vals.map((v) => fmt(10 ** v)) }
          : { label: o.yLabel, size: 60, labelSize: 18, values: (_u, vals) => vals.map(fmt) },
      ],
      legend: { live: true },
      cursor: { drag: { x: true, y: false } },
      series: [
        { label: "step" },
        ...lines.map(
          (l): uPlot.Series => ({
            label: l.label,
            stroke: l.faint ? fade(l.color) : l.color,
            width: l.width ?? (l.faint ? 1 : 1.8),
            dash: l.dash,
            spanGaps: false,
            points: l.pointsOnly ? { show: true, size: 7, fill: l.color, stroke: l.color } : { show: false },
            paths: l.pointsOnly ? () => null : undefined,
            value: (_u, v) => (v === null || v === undefined ? "–" : fmt(o.log ? 10 ** v : v)),
          }),
        ),
      ],
    };
  }
}

/**
 * At most this many points per line: a chart is ~600 pixels wide, and joining and drawing 100k-step
 * runs several times a second would stall the page. Longer lines keep every k-th point and the last.
 */
const MAX_POINTS = 3000;

function thin(l: Line): Line {
  const n = l.x.length;
  if (n <= MAX_POINTS) return l;
  const k = Math.ceil(n / MAX_POINTS);
  const x: number[] = [];
  const y: (number | null)[] = [];
  for (let i = 0; i < n; i++) {
    if (i % k === 0 || i === n - 1) (x.push(l.x[i]), y.push(l.y[i]));
  }
  return { ...l, x, y };
}

/** The same colour at low opacity (#rrggbb → rgba). */
function fade(hex: string): string {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return `rgba(${r},${g},${b},0.3)`;
}
