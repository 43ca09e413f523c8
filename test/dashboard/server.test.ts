import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { type ClientRequest, get, request } from "node:http";
import { appendFileSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Command } from "commander";
import * as gl from "../../src/index.js";
import { registerDashboardCommand } from "../../cli/dashboard.js";
import { type PageAssets, loadAssets } from "../../dashboard/assets.js";
import { DashboardError, resolveRunDirs, runNames } from "../../dashboard/runs.js";
import { type Dashboard, startDashboard } from "../../dashboard/server.js";

const ROOT = resolve(import.meta.dirname, "../..");
let assets: PageAssets;
before(async () => {
  assets = await loadAssets(ROOT);
});

const line = (rec: gl.diagnostics.DiagnosticRecord) => gl.diagnostics.toJsonLine(rec) + "\n";

function runDir(parent: string, name: string, records: gl.diagnostics.DiagnosticRecord[], config: object | null = { cell: "lstm" }): string {
  const dir = join(parent, name);
  mkdirSync(dir, { recursive: true });
  if (config) writeFileSync(join(dir, "config.json"), JSON.stringify(config));
  writeFileSync(join(dir, "metrics.jsonl"), records.map(line).join(""));
  return dir;
}

interface Sse {
  events: { event: string; data: string }[];
  req: ClientRequest;
  waitFor(pred: (e: { event: string; data: string }) => boolean, ms?: number): Promise<{ event: string; data: string }>;
}

/** A minimal EventSource over node:http: collects every event of the stream. */
function openEvents(url: string): Promise<Sse> {
  return new Promise((ok, fail) => {
    const events: Sse["events"] = [];
    let buf = "";
    const req = get(url + "events", (res) => {
      assert.equal(res.headers["content-type"], "text/event-stream");
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        buf += chunk;
        let end;
        while ((end = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data !== undefined) events.push({ event, data });
        }
      });
      ok({
        events,
        req,
        async waitFor(pred, ms = 5000) {
          const t0 = Date.now();
          for (;;) {
            const hit = events.find(pred);
            if (hit) return hit;
            if (Date.now() - t0 > ms) throw new Error(`no matching event in ${ms} ms; got ${events.map((e) => e.event).join(", ")}`);
            await new Promise((r) => setTimeout(r, 20));
          }
        },
      });
    });
    req.on("error", fail);
  });
}

function fetchText(url: string, opts: { method?: string; host?: string } = {}): Promise<{ status: number; type: string; body: string }> {
  return new Promise((ok, fail) => {
    const req = request(url, { method: opts.method ?? "GET", headers: opts.host ? { host: opts.host } : {} }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c) => (body += c));
      res.on("end", () => ok({ status: res.statusCode ?? 0, type: String(res.headers["content-type"] ?? ""), body }));
    });
    req.on("error", fail);
    req.end();
  });
}

const dashes: Dashboard[] = [];
after(async () => {
  for (const d of dashes) await d.close();
});
async function start(runDirs: string[]): Promise<Dashboard> {
  const d = await startDashboard({ runDirs, port: 0, pollMs: 50, root: ROOT, assets });
  dashes.push(d);
  return d;
}

test("the server listens on loopback, serves the page and its assets, and refuses everything else", async () => {
  const parent = mkdtempSync(join(tmpdir(), "gradlab-dash-"));
  const d = await start([runDir(parent, "alpha", [{ type: "train", step: 1, loss: 2 }])]);
  assert.match(d.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  const page = await fetchText(d.url);
  assert.equal(page.status, 200);
  assert.match(page.type, /^text\/html/);
  assert.match(page.body, /<title>gradlab dashboard: alpha<\/title>/);
  assert.doesNotMatch(page.body, /https?:\/\/(?!127)/, "nothing is loaded from the network");
  const js = await fetchText(d.url + "app.js");
  assert.equal(js.status, 200);
  assert.match(js.type, /^text\/javascript/);
  assert.match(js.body, /EventSource/);
  assert.match((await fetchText(d.url + "app.css")).body, /\.u-legend/, "uPlot's style sheet is bundled");
  assert.equal((await fetchText(d.url + "etc/passwd")).status, 404);
  assert.equal((await fetchText(d.url + "../metrics.jsonl")).status, 404);
  assert.equal((await fetchText(d.url, { method: "POST" })).status, 405);
  assert.equal((await fetchText(d.url, { host: "evil.example:80" })).status, 403, "DNS-rebinding guard");
  assert.equal((await fetchText(d.url, { host: `localhost:${d.port}` })).status, 200);
  const api = JSON.parse((await fetchText(d.url + "api/runs")).body);
  assert.equal(api[0].name, "alpha");
  assert.equal(api[0].records, 1);
});

test("the event stream sends the history, then each completed line as it is appended, and flags bad lines", async () => {
  const parent = mkdtempSync(join(tmpdir(), "gradlab-dash-"));
  const a = runDir(parent, "a", [
    { type: "train", step: 1, loss: 3, gradNorm: NaN },
    { type: "eval", step: 1, loss: 2.9, metrics: { perplexity: 18 } },
  ]);
  const b = runDir(parent, "b", [], null);
  const d = await start([a, b]);
  const sse = await openEvents(d.url);
  const hello = JSON.parse((await sse.waitFor((e) => e.event === "hello")).data);
  assert.deepEqual(hello.runs.map((r: { name: string }) => r.name), ["a", "b"]);
  assert.deepEqual(hello.runs[0].config, { cell: "lstm" });
  assert.equal(hello.runs[1].config, null);
  const history = JSON.parse((await sse.waitFor((e) => e.event === "records")).data);
  assert.equal(history.run, 0);
  assert.deepEqual(history.records.map((r: { type: string }) => r.type), ["train", "eval"]);
  assert.equal(history.records[0].gradNorm, "NaN", "non-finite numbers keep their JSONL spelling");

  // Half a record: nothing is sent until its newline arrives.
  const next = line({ type: "train", step: 2, loss: 2.5 });
  appendFileSync(join(b, "metrics.jsonl"), next.slice(0, 10));
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(sse.events.filter((e) => e.event === "records").length, 1);
  appendFileSync(join(b, "metrics.jsonl"), next.slice(10) + "this is not json\n");
  const live = JSON.parse((await sse.waitFor((e) => e.event === "records" && JSON.parse(e.data).run === 1)).data);
  assert.deepEqual(live.records, [{ type: "train", step: 2, loss: 2.5 }]);
  assert.equal(typeof live.modified, "number");
  const problem = JSON.parse((await sse.waitFor((e) => e.event === "problem")).data);
  assert.match(problem.message, /^b\/metrics\.jsonl line 2: not JSON/);

  // A config written later (the run starts after the dashboard) and a summary at the end are announced.
  writeFileSync(join(b, "config.json"), JSON.stringify({ cell: "gru" }));
  writeFileSync(join(b, "summary.json"), JSON.stringify({ valLoss: 2 }));
  await sse.waitFor((e) => e.event === "run" && JSON.parse(e.data).summary?.valLoss === 2);
  const info = JSON.parse(sse.events.filter((e) => e.event === "run").pop()!.data);
  assert.deepEqual(info.config, { cell: "gru" });

  // The same folder reused by a new run: the page is told to start that run over.
  writeFileSync(join(a, "metrics.jsonl"), line({ type: "train", step: 1, loss: 4 }));
  await sse.waitFor((e) => e.event === "reset" && JSON.parse(e.data).run === 0);
  const again = JSON.parse((await sse.waitFor((e) => e.event === "records" && JSON.parse(e.data).records[0]?.loss === 4)).data);
  assert.equal(again.run, 0);

  // A page that connects now gets the same state as history.
  const late = await openEvents(d.url);
  const lateHello = JSON.parse((await late.waitFor((e) => e.event === "hello")).data);
  assert.equal(lateHello.problems.length, 1);
  await late.waitFor((e) => e.event === "records" && JSON.parse(e.data).run === 1);
  const lateRecords = late.events.filter((e) => e.event === "records").map((e) => JSON.parse(e.data));
  assert.deepEqual(lateRecords.map((r) => [r.run, r.records.length]), [[0, 1], [1, 1]]);
  sse.req.destroy();
  late.req.destroy();
});

test("run directories: folders of runs expand, missing ones are clear errors, clashing names get their parent", () => {
  const parent = mkdtempSync(join(tmpdir(), "gradlab-dash-"));
  const x = runDir(join(parent, "runs"), "x", []);
  const y = runDir(join(parent, "runs"), "y", []);
  mkdirSync(join(parent, "runs", "not-a-run"));
  assert.deepEqual(resolveRunDirs([join(parent, "runs")]), [x, y]);
  assert.deepEqual(resolveRunDirs([x, x]), [x], "a run given twice is shown once");
  assert.throws(() => resolveRunDirs([join(parent, "nope")]), (e: Error) => e instanceof DashboardError && /run directory ".*nope" does not exist/.test(e.message));
  writeFileSync(join(parent, "file.txt"), "");
  assert.throws(() => resolveRunDirs([join(parent, "file.txt")]), /is not a directory/);
  assert.throws(() => resolveRunDirs([]), /at least one run directory/);
  assert.deepEqual(runNames(["/a/one/run", "/b/two/run", "/c/other"]), ["one/run", "two/run", "other"]);
});

test("a busy port is a clear error", async () => {
  const parent = mkdtempSync(join(tmpdir(), "gradlab-dash-"));
  const first = await start([runDir(parent, "r", [])]);
  await assert.rejects(
    startDashboard({ runDirs: [join(parent, "r")], port: first.port, root: ROOT, assets }),
    (e: Error) => e instanceof DashboardError && new RegExp(`port ${first.port} on 127\\.0\\.0\\.1 is in use; pass --port`).test(e.message),
  );
});

test("the dashboard command rejects bad flags and missing run directories with messages", async () => {
  const program = () => {
    const p = new Command().exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    registerDashboardCommand(p);
    return p;
  };
  await assert.rejects(program().parseAsync(["node", "gradlab", "dashboard", "x", "--port", "http"]), /--port must be an integer in 0\.\.65535, got "http"/);
  await assert.rejects(program().parseAsync(["node", "gradlab", "dashboard"]), /missing required argument 'rundir'/);
  await assert.rejects(program().parseAsync(["node", "gradlab", "dashboard", "/no/such/run"]), /run directory "\/no\/such\/run" does not exist/);
});

test("an installed package serves the prebuilt page; with neither sources nor a build the error says to build", async () => {
  const { bundleDashboard } = await import("../../scripts/build-browser.mjs");
  const installed = mkdtempSync(join(tmpdir(), "gradlab-installed-"));
  mkdirSync(join(installed, "dist", "dashboard"), { recursive: true });
  const built = await bundleDashboard(ROOT);
  writeFileSync(join(installed, "dist", "dashboard", "app.js"), built.js);
  writeFileSync(join(installed, "dist", "dashboard", "app.css"), built.css);
  const got = await loadAssets(installed);
  assert.equal(got.origin, "prebuilt");
  assert.equal(got.js, built.js);
  assert.equal(assets.origin, "source", "a checkout bundles the page from its sources");
  await assert.rejects(loadAssets(mkdtempSync(join(tmpdir(), "gradlab-bare-"))), (e: Error) => e instanceof DashboardError && /run `npm run build`/.test(e.message));
});
