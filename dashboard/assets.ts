import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { DashboardError } from "./runs.js";

/** The page's script and style sheet (uPlot included), served as /app.js and /app.css. */
export interface PageAssets {
  js: string;
  css: string;
  /** Where they came from, for the startup line. */
  origin: "source" | "prebuilt";
}

interface BuildScript {
  bundleDashboard(root: string): Promise<{ js: string; css: string }>;
}

/**
 * In a checkout the page is bundled from dashboard/page/ at startup (always current, ~0.2 s); an
 * installed package has no sources or esbuild and serves what `npm run build` put in dist/dashboard/.
 */
export async function loadAssets(root: string): Promise<PageAssets> {
  const script = join(root, "scripts", "build-browser.mjs");
  if (existsSync(join(root, "dashboard", "page", "app.ts")) && existsSync(script)) {
    let build: BuildScript | null = null;
    try {
      build = (await import(pathToFileURL(script).href)) as BuildScript;
    } catch (e) {
      // Only a missing bundler falls through to the prebuilt page; a broken page must not hide behind a stale one.
      if ((e as NodeJS.ErrnoException).code !== "ERR_MODULE_NOT_FOUND") throw e;
    }
    if (build) return { ...(await build.bundleDashboard(root)), origin: "source" };
  }
  const dir = join(root, "dist", "dashboard");
  if (!existsSync(join(dir, "app.js"))) {
    throw new DashboardError(`dashboard: the page is not built (no ${join(dir, "app.js")}); run \`npm run build\` in the gradlab folder`);
  }
  return { js: readFileSync(join(dir, "app.js"), "utf8"), css: readFileSync(join(dir, "app.css"), "utf8"), origin: "prebuilt" };
}
