/**
 * A SentencePiece unigram model (what `spm.SentencePieceProcessor` does with a .model file):
 * normalise, segment with Viterbi, merge runs of unknown characters (or spell them as <0xNN>
 * byte pieces when the model has byte fallback), and decode pieces back to text.
 */
import { GradlabError, IOError } from "../../core/errors.js";
import { Normalizer, PrefixMatcher, SPACE_SYMBOL } from "./normalizer.js";
import { type ModelProto, PieceType, type PieceTypeValue, parseModelProto } from "./proto.js";
import { UnigramModel } from "./unigram.js";

export interface SentencePieceEncoding {
  ids: number[];
  pieces: string[];
}

const BYTE_PIECE = /^<0x([0-9A-F]{2})>$/;

export class SentencePieceProcessor {
  readonly proto: ModelProto;
  readonly unkId: number;
  private readonly model: UnigramModel;
  private readonly normalizer: Normalizer;
  private readonly denormalizer: Normalizer | null;
  /** CONTROL, UNKNOWN and BYTE pieces: found by exact name, never matched inside text. */
  private readonly reserved = new Map<string, number>();
  private readonly byteIds = new Int32Array(256).fill(-1);

  constructor(proto: ModelProto, source = "SentencePiece model") {
    this.proto = proto;
    const { trainerSpec: ts } = proto;
    if (ts.modelType !== "UNIGRAM") throw new IOError(`${source}: model type ${ts.modelType} is not supported (only UNIGRAM)`);
    let unk = -1;
    const seen = new Set<string>();
    proto.pieces.forEach((p, id) => {
      if (p.piece === "") throw new IOError(`${source}: piece ${id} is empty`);
      if (seen.has(p.piece)) throw new IOError(`${source}: piece ${JSON.stringify(p.piece)} is defined twice`);
      seen.add(p.piece);
      if (p.type === PieceType.UNKNOWN) {
        if (unk >= 0) throw new IOError(`${source}: more than one unknown piece (${unk} and ${id})`);
        unk = id;
      }
      if (p.type === PieceType.CONTROL || p.type === PieceType.UNKNOWN || p.type === PieceType.BYTE) this.reserved.set(p.piece, id);
      if (p.type === PieceType.BYTE) {
        const m = BYTE_PIECE.exec(p.piece);
        if (!ts.byteFallback) throw new IOError(`${source}: byte piece ${p.piece} found although byte_fallback is off`);
        if (!m) throw new IOError(`${source}: byte piece ${JSON.stringify(p.piece)} is not of the form <0xNN>`);
        this.byteIds[parseInt(m[1], 16)] = id;
      }
    });
    if (unk < 0) throw new IOError(`${source}: the model defines no unknown piece`);
    if (ts.byteFallback && this.byteIds.includes(-1)) throw new IOError(`${source}: byte_fallback is on but not all 256 byte pieces exist`);
    this.unkId = unk;
    this.model = new UnigramModel(proto.pieces, unk);
    const userDefined = proto.pieces.filter((p) => p.type === PieceType.USER_DEFINED).map((p) => p.piece);
    this.normalizer = new Normalizer(proto.normalizerSpec, {
      treatWhitespaceAsSuffix: ts.treatWhitespaceAsSuffix,
      matcher: new PrefixMatcher(userDefined),
      source,
    });
    const den = proto.denormalizerSpec;
    this.denormalizer = den && den.precompiledCharsmap.length > 0 ? new Normalizer(den, { source }) : null;
  }

  /** Parses a serialized ModelProto (the bytes of a spiece.model file). */
  static fromBytes(bytes: Uint8Array, source = "SentencePiece model"): SentencePieceProcessor {
    if (!(bytes instanceof Uint8Array)) throw new GradlabError(`SentencePieceProcessor.fromBytes: expected a Uint8Array, got ${typeof bytes}`);
    return new SentencePieceProcessor(parseModelProto(bytes, source), source);
  }

  get pieceSize(): number {
    return this.proto.pieces.length;
  }

  private checkId(op: string, id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.pieceSize) {
      throw new GradlabError(`SentencePieceProcessor.${op}: id ${id} is out of range [0, ${this.pieceSize})`);
    }
  }

  idToPiece(id: number): string {
    this.checkId("idToPiece", id);
    return this.proto.pieces[id].piece;
  }

  /** The piece's id, or the unknown id for a string that is not a piece. */
  pieceToId(piece: string): number {
    const r = this.reserved.get(piece);
    if (r !== undefined) return r;
    const id = this.model.lookup(new TextEncoder().encode(piece));
    return id >= 0 ? id : this.unkId;
  }

  score(id: number): number {
    this.checkId("score", id);
    return this.proto.pieces[id].score;
  }

  type(id: number): PieceTypeValue {
    this.checkId("type", id);
    return this.proto.pieces[id].type;
  }

  isControl(id: number): boolean {
    return this.type(id) === PieceType.CONTROL;
  }

  isUnknown(id: number): boolean {
    return this.type(id) === PieceType.UNKNOWN;
  }

  isByte(id: number): boolean {
    return this.type(id) === PieceType.BYTE;
  }

  normalize(text: string): string {
    return this.normalizer.normalize(text);
  }

  /** Pieces and ids of `text`, exactly as SentencePiece's Encode (no bos/eos). */
  encode(text: string): SentencePieceEncoding {
    if (typeof text !== "string") throw new GradlabError(`SentencePieceProcessor.encode: text must be a string, got ${typeof text}`);
    const normalized = this.normalizer.normalizeBytes(new TextEncoder().encode(text));
    const dec = new TextDecoder();
    const ids: number[] = [];
    const pieces: string[] = [];
    let prevUnk = false;
    for (const seg of this.model.encode(normalized)) {
      const bytes = normalized.subarray(seg.start, seg.end);
      const isUnk = seg.id === this.unkId;
      if (isUnk && this.proto.trainerSpec.byteFallback) {
        for (const b of bytes) {
          ids.push(this.byteIds[b]);
          pieces.push(this.proto.pieces[this.byteIds[b]].piece);
        }
      } else if (isUnk && prevUnk) {
        // A run of unknown characters is one unknown piece, so decoding can copy it whole.
        pieces[pieces.length - 1] += dec.decode(bytes);
      } else {
        ids.push(seg.id);
        pieces.push(dec.decode(bytes));
      }
      prevUnk = isUnk;
    }
    return { ids, pieces };
  }

  encodeAsIds(text: string): number[] {
    return this.encode(text).ids;
  }

  encodeAsPieces(text: string): string[] {
    return this.encode(text).pieces;
  }

  /** Text of a sequence of ids, as SentencePiece's Decode. */
  decode(ids: readonly number[]): string {
    for (const id of ids) this.checkId("decode", id);
    return this.decodePieces(ids.map((id) => this.proto.pieces[id].piece));
  }

  /**
   * Text of a sequence of pieces: control pieces vanish, <unk> prints as the unknown surface,
   * byte pieces are reassembled into UTF-8 (U+FFFD where malformed), "▁" becomes a space, and
   * the dummy-prefix space (every leading space, when extra whitespace is removed) is dropped.
   */
  decodePieces(pieces: readonly string[]): string {
    const { normalizerSpec: ns, trainerSpec: ts } = this.proto;
    let text = "";
    let bytes: number[] = [];
    let isBosWs = true;
    let bosWsSeen = false;
    const flushBytes = () => {
      if (bytes.length) text += new TextDecoder().decode(Uint8Array.from(bytes));
      bytes = [];
    };
    for (const piece of pieces) {
      const id = this.pieceToId(piece);
      const type = this.proto.pieces[id].type;
      if (type === PieceType.BYTE) {
        bytes.push(parseInt(BYTE_PIECE.exec(this.proto.pieces[id].piece)![1], 16));
        continue;
      }
      flushBytes();
      if (bosWsSeen || text !== "") isBosWs = false;
      bosWsSeen = false;
      if (type === PieceType.CONTROL) continue;
      if (type === PieceType.UNKNOWN) {
        text += piece === this.proto.pieces[id].piece ? ts.unkSurface : piece;
        continue;
      }
      let w = piece;
      if (isBosWs && (ns.addDummyPrefix || ns.removeExtraWhitespaces) && w.startsWith(SPACE_SYMBOL)) {
        w = w.slice(SPACE_SYMBOL.length);
        // With extra whitespace removed, every leading space is dropped, not only the first.
        bosWsSeen = !ns.removeExtraWhitespaces;
      }
      text += w.replaceAll(SPACE_SYMBOL, " ");
    }
    flushBytes();
    return this.denormalizer ? this.denormalizer.normalize(text) : text;
  }
}
