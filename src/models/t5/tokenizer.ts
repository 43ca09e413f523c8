/**
 * Hugging Face's T5Tokenizer (transformers 5.x) on a SentencePiece unigram model: the pieces keep
 * their ids, and `extraIds` sentinels follow, <extra_id_0> at the very top (vocabSize − 1),
 * <extra_id_1> below it, and so on. Special tokens written in the text (<extra_id_N>, </s>,
 * <unk>, <pad>) are matched first; the text between them is encoded by SentencePiece on its own;
 * </s> is appended. Decoding joins the tokens and turns "▁" into spaces, dropping it in the first
 * token, as the tokenizers library's Metaspace decoder does.
 */
import { GradlabError } from "../../core/errors.js";
import { SentencePieceProcessor } from "../../data/sentencepiece/processor.js";
import { SPACE_SYMBOL } from "../../data/sentencepiece/normalizer.js";
import { Tensor } from "../../tensor/tensor.js";
import { loadNodeFiles } from "./files.js";

export interface T5TokenizerOptions {
  /** Number of <extra_id_N> sentinels (default 100). */
  extraIds?: number;
}

export interface BatchEncoding {
  /** int32 [batch, length], right-padded with the pad id. */
  inputIds: Tensor;
  /** int32 [batch, length]: 1 on tokens, 0 on padding. */
  attentionMask: Tensor;
}

const SENTINEL = /^<extra_id_(\d+)>$/;

export class T5Tokenizer {
  readonly sp: SentencePieceProcessor;
  readonly extraIds: number;
  readonly padTokenId: number;
  readonly eosTokenId: number;
  readonly unkTokenId: number;
  private readonly specialPattern: RegExp;
  private readonly specialIds: Set<number>;

  constructor(sp: SentencePieceProcessor, opts: T5TokenizerOptions = {}) {
    const extraIds = opts.extraIds ?? 100;
    if (!Number.isInteger(extraIds) || extraIds < 0) throw new GradlabError(`T5Tokenizer: extraIds must be an integer >= 0, got ${extraIds}`);
    this.sp = sp;
    this.extraIds = extraIds;
    this.padTokenId = this.requirePiece("<pad>");
    this.eosTokenId = this.requirePiece("</s>");
    this.unkTokenId = sp.unkId;
    const special = ["<pad>", "</s>", "<unk>", ...Array.from({ length: extraIds }, (_, i) => `<extra_id_${i}>`)];
    // Longest first, so that <extra_id_10> wins over a shorter token at the same position.
    const alternatives = special.sort((a, b) => b.length - a.length).map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
    this.specialPattern = new RegExp(alternatives.join("|"), "g");
    this.specialIds = new Set(special.map((s) => this.tokenToId(s)));
  }

  private requirePiece(piece: string): number {
    const id = this.sp.pieceToId(piece);
    if (id === this.sp.unkId && piece !== "<unk>") throw new GradlabError(`T5Tokenizer: the SentencePiece model has no ${piece} piece`);
    return id;
  }

  static fromBytes(bytes: Uint8Array, opts: T5TokenizerOptions & { source?: string } = {}): T5Tokenizer {
    return new T5Tokenizer(SentencePieceProcessor.fromBytes(bytes, opts.source ?? "spiece.model"), opts);
  }

  /** Reads a spiece.model file, or the spiece.model inside a directory (Node). */
  static async fromFile(path: string, opts: T5TokenizerOptions = {}): Promise<T5Tokenizer> {
    const files = await loadNodeFiles("T5Tokenizer.fromFile");
    const file = (await files.isDirectory(path)) ? `${path.replace(/[\\/]+$/, "")}/spiece.model` : path;
    return T5Tokenizer.fromBytes(await files.readBytes(file), { ...opts, source: file });
  }

  /** SentencePiece pieces plus the sentinels. */
  get vocabSize(): number {
    return this.sp.pieceSize + this.extraIds;
  }

  /** Id of <extra_id_n>. */
  sentinelId(n: number): number {
    if (!Number.isInteger(n) || n < 0 || n >= this.extraIds) throw new GradlabError(`T5Tokenizer.sentinelId: n must be in [0, ${this.extraIds}), got ${n}`);
    return this.vocabSize - 1 - n;
  }

  isSpecial(id: number): boolean {
    return this.specialIds.has(id);
  }

  tokenToId(token: string): number {
    const m = SENTINEL.exec(token);
    if (m && Number(m[1]) < this.extraIds) return this.vocabSize - 1 - Number(m[1]);
    return this.sp.pieceToId(token);
  }

  idToToken(id: number): string {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new GradlabError(`T5Tokenizer: token id ${id} is out of range [0, ${this.vocabSize})`);
    }
    return id < this.sp.pieceSize ? this.sp.idToPiece(id) : `<extra_id_${this.vocabSize - 1 - id}>`;
  }

  /** Tokens (pieces and special tokens) and their ids, without </s>. */
  private split(text: string): { tokens: string[]; ids: number[] } {
    if (typeof text !== "string") throw new GradlabError(`T5Tokenizer: text must be a string, got ${typeof text}`);
    const tokens: string[] = [];
    const ids: number[] = [];
    const plain = (s: string) => {
      const e = this.sp.encode(s);
      for (let i = 0; i < e.ids.length; i++) {
        tokens.push(e.pieces[i]);
        ids.push(e.ids[i]);
      }
    };
    let at = 0;
    for (const m of text.matchAll(this.specialPattern)) {
      plain(text.slice(at, m.index));
      tokens.push(m[0]);
      ids.push(this.tokenToId(m[0]));
      at = m.index + m[0].length;
    }
    plain(text.slice(at));
    return { tokens, ids };
  }

  tokenize(text: string): string[] {
    return this.split(text).tokens;
  }

  /** Token ids of `text`, followed by </s> unless addEos is false. */
  encode(text: string, opts: { addEos?: boolean } = {}): number[] {
    const { ids } = this.split(text);
    if (opts.addEos ?? true) ids.push(this.eosTokenId);
    return ids;
  }

  /** Several texts as one right-padded int32 batch (truncated to maxLength, keeping </s> last). */
  encodeBatch(texts: readonly string[], opts: { maxLength?: number; addEos?: boolean } = {}): BatchEncoding {
    const rows = texts.map((t) => this.encode(t, opts));
    if (opts.maxLength !== undefined) {
      const L = opts.maxLength;
      if (!Number.isInteger(L) || L < 1) throw new GradlabError(`T5Tokenizer.encodeBatch: maxLength must be a positive integer, got ${L}`);
      for (let i = 0; i < rows.length; i++) {
        if (rows[i].length > L) rows[i] = (opts.addEos ?? true) ? [...rows[i].slice(0, L - 1), this.eosTokenId] : rows[i].slice(0, L);
      }
    }
    const T = Math.max(1, ...rows.map((r) => r.length));
    const ids = new Int32Array(rows.length * T).fill(this.padTokenId);
    const mask = new Int32Array(rows.length * T);
    rows.forEach((r, i) => {
      ids.set(r, i * T);
      mask.fill(1, i * T, i * T + r.length);
    });
    return { inputIds: new Tensor(ids, [rows.length, T]), attentionMask: new Tensor(mask, [rows.length, T]) };
  }

  /** Text of ids, as transformers' T5Tokenizer.decode (special tokens kept unless skipped). */
  decode(ids: ArrayLike<number> | Tensor, opts: { skipSpecialTokens?: boolean } = {}): string {
    const list = ids instanceof Tensor ? Array.from(ids.toArray()) : Array.from(ids);
    const tokens: string[] = [];
    for (const id of list) {
      const tok = this.idToToken(id);
      if (opts.skipSpecialTokens && this.specialIds.has(id)) continue;
      tokens.push(tok);
    }
    return tokens.map((t, i) => (i === 0 ? t.replaceAll(SPACE_SYMBOL, "") : t.replaceAll(SPACE_SYMBOL, " "))).join("");
  }

  /** One string per row of a [batch, length] tensor or array of id lists. */
  batchDecode(rows: Tensor | readonly ArrayLike<number>[], opts: { skipSpecialTokens?: boolean } = {}): string[] {
    if (rows instanceof Tensor) {
      if (rows.ndim !== 2) throw new GradlabError(`T5Tokenizer.batchDecode: expected a 2-d tensor of ids, got ${rows.ndim} dims`);
      const flat = rows.toArray();
      const [B, T] = rows.shape;
      return Array.from({ length: B }, (_, b) => this.decode(flat.subarray(b * T, (b + 1) * T), opts));
    }
    return rows.map((r) => this.decode(r, opts));
  }
}
