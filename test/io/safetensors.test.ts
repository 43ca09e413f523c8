import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import * as gl from "../../src/index.js";
import { assertClose } from "../helpers/gradcheck.js";

const FIXTURES = "test/fixtures/rnn";

/** A safetensors file from a header (object or raw text) and data bytes; lenOverride fakes the length field. */
function build(header: object | string, data: Uint8Array = new Uint8Array(0), lenOverride?: bigint): Uint8Array {
  const json = new TextEncoder().encode(typeof header === "string" ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lenOverride ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

function headerOf(bytes: Uint8Array): { n: number; text: string } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { n, text: new TextDecoder().decode(bytes.subarray(8, 8 + n)) };
}

test("every dtype round-trips exactly, with shapes 0-d, empty and n-d", () => {
  const dict: Record<string, gl.Tensor> = {
    f32: gl.tensor([1.5, -0, NaN, Infinity, -Infinity, 3.4e38, 1e-45], { dtype: "float32" }),
    f64: gl.tensor([[Math.PI, -1e-300], [Number.MAX_VALUE, NaN]], { dtype: "float64" }),
    i32: gl.tensor([2147483647, -2147483648, 0, 7], { dtype: "int32", shape: [2, 1, 2] }),
    scalar: gl.tensor(42, { dtype: "float64" }),
    empty: gl.zeros([0, 3], { dtype: "float32" }),
  };
  const back = gl.io.readSafetensors(gl.io.writeSafetensors(dict));
  assert.deepEqual(Object.keys(back).sort(), Object.keys(dict).sort());
  for (const [k, t] of Object.entries(dict)) {
    assert.equal(back[k].dtype, t.dtype, k);
    assert.deepEqual(back[k].shape, t.shape, k);
    // Byte equality also distinguishes -0 from 0 and keeps NaN payloads.
    assert.deepEqual(bytesOf(back[k].toArray()), bytesOf(t.toArray()), k);
  }
});

test("non-contiguous tensors are written in row-major order", () => {
  const t = gl.arange(6, undefined, 1, { dtype: "float32" }).reshape(2, 3).t();
  const back = gl.io.readSafetensors(gl.io.writeSafetensors({ t }));
  assert.deepEqual(Array.from(back.t.toArray()), [0, 3, 1, 4, 2, 5]);
  assert.deepEqual(back.t.shape, [3, 2]);
});

test("the writer matches the Python library's bytes (reference test vectors)", () => {
  // safetensors' own serialisation test: one F32 tensor "attn.0" of shape [1, 2, 3] holding 0..5.
  const out = gl.io.writeSafetensors({ "attn.0": gl.tensor([[[0, 1, 2], [3, 4, 5]]], { dtype: "float32" }) });
  const header = '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}';
  assert.equal(header.length, 64);
  const want = build(header, bytesOf(new Float32Array([0, 1, 2, 3, 4, 5])));
  assert.deepEqual(out, want);
  // An empty dict with metadata: header padded with spaces to a multiple of 8.
  const meta = gl.io.writeSafetensors({}, { framework: "pt" });
  assert.deepEqual(meta, build('{"__metadata__":{"framework":"pt"}}     '));
  assert.deepEqual(gl.io.writeSafetensors({}), build("{}      "));
});

test("tensors are laid out by element size (F64, F32, I32) then by name, metadata first and sorted", () => {
  const out = gl.io.writeSafetensors(
    {
      b_i: gl.tensor([1], { dtype: "int32" }),
      a_i: gl.tensor([1, 2], { dtype: "int32" }),
      z_f: gl.tensor([1], { dtype: "float32" }),
      y_d: gl.tensor([1], { dtype: "float64" }),
      B: gl.tensor([1], { dtype: "float32" }),
      "é": gl.tensor([1], { dtype: "float32" }),
    },
    { z: "1", a: "2" },
  );
  const { n, text } = headerOf(out);
  assert.equal(n % 8, 0);
  assert.equal((8 + n) % 8, 0);
  assert.match(text, / *$/);
  const keys = Object.keys(JSON.parse(text));
  assert.deepEqual(keys, ["__metadata__", "y_d", "B", "z_f", "é", "a_i", "b_i"]);
  assert.deepEqual(Object.keys(JSON.parse(text).__metadata__), ["a", "z"]);
  const parsed = JSON.parse(text);
  assert.deepEqual(parsed.y_d.data_offsets, [0, 8]);
  assert.deepEqual(parsed.a_i.data_offsets, [20, 28]);
  const { tensors, metadata } = gl.io.readSafetensorsWithMetadata(out);
  assert.deepEqual(metadata, { a: "2", z: "1" });
  assert.deepEqual(Array.from(tensors.a_i.toArray()), [1, 2]);
});

test("every PyTorch-written rnn fixture reads back, reproduces its loss and re-serialises byte for byte", () => {
  const names = readdirSync(FIXTURES).filter((f) => f.endsWith(".safetensors"));
  assert.equal(names.length, 7);
  for (const file of names) {
    const bytes = new Uint8Array(readFileSync(`${FIXTURES}/${file}`));
    const info = JSON.parse(readFileSync(`${FIXTURES}/${file.replace(".safetensors", ".json")}`, "utf8"));
    const { tensors, metadata } = gl.io.readSafetensorsWithMetadata(bytes, file);
    assert.deepEqual(metadata, {});
    for (const t of Object.values(tensors)) assert.equal(t.dtype, "float64", file);
    assert.deepEqual(tensors.x.shape, [info.T, info.B, info.I], file);
    const dirs = info.bidirectional ? 2 : 1;
    assert.deepEqual(tensors.h_n.shape, [info.layers * dirs, info.B, info.proj_size || info.H], file);
    // The stored loss is sum(y*R_y) + sum(h_n*R_h) [+ sum(c_n*R_c)]: recomputing it checks every decoded value used.
    let loss = tensors.y.mul(tensors.R_y).sum().item() + tensors.h_n.mul(tensors.R_h).sum().item();
    if (tensors.c_n) loss += tensors.c_n.mul(tensors.R_c).sum().item();
    assertClose([loss], [info.loss], 1e-12, 1e-12, `${file} loss`);
    assert.deepEqual(gl.io.writeSafetensors(tensors), bytes, `${file} re-serialised`);
  }
});

test("BF16, F16 and I64 (and the small integer types) are widened on read", () => {
  const bf16 = new Uint16Array([0x3f80, 0xc040, 0x7f80, 0x0001, 0x7fc0]); // 1, -3, inf, tiny subnormal, NaN
  const f16 = new Uint16Array([0x3c00, 0xc000, 0x7bff, 0x0001, 0x0400, 0xfc00, 0x7e00, 0x8000, 0x3555]);
  const i64 = new BigInt64Array([0n, -1n, 2147483647n, -2147483648n]);
  const u8 = new Uint8Array([0, 255, 1, 7]);
  const data = new Uint8Array([...bytesOf(i64), ...bytesOf(bf16), ...bytesOf(f16), ...u8]);
  const file = build(
    {
      __metadata__: { format: "pt" },
      i: { dtype: "I64", shape: [2, 2], data_offsets: [0, 32] },
      b: { dtype: "BF16", shape: [5], data_offsets: [32, 42] },
      h: { dtype: "F16", shape: [9], data_offsets: [42, 60] },
      u: { dtype: "U8", shape: [2, 2], data_offsets: [60, 64] },
    },
    data,
  );
  const t = gl.io.readSafetensors(file);
  assert.equal(t.i.dtype, "int32");
  assert.deepEqual(Array.from(t.i.toArray()), [0, -1, 2147483647, -2147483648]);
  assert.equal(t.b.dtype, "float32");
  const b = Array.from(t.b.toArray());
  assert.deepEqual(b.slice(0, 3), [1, -3, Infinity]);
  assert.equal(b[3], new Float32Array(new Uint32Array([0x00010000]).buffer)[0]);
  assert.ok(Number.isNaN(b[4]));
  assert.equal(t.h.dtype, "float32");
  const h = Array.from(t.h.toArray());
  assert.deepEqual(h.slice(0, 6), [1, -2, 65504, 2 ** -24, 2 ** -14, -Infinity]);
  assert.ok(Number.isNaN(h[6]));
  assert.ok(Object.is(h[7], -0));
  assert.equal(h[8], Math.fround(0.333251953125));
  assert.deepEqual(Array.from(t.u.toArray()), [0, 255, 1, 7]);
  assert.equal(t.u.dtype, "int32");
});

function throwsIO(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(
    () => gl.io.readSafetensors(bytes, "model.safetensors"),
    (e: unknown) => {
      assert.ok(e instanceof gl.IOError, `expected IOError, got ${e}`);
      assert.match(e.message, /^readSafetensors\(model\.safetensors\): /);
      assert.match(e.message, pattern);
      return true;
    },
  );
}

const f64 = (n: number) => bytesOf(new Float64Array(n));

test("malformed files give an IOError that names the file and the problem", () => {
  const good = { a: { dtype: "F64", shape: [2], data_offsets: [0, 16] } };
  throwsIO(new Uint8Array(5), /5 bytes, too short/);
  throwsIO(build(good, f64(2), 1000n), /header length 1000 runs past the end.*truncated/);
  throwsIO(build(good, f64(2), 1n << 40n), /larger than the limit/);
  const badUtf8 = build("{}");
  badUtf8[9] = 0xff;
  throwsIO(badUtf8, /not valid UTF-8/);
  throwsIO(build('{"a": {"dtype": "F64",'), /not valid JSON/);
  throwsIO(build("[1, 2]"), /not a JSON object/);
  throwsIO(build({ a: { dtype: "Q4", shape: [2], data_offsets: [0, 16] } }, f64(2)), /"a" has unknown dtype "Q4"/);
  throwsIO(build({ a: { dtype: "F8_E4M3", shape: [2], data_offsets: [0, 2] } }, new Uint8Array(2)), /"a" has dtype F8_E4M3, which gradlab cannot load/);
  throwsIO(build({ a: { dtype: "F64", shape: [2, -1], data_offsets: [0, 16] } }, f64(2)), /"a" has an invalid shape \[2,-1\]/);
  throwsIO(build({ a: { dtype: "F64", shape: [2], data_offsets: [0] } }, f64(2)), /"a" has invalid data_offsets \[0\]/);
  throwsIO(build({ a: { dtype: "F64", shape: [2] } }, f64(2)), /"a" has invalid data_offsets undefined/);
  throwsIO(build({ a: { dtype: "F64", shape: [3], data_offsets: [0, 16] } }, f64(2)), /"a" \(F64, shape \[3\]\) needs 24 bytes but its data_offsets \[0, 16\] give 16/);
  throwsIO(build({ a: { dtype: "F64", shape: [2], data_offsets: [16, 0] } }, f64(2)), /end before they begin/);
  throwsIO(build({ a: { dtype: "F64", shape: [2], data_offsets: [0, 16] } }, f64(1)), /run past the end of the data section \(8 bytes\): truncated/);
  throwsIO(build({ a: { dtype: "F64", shape: [2], data_offsets: [0, 16] } }, f64(3)), /8 trailing bytes/);
  throwsIO(
    build({ a: { dtype: "F64", shape: [2], data_offsets: [0, 16] }, b: { dtype: "F64", shape: [1], data_offsets: [8, 16] } }, f64(2)),
    /"b" at \[8, 16\] overlaps "a" at \[0, 16\]/,
  );
  throwsIO(build({ a: { dtype: "F64", shape: [1], data_offsets: [8, 16] } }, f64(2)), /gap in the data before tensor "a"/);
  throwsIO(build({ __metadata__: { n: 3 } }), /__metadata__\["n"\] is a number, not a string/);
  throwsIO(build({ a: 3 }), /entry "a" is not an object/);
  throwsIO(build({ a: { dtype: "I64", shape: [1], data_offsets: [0, 8] } }, bytesOf(new BigInt64Array([1n << 40n]))), /"a" \(I64\): value 1099511627776 at element 0 does not fit in int32/);
  throwsIO(build({ a: { dtype: "U32", shape: [1], data_offsets: [0, 4] } }, bytesOf(new Uint32Array([3e9]))), /value 3000000000 .* does not fit in int32/);
  // A real file cut short by one byte is caught too.
  const real = new Uint8Array(readFileSync(`${FIXTURES}/gru_packed.safetensors`));
  throwsIO(real.subarray(0, real.length - 1), /truncated/);
});

test("a file read from an unaligned view of a larger buffer decodes the same", () => {
  const bytes = gl.io.writeSafetensors({ a: gl.tensor([1.25, -2.5], { dtype: "float64" }), b: gl.tensor([3], { dtype: "int32" }) });
  const big = new Uint8Array(bytes.length + 3);
  big.set(bytes, 3);
  const t = gl.io.readSafetensors(big.subarray(3));
  assert.deepEqual(Array.from(t.a.toArray()), [1.25, -2.5]);
  assert.deepEqual(Array.from(t.b.toArray()), [3]);
});

test("the writer rejects a tensor named __metadata__ and non-string metadata", () => {
  const x = gl.tensor([1]);
  assert.throws(() => gl.io.writeSafetensors({ __metadata__: x }), (e: unknown) => e instanceof gl.IOError && /reserved/.test(e.message));
  assert.throws(
    () => gl.io.writeSafetensors({ x }, { step: 3 as unknown as string }),
    (e: unknown) => e instanceof gl.IOError && /metadata\["step"\] must be a string, got number/.test(e.message),
  );
  assert.throws(() => gl.io.writeSafetensors({ x: [1, 2] as unknown as gl.Tensor }), /value of "x" is not a Tensor/);
});
