/**
 * The safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON header
 * mapping names to { dtype, shape, data_offsets } (plus an optional "__metadata__" string map),
 * then the raw little-endian tensor bytes. Pure byte handling, so it runs in browsers too.
 */
import type { DType, TypedArray } from "../core/dtype.js";
import { IOError } from "../core/errors.js";
import { numel } from "../core/shape.js";
import { Tensor } from "../tensor/tensor.js";

export interface SafetensorsContents {
  tensors: Record<string, Tensor>;
  /** The header's "__metadata__" map ({} when the file has none). */
  metadata: Record<string, string>;
}

/** Bytes per element of every dtype the format defines; reading supports the ones in `decoders`. */
const DTYPE_SIZE: Record<string, number> = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, I16: 2, U16: 2, F16: 2, BF16: 2,
  I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8,
};

// The Python library rejects headers above 100 MB; a larger length means a corrupt file.
const MAX_HEADER = 100_000_000;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

type Decoder = (dv: DataView, at: number, n: number, fail: (msg: string) => never) => TypedArray;

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function intDecoder(size: 1 | 2 | 4, signed: boolean): Decoder {
  return (dv, at, n, fail) => {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const p = at + i * size;
      let v: number;
      if (size === 1) v = signed ? dv.getInt8(p) : dv.getUint8(p);
      else if (size === 2) v = signed ? dv.getInt16(p, true) : dv.getUint16(p, true);
      else v = signed ? dv.getInt32(p, true) : dv.getUint32(p, true);
      if (v > 2147483647) fail(`value ${v} at element ${i} does not fit in int32`);
      out[i] = v;
    }
    return out;
  };
}

function int64Decoder(signed: boolean): Decoder {
  return (dv, at, n, fail) => {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const v = signed ? dv.getBigInt64(at + 8 * i, true) : dv.getBigUint64(at + 8 * i, true);
      if (v < -2147483648n || v > 2147483647n) fail(`value ${v} at element ${i} does not fit in int32`);
      out[i] = Number(v);
    }
    return out;
  };
}

/** Copies little-endian floats out; a plain byte copy on little-endian hosts (all mainstream ones). */
function floatDecoder(size: 4 | 8): Decoder {
  return (dv, at, n) => {
    const out = size === 4 ? new Float32Array(n) : new Float64Array(n);
    if (LITTLE_ENDIAN) {
      new Uint8Array(out.buffer).set(new Uint8Array(dv.buffer, dv.byteOffset + at, n * size));
    } else {
      for (let i = 0; i < n; i++) out[i] = size === 4 ? dv.getFloat32(at + 4 * i, true) : dv.getFloat64(at + 8 * i, true);
    }
    return out;
  };
}

const decoders: Record<string, Decoder> = {
  F32: floatDecoder(4),
  F64: floatDecoder(8),
  F16: (dv, at, n) => {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = halfToFloat(dv.getUint16(at + 2 * i, true));
    return out;
  },
  // bfloat16 is the top half of a float32, so widening is a shift.
  BF16: (dv, at, n) => {
    const bits = new Uint32Array(n);
    for (let i = 0; i < n; i++) bits[i] = dv.getUint16(at + 2 * i, true) << 16;
    return new Float32Array(bits.buffer);
  },
  BOOL: intDecoder(1, false),
  U8: intDecoder(1, false),
  I8: intDecoder(1, true),
  I16: intDecoder(2, true),
  U16: intDecoder(2, false),
  I32: intDecoder(4, true),
  U32: intDecoder(4, false),
  I64: int64Decoder(true),
  U64: int64Decoder(false),
};

interface Entry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

function isCount(x: unknown): x is number {
  return typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
}

function parseHeader(bytes: Uint8Array, fail: (msg: string) => never): { entries: Entry[]; metadata: Record<string, string>; dataStart: number } {
  if (bytes.length < 8) fail(`file is ${bytes.length} bytes, too short for the 8-byte header length`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = dv.getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER)) fail(`header length ${n64} is larger than the limit of ${MAX_HEADER} bytes (corrupt file?)`);
  const n = Number(n64);
  if (8 + n > bytes.length) fail(`header length ${n} runs past the end of the file (${bytes.length} bytes): truncated?`);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    fail("header is not valid UTF-8");
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) fail("header is not a JSON object");
  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, info] of Object.entries(json as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof info !== "object" || info === null || Array.isArray(info)) fail("__metadata__ is not an object of strings");
      for (const [k, v] of Object.entries(info as Record<string, unknown>)) {
        if (typeof v !== "string") fail(`__metadata__["${k}"] is a ${typeof v}, not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const rec = info as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    if (typeof rec !== "object" || rec === null) fail(`entry "${name}" is not an object`);
    const { dtype, shape, data_offsets: off } = rec;
    if (typeof dtype !== "string") fail(`tensor "${name}" has no dtype string`);
    if (!(dtype in DTYPE_SIZE)) fail(`tensor "${name}" has unknown dtype "${dtype}"`);
    if (!Array.isArray(shape) || !shape.every(isCount)) fail(`tensor "${name}" has an invalid shape ${JSON.stringify(shape)}`);
    if (!Array.isArray(off) || off.length !== 2 || !off.every(isCount)) {
      fail(`tensor "${name}" has invalid data_offsets ${JSON.stringify(off)}`);
    }
    entries.push({ name, dtype, shape: shape as number[], begin: off[0] as number, end: off[1] as number });
  }
  return { entries, metadata, dataStart: 8 + n };
}

/** The checks of the reference implementation: tensors tile the data section exactly, in offset order. */
function validate(entries: Entry[], dataLength: number, fail: (msg: string) => never): void {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  let prev: Entry | null = null;
  for (const e of sorted) {
    if (e.end < e.begin) fail(`tensor "${e.name}" has data_offsets [${e.begin}, ${e.end}] that end before they begin`);
    if (e.begin < at) fail(`tensor "${e.name}" at [${e.begin}, ${e.end}] overlaps "${prev!.name}" at [${prev!.begin}, ${prev!.end}]`);
    if (e.begin > at) fail(`gap in the data before tensor "${e.name}": bytes ${at}..${e.begin} belong to no tensor`);
    const want = numel(e.shape) * DTYPE_SIZE[e.dtype];
    if (e.end - e.begin !== want) {
      fail(`tensor "${e.name}" (${e.dtype}, shape [${e.shape.join(", ")}]) needs ${want} bytes but its data_offsets [${e.begin}, ${e.end}] give ${e.end - e.begin}`);
    }
    if (e.end > dataLength) {
      fail(`tensor "${e.name}" data_offsets [${e.begin}, ${e.end}] run past the end of the data section (${dataLength} bytes): truncated?`);
    }
    at = e.end;
    prev = e;
  }
  if (at !== dataLength) fail(`data section is ${dataLength} bytes but the tensors cover ${at}: ${dataLength - at} trailing bytes`);
}

/** Parses a safetensors file and its "__metadata__" map. `name` (e.g. the file path) goes into error messages. */
export function readSafetensorsWithMetadata(bytes: Uint8Array, name = "<bytes>"): SafetensorsContents {
  const fail = (msg: string): never => {
    throw new IOError(`readSafetensors(${name}): ${msg}`);
  };
  if (!(bytes instanceof Uint8Array)) fail(`expected a Uint8Array, got ${bytes === null ? "null" : typeof bytes}`);
  const { entries, metadata, dataStart } = parseHeader(bytes, fail);
  validate(entries, bytes.length - dataStart, fail);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tensors: Record<string, Tensor> = {};
  for (const e of entries) {
    const decode = decoders[e.dtype];
    if (!decode) fail(`tensor "${e.name}" has dtype ${e.dtype}, which gradlab cannot load`);
    const failIn = (msg: string): never => fail(`tensor "${e.name}" (${e.dtype}): ${msg}`);
    tensors[e.name] = new Tensor(decode(dv, dataStart + e.begin, numel(e.shape), failIn), e.shape);
  }
  return { tensors, metadata };
}

/**
 * Parses a safetensors file into tensors: F32 and F64 keep their type; BF16 and F16 widen to
 * float32; integer types become int32 (an error names any value that does not fit).
 */
export function readSafetensors(bytes: Uint8Array, name?: string): Record<string, Tensor> {
  return readSafetensorsWithMetadata(bytes, name).tensors;
}

const WRITE_DTYPE: Record<DType, string> = { float32: "F32", float64: "F64", int32: "I32" };
// Larger elements first, as the reference writer orders them, so every tensor stays aligned.
const WRITE_RANK: Record<string, number> = { F64: 0, F32: 1, I32: 2 };

/** Orders strings by Unicode code point, which is Rust's byte-wise order of UTF-8 strings. */
function codePointCompare(a: string, b: string): number {
  const x = Array.from(a);
  const y = Array.from(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i].codePointAt(0)! - y[i].codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/**
 * Serialises tensors to safetensors bytes laid out as the Python library writes them: tensors
 * sorted by element size (largest first) then name, metadata first, header padded with spaces
 * to a multiple of 8 bytes.
 */
export function writeSafetensors(dict: Record<string, Tensor>, metadata?: Record<string, string>): Uint8Array {
  const fail = (msg: string): never => {
    throw new IOError(`writeSafetensors: ${msg}`);
  };
  const items = Object.entries(dict).map(([name, t]) => {
    if (name === "__metadata__") fail(`"__metadata__" is reserved for the metadata map and cannot name a tensor`);
    if (!(t instanceof Tensor)) fail(`value of "${name}" is not a Tensor`);
    return { name, t, dtype: WRITE_DTYPE[t.dtype] };
  });
  items.sort((a, b) => WRITE_RANK[a.dtype] - WRITE_RANK[b.dtype] || codePointCompare(a.name, b.name));
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    const meta: Record<string, string> = {};
    for (const k of Object.keys(metadata).sort(codePointCompare)) {
      if (typeof metadata[k] !== "string") fail(`metadata["${k}"] must be a string, got ${typeof metadata[k]}`);
      meta[k] = metadata[k];
    }
    header.__metadata__ = meta;
  }
  let offset = 0;
  const arrays: TypedArray[] = [];
  for (const { name, t, dtype } of items) {
    const a = t.toArray();
    header[name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + a.byteLength] };
    offset += a.byteLength;
    arrays.push(a);
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded + offset);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + padded);
  let at = 8 + padded;
  for (const a of arrays) {
    if (LITTLE_ENDIAN) out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at);
    else writeLittleEndian(dv, at, a);
    at += a.byteLength;
  }
  return out;
}

function writeLittleEndian(dv: DataView, at: number, a: TypedArray): void {
  for (let i = 0; i < a.length; i++) {
    if (a instanceof Float64Array) dv.setFloat64(at + 8 * i, a[i], true);
    else if (a instanceof Float32Array) dv.setFloat32(at + 4 * i, a[i], true);
    else dv.setInt32(at + 4 * i, a[i], true);
  }
}

