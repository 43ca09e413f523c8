import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Page } from "playwright-core";
import * as gl from "../../src/index.js";
import { startDashboard } from "../../dashboard/server.js";
import { launchChromium } from "./chromium.js";

const ROOT = resolve(import.meta.dirname, "../..");

interface Counts {
  runs: { name: string; train: number; evals: number; probes: number; events: number; finished: boolean }[];
  charts: Record<string, number>;
  heatmaps: number;
}
const counts = (page: Page) => page.evaluate(() => (window as unknown as { gradlabDashboard: { counts(): Counts } }).gradlabDashboard.counts());

/** A finished run to compare against, with clipping and one non-finite step (written through the public recorder). */
function syntheticRun(dir: string): void {
  const rec = new gl.diagnostics.JsonlRecorder();
  for (let step = 1; step <= 40; step++) {
    const bad = step === 17;
    rec.write({ type: "train", step, loss: bad ? NaN : 4 - step * 0.03, lr: 1e-3, gradNorm: bad ? Infinity : 2 / step, skipped: bad || undefined, clipFraction: step < 10 ? 1 : 0 } as gl.diagnostics.TrainRecord);
    if (step % 10 === 0) {
      rec.write({
        type: "gradflow", step, flags: [],
        params: [{ name: "rnn.weight_hh_l0", shape: [4, 1], numel: 4, gradNorm: 1 / step, weightNorm: 1, updateRatio: 1e-3, zeroGradFraction: 0, nonFinite: 0 }],
        hidden: [{ module: "rnn", layer: 0, direction: "forward", dhNorm: [0.001, 0.01, 0.1, 1], firstOverLast: 0.001 }],
      });
    }
  }
  rec.write({ type: "eval", step: 40, loss: 2.9 });
  writeFileSync(join(dir, "metrics.jsonl"), rec.toString());
  writeFileSync(join(dir, "summary.json"), "{}");
}

/** Pixels of a canvas that are not blank: proof that something was drawn, not just that a canvas exists. */
const inkedPixels = (page: Page, selector: string) =>
  page.$$eval(selector, (canvases) =>
    canvases.map((c) => {
      const cv = c as HTMLCanvasElement;
      const d = cv.getContext("2d")!.getImageData(0, 0, cv.width, cv.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
      return n;
    }),
  );

test("the dashboard in Chromium draws a real demo run and a finished one, and new points arrive while the demo trains", { timeout: 90_000 }, async () => {
  const parent = mkdtempSync(join(tmpdir(), "gradlab-e2e-"));
  const live = join(parent, "live");
  const done = join(parent, "finished");
  // Made before the demo starts, as a user would start the dashboard first.
  mkdirSync(live);
  mkdirSync(done);
  syntheticRun(done);

  const demo = spawn(process.execPath, ["--import", "tsx", "cli/main.ts", "demo", "--seconds", "9", "--hidden", "64", "--batch", "16", "--bptt", "32", "--sample-length", "10", "--out", live], {
    cwd: ROOT,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let demoErr = "";
  demo.stderr.on("data", (c) => (demoErr += c));
  const exited = new Promise<number | null>((ok) => demo.on("exit", (code) => ok(code)));

  const dash = await startDashboard({ runDirs: [live, done], port: 0, pollMs: 200, root: ROOT }).catch((e) => (demo.kill(), Promise.reject(e)));
  const browser = await launchChromium().catch((e) => (demo.kill(), dash.close(), Promise.reject(e)));
  try {
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    await page.goto(dash.url);
    await page.waitForFunction(() => document.getElementById("connection")?.textContent === "live");

    // The live run, as it trains: points on the loss plot, then more, while the demo is still running.
    await page.waitForFunction(() => (window as any).gradlabDashboard.counts().runs[0].train >= 3, null, { timeout: 45_000 });
    await page.waitForTimeout(300); // one redraw period, so the plots show those steps
    const before = await counts(page);
    assert.ok(before.charts.loss >= 2 * 3 + 2 * 39 + 1, `loss points ${before.charts.loss}`);
    assert.equal(demo.exitCode, null, "the demo is still training");
    await page.waitForFunction(
      ([train, points]) => {
        const c = (window as any).gradlabDashboard.counts();
        return c.runs[0].train > train && c.charts.loss > points;
      },
      [before.runs[0].train, before.charts.loss],
      { timeout: 15_000 },
    );
    assert.equal(await page.textContent("#runs tbody tr:first-child td.status"), "training");

    const code = await exited;
    assert.equal(code, 0, demoErr.slice(-2000));
    const lines = readFileSync(join(live, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    const trainLines = lines.filter((l) => l.type === "train").length;
    const probes = lines.filter((l) => l.type === "gradflow").length;
    const evals = lines.filter((l) => l.type === "eval").length;
    await page.waitForFunction(
      (n) => {
        const r = (window as any).gradlabDashboard.counts().runs[0];
        return r.finished && r.train === n;
      },
      trainLines,
      { timeout: 10_000 },
    );
    await page.waitForTimeout(400); // one redraw period
    const end = await counts(page);
    assert.deepEqual(end.runs.map((r) => r.name), ["live", "finished"]);
    assert.equal(end.runs[0].probes, probes);
    assert.ok(evals >= 1, "the demo validates at the end");
    assert.equal(end.runs[0].evals, evals);
    assert.deepEqual([end.runs[1].train, end.runs[1].probes, end.runs[1].evals, end.runs[1].finished], [40, 4, 1, true]);
    for (const [name, n] of Object.entries(end.charts)) assert.ok(n > 0, `chart ${name} has no points`);
    // Raw and smoothed loss of each run, plus the evaluations; the NaN step is a gap.
    assert.equal(end.charts.loss, 2 * trainLines + 2 * 39 + evals + 1);
    assert.equal(end.heatmaps, 2, "one ‖∂J/∂h_t‖ map per run's LSTM layer");
    assert.equal(await page.textContent("#runs tbody tr:first-child td.status"), "finished");

    for (const id of ["loss", "perplexity", "lr", "gradnorm", "clip", "nonfinite"]) {
      const ink = await inkedPixels(page, `#${id} canvas`);
      assert.equal(ink.length, 1, `#${id} has one plot canvas`);
      assert.ok(ink[0] > 2000, `#${id} canvas drew only ${ink[0]} pixels`);
    }
    const maps = await inkedPixels(page, "#heatmaps canvas");
    assert.equal(maps.length, 2);
    for (const n of maps) assert.ok(n > 20_000, `heat map drew only ${n} pixels`);
    const flags = await page.textContent("#events");
    assert.match(flags ?? "", /step 17: loss NaN, gradient norm Infinity, update skipped/);
    assert.deepEqual(errors, []);
  } finally {
    demo.kill();
    await browser.close();
    await dash.close();
  }
});
