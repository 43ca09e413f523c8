import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import * as gl from "../../src/index.js";
import { SentencePieceProcessor } from "../../src/data/sentencepiece/processor.js";
import { encodeModelProto, PieceType, type SentencePiece } from "../../src/data/sentencepiece/proto.js";
import { DoubleArray } from "../../src/data/sentencepiece/darts.js";

const DIR = "test/fixtures/tokenizer/unigram-320";
const bytes = new Uint8Array(readFileSync(`${DIR}/spiece.model`));
const fixture = JSON.parse(readFileSync(`${DIR}/encodings.json`, "utf8")) as {
  sp_vocab_size: number;
  t5_vocab_size: number;
  cases: {
    text: string;
    sp_ids: number[];
    sp_pieces: string[];
    sp_decoded: string;
    t5_ids: number[];
    t5_decoded: string;
    t5_decoded_skip_special: string;
  }[];
};
const tok = gl.t5.T5Tokenizer.fromBytes(bytes);

describe("SentencePiece unigram model (unigram-320 fixture)", () => {
  it("reads the ModelProto: pieces, scores, types, specs", () => {
    const sp = tok.sp;
    assert.equal(sp.pieceSize, fixture.sp_vocab_size);
    assert.deepEqual([sp.idToPiece(0), sp.idToPiece(1), sp.idToPiece(2), sp.idToPiece(3)], ["<pad>", "</s>", "<unk>", "\u2581"]);
    assert.ok(sp.isControl(0) && sp.isControl(1) && sp.isUnknown(2) && !sp.isControl(3));
    // Scores are float32 values, read exactly (spiece.vocab prints them rounded).
    assert.equal(Math.fround(sp.score(3)), sp.score(3));
    assert.ok(Math.abs(sp.score(3) - -1.88836) < 1e-5);
    assert.equal(sp.proto.normalizerSpec.name, "nmt_nfkc");
    assert.ok(sp.proto.normalizerSpec.precompiledCharsmap.length > 1000);
    assert.equal(sp.proto.trainerSpec.modelType, "UNIGRAM");
    assert.equal(sp.pieceToId("\u2581the"), 9);
    assert.equal(sp.pieceToId("no such piece"), 2);
  });

  for (const c of fixture.cases) {
    it(`encodes and decodes ${JSON.stringify(c.text)} as SentencePiece does`, () => {
      const e = tok.sp.encode(c.text);
      assert.deepEqual(e.ids, c.sp_ids);
      assert.deepEqual(e.pieces, c.sp_pieces);
      assert.equal(tok.sp.decode(c.sp_ids), c.sp_decoded);
    });
  }

  it("normalises with nmt_nfkc's precompiled map (the Darts trie) like Unicode NFKC", () => {
    const samples = ["ﬁ", "ＡＢＣ１２３", "½", "㎏", "Ⅻ", "①", "ｶ", "Å", "ﬀ", "™", "x²"];
    for (const s of samples) assert.equal(tok.sp.normalize(s), "\u2581" + s.normalize("NFKC").replaceAll(" ", "\u2581"), s);
    // nmt_nfkc's extras: tabs and newlines are spaces, and runs of spaces collapse.
    assert.equal(tok.sp.normalize(" a\t\tb\nc  "), "\u2581a\u2581b\u2581c");
    assert.equal(tok.sp.normalize("   "), "");
  });
});

describe("T5Tokenizer (transformers 5.x semantics)", () => {
  it("has 100 sentinels at the top of the vocabulary", () => {
    assert.equal(tok.vocabSize, fixture.t5_vocab_size);
    assert.equal(tok.tokenToId("<extra_id_0>"), fixture.t5_vocab_size - 1);
    assert.equal(tok.sentinelId(99), fixture.sp_vocab_size);
    assert.equal(tok.idToToken(fixture.sp_vocab_size), "<extra_id_99>");
    assert.deepEqual([tok.padTokenId, tok.eosTokenId, tok.unkTokenId], [0, 1, 2]);
  });

  for (const c of fixture.cases) {
    it(`matches HF on ${JSON.stringify(c.text)}`, () => {
      assert.deepEqual(tok.encode(c.text), c.t5_ids);
      assert.equal(tok.decode(c.t5_ids), c.t5_decoded);
      assert.equal(tok.decode(c.t5_ids, { skipSpecialTokens: true }), c.t5_decoded_skip_special);
    });
  }

  it("pads a batch on the right with an attention mask", () => {
    const b = tok.encodeBatch(["The house", "a"]);
    const n0 = tok.encode("The house").length;
    assert.deepEqual(b.inputIds.shape, [2, n0]);
    assert.deepEqual(Array.from(b.attentionMask.toArray()).slice(n0), [1, 1, ...Array(n0 - 2).fill(0)]);
    assert.deepEqual(tok.batchDecode(b.inputIds, { skipSpecialTokens: true }), ["The house", "a"]);
    const cut = tok.encodeBatch(["The house is wonderful"], { maxLength: 4 });
    assert.equal(cut.inputIds.toArray()[3], tok.eosTokenId);
  });

  it("reads spiece.model from a file or its directory (Node)", async () => {
    const a = await gl.t5.T5Tokenizer.fromFile(`${DIR}/spiece.model`);
    const b = await gl.t5.T5Tokenizer.fromFile(DIR);
    assert.deepEqual(a.encode("The house"), tok.encode("The house"));
    assert.deepEqual(b.encode("The house"), tok.encode("The house"));
  });

  it("rejects bad files and bad ids with errors that name them", async () => {
    await assert.rejects(gl.t5.T5Tokenizer.fromFile("test/fixtures/tokenizer/missing/spiece.model"), (e: Error) => e instanceof gl.IOError && /missing\/spiece\.model: file not found/.test(e.message));
    const corrupt = bytes.slice(0, 1000);
    assert.throws(() => gl.t5.T5Tokenizer.fromBytes(corrupt, { source: "x/spiece.model" }), (e: Error) => e instanceof gl.IOError && /x\/spiece\.model: not a SentencePiece ModelProto/.test(e.message));
    assert.throws(() => gl.t5.T5Tokenizer.fromBytes(new TextEncoder().encode('{"json": true}')), /spiece\.model: not a SentencePiece ModelProto/);
    assert.throws(() => tok.decode([5, 420]), /token id 420 is out of range \[0, 420\)/);
    assert.throws(() => tok.decode([-1]), /token id -1 is out of range/);
    assert.throws(() => tok.sp.decode([320]), /id 320 is out of range \[0, 320\)/);
  });
});

/** A tiny model built in code: every ASCII letter, a few words, optional byte pieces. */
function tinyModel(opts: { byteFallback?: boolean; userDefined?: string[] } = {}): SentencePieceProcessor {
  const pieces: SentencePiece[] = [
    { piece: "<pad>", score: 0, type: PieceType.CONTROL },
    { piece: "</s>", score: 0, type: PieceType.CONTROL },
    { piece: "<unk>", score: 0, type: PieceType.UNKNOWN },
  ];
  for (const u of opts.userDefined ?? []) pieces.push({ piece: u, score: 0, type: PieceType.USER_DEFINED });
  if (opts.byteFallback) for (let b = 0; b < 256; b++) pieces.push({ piece: `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`, score: 0, type: PieceType.BYTE });
  pieces.push({ piece: "\u2581", score: -2, type: PieceType.NORMAL });
  for (const ch of "abcdefghijklmnopqrstuvwxyz") pieces.push({ piece: ch, score: -3, type: PieceType.NORMAL });
  pieces.push({ piece: "\u2581ab", score: -4, type: PieceType.NORMAL });
  pieces.push({ piece: "ab", score: -3.5, type: PieceType.NORMAL });
  pieces.push({ piece: "abc", score: -6.9, type: PieceType.NORMAL });
  pieces.push({ piece: "bc", score: -4, type: PieceType.UNUSED });
  return SentencePieceProcessor.fromBytes(
    encodeModelProto({ pieces, trainerSpec: { unkId: 2, byteFallback: opts.byteFallback ?? false, modelType: "UNIGRAM" } }),
  );
}

describe("SentencePiece on models built in code", () => {
  it("finds the best-scoring segmentation (Viterbi), skipping unused pieces", () => {
    const sp = tinyModel();
    // "▁ab"+"c" = -4-3 = -7 beats "▁"+"abc" = -2-6.9 = -8.9 and "▁"+"ab"+"c" = -8.5.
    assert.deepEqual(sp.encode("abc").pieces, ["\u2581ab", "c"]);
    // Without a dummy prefix match: "xab" → ▁ x ab (-2-3-3.5) beats ▁ x a b (-11).
    assert.deepEqual(sp.encode("xab").pieces, ["\u2581", "x", "ab"]);
    // "bc" is UNUSED, so b + c.
    assert.deepEqual(sp.encode("x bc").pieces, ["\u2581", "x", "\u2581", "b", "c"]);
  });

  it("merges runs of unknown characters into one <unk> and decodes them as ⁇", () => {
    const sp = tinyModel();
    const e = sp.encode("aÉÎb");
    assert.deepEqual(e.pieces, ["\u2581", "a", "ÉÎ", "b"]);
    assert.deepEqual(e.ids, [sp.pieceToId("\u2581"), sp.pieceToId("a"), 2, sp.pieceToId("b")]);
    assert.equal(sp.decode(e.ids), "a \u2047 b");
    assert.equal(sp.decodePieces(e.pieces), "aÉÎb");
  });

  it("spells unknown characters as UTF-8 byte pieces with byte fallback, and decodes them back", () => {
    const sp = tinyModel({ byteFallback: true });
    const e = sp.encode("aé🙂");
    assert.deepEqual(e.pieces, ["\u2581", "a", "<0xC3>", "<0xA9>", "<0xF0>", "<0x9F>", "<0x99>", "<0x82>"]);
    assert.equal(sp.decode(e.ids), "aé🙂");
    // A lone continuation byte is malformed: U+FFFD.
    assert.equal(sp.decodePieces(["a", "<0xA9>"]), "a\ufffd");
  });

  it("keeps user-defined symbols whole, with a bonus that beats any other path", () => {
    const sp = tinyModel({ userDefined: ["<sep>"] });
    assert.deepEqual(sp.encode("ab<sep>ab").pieces, ["\u2581ab", "<sep>", "ab"]);
  });

  it("rejects models that SentencePiece rejects", () => {
    const base = [{ piece: "\u2581", score: -1, type: PieceType.NORMAL }];
    assert.throws(() => SentencePieceProcessor.fromBytes(encodeModelProto({ pieces: base }), "m.model"), /m\.model: the model defines no unknown piece/);
    const dup = [{ piece: "<unk>", score: 0, type: PieceType.UNKNOWN }, ...base, ...base];
    assert.throws(() => SentencePieceProcessor.fromBytes(encodeModelProto({ pieces: dup }), "m.model"), /defined twice/);
    const bpe = encodeModelProto({ pieces: [{ piece: "<unk>", score: 0, type: PieceType.UNKNOWN }], trainerSpec: { modelType: "BPE" } });
    assert.throws(() => SentencePieceProcessor.fromBytes(bpe, "m.model"), /model type BPE is not supported/);
  });

  it("double-array trie: a corrupt unit array is refused, lookups in the real one work", () => {
    assert.throws(() => new DoubleArray(new Uint8Array(6), "t"), /multiple of 4 bytes/);
    const blob = tok.sp.proto.normalizerSpec.precompiledCharsmap;
    const size = new DataView(blob.buffer, blob.byteOffset, 4).getUint32(0, true);
    const trie = new DoubleArray(blob.subarray(4, 4 + size));
    const key = new TextEncoder().encode("ﬁx");
    const m = trie.commonPrefixSearch(key);
    assert.equal(m.length, 1);
    assert.equal(m[0].length, 3);
    assert.equal(trie.exactMatch(new TextEncoder().encode("a")), -1);
  });
});
