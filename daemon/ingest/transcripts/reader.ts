// Incremental, bounded-memory line reading for append-only JSONL transcripts.
//
// Claude Code appends to transcripts while we read them (and writes asynchronously, so a hook may
// fire before its turn is on disk). The ingest loop therefore stores a byte offset per file and
// calls readCompleteLines(file, offset) again whenever the file grows. Only lines terminated by
// '\n' are yielded: a half-written last line stays unread until its newline lands, so the stored
// offset (the `end` of the last yielded line) always sits on a line boundary.
//
// Files reach hundreds of MB and single lines tens of MB (a tool result holding a whole file), so
// nothing here reads a file whole, and a line longer than maxLineBytes is measured and skipped
// rather than buffered.
import { openSync, readSync, closeSync } from 'node:fs';
import { open } from 'node:fs/promises';

export interface LineRecord {
  /** Byte offset of the first byte of the line. */
  offset: number;
  /** Byte offset just after the terminating '\n': the offset to resume from. */
  end: number;
  /**
   * The line without its '\n' (and without a '\r' before it). Null when the line is longer than
   * maxLineBytes. The buffer may be a view into a larger chunk buffer: copy it if you keep it
   * for long, or the whole chunk stays alive.
   */
  bytes: Buffer | null;
  /** Set only for skipped lines: the line's length in bytes, '\n' excluded. */
  oversized?: number;
}

export interface ReadLinesOptions {
  /** Size of each read. Default 1 MiB. */
  chunkBytes?: number;
  /** Longer lines are skipped (bytes null). Default 64 MiB. */
  maxLineBytes?: number;
  /**
   * Stop reading at this absolute offset (exclusive), e.g. the size seen by the stat that
   * triggered the read, so one call does not chase a file that keeps growing.
   */
  untilOffset?: number;
}

export const DEFAULT_CHUNK_BYTES = 1 << 20;
export const DEFAULT_MAX_LINE_BYTES = 64 << 20;

const LF = 0x0a;
const CR = 0x0d;

/**
 * Turns a stream of chunks (with their file offsets) into complete lines. Shared by the async
 * and sync readers and usable directly on in-memory data (tests, piped input).
 *
 * Memory bound: at most maxLineBytes of pending line data plus the chunks it references.
 */
export class LineAssembler {
  private readonly maxLineBytes: number;
  /** Pieces of the current, not yet terminated line (views into earlier chunks). */
  private parts: Buffer[] = [];
  private partsLength = 0;
  /** Length of the current line so far, counted even while skipping it. */
  private pendingLength = 0;
  private skipping = false;
  private lineStart: number;

  constructor(startOffset: number, maxLineBytes: number = DEFAULT_MAX_LINE_BYTES) {
    if (!Number.isSafeInteger(startOffset) || startOffset < 0) throw new RangeError(`bad start offset ${startOffset}`);
    if (!(maxLineBytes > 0)) throw new RangeError(`bad maxLineBytes ${maxLineBytes}`);
    this.lineStart = startOffset;
    this.maxLineBytes = maxLineBytes;
  }

  /** Offset of the first byte not yet returned as part of a complete line. */
  get pendingOffset(): number {
    return this.lineStart;
  }

  /** Length of the unterminated tail so far, whether held or being skipped. */
  get pendingBytes(): number {
    return this.pendingLength;
  }

  /** Bytes actually referenced for the unterminated tail; never more than maxLineBytes. */
  get heldBytes(): number {
    return this.partsLength;
  }

  /**
   * Feeds `chunk`, which must start at the file offset where the previous chunk ended, and
   * appends every line it completes to `out`. The chunk must not be modified afterwards while
   * lines referencing it are in use (the readers allocate a fresh buffer per read for this).
   */
  feed(chunk: Buffer, out: LineRecord[]): void {
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      const nl = chunk.indexOf(LF, i);
      if (nl === -1) {
        this.holdTail(chunk, i, n);
        return;
      }
      const pieceLength = nl - i;
      const lineLength = this.pendingLength + pieceLength;
      const end = this.lineStart + lineLength + 1;
      if (this.skipping || lineLength > this.maxLineBytes) {
        out.push({ offset: this.lineStart, end, bytes: null, oversized: lineLength });
      } else {
        let bytes: Buffer;
        if (this.partsLength === 0) {
          bytes = chunk.subarray(i, nl);
        } else {
          this.parts.push(chunk.subarray(i, nl));
          bytes = Buffer.concat(this.parts, lineLength);
        }
        const len = bytes.length;
        if (len > 0 && bytes[len - 1] === CR) bytes = bytes.subarray(0, len - 1);
        out.push({ offset: this.lineStart, end, bytes });
      }
      this.lineStart = end;
      this.parts = [];
      this.partsLength = 0;
      this.pendingLength = 0;
      this.skipping = false;
      i = nl + 1;
    }
  }

  private holdTail(chunk: Buffer, from: number, to: number): void {
    const length = to - from;
    this.pendingLength += length;
    if (this.skipping) return;
    if (this.pendingLength > this.maxLineBytes) {
      // Drop what we held: the line will be reported by length only.
      this.skipping = true;
      this.parts = [];
      this.partsLength = 0;
      return;
    }
    this.parts.push(chunk.subarray(from, to));
    this.partsLength += length;
  }
}

function checkOptions(fromOffset: number, opts: ReadLinesOptions | undefined): { chunkBytes: number; maxLineBytes: number; until: number } {
  const chunkBytes = opts?.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  const maxLineBytes = opts?.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const until = opts?.untilOffset ?? Number.MAX_SAFE_INTEGER;
  if (!Number.isSafeInteger(fromOffset) || fromOffset < 0) throw new RangeError(`bad offset ${fromOffset}`);
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 1) throw new RangeError(`bad chunkBytes ${chunkBytes}`);
  if (!Number.isSafeInteger(until) || until < 0) throw new RangeError(`bad untilOffset ${until}`);
  return { chunkBytes, maxLineBytes, until };
}

/**
 * Yields the complete lines of `file` from byte `fromOffset` on. A trailing line without '\n'
 * is not yielded. Store the `end` of the last line you processed and pass it next time.
 *
 * If the file shrank below fromOffset (truncated or replaced) nothing is yielded: detecting that
 * (size < offset, or a new inode) and restarting from 0 is the caller's job.
 */
export async function* readCompleteLines(file: string, fromOffset: number, opts?: ReadLinesOptions): AsyncGenerator<LineRecord> {
  const { chunkBytes, maxLineBytes, until } = checkOptions(fromOffset, opts);
  const fh = await open(file, 'r');
  try {
    const assembler = new LineAssembler(fromOffset, maxLineBytes);
    const out: LineRecord[] = [];
    let position = fromOffset;
    while (position < until) {
      // A fresh buffer per read lets yielded lines be zero-copy views that stay valid.
      const want = Math.min(chunkBytes, until - position);
      const chunk = Buffer.allocUnsafe(want);
      const { bytesRead } = await fh.read(chunk, 0, want, position);
      if (bytesRead === 0) break;
      position += bytesRead;
      assembler.feed(bytesRead === want ? chunk : chunk.subarray(0, bytesRead), out);
      for (let k = 0; k < out.length; k++) yield out[k] as LineRecord;
      out.length = 0;
    }
  } finally {
    await fh.close();
  }
}

/** Synchronous twin of readCompleteLines, for tools and tests that cannot await. */
export function* readCompleteLinesSync(file: string, fromOffset: number, opts?: ReadLinesOptions): Generator<LineRecord> {
  const { chunkBytes, maxLineBytes, until } = checkOptions(fromOffset, opts);
  const fd = openSync(file, 'r');
  try {
    const assembler = new LineAssembler(fromOffset, maxLineBytes);
    const out: LineRecord[] = [];
    let position = fromOffset;
    while (position < until) {
      const want = Math.min(chunkBytes, until - position);
      const chunk = Buffer.allocUnsafe(want);
      const bytesRead = readSync(fd, chunk, 0, want, position);
      if (bytesRead === 0) break;
      position += bytesRead;
      assembler.feed(bytesRead === want ? chunk : chunk.subarray(0, bytesRead), out);
      for (let k = 0; k < out.length; k++) yield out[k] as LineRecord;
      out.length = 0;
    }
  } finally {
    closeSync(fd);
  }
}

/** Splits an in-memory buffer the same way the readers split a file starting at baseOffset. */
export function splitCompleteLines(data: Buffer, baseOffset = 0, maxLineBytes: number = DEFAULT_MAX_LINE_BYTES): LineRecord[] {
  const out: LineRecord[] = [];
  new LineAssembler(baseOffset, maxLineBytes).feed(data, out);
  return out;
}
