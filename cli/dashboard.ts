import { type Command, InvalidArgumentError } from "commander";
import { DEFAULT_PORT, startDashboard } from "../dashboard/server.js";
import { packageRoot } from "./paths.js";

function port(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`--port must be an integer in 0..65535, got "${v}"`);
  return n;
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1"]);

/** `gradlab dashboard RUNDIR...`: serves live plots of the runs until Ctrl-C. */
export function registerDashboardCommand(program: Command): Command {
  return program
    .command("dashboard")
    .description("Serve a local page with live plots of one or more run directories (loss, perplexity, learning rate, gradient flow)")
    .argument("<rundir...>", "run directories (each holding metrics.jsonl), or a folder of runs such as runs/")
    .option("--port <n>", "port to listen on (0 picks a free one)", port, DEFAULT_PORT)
    .option("--host <address>", "interface to listen on; the default keeps the page on this machine", "127.0.0.1")
    .option("--poll <ms>", "how often to look for new records, in milliseconds", (v) => {
      const n = Number(v);
      if (!(n >= 50)) throw new InvalidArgumentError(`--poll must be a number ≥ 50, got "${v}"`);
      return n;
    }, 500)
    .action(async (dirs: string[], opts: { port: number; host: string; poll: number }) => {
      const dash = await startDashboard({ runDirs: dirs, port: opts.port, host: opts.host, pollMs: opts.poll, root: packageRoot() });
      const err = (s: string) => process.stderr.write(s + "\n");
      err(`gradlab dashboard: ${dash.runs.length} run${dash.runs.length > 1 ? "s" : ""} (${dash.runs.map((r) => r.name).join(", ")})`);
      if (!LOOPBACK.has(opts.host)) err(`warning: listening on ${opts.host}, so other machines that reach it can read these runs`);
      process.stdout.write(`open ${dash.url}  (Ctrl-C to stop)\n`);
      await new Promise<void>((done) => {
        const stop = () => {
          process.off("SIGINT", stop);
          process.off("SIGTERM", stop);
          void dash.close().then(done);
        };
        process.on("SIGINT", stop);
        process.on("SIGTERM", stop);
      });
    });
}
