import { type FileHandle, open, stat } from "node:fs/promises";

/** What one poll of a growing JSONL file found. */
export interface TailChunk {
  /** Complete new lines, without their newline, blank ones dropped. */
  lines: string[];
  /** The file was replaced or shrank (a run restarted in the same folder): earlier lines are void. */
  reset: boolean;
}

/**
 * Reads a file that another process appends lines to, from a byte offset. A line counts only once
 * its newline is on disk: the writer may be caught mid-line, and a line may end inside a multi-byte
 * UTF-8 character, so the unfinished tail is kept as bytes until the next poll completes it.
 */
export class JsonlTail {
  private offset = 0;
  private rest: Buffer = Buffer.alloc(0);
  private ino: number | null = null;

  constructor(readonly path: string) {}

  /** Bytes consumed so far (complete lines plus the pending partial one). */
  get position(): number {
    return this.offset;
  }

  async poll(): Promise<TailChunk> {
    let st;
    try {
      st = await stat(this.path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return this.missing();
      throw e;
    }
    let reset = false;
    if ((this.ino !== null && st.ino !== this.ino) || st.size < this.offset) {
      this.offset = 0;
      this.rest = Buffer.alloc(0);
      reset = true;
    }
    this.ino = st.ino;
    if (st.size === this.offset) return { lines: [], reset };
    const fresh = await readRange(this.path, this.offset, st.size);
    this.offset += fresh.length;
    const buf = this.rest.length ? Buffer.concat([this.rest, fresh]) : fresh;
    const end = buf.lastIndexOf(0x0a);
    if (end < 0) {
      this.rest = buf;
      return { lines: [], reset };
    }
    this.rest = Buffer.from(buf.subarray(end + 1));
    const lines = buf
      .subarray(0, end)
      .toString("utf8")
      .split("\n")
      .map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l))
      .filter((l) => l.trim() !== "");
    return { lines, reset };
  }

  private missing(): TailChunk {
    const reset = this.offset > 0 || this.rest.length > 0;
    this.offset = 0;
    this.rest = Buffer.alloc(0);
    this.ino = null;
    return { lines: [], reset };
  }
}

async function readRange(path: string, from: number, to: number): Promise<Buffer> {
  let fh: FileHandle | null = null;
  try {
    fh = await open(path, "r");
    const buf = Buffer.alloc(to - from);
    let got = 0;
    while (got < buf.length) {
      const { bytesRead } = await fh.read(buf, got, buf.length - got, from + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return got === buf.length ? buf : buf.subarray(0, got);
  } finally {
    await fh?.close();
  }
}
