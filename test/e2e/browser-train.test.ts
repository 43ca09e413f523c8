import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { buildLibrary, buildTrainPage } from "../../scripts/build-browser.mjs";
import { launchChromium } from "./chromium.js";

interface TrainState {
  running: boolean;
  done: boolean;
  step: number;
  losses: number[];
  error: string | null;
  backend: string;
}

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

test("the library bundles for browsers without Node modules", async () => {
  // buildLibrary fails on any Node-only import that the bundle would pull in.
  const out = await buildLibrary(mkdtempSync(join(tmpdir(), "gradlab-lib-")));
  const js = readFileSync(out, "utf8");
  assert.match(js, /sourceMappingURL=gradlab\.js\.map/);
  assert.doesNotMatch(js, /from\s*"node:/);
});

test("the browser page trains an LSTM in Chromium, opened from disk, and its loss falls", { timeout: 90_000 }, async () => {
  // Built from the current sources (not dist/), so the test follows the code it checks.
  const page = await buildTrainPage(mkdtempSync(join(tmpdir(), "gradlab-train-page-")));
  const browser = await launchChromium();
  try {
    const tab = await browser.context.newPage();
    const errors: string[] = [];
    tab.on("pageerror", (e) => errors.push(e.message));
    tab.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    const steps = 150;
    await tab.goto(`${pathToFileURL(page).href}?steps=${steps}&hidden=64&autostart=1`);
    await tab.waitForFunction(() => (window as unknown as { gradlabTrain: TrainState }).gradlabTrain.done, null, { timeout: 75_000 });
    const st = await tab.evaluate(() => (window as unknown as { gradlabTrain: TrainState }).gradlabTrain);
    assert.equal(st.error, null);
    assert.deepEqual(errors, []);
    assert.equal(st.losses.length, steps);
    assert.ok(st.losses.every(Number.isFinite));
    // Untrained, the loss is about ln(vocabulary) ≈ 3.9 nats; on this short text a working LSTM and optimizer get well below 2.5.
    const first = mean(st.losses.slice(0, 5));
    const last = mean(st.losses.slice(-20));
    assert.ok(first > 3.5, `first losses ${first}`);
    assert.ok(last < 2.5 && last < first - 1.2, `loss ${first.toFixed(3)} → ${last.toFixed(3)}`);

    // The live plots were drawn: one point per step on the loss plot, probes on the gradient plot.
    const drawn = await tab.$$eval(".plot canvas", (cs) =>
      cs.map((c) => {
        const cv = c as HTMLCanvasElement;
        const d = cv.getContext("2d")!.getImageData(0, 0, cv.width, cv.height).data;
        let n = 0;
        for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
        return n;
      }),
    );
    assert.equal(drawn.length, 2);
    for (const n of drawn) assert.ok(n > 2000, `a plot drew only ${n} pixels`);
    assert.match(await tab.textContent("#status") ?? "", new RegExp(`step ${steps}/${steps} .* done`));
    assert.ok(((await tab.textContent("#sample")) ?? "").length >= 100, "a sample was generated");
  } finally {
    await browser.close();
  }
});
