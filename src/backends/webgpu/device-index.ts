/**
 * Index ops of the "webgpu" device. Indices arrive on the host, already bounds-checked there; the
 * sums of the gradients (index-add, scatter-add) run without float atomics, which WGSL lacks:
 * each destination element adds up its sources, found through a CSR index built on the host,
 * in source order, so results are exact-order and deterministic.
 */
import { DTypeError, ShapeError, fmtShape } from "../../core/errors.js";
import { contiguousStrides, numel as count, splitAt } from "../../core/shape.js";
import type { DeviceBuffer, DeviceView } from "../../backend/device.js";
import { Uniform, collapse, elem, grid } from "./device-util.js";
import { type Elem, HELPERS, MAX_RANK, perElement } from "./strided-source.js";
import type { WebGpuDevice } from "./device.js";

/**
 * Rows of X along one dim picked by ids: the output (contiguous) is viewed as [outer, n, inner]
 * and X as [outer, size, inner] through its strides (words 0 total, 1 n, 2 inner, 4 offset,
 * 5 outer stride... see the host code).
 */
const indexSelectSource = (e: Elem): string => /* wgsl */ `${HELPERS}
@group(0) @binding(1) var<storage, read> X: array<${e}>;
@group(0) @binding(2) var<storage, read> ids: array<i32>;
@group(0) @binding(3) var<storage, read_write> Y: array<${e}>;
${perElement("w(0u)")}
  let n = w(1u);
  let inner = w(2u);
  let c = i % inner;
  let r = (i / inner) % n;
  let o = i / (inner * n);
  Y[i] = X[w(4u) + o * w(5u) + u32(ids[r]) * w(6u) + c * w(7u)];
}`;

/**
 * dst [outer, V, inner] += src [outer, n, inner] (contiguous) at rows ids, without float atomics:
 * each destination element sums the source rows whose id is its row, found through a CSR index
 * (positions sorted by id, stably), so the sums are exact-order and deterministic.
 */
const INDEX_ADD = /* wgsl */ `${HELPERS}
@group(0) @binding(1) var<storage, read> S: array<f32>;
@group(0) @binding(2) var<storage, read> offsets: array<i32>;
@group(0) @binding(3) var<storage, read> order: array<i32>;
@group(0) @binding(4) var<storage, read_write> D: array<f32>;
${perElement("w(0u)")}
  let V = w(1u);
  let inner = w(2u);
  let n = w(3u);
  let c = i % inner;
  let v = (i / inner) % V;
  let o = i / (inner * V);
  var s = D[i];
  for (var j = offsets[v]; j < offsets[v + 1u]; j++) { s += S[(o * n + u32(order[j])) * inner + c]; }
  D[i] = s;
}`;

/**
 * out[i] = X[offset + Σ_k c_k·stride_k] with c the coordinates of i over the index's shape and
 * c_dim replaced by ids[i]. Words: 0 n, 1 rank, 2 dim, 3 offset, 8-15 index shape, 16-23 X strides.
 */
const gatherSource = (e: Elem): string => /* wgsl */ `${HELPERS}
@group(0) @binding(1) var<storage, read> X: array<${e}>;
@group(0) @binding(2) var<storage, read> ids: array<i32>;
@group(0) @binding(3) var<storage, read_write> Y: array<${e}>;
${perElement("w(0u)")}
  let rank = w(1u);
  let dim = w(2u);
  var rem = i;
  var o = w(3u);
  for (var k = 0u; k < rank; k++) {
    let d = rank - 1u - k;
    let s = w(8u + d);
    var c = rem % s;
    rem = rem / s;
    if (d == dim) { c = u32(ids[i]); }
    o += c * w(16u + d);
  }
  Y[i] = X[o];
}`;

/** D[j] += Σ S[order[k]] for k in [offsets[j], offsets[j + 1]). Words: 0 n. */
const CSR_ADD = /* wgsl */ `${HELPERS}
@group(0) @binding(1) var<storage, read> S: array<f32>;
@group(0) @binding(2) var<storage, read> offsets: array<i32>;
@group(0) @binding(3) var<storage, read> order: array<i32>;
@group(0) @binding(4) var<storage, read_write> D: array<f32>;
${perElement("w(0u)")}
  var s = D[i];
  for (var k = offsets[i]; k < offsets[i + 1u]; k++) { s += S[u32(order[k])]; }
  D[i] = s;
}`;

export function indexSelect(dev: WebGpuDevice, x: DeviceView, dim: number, index: Int32Array, out: DeviceBuffer): void {
  const n = index.length;
  const [outer, , inner] = splitAt(x.shape, dim);
  const total = outer * n * inner;
  if (total === 0) return;
  // [outer, size, inner] through strides: the outer and inner dims must each walk one stride.
  const o = collapse(x.shape.slice(0, dim), [x.strides.slice(0, dim)]);
  const c = collapse(x.shape.slice(dim + 1), [x.strides.slice(dim + 1)]);
  if (o.shape.length > 1 || c.shape.length > 1) {
    indexSelect(dev, dev.contiguous(x), dim, index, out);
    return;
  }
  const e = elem(x.buf.dtype);
  const ids = dev.fresh(index, "int32", true);
  const u = new Uniform().list(0, [total, n, inner, 0, x.offset, o.strides[0][0] ?? 0, x.strides[dim], c.strides[0][0] ?? 0]);
  dev.gpu.dispatch(dev.source(`isel|${e}`, () => indexSelectSource(e)), u.u.buffer, [dev.buf(x.buf), ids.buffer, dev.buf(out)], grid(total));
}

export function indexAdd(dev: WebGpuDevice, dst: DeviceBuffer, dstShape: readonly number[], dim: number, index: Int32Array, src: DeviceView): void {
  if (dst.dtype !== "float32") throw new DTypeError("webgpu indexAdd: float32 tensors only");
  const [outer, V, inner] = splitAt(dstShape, dim);
  const total = outer * V * inner;
  if (total === 0 || index.length === 0) return;
  const s = dev.contiguousAt0(src);
  const offsets = new Int32Array(V + 1);
  for (const v of index) offsets[v + 1]++;
  for (let v = 0; v < V; v++) offsets[v + 1] += offsets[v];
  const fillAt = offsets.slice(0, V);
  const order = new Int32Array(index.length);
  index.forEach((v, j) => (order[fillAt[v]++] = j));
  const off = dev.fresh(offsets, "int32", true);
  const ord = dev.fresh(order, "int32", true);
  const u = new Uniform().list(0, [total, V, inner, index.length]);
  dev.gpu.dispatch(INDEX_ADD, u.u.buffer, [dev.buf(s.buf), off.buffer, ord.buffer, dev.buf(dst)], grid(total));
}

export function gather(dev: WebGpuDevice, x: DeviceView, dim: number, index: Int32Array, indexShape: readonly number[], out: DeviceBuffer): void {
  const n = index.length;
  if (n === 0) return;
  if (indexShape.length > MAX_RANK) throw new ShapeError(`webgpu gather: at most ${MAX_RANK} dims, got ${fmtShape(indexShape)}`);
  const e = elem(x.buf.dtype);
  const ids = dev.fresh(index, "int32", true);
  const u = new Uniform().list(0, [n, indexShape.length, dim, x.offset]).list(8, indexShape).list(16, x.strides);
  dev.gpu.dispatch(dev.source(`gather|${e}`, () => gatherSource(e)), u.u.buffer, [dev.buf(x.buf), ids.buffer, dev.buf(out)], grid(n));
}

/** dst (contiguous, dstShape) at [... index[i] at dim ...] += src[i], src contiguous over indexShape. */
export function scatterAdd(
  dev: WebGpuDevice, dst: DeviceBuffer, dstShape: readonly number[], dim: number, index: Int32Array, indexShape: readonly number[], src: DeviceView,
): void {
  if (dst.dtype !== "float32") throw new DTypeError("webgpu scatterAdd: float32 tensors only");
  const n = index.length;
  const total = count(dstShape);
  if (n === 0 || total === 0) return;
  const s = dev.contiguousAt0(src);
  const dstStrides = contiguousStrides(dstShape);
  const target = new Int32Array(n);
  const c = new Array<number>(indexShape.length).fill(0);
  for (let i = 0; i < n; i++) {
    let t = 0;
    for (let k = 0; k < c.length; k++) t += (k === dim ? index[i] : c[k]) * dstStrides[k];
    target[i] = t;
    for (let k = c.length - 1; k >= 0; k--) {
      if (++c[k] < indexShape[k]) break;
      c[k] = 0;
    }
  }
  const offsets = new Int32Array(total + 1);
  for (const t of target) offsets[t + 1]++;
  for (let j = 0; j < total; j++) offsets[j + 1] += offsets[j];
  const at = offsets.slice(0, total);
  const order = new Int32Array(n);
  target.forEach((t, i) => (order[at[t]++] = i));
  const off = dev.fresh(offsets, "int32", true);
  const ord = dev.fresh(order, "int32", true);
  dev.gpu.dispatch(CSR_ADD, new Uniform().set(0, total).u.buffer, [dev.buf(s.buf), off.buffer, ord.buffer, dev.buf(dst)], grid(total));
}
