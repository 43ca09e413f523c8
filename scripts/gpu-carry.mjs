// Builds .gpu-carry/ for a GPU machine that has no Node, no npm and no network (npm run
// bench:gpu:prepare): the GPU bench and the library bundled into one file with the "webgpu" package
// left external, that package's Linux x64 build beside it (dawn.node xz-compressed, unpacked by
// bench/gpu-device.sh), and the PyTorch side. A Node binary (.gpu-carry/node.xz) is put there by
// whoever prepares the machine; this script only checks for it. Prints the total size.
// --cli also bundles the gradlab CLI (cli/main.ts) as .gpu-carry/gradlab-cli.mjs and copies
// data/tinyshakespeare.txt beside it, for `bash bench/gpu-device.sh --cli`.
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CARRY = join(ROOT, ".gpu-carry");
const PKG = join(ROOT, "node_modules", "webgpu");

if (!existsSync(join(PKG, "dist", "linux-x64", "dawn.node"))) {
  console.error("node_modules/webgpu (with dist/linux-x64/dawn.node) is missing: npm install webgpu first");
  process.exit(1);
}
if (!existsSync(join(ROOT, "src", "backends", "fast", "wasm-binaries.generated.ts"))) {
  execFileSync(process.execPath, [join(ROOT, "scripts", "build-wasm.mjs")], { stdio: "inherit", cwd: ROOT });
}
mkdirSync(CARRY, { recursive: true });

// The library loads its Node-only modules through a specifier held in a constant, which keeps
// browser bundlers away from them; a bundle for Node needs them inside, so the constant is inlined.
// Only the CLI bundle uses this.
const inlineNodeImports = {
  name: "inline-node-imports",
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, async ({ path }) => {
      if (path.includes("node_modules")) return undefined;
      let text = await readFile(path, "utf8");
      // Scripts that run main() when started directly would all start in one bundle: import.meta.url
      // is the bundle's for every module in it.
      text = text.replace(/fileURLToPath\(import\.meta\.url\) === process\.argv\[1\]/g, "false");
      for (const [, name, spec] of text.matchAll(/const (NODE_\w+) = "(\.\/node\.js)";/g)) {
        text = text.replace(new RegExp(`import\\(((?:/\\*[^*]*\\*/\\s*)*)${name}\\)`, "g"), `import("${spec}")`);
      }
      return { contents: text, loader: "ts" };
    });
  },
};

if (process.argv.includes("--cli")) {
  await esbuild.build({
    entryPoints: [join(ROOT, "cli", "main.ts")],
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    outfile: join(CARRY, "gradlab-cli.mjs"),
    external: ["webgpu"],
    plugins: [inlineNodeImports],
    // Bundled CommonJS dependencies (commander) call require(); an ESM bundle has none of its own.
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    logLevel: "warning",
  });
  mkdirSync(join(CARRY, "data"), { recursive: true });
  copyFileSync(join(ROOT, "data", "tinyshakespeare.txt"), join(CARRY, "data", "tinyshakespeare.txt"));
}

await esbuild.build({
  entryPoints: [join(ROOT, "bench", "gpu.ts")],
  bundle: true,
  format: "esm",
  platform: "node",
  target: "node20",
  outfile: join(CARRY, "gpu-bench.mjs"),
  external: ["webgpu"],
  logLevel: "warning",
});

const dest = join(CARRY, "node_modules", "webgpu");
rmSync(dest, { recursive: true, force: true });
mkdirSync(join(dest, "dist", "linux-x64"), { recursive: true });
for (const f of ["package.json", "index.js", "LICENSE.md"]) copyFileSync(join(PKG, f), join(dest, f));
// xz shrinks dawn.node about threefold; the device script unpacks it (xz, or Python's lzma).
const xz = join(dest, "dist", "linux-x64", "dawn.node.xz");
writeFileSync(xz, execFileSync("xz", ["-c", "-6", "-T2", join(PKG, "dist", "linux-x64", "dawn.node")], { maxBuffer: 1 << 30 }));
copyFileSync(join(ROOT, "bench", "torch_gpu.py"), join(CARRY, "torch_gpu.py"));

function size(p) {
  const s = statSync(p);
  return s.isDirectory() ? readdirSync(p).reduce((t, f) => t + size(join(p, f)), 0) : s.size;
}
const files = [];
(function walk(p) {
  for (const f of readdirSync(p)) {
    const q = join(p, f);
    if (statSync(q).isDirectory()) walk(q);
    else files.push(`  ${relative(ROOT, q)} ${(statSync(q).size / 2 ** 20).toFixed(1)} MiB`);
  }
})(CARRY);
console.log(files.join("\n"));
if (!existsSync(join(CARRY, "node.xz"))) console.warn("note: .gpu-carry/node.xz (an xz-compressed Node 20 binary for the GPU machine) is missing");
console.log(`.gpu-carry: ${(size(CARRY) / 2 ** 20).toFixed(1)} MiB in all`);
