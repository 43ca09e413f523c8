/** A workgroup tile: BM×BN outputs, BK-deep slices of A and B in workgroup memory, TM×TN per thread. */
export interface Tile { BM: number; BN: number; BK: number; TM: number; TN: number }

export function tileName(t: Tile): string {
  return `${t.BM}x${t.BN}x${t.BK}/${t.TM}x${t.TN}`;
}

/** Parses "BMxBNxBK/TMxTN" and checks the tile can be generated (TN a multiple of 4, thread counts that divide). */
export function parseTile(name: string): Tile | null {
  const m = /^(\d+)x(\d+)x(\d+)\/(\d+)x(\d+)$/.exec(name);
  if (!m) return null;
  const [BM, BN, BK, TM, TN] = m.slice(1).map(Number);
  const ok = TN % 4 === 0 && TM >= 1 && BM % TM === 0 && BN % TN === 0 && BK >= 1 && BK <= 64;
  return ok ? { BM, BN, BK, TM, TN } : null;
}

/**
 * Row strides of the workgroup tiles (A in floats, B in vec4s). Where consecutive invocations
 * store down a column of a tile (k varies fastest: untransposed A, transposed B, which keeps their
 * global loads coalesced), an unpadded row length that is a multiple of 32 would put all those
 * stores in one memory bank; one float (A) or one vec4 (B) of padding spreads them.
 */
export function strides(t: Tile, transA: boolean, transB: boolean): { aStride: number; bStride: number } {
  return { aStride: t.BM + (transA ? 0 : 1), bStride: t.BN / 4 + (transB ? 1 : 0) };
}

export function threads(t: Tile): number {
  return (t.BM / t.TM) * (t.BN / t.TN);
}

export function workgroupBytes(t: Tile, transA: boolean, transB: boolean): number {
  const { aStride, bStride } = strides(t, transA, transB);
  return t.BK * (aStride + 4 * bStride) * 4;
}

const sources = new Map<string, string>();

/**
 * C[M,N] = op(A)·op(B) (+ C if accumulate) (+ bias[n]); A is stored [M,K] or, transposed, [K,M];
 * B is stored [K,N] or, transposed, [N,K]. Workgroup memory holds a BK×BM slice of A and BK×BN of
 * B (k-major); each thread keeps a TM×TN register tile of vec4 accumulators.
 *
 * Everything with a compile-time trip count is unrolled here, in the generator: with loops over
 * `acc[i]` the shader compiler may keep the accumulators in addressable (off-chip) memory instead
 * of registers, which is how a 128×128 tile ran at 2 TFLOP/s on an H200. The next slice's global
 * values are loaded into registers while the current slice is multiplied, so the latency of those
 * loads hides behind arithmetic (one slice in flight, one barrier pair per slice). With vecA/vecB
 * an operand is read from global memory as vec4s along its contiguous dimension: a quarter of the
 * load instructions, each 16 bytes.
 */
export function matmulSource(t: Tile, transA: boolean, transB: boolean, vecA: boolean, vecB: boolean): string {
  const key = `${tileName(t)},${transA},${transB},${vecA},${vecB}`;
  let s = sources.get(key);
  if (s) return s;
  const { BM, BN, BK, TM, TN } = t;
  const WX = BN / TN;
  const WY = BM / TM;
  const NT = WX * WY;
  const V = TN / 4;
  const { aStride, bStride } = strides(t, transA, transB);
  const lines: string[] = [];
  const L = (x: string): number => lines.push(x);
  // Where each thread's r-th loaded value (or vec4 along the operand's contiguous dimension) goes:
  // fixed for the whole kernel.
  const cA = vecA ? 4 : 1;
  const cB = vecB ? 4 : 1;
  const RA = Math.ceil((BM * BK) / cA / NT);
  const RB = Math.ceil((BK * BN) / cB / NT);
  const zA = vecA ? "vec4<f32>(0.0)" : "0.0";
  const zB = vecB ? "vec4<f32>(0.0)" : "0.0";
  for (let r = 0; r < RA; r++) {
    L(`  let ai${r} = li + ${r * NT}u;`);
    if (transA) L(`  let ak${r} = ai${r} / ${BM / cA}u; let am${r} = ai${r} % ${BM / cA}u * ${cA}u;`);
    else L(`  let am${r} = ai${r} / ${BK / cA}u; let ak${r} = ai${r} % ${BK / cA}u * ${cA}u;`);
    L(`  let aok${r} = ai${r} < ${(BM * BK) / cA}u && row0 + am${r} < p.M;`);
    L(`  var ra${r} = ${zA};`);
  }
  for (let r = 0; r < RB; r++) {
    L(`  let bi${r} = li + ${r * NT}u;`);
    if (transB) L(`  let bn${r} = bi${r} / ${BK / cB}u; let bk${r} = bi${r} % ${BK / cB}u * ${cB}u;`);
    else L(`  let bk${r} = bi${r} / ${BN / cB}u; let bn${r} = bi${r} % ${BN / cB}u * ${cB}u;`);
    L(`  let bok${r} = bi${r} < ${(BK * BN) / cB}u && col0 + bn${r} < p.N;`);
    L(`  var rb${r} = ${zB};`);
  }
  for (let i = 0; i < TM; i++) for (let j = 0; j < V; j++) L(`  var acc${i}_${j} = vec4<f32>(0.0);`);
  // With vec4 loads the operand's contiguous size and offset are multiples of 4 (the caller checks),
  // so a vec4 is wholly inside or wholly outside the matrix and the k range.
  const load = (k0: string): void => {
    for (let r = 0; r < RA; r++) {
      const idx = transA ? `(${k0} + ak${r}) * p.M + row0 + am${r}` : `(row0 + am${r}) * p.K + ${k0} + ak${r}`;
      L(`    if (aok${r} && ${k0} + ak${r} < kEnd) { ra${r} = A[(offA + ${idx})${vecA ? " / 4u" : ""}]; } else { ra${r} = ${zA}; }`);
    }
    for (let r = 0; r < RB; r++) {
      const idx = transB ? `(col0 + bn${r}) * p.K + ${k0} + bk${r}` : `(${k0} + bk${r}) * p.N + col0 + bn${r}`;
      L(`    if (bok${r} && ${k0} + bk${r} < kEnd) { rb${r} = B[(offB + ${idx})${vecB ? " / 4u" : ""}]; } else { rb${r} = ${zB}; }`);
    }
  };
  const storeA = (r: number): string => {
    if (!vecA) return `As[ak${r} * ${aStride}u + am${r}] = ra${r};`;
    const at = (c: number): string => (transA ? `ak${r} * ${aStride}u + am${r} + ${c}u` : `(ak${r} + ${c}u) * ${aStride}u + am${r}`);
    return [0, 1, 2, 3].map((c) => `As[${at(c)}] = ra${r}[${c}];`).join(" ");
  };
  const storeB = (r: number): string => {
    if (!vecB) return `let j = bk${r} * ${bStride * 4}u + bn${r}; Bs[j / 4u][j % 4u] = rb${r};`;
    if (!transB) return `Bs[bk${r} * ${bStride}u + bn${r} / 4u] = rb${r};`;
    return [0, 1, 2, 3].map((c) => `{ let j = (bk${r} + ${c}u) * ${bStride * 4}u + bn${r}; Bs[j / 4u][j % 4u] = rb${r}[${c}]; }`).join(" ");
  };
  L(`  {`);
  load("kBegin");
  L(`  }`);
  L(`  for (var k0 = kBegin; k0 < kEnd; k0 += ${BK}u) {`);
  for (let r = 0; r < RA; r++) L(`    if (ai${r} < ${(BM * BK) / cA}u) { ${storeA(r)} }`);
  for (let r = 0; r < RB; r++) L(`    if (bi${r} < ${(BK * BN) / cB}u) { ${storeB(r)} }`);
  L(`    workgroupBarrier();`);
  L(`    let kn = k0 + ${BK}u;`);
  load("kn");
  for (let k = 0; k < BK; k++) {
    for (let j = 0; j < V; j++) L(`    let b${k}_${j} = Bs[${k * bStride + j * WX}u + lid.x];`);
    for (let i = 0; i < TM; i++) {
      L(`    let a${k}_${i} = vec4<f32>(As[${k * aStride + i * WY}u + lid.y]);`);
      for (let j = 0; j < V; j++) L(`    acc${i}_${j} = fma(a${k}_${i}, b${k}_${j}, acc${i}_${j});`);
    }
  }
  L(`    workgroupBarrier();`);
  L(`  }`);
  for (let i = 0; i < TM; i++) for (let j = 0; j < V; j++) L(`  put(row0 + lid.y + ${i * WY}u, col0 + (lid.x + ${j * WX}u) * 4u, slab, acc${i}_${j});`);
  s = /* wgsl */ `
struct P { M: u32, N: u32, K: u32, offA: u32, offB: u32, offC: u32, accumulate: u32, hasBias: u32, kChunk: u32,
  batched: u32, strideA: u32, strideB: u32, strideC: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> A: array<${vecA ? "vec4<f32>" : "f32"}>;
@group(0) @binding(2) var<storage, read> B: array<${vecB ? "vec4<f32>" : "f32"}>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> C: array<f32>;
var<workgroup> As: array<f32, ${BK * aStride}>;
var<workgroup> Bs: array<vec4<f32>, ${BK * bStride}>;

fn put(row: u32, col: u32, slab: u32, v: vec4<f32>) {
  if (row >= p.M) { return; }
  for (var c = 0u; c < 4u; c++) {
    if (col + c < p.N) {
      let o = p.offC + slab + row * p.N + col + c;
      var x = v[c];
      if (p.hasBias != 0u) { x += bias[col + c]; }
      if (p.accumulate != 0u) { x += C[o]; }
      C[o] = x;
    }
  }
}

@compute @workgroup_size(${WX}, ${WY})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let row0 = wg.y * ${BM}u;
  let col0 = wg.x * ${BN}u;
  // Workgroup layer z is either a split-K slice, taking k in [z·kChunk, (z+1)·kChunk) and writing
  // its own M×N slab, or (batched) one product of a batch, its operands strideA/B/C further on.
  let zb = select(0u, wg.z, p.batched != 0u);
  let zk = select(wg.z, 0u, p.batched != 0u);
  let kBegin = zk * p.kChunk;
  let kEnd = min(p.K, kBegin + p.kChunk);
  let slab = zk * p.M * p.N + zb * p.strideC;
  let offA = p.offA + zb * p.strideA;
  let offB = p.offB + zb * p.strideB;
${lines.join("\n")}
}`;
  sources.set(key, s);
  return s;
}
