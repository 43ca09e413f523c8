import type { TypedArray } from "../../core/dtype.js";

// Reference gate kernels: one recurrent time step over the first n rows, row-major, gates of a
// row side by side ([i | f | g | o] for LSTM, [r | z | n] for GRU). Pointwise only: the matrix
// products around them are the caller's, so a fast backend can replace either independently.

function sigmoid(v: number): number {
  return 1 / (1 + Math.exp(-v));
}

export function lstmCellForward(
  n: number, H: number, xg: TypedArray, hg: TypedArray, cPrev: TypedArray, gates: TypedArray, c: TypedArray, h: TypedArray,
): void {
  const G = 4 * H;
  for (let b = 0; b < n; b++) {
    const gr = b * G;
    const sr = b * H;
    for (let j = 0; j < H; j++) {
      const gi = gr + j;
      const i = sigmoid(xg[gi] + hg[gi]);
      const f = sigmoid(xg[gi + H] + hg[gi + H]);
      const g = Math.tanh(xg[gi + 2 * H] + hg[gi + 2 * H]);
      const o = sigmoid(xg[gi + 3 * H] + hg[gi + 3 * H]);
      gates[gi] = i;
      gates[gi + H] = f;
      gates[gi + 2 * H] = g;
      gates[gi + 3 * H] = o;
      const cv = f * cPrev[sr + j] + i * g;
      c[sr + j] = cv;
      h[sr + j] = o * Math.tanh(cv);
    }
  }
}

export function lstmCellBackward(
  n: number, H: number, gates: TypedArray, cPrev: TypedArray, c: TypedArray, dh: TypedArray, dc: TypedArray,
  dgates: TypedArray, dcPrev: TypedArray, dcTotal: TypedArray | null,
): void {
  const G = 4 * H;
  for (let b = 0; b < n; b++) {
    const gr = b * G;
    const sr = b * H;
    for (let j = 0; j < H; j++) {
      const gi = gr + j;
      const i = gates[gi];
      const f = gates[gi + H];
      const g = gates[gi + 2 * H];
      const o = gates[gi + 3 * H];
      const tc = Math.tanh(c[sr + j]);
      const dhv = dh[sr + j];
      const dct = dc[sr + j] + dhv * o * (1 - tc * tc);
      if (dcTotal) dcTotal[sr + j] = dct;
      dgates[gi] = dct * g * i * (1 - i);
      dgates[gi + H] = dct * cPrev[sr + j] * f * (1 - f);
      dgates[gi + 2 * H] = dct * i * (1 - g * g);
      dgates[gi + 3 * H] = dhv * tc * o * (1 - o);
      dcPrev[sr + j] = dct * f;
    }
  }
}

export function gruCellForward(
  n: number, H: number, xg: TypedArray, hg: TypedArray, bhn: TypedArray | null, hPrev: TypedArray,
  gates: TypedArray, ghn: TypedArray, h: TypedArray,
): void {
  const G = 3 * H;
  for (let b = 0; b < n; b++) {
    const gr = b * G;
    const sr = b * H;
    for (let j = 0; j < H; j++) {
      const gi = gr + j;
      const r = sigmoid(xg[gi] + hg[gi]);
      const z = sigmoid(xg[gi + H] + hg[gi + H]);
      const hn = hg[gi + 2 * H] + (bhn ? bhn[j] : 0);
      const nv = Math.tanh(xg[gi + 2 * H] + r * hn);
      gates[gi] = r;
      gates[gi + H] = z;
      gates[gi + 2 * H] = nv;
      ghn[sr + j] = hn;
      h[sr + j] = (1 - z) * nv + z * hPrev[sr + j];
    }
  }
}

export function gruCellBackward(
  n: number, H: number, gates: TypedArray, ghn: TypedArray, hPrev: TypedArray, dh: TypedArray,
  dgx: TypedArray, dgh: TypedArray, dhPrev: TypedArray,
): void {
  const G = 3 * H;
  for (let b = 0; b < n; b++) {
    const gr = b * G;
    const sr = b * H;
    for (let j = 0; j < H; j++) {
      const gi = gr + j;
      const r = gates[gi];
      const z = gates[gi + H];
      const nv = gates[gi + 2 * H];
      const dhv = dh[sr + j];
      const dnp = dhv * (1 - z) * (1 - nv * nv);
      const dzp = dhv * (hPrev[sr + j] - nv) * z * (1 - z);
      const drp = dnp * ghn[sr + j] * r * (1 - r);
      dgx[gi] = drp;
      dgx[gi + H] = dzp;
      dgx[gi + 2 * H] = dnp;
      dgh[gi] = drp;
      dgh[gi + H] = dzp;
      dgh[gi + 2 * H] = dnp * r;
      dhPrev[sr + j] = dhv * z;
    }
  }
}

export function gruRbGatesForward(
  n: number, H: number, xg: TypedArray, hgRz: TypedArray, hPrev: TypedArray, gates: TypedArray, rh: TypedArray,
): void {
  for (let b = 0; b < n; b++) {
    const gr = b * 3 * H;
    const hr = b * 2 * H;
    const sr = b * H;
    for (let j = 0; j < H; j++) {
      const r = sigmoid(xg[gr + j] + hgRz[hr + j]);
      gates[gr + j] = r;
      gates[gr + H + j] = sigmoid(xg[gr + H + j] + hgRz[hr + H + j]);
      rh[sr + j] = r * hPrev[sr + j];
    }
  }
}

export function gruRbOutputForward(
  n: number, H: number, xg: TypedArray, hn: TypedArray, hPrev: TypedArray, gates: TypedArray, h: TypedArray,
): void {
  for (let b = 0; b < n; b++) {
    const gr = b * 3 * H;
    const sr = b * H;
    for (let j = 0; j < H; j++) {
      const z = gates[gr + H + j];
      const nv = Math.tanh(xg[gr + 2 * H + j] + hn[sr + j]);
      gates[gr + 2 * H + j] = nv;
      h[sr + j] = (1 - z) * nv + z * hPrev[sr + j];
    }
  }
}

export function gruRbOutputBackward(
  n: number, H: number, gates: TypedArray, hPrev: TypedArray, dh: TypedArray, dgx: TypedArray, dhPrev: TypedArray,
): void {
  for (let b = 0; b < n; b++) {
    const gr = b * 3 * H;
    const sr = b * H;
    for (let j = 0; j < H; j++) {
      const z = gates[gr + H + j];
      const nv = gates[gr + 2 * H + j];
      const dhv = dh[sr + j];
      dgx[gr + H + j] = dhv * (hPrev[sr + j] - nv) * z * (1 - z);
      dgx[gr + 2 * H + j] = dhv * (1 - z) * (1 - nv * nv);
      dhPrev[sr + j] = dhv * z;
    }
  }
}

export function gruRbGatesBackward(
  n: number, H: number, gates: TypedArray, hPrev: TypedArray, drh: TypedArray, dgx: TypedArray, dhPrev: TypedArray,
): void {
  for (let b = 0; b < n; b++) {
    const gr = b * 3 * H;
    const sr = b * H;
    for (let j = 0; j < H; j++) {
      const r = gates[gr + j];
      const d = drh[sr + j];
      dgx[gr + j] = d * hPrev[sr + j] * r * (1 - r);
      dhPrev[sr + j] += d * r;
    }
  }
}

export function rnnCellForward(n: number, H: number, relu: boolean, xg: TypedArray, hg: TypedArray, h: TypedArray): void {
  const len = n * H;
  if (relu) {
    for (let k = 0; k < len; k++) {
      const v = xg[k] + hg[k];
      h[k] = v < 0 ? 0 : v; // NaN passes through, as in PyTorch
    }
  } else {
    for (let k = 0; k < len; k++) h[k] = Math.tanh(xg[k] + hg[k]);
  }
}

export function rnnCellBackward(n: number, H: number, relu: boolean, h: TypedArray, dh: TypedArray, dpre: TypedArray): void {
  const len = n * H;
  if (relu) for (let k = 0; k < len; k++) dpre[k] = h[k] > 0 ? dh[k] : 0;
  else for (let k = 0; k < len; k++) dpre[k] = dh[k] * (1 - h[k] * h[k]);
}
