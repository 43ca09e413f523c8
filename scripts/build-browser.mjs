// Browser builds with esbuild (part of `npm run build`):
//   dist/browser/gradlab.js   the library as one ES module (src/index.ts)
//   dist/browser/train.html   a self-contained page that trains a small LSTM (browser/), opens from disk
//   dist/dashboard/app.js|css the dashboard page's script and style (dashboard/page/), uPlot included
// The dashboard server and the e2e tests call the same functions.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as esbuild from "esbuild";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const TARGET = ["es2022", "chrome110", "firefox115", "safari16"];

/** Fails the build when a browser bundle would need a module the browser does not have. */
function checkNoNodeImports(metafile, what) {
  const bad = [];
  for (const [file, input] of Object.entries(metafile.inputs)) {
    for (const imp of input.imports) if (imp.external || imp.path.startsWith("node:")) bad.push(`${file} imports ${imp.path}`);
  }
  if (bad.length) throw new Error(`${what}: the browser bundle pulls Node-only modules:\n  ${bad.join("\n  ")}`);
}

async function bundle(entry, opts = {}) {
  const r = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: TARGET,
    minify: true,
    write: false,
    outdir: "out",
    metafile: true,
    logLevel: "silent",
    ...opts,
  });
  checkNoNodeImports(r.metafile, relative(ROOT, entry));
  const find = (ext) => r.outputFiles.find((f) => f.path.endsWith(ext))?.text ?? "";
  return { js: find(".js"), css: find(".css"), map: find(".js.map") };
}

/** The dashboard page's script and style sheet. */
export async function bundleDashboard(root = ROOT) {
  const { js, css } = await bundle(join(root, "dashboard", "page", "app.ts"));
  return { js, css };
}

/** The library as one ES module for browsers, with a source map beside it. */
export async function buildLibrary(outDir, root = ROOT) {
  const { js, map } = await bundle(join(root, "src", "index.ts"), { sourcemap: "linked", outdir: outDir, entryNames: "gradlab" });
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, "gradlab.js"), js);
  await writeFile(join(outDir, "gradlab.js.map"), map);
  return join(outDir, "gradlab.js");
}

/**
 * The training page with its script and style inlined, so it works opened straight from disk
 * (browsers refuse module scripts from file:// URLs).
 */
export async function buildTrainPage(outDir, root = ROOT) {
  const { js, css } = await bundle(join(root, "browser", "train.ts"));
  const template = await readFile(join(root, "browser", "train.html"), "utf8");
  for (const marker of ["<!-- gradlab:style -->", "<!-- gradlab:script -->"]) {
    if (!template.includes(marker)) throw new Error(`browser/train.html lacks the marker ${marker}`);
  }
  // "</script" inside the code would end the inline element early; "<\/script" means the same to JS.
  const html = template
    .replace("<!-- gradlab:style -->", () => `<style>\n${css}</style>`)
    .replace("<!-- gradlab:script -->", () => `<script type="module">\n${js.replace(/<\/script/gi, "<\\/script")}</script>`);
  await mkdir(outDir, { recursive: true });
  const out = join(outDir, "train.html");
  await writeFile(out, html);
  return out;
}

export async function buildAll(root = ROOT) {
  const dist = join(root, "dist");
  const written = [await buildLibrary(join(dist, "browser"), root), await buildTrainPage(join(dist, "browser"), root)];
  const { js, css } = await bundleDashboard(root);
  await mkdir(join(dist, "dashboard"), { recursive: true });
  await writeFile(join(dist, "dashboard", "app.js"), js);
  await writeFile(join(dist, "dashboard", "app.css"), css);
  written.push(join(dist, "dashboard", "app.js"), join(dist, "dashboard", "app.css"));
  return written;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const t0 = performance.now();
  const files = await buildAll();
  const sizes = await Promise.all(files.map(async (f) => `${relative(ROOT, f)} (${Math.round((await readFile(f)).length / 1024)} KiB)`));
  console.log(`browser build: ${sizes.join(", ")} in ${Math.round(performance.now() - t0)} ms`);
}
