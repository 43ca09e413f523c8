// Builds .gpu-carry/ for a GPU machine that has no Node, no npm and no network (npm run
// bench:gpu:prepare): the GPU bench and the library bundled into one file with the "webgpu" package
// left external, that package's Linux x64 build beside it (dawn.node xz-compressed, unpacked by
// bench/gpu-device.sh), and the PyTorch side. A Node binary (.gpu-carry/node.xz) is put there by
// whoever prepares the machine; this script only checks for it. Prints the total size.
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
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
