import cliProgress from "cli-progress";

export interface Progress {
  update(done: number, fields?: Record<string, string | number>): void;
  /** Changes the expected total (e.g. when a time budget's step count is re-estimated). */
  setTotal(total: number): void;
  stop(): void;
}

/**
 * A progress bar with rate and ETA on a terminal; elsewhere (CI logs, pipes) one plain line per
 * tenth of the work, so logs stay readable.
 */
export function progressBar(total: number, label: string, unit = "steps"): Progress {
  const fmtFields = (f: Record<string, string | number>) =>
    Object.entries(f)
      .map(([k, v]) => `${k} ${typeof v === "number" && !Number.isInteger(v) ? v.toFixed(3) : v}`)
      .join("  ");
  if (!process.stderr.isTTY) {
    const start = Date.now();
    let nextTenth = 1;
    return {
      update(done, fields = {}) {
        if (done < (total * nextTenth) / 10 && done < total) return;
        while (done >= (total * nextTenth) / 10) nextTenth++;
        const secs = (Date.now() - start) / 1000;
        const rate = done / Math.max(secs, 1e-9);
        const eta = rate > 0 ? (total - done) / rate : 0;
        process.stderr.write(`${label} ${done}/${total} ${unit}  ${rate.toFixed(1)} ${unit}/s  eta ${eta.toFixed(0)}s  ${fmtFields(fields)}\n`);
      },
      setTotal(t) {
        total = t;
      },
      stop() {},
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {percentage}% | {value}/{total} ${unit} | {rate} ${unit}/s | eta {eta_formatted} | {info}`,
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  const start = Date.now();
  bar.start(total, 0, { rate: "0.0", info: "" });
  return {
    update(done, fields = {}) {
      const secs = (Date.now() - start) / 1000;
      bar.update(done, { rate: (done / Math.max(secs, 1e-9)).toFixed(1), info: fmtFields(fields) });
    },
    setTotal(t) {
      bar.setTotal(t);
    },
    stop() {
      bar.stop();
    },
  };
}
