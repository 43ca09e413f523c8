// Strided elementwise kernels of the reference backend: `npx tsx bench/strided.ts`. Prints the
// best time of several runs for copies and unary/binary ops on views that are not contiguous
// (transposed, sliced with a step, broadcast) and on contiguous data for comparison.
import * as gl from "../src/index.js";
import { kernel } from "../src/backend/registry.js";

const f32 = { dtype: "float32" as const };
// The reference kernels are what this measures, whatever backend is the default.
gl.setBackend("js");
gl.manualSeed(0);
const sq = gl.randn([512, 512], f32);
const tall = gl.randn([131072, 2], f32); // short rows: per-row overhead dominates
const wide = gl.randn([256, 1024], f32);
const col = gl.randn([512, 1], f32);
const row3 = gl.randn([3], f32);
const tall3 = gl.randn([87382, 3], f32);
const tall4 = gl.randn([131072, 4], f32);
const mask = sq.gt(0);
const cube = gl.randn([64, 64, 64], f32);

const copyInto = (src: gl.Tensor) => {
  const out = gl.empty([...src.shape], src.dtype);
  return () => kernel("copy")(src, out);
};

const cases: [string, () => unknown][] = [
  ["copy contiguous 256K", copyInto(sq)],
  ["copy contiguous f32→f64 256K", () => sq.to("float64")],
  ["copy transposed 512x512", copyInto(sq.t())],
  ["copy transposed 131072x2", copyInto(tall.t())],
  ["copy step-2 slice 256x512", copyInto(wide.slice(1, 0, 1024, 2))],
  ["copy broadcast [512,1]→[512,512]", copyInto(col.expand(512, 512))],
  ["exp contiguous 256K", () => sq.exp()],
  ["exp transposed 512x512", () => sq.t().exp()],
  ["exp transposed 131072x2", () => tall.t().exp()],
  ["exp step-2 slice 256x512", () => wide.slice(1, 0, 1024, 2).exp()],
  ["neg transposed 512x512", () => sq.t().neg()],
  ["neg [131072,4][:, :2] (short rows)", () => tall4.slice(1, 0, 2).neg()],
  ["add contiguous 256K", () => sq.add(sq)],
  ["add transposed + contiguous 512x512", () => sq.t().add(sq)],
  ["add [512,512] + [512,1]", () => sq.add(col)],
  ["add [87382,3] + [3]", () => tall3.add(row3)],
  ["add [131072,4][:, :2] + same (short rows)", () => tall4.slice(1, 0, 2).add(tall4.slice(1, 2, 4))],
  ["maximum transposed + contiguous 512x512", () => sq.t().maximum(sq)],
  ["clamp transposed 512x512", () => sq.t().clamp(-0.5, 0.5)],
  ["where(mask, a, 0) 512x512", () => gl.where(mask, sq, 0)],
  ["sum over dim 0 of 512x512", () => sq.sum(0)],
  ["sum over dim 1 of 512x512", () => sq.sum(1)],
  ["max over dim 1 of 512x512", () => sq.max(1)],
  ["sum over dims 0,2 of [64,64,64] transposed", () => cube.transpose(0, 2).sum([0, 2])],
  ["sum over dim 1 of 131072x2", () => tall.sum(1)],
];

const filter = process.argv[2];
for (const [name, fn] of cases) {
  if (filter && !name.includes(filter)) continue;
  for (let i = 0; i < 3; i++) fn();
  let best = Infinity;
  for (let trial = 0; trial < 15; trial++) {
    const t0 = performance.now();
    fn();
    best = Math.min(best, performance.now() - t0);
  }
  console.log(`${name.padEnd(42)} ${best.toFixed(3).padStart(8)} ms`);
}
