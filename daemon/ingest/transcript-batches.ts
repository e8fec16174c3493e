// The CPU-bound half of transcript ingestion: read complete lines from an offset, redact, parse,
// and cut them into batches that the ingester commits one transaction each (with the offset
// after the batch). No database here, so that an import can run this in a worker thread
// (parse-worker.ts) while the main thread writes the previous batch; live tailing runs it
// in-thread. Everything a batch holds is plain data that survives postMessage.
import { packLine } from '../store/line-codec.js';
import { bareInteraction, syntheticLineKey } from './transcripts/parse.js';
import { scanTranscript } from './transcripts/scan.js';
import type { Interaction, ParsedEntry } from './transcripts/types.js';

// A batch is one transaction. Its lines are held until it commits, so the byte bound is what
// keeps the daemon's memory flat on big files. 512 KiB rather than more: an import holds up to
// four batches (one committing, two sent by the worker, one being prepared), each several times
// its bytes once parsed; at 4 MiB the daemon's peak RSS passed 300 MB. Commits cost little per
// transaction (synchronous = NORMAL, no fsync), so smaller batches cost no measurable speed.
const BATCH_LINES = 2000;
const BATCH_BYTES = 512 * 1024;
// Whole lines longer than this are not kept in `raw` (the parsed, bounded columns still are):
// a 50 MB tool result stored verbatim would cost the database more than it could ever tell us.
const RAW_MAX_BYTES = 4 * 1024 * 1024;
// Line types that are bookkeeping, not conversation; they are counted, not stored.
const NOT_STORED = new Set(['progress', 'file-history-snapshot', 'queue-operation', 'last-prompt']);

/** A parsed line without the parsed object itself (which only `raw` needed). */
export type LineFacts = Omit<ParsedEntry, 'entry'> & { parentUuid: string | null };

export interface PreparedLine {
  parsed: LineFacts;
  /** What to store: the parser's interactions, or one `other` row for an unknown line type. */
  interactions: Interaction[];
  /**
   * The line as stored in block 0's `raw` (the redacted JSON when redaction changed it), packed
   * against that interaction's text and tool result (store/line-codec.ts).
   */
  raw: Buffer | string | null;
  /** Each interaction's `text` as stored (long ones packed); the same order as interactions. */
  texts: (Buffer | string)[];
  /** Each interaction's `tool_use_result`, packed against its text; the same order as interactions. */
  toolUseResults: (Buffer | string | null)[];
}

export interface PreparedBatch {
  lines: PreparedLine[];
  /** Lines read (stored, counted only, or skipped) and their bytes, '\n' included. */
  count: number;
  bytes: number;
  /** Offset after the batch's last line: where the next read starts. */
  end: number;
  skipped: Record<string, number>;
}

export interface BatchOptions {
  untilOffset: number;
  sessionIdHint: string | null;
  agentIdHint: string | null;
  /** claude (default) or codex: which parser reads the file. */
  format?: 'claude' | 'codex';
  /** Redacts a parsed line before anything is derived from it (redaction.mode: ingest). */
  redact: ((entry: Record<string, unknown>) => { value: Record<string, unknown>; count: number }) | null;
}

/**
 * Batches of the complete lines of `file` from `offset` to opts.untilOffset. The last batch is
 * yielded even when empty, so the caller always records where reading stopped.
 */
export async function* prepareBatches(file: string, offset: number, opts: BatchOptions): AsyncGenerator<PreparedBatch> {
  const redactedEntries = new WeakSet<object>();
  const redact = opts.redact;
  const transformEntry = redact
    ? (entry: Record<string, unknown>) => {
        const r = redact(entry);
        if (r.count > 0) redactedEntries.add(r.value);
        return r.value;
      }
    : undefined;
  let batch: PreparedBatch = { lines: [], count: 0, bytes: 0, end: offset, skipped: {} };
  let heldBytes = 0;
  for await (const { line, parsed } of scanTranscript(
    file,
    offset,
    { sessionIdHint: opts.sessionIdHint, agentIdHint: opts.agentIdHint, transformEntry, format: opts.format },
    { untilOffset: opts.untilOffset },
  )) {
    const size = line.end - line.offset;
    batch.count += 1;
    batch.bytes += size;
    batch.end = line.end;
    heldBytes += size;
    if (!parsed.ok) {
      bump(batch.skipped, parsed.reason);
    } else {
      // Unknown line types are counted here and still stored, raw (see unknownLine).
      if (!parsed.known) bump(batch.skipped, 'unknown-type');
      if (parsed.invalidUtf8) bump(batch.skipped, 'invalid-utf8-replaced');
      const keep = !(parsed.known && NOT_STORED.has(parsed.type));
      // A redacted line is stored as its redacted JSON, never as the bytes read.
      const rawBytes = !keep ? null : redactedEntries.has(parsed.entry) ? Buffer.from(JSON.stringify(parsed.entry)) : line.bytes;
      const raw = rawBytes && rawBytes.length <= RAW_MAX_BYTES ? rawBytes.toString('utf8') : null;
      const { entry, ...facts } = parsed;
      // Bookkeeping lines stay in the batch: their uuids can be parents of later lines.
      const lineFacts: LineFacts = { ...facts, parentUuid: typeof entry.parentUuid === 'string' ? entry.parentUuid : null };
      const interactions = parsed.known ? parsed.interactions : [unknownLine(lineFacts, rawBytes)];
      // Packed here, in the parse worker during an import, so the writer only binds blobs.
      const packed = packLine(interactions, raw);
      batch.lines.push({ parsed: lineFacts, interactions, raw: packed.raw, texts: packed.texts, toolUseResults: packed.toolUseResults });
    }
    if (batch.lines.length >= BATCH_LINES || heldBytes >= BATCH_BYTES) {
      yield batch;
      batch = { lines: [], count: 0, bytes: 0, end: batch.end, skipped: {} };
      heldBytes = 0;
    }
  }
  yield batch;
}

/**
 * A line of a type this version does not know (Claude Code adds some every few releases) is kept
 * as one `other` interaction holding the line in `raw`, so nothing read is lost. Keyed by its
 * uuid when it has one, else by a hash of its bytes, so re-reads stay idempotent.
 */
function unknownLine(p: LineFacts, bytes: Buffer | null): Interaction {
  return bareInteraction({
    uuid: p.uuid ?? (bytes ? syntheticLineKey(bytes) : `syn-${p.type}-${p.timestamp ?? 0}`),
    blockIndex: 0,
    sessionId: p.sessionId,
    kind: 'other',
    subtype: p.type.slice(0, 64) || null,
    timestamp: p.timestamp,
    text: '',
    isSidechain: p.isSidechain,
    agentId: p.agentId,
    cwd: p.sessionMeta.cwd ?? null,
    gitBranch: p.sessionMeta.gitBranch ?? null,
    version: p.sessionMeta.version ?? null,
  });
}

function bump(m: Record<string, number>, key: string): void {
  m[key] = (m[key] ?? 0) + 1;
}
