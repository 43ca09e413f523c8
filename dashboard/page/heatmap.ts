import { fmt } from "./scale.js";

/** Viridis at 9 evenly spaced stops: perceptually even and readable in grey, as in the SVG report. */
const VIRIDIS = ["#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c", "#28ae80", "#5ec962", "#addc30", "#fde725"];
const RGB = VIRIDIS.map((h) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16)));

function viridis(u: number): number[] {
  const x = Math.min(1, Math.max(0, u)) * (RGB.length - 1);
  const i = Math.min(RGB.length - 2, Math.floor(x));
  return RGB[i].map((v, k) => v + (RGB[i + 1][k] - v) * (x - i));
}

/** At most this many probes are drawn, evenly picked (always the latest): a pixel row each at most. */
const MAX_ROWS = 240;
const PAD = { left: 56, right: 70, top: 8, bottom: 34 };

/**
 * ‖∂J/∂h_t‖ of one recurrent layer as a canvas heat map: time step t across, training step down,
 * log colour scale. A dark left edge means the loss gradient fades on its way back through time.
 */
export class Heatmap {
  private readonly canvas: HTMLCanvasElement;
  private steps: number[] = [];
  private rows: number[][] = [];
  private range: [number, number] = [0, 1];

  constructor(readonly el: HTMLElement) {
    this.canvas = el.appendChild(document.createElement("canvas"));
    this.canvas.addEventListener("mousemove", (e) => this.hover(e));
    el.dataset.points = "0";
  }

  update(m: { step: readonly number[]; rows: readonly number[][] }): void {
    const n = m.rows.length;
    const pick = n <= MAX_ROWS ? [...Array(n).keys()] : [...Array(MAX_ROWS).keys()].map((i) => Math.round((i * (n - 1)) / (MAX_ROWS - 1)));
    this.steps = pick.map((i) => m.step[i]);
    this.rows = pick.map((i) => m.rows[i]);
    this.el.dataset.points = String(n);
    this.draw();
  }

  draw(): void {
    const cssW = Math.max(300, this.el.clientWidth - 4);
    const cssH = 230;
    const dpr = window.devicePixelRatio || 1;
    const c = this.canvas;
    c.width = Math.round(cssW * dpr);
    c.height = Math.round(cssH * dpr);
    c.style.width = `${cssW}px`;
    c.style.height = `${cssH}px`;
    const g = c.getContext("2d")!;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, cssW, cssH);
    const cols = Math.max(0, ...this.rows.map((r) => r.length));
    if (!this.rows.length || !cols) return;
    let lo = Infinity;
    let hi = -Infinity;
    for (const r of this.rows) {
      for (const v of r) {
        if (v > 0 && Number.isFinite(v)) {
          const l = Math.log10(v);
          if (l < lo) lo = l;
          if (l > hi) hi = l;
        }
      }
    }
    if (!(hi >= lo)) [lo, hi] = [-1, 0];
    if (hi - lo < 1e-6) [lo, hi] = [lo - 0.5, hi + 0.5];
    this.range = [lo, hi];
    const img = new ImageData(cols, this.rows.length);
    this.rows.forEach((r, y) => {
      for (let x = 0; x < cols; x++) {
        const v = r[x];
        const rgb = v === undefined ? [235, 235, 235] : !Number.isFinite(v) ? [220, 30, 30] : v <= 0 ? [20, 20, 20] : viridis((Math.log10(v) - lo) / (hi - lo));
        img.data.set([rgb[0], rgb[1], rgb[2], 255], (y * cols + x) * 4);
      }
    });
    const off = document.createElement("canvas");
    off.width = cols;
    off.height = this.rows.length;
    off.getContext("2d")!.putImageData(img, 0, 0);
    const w = cssW - PAD.left - PAD.right;
    const h = cssH - PAD.top - PAD.bottom;
    g.imageSmoothingEnabled = false;
    g.drawImage(off, PAD.left, PAD.top, w, h);

    g.fillStyle = "#333";
    g.font = "11px system-ui, sans-serif";
    g.textAlign = "center";
    g.textBaseline = "top";
    for (const t of [0, Math.floor((cols - 1) / 2), cols - 1]) g.fillText(String(t), PAD.left + ((t + 0.5) * w) / cols, PAD.top + h + 3);
    g.fillText("time step t within the window →", PAD.left + w / 2, PAD.top + h + 17);
    g.textAlign = "right";
    g.textBaseline = "middle";
    const last = this.steps.length - 1;
    g.fillText(String(this.steps[0]), PAD.left - 5, PAD.top + h / (2 * this.steps.length));
    if (last > 0) g.fillText(String(this.steps[last]), PAD.left - 5, PAD.top + h - h / (2 * this.steps.length));
    g.save();
    g.translate(12, PAD.top + h / 2);
    g.rotate(-Math.PI / 2);
    g.textAlign = "center";
    g.fillText("training step ↓", 0, 0);
    g.restore();

    // Colour bar with its end values, log scale.
    const bx = cssW - PAD.right + 10;
    for (let y = 0; y < h; y++) {
      const rgb = viridis(1 - y / (h - 1));
      g.fillStyle = `rgb(${rgb.map(Math.round).join(",")})`;
      g.fillRect(bx, PAD.top + y, 12, 1);
    }
    g.fillStyle = "#333";
    g.textAlign = "left";
    g.fillText(fmt(10 ** hi), bx + 15, PAD.top + 5);
    g.fillText(fmt(10 ** lo), bx + 15, PAD.top + h - 5);
  }

  private hover(e: MouseEvent): void {
    const r = this.canvas.getBoundingClientRect();
    const cols = Math.max(0, ...this.rows.map((row) => row.length));
    const w = r.width - PAD.left - PAD.right;
    const h = r.height - PAD.top - PAD.bottom;
    const x = Math.floor(((e.clientX - r.left - PAD.left) / w) * cols);
    const y = Math.floor(((e.clientY - r.top - PAD.top) / h) * this.rows.length);
    const v = this.rows[y]?.[x];
    this.canvas.title = v === undefined ? "" : `training step ${this.steps[y]}, t = ${x}: ‖∂J/∂h_t‖ = ${fmt(v)}`;
  }
}
