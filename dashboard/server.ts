import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { type PageAssets, loadAssets } from "./assets.js";
import { pageHtml } from "./html.js";
import { DashboardError, type RunEvent, RunWatcher, resolveRunDirs, runNames } from "./runs.js";

export interface DashboardOptions {
  /** Run directories (or folders of runs) to show side by side. */
  runDirs: readonly string[];
  /** Interface to listen on (default 127.0.0.1: the metrics stay on this machine). */
  host?: string;
  /** Port (default 6060); 0 picks a free one. */
  port?: number;
  /** How often the run files are checked for new lines, in ms (default 500). */
  pollMs?: number;
  /** The package root: where the page's sources or its prebuilt bundle are found. */
  root: string;
  /** Page script and style, when the caller has them already (tests); otherwise loadAssets(root). */
  assets?: PageAssets;
}

export interface Dashboard {
  url: string;
  port: number;
  runs: readonly RunWatcher[];
  assets: PageAssets;
  close(): Promise<void>;
}

export const DEFAULT_PORT = 6060;
/** Records per event when a page first loads a long run. */
const CHUNK = 1000;
const HEARTBEAT_MS = 15000;

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1", "[::1]"]);

/**
 * Serves one page with live plots of several runs. Each run's metrics.jsonl is tailed from a byte
 * offset; new lines go to every open page as Server-Sent Events (a page that connects later gets
 * the history first, then the same stream).
 */
export async function startDashboard(opts: DashboardOptions): Promise<Dashboard> {
  const host = opts.host ?? "127.0.0.1";
  const dirs = resolveRunDirs(opts.runDirs);
  const names = runNames(dirs);
  const runs = dirs.map((d, i) => new RunWatcher(i, names[i], d));
  const assets = opts.assets ?? (await loadAssets(opts.root));
  const html = pageHtml(names);
  const clients = new Set<ServerResponse>();

  let polling: Promise<void> | null = null;
  const pollAll = async () => {
    for (const run of runs) {
      let events: RunEvent[];
      try {
        events = await run.poll();
      } catch (e) {
        events = [{ kind: "problem", run: run.id, message: `${run.name}: ${e instanceof Error ? e.message : e}` }];
      }
      for (const ev of events) for (const c of clients) send(c, ev);
    }
  };
  const tick = () => {
    polling ??= pollAll().finally(() => (polling = null));
    return polling;
  };
  await tick();
  const timer = setInterval(tick, opts.pollMs ?? 500);
  const heartbeat = setInterval(() => {
    for (const c of clients) c.write(": keep-alive\n\n");
  }, HEARTBEAT_MS);

  const server = createServer((req, res) => {
    try {
      route(req, res);
    } catch (e) {
      res.writeHead(500, { "Content-Type": "text/plain; charset=utf-8" }).end(String(e));
    }
  });
  const route = (req: IncomingMessage, res: ServerResponse) => {
    if (LOOPBACK.has(host) && !hostIsLoopback(req.headers.host)) {
      // A page from elsewhere that re-points its own name at 127.0.0.1 (DNS rebinding) must not read the runs.
      res.writeHead(403, { "Content-Type": "text/plain; charset=utf-8" }).end("forbidden host\n");
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { Allow: "GET, HEAD" }).end();
      return;
    }
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (path === "/") return reply(res, "text/html", html);
    if (path === "/app.js") return reply(res, "text/javascript", assets.js);
    if (path === "/app.css") return reply(res, "text/css", assets.css);
    if (path === "/api/runs") return reply(res, "application/json", JSON.stringify(runs.map((r) => ({ ...r.info(), records: r.lines.length }))));
    if (path === "/events") return openStream(req, res);
    res.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" }).end(`not found: ${path}\n`);
  };
  const openStream = (req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-store", Connection: "keep-alive" });
    res.write("retry: 1000\n\n");
    // Sent before the client joins the live set, within one tick, so no line is missed or sent twice.
    sendEvent(res, "hello", JSON.stringify({ runs: runs.map((r) => r.info()), problems: runs.flatMap((r) => r.problems) }));
    for (const run of runs) {
      for (let i = 0; i < run.lines.length; i += CHUNK) {
        send(res, { kind: "records", run: run.id, lines: run.lines.slice(i, i + CHUNK), modified: run.info().modified });
      }
    }
    clients.add(res);
    req.on("close", () => clients.delete(res));
  };

  const port = opts.port ?? DEFAULT_PORT;
  await new Promise<void>((ok, fail) => {
    server.once("error", (e: NodeJS.ErrnoException) => {
      clearInterval(timer);
      clearInterval(heartbeat);
      if (e.code === "EADDRINUSE") fail(new DashboardError(`dashboard: port ${port} on ${host} is in use; pass --port with another number (0 picks a free one)`));
      else if (e.code === "EADDRNOTAVAIL" || e.code === "ENOTFOUND") fail(new DashboardError(`dashboard: cannot listen on host "${host}" (${e.code})`));
      else fail(e);
    });
    server.listen(port, host, () => ok());
  });
  const bound = (server.address() as AddressInfo).port;
  const shown = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${shown}:${bound}/`,
    port: bound,
    runs,
    assets,
    close: () => closeServer(server, clients, () => (clearInterval(timer), clearInterval(heartbeat))),
  };
}

function hostIsLoopback(header: string | undefined): boolean {
  if (!header) return false;
  const name = header.startsWith("[") ? header.slice(0, header.indexOf("]") + 1) : header.split(":")[0];
  return LOOPBACK.has(name);
}

function reply(res: ServerResponse, type: string, body: string): void {
  res.writeHead(200, { "Content-Type": `${type}; charset=utf-8`, "Cache-Control": "no-store" }).end(body);
}

function sendEvent(res: ServerResponse, event: string, data: string): void {
  res.write(`event: ${event}\ndata: ${data}\n\n`);
}

function send(res: ServerResponse, ev: RunEvent): void {
  switch (ev.kind) {
    case "records":
      // The lines are validated single-line JSON, so they are spliced in without re-encoding.
      return sendEvent(res, "records", `{"run":${ev.run},"modified":${ev.modified ?? "null"},"records":[${ev.lines.join(",")}]}`);
    case "reset":
      return sendEvent(res, "reset", JSON.stringify({ run: ev.run }));
    case "run":
      return sendEvent(res, "run", JSON.stringify(ev.info));
    case "problem":
      return sendEvent(res, "problem", JSON.stringify({ run: ev.run, message: ev.message }));
  }
}

function closeServer(server: Server, clients: Set<ServerResponse>, stop: () => void): Promise<void> {
  stop();
  for (const c of clients) c.end();
  clients.clear();
  return new Promise((ok) => {
    server.close(() => ok());
    server.closeAllConnections();
  });
}
