// Stored rows → the central copy's records: one flat JSON object per row, the same fields on every
// row (null when unknown), gzip NDJSON per part. The schema of each dataset is documented in
// docs/central-copy.md; add fields at the end, never rename or retype one.
//
// Redaction before upload: a row is exported only in its redacted form under the current rule
// set. Rows stored in redaction.mode: cron before the redact job reached them, and rows redacted
// under an older rule set, are redacted here, in memory, before they are serialized.
import zlib from 'node:zlib';
import type { RedactionService } from '../redact/service.js';
import type { Db } from '../store/db.js';
import { unpackToolUseResult } from '../store/line-codec.js';
import type { Dataset } from './layout.js';
import type { StoredHookEvent, StoredInteraction } from '../store/rows.js';

/** What a part holds of an interaction: every column but the raw line, where it was read, and what the receiver derives again. */
export type InteractionRow = Omit<StoredInteraction, 'raw' | 'source_path' | 'ingested_at' | 'content_key' | 'web_searches'> & { session_id: string };

export type HookEventRow = StoredHookEvent & { session_id: string };

/** Characters of a row's variable-size columns plus a fixed allowance for the rest. */
function rowTextBytes(row: InteractionRow | HookEventRow): number {
  if ('payload' in row) return row.payload.length + 256;
  return row.text.length + (row.tool_input?.length ?? 0) + (row.tool_use_result?.length ?? 0) + (row.data?.length ?? 0) + 512;
}

/** Reads one dataset's rows of a session by row id (interactions.id, hook_events.seq). */
export class RowReader {
  private readonly stmts;

  constructor(db: Db) {
    const interactionCols = `id, uuid, block_index, session_id, agent_id, kind, subtype, ts, rbk_text(text) AS text, text_length, tool_name, tool_use_id,
      tool_input, is_error, tool_use_result, spawned_agent_id, data, parent_uuid, logical_parent_uuid, is_sidechain, is_meta,
      is_compact_summary, hidden, request_id, message_id, model, cwd, git_branch, cc_version, prompt_id, redaction_version`;
    const hookCols = `seq, event_id, session_id, event_name, tool_name, tool_use_id, prompt_id, agent_id, hook_started_at, sent_at,
      received_at, via, payload, payload_bytes, problem, redaction_version`;
    this.stmts = {
      interactionsAfter: db.prepare(`SELECT ${interactionCols} FROM interactions WHERE session_id = ? AND id > ? ORDER BY id LIMIT ?`),
      interactionsRange: db.prepare(`SELECT ${interactionCols} FROM interactions WHERE session_id = ? AND id BETWEEN ? AND ? ORDER BY id`),
      hooksAfter: db.prepare(`SELECT ${hookCols} FROM hook_events WHERE session_id = ? AND seq > ? ORDER BY seq LIMIT ?`),
      hooksRange: db.prepare(`SELECT ${hookCols} FROM hook_events WHERE session_id = ? AND seq BETWEEN ? AND ? ORDER BY seq`),
      interactionsPending: db.prepare(`SELECT 1 FROM interactions WHERE session_id = ? AND id > ? LIMIT 1`).pluck(),
      hooksPending: db.prepare(`SELECT 1 FROM hook_events WHERE session_id = ? AND seq > ? LIMIT 1`).pluck(),
    };
  }

  /**
   * The next rows after the watermark: at most `limit` rows, and no more once they hold
   * `maxBytes` of text (always at least one row). `full` says a bound was reached, so more rows
   * may follow. The byte bound is what keeps a sync's memory flat: four sessions are uploaded at
   * once, and 50,000 rows of tool output can be hundreds of MB.
   */
  after(dataset: Dataset, sessionId: string, afterRow: number, limit: number, maxBytes: number): { rows: (InteractionRow | HookEventRow)[]; full: boolean } {
    const stmt = dataset === 'interactions' ? this.stmts.interactionsAfter : this.stmts.hooksAfter;
    const rows: (InteractionRow | HookEventRow)[] = [];
    let bytes = 0;
    for (const row of stmt.iterate(sessionId, afterRow, limit) as Iterable<InteractionRow | HookEventRow>) {
      if (dataset === 'interactions') plainToolUseResult(row as InteractionRow);
      rows.push(row);
      bytes += rowTextBytes(row);
      if (bytes >= maxBytes) return { rows, full: true };
    }
    return { rows, full: rows.length >= limit };
  }

  /** Exactly the rows of a planned part (first..last inclusive). */
  range(dataset: Dataset, sessionId: string, firstRow: number, lastRow: number): (InteractionRow | HookEventRow)[] {
    const stmt = dataset === 'interactions' ? this.stmts.interactionsRange : this.stmts.hooksRange;
    const rows = stmt.all(sessionId, firstRow, lastRow) as (InteractionRow | HookEventRow)[];
    if (dataset === 'interactions') for (const row of rows) plainToolUseResult(row as InteractionRow);
    return rows;
  }

  hasRowsAfter(dataset: Dataset, sessionId: string, afterRow: number): boolean {
    const stmt = dataset === 'interactions' ? this.stmts.interactionsPending : this.stmts.hooksPending;
    return stmt.get(sessionId, afterRow) !== undefined;
  }
}

/** The row's tool_use_result as text (stored packed: store/line-codec.ts), in place: parts carry it plain. */
function plainToolUseResult(row: InteractionRow): void {
  row.tool_use_result = unpackToolUseResult(row.text, row.tool_use_result);
}

export function rowIdOf(dataset: Dataset, row: InteractionRow | HookEventRow): number {
  return dataset === 'interactions' ? (row as InteractionRow).id : (row as HookEventRow).seq;
}

const iso = (ms: number | null): string | null => (typeof ms === 'number' && Number.isFinite(ms) ? new Date(ms).toISOString() : null);
const bool = (v: number | null): boolean | null => (v === null ? null : v !== 0);

/** Redacts a stored text field unless the row is already at the current rule set. */
function redactor(service: RedactionService, rowVersion: string | null): (text: string | null) => string | null {
  // In cron mode a row's version says it was scanned by the redact job, which is enough too.
  if (rowVersion === service.version) return (t) => t;
  return (t) => (t === null ? null : service.redactStoredText(t).text);
}

/**
 * One interactions record. Field order is the schema's (docs/central-copy.md). Partition columns
 * (date, host, session) come from the key, so they are not repeated as fields.
 */
export function interactionRecord(row: InteractionRow, service: RedactionService): Record<string, unknown> {
  const r = redactor(service, row.redaction_version);
  return {
    session_id: row.session_id,
    uuid: row.uuid,
    block_index: row.block_index,
    row_id: row.id,
    agent_id: row.agent_id,
    kind: row.kind,
    subtype: row.subtype,
    ts: iso(row.ts),
    ts_ms: row.ts,
    text: r(row.text) ?? '',
    text_length: row.text_length,
    tool_name: row.tool_name,
    tool_use_id: row.tool_use_id,
    tool_input: r(row.tool_input),
    is_error: bool(row.is_error),
    // Plain already: RowReader unpacks it (the part's byte bound counts plain bytes).
    tool_use_result: r(row.tool_use_result as string | null),
    spawned_agent_id: row.spawned_agent_id,
    data: r(row.data),
    parent_uuid: row.parent_uuid,
    logical_parent_uuid: row.logical_parent_uuid,
    is_sidechain: row.is_sidechain !== 0,
    is_meta: row.is_meta !== 0,
    is_compact_summary: row.is_compact_summary !== 0,
    hidden: row.hidden !== 0,
    request_id: row.request_id,
    message_id: row.message_id,
    model: row.model,
    cwd: r(row.cwd),
    git_branch: r(row.git_branch),
    cc_version: row.cc_version,
    prompt_id: row.prompt_id,
    redaction_version: service.version,
  };
}

export function hookEventRecord(row: HookEventRow, service: RedactionService): Record<string, unknown> {
  const r = redactor(service, row.redaction_version);
  return {
    session_id: row.session_id,
    event_id: row.event_id,
    row_id: row.seq,
    event_name: row.event_name,
    tool_name: row.tool_name,
    tool_use_id: row.tool_use_id,
    prompt_id: row.prompt_id,
    agent_id: row.agent_id,
    hook_started_at: iso(row.hook_started_at),
    received_at: iso(row.received_at),
    received_at_ms: row.received_at,
    via: row.via,
    // The hook's JSON payload as text: its shape varies by event and Claude Code version.
    payload: r(row.payload) ?? '',
    payload_bytes: row.payload_bytes,
    problem: row.problem,
    redaction_version: service.version,
  };
}

export interface EncodedPart {
  body: Buffer;
  rows: number;
  /** Uncompressed NDJSON bytes. */
  rawBytes: number;
}

/** gzip NDJSON. zlib writes no timestamp in the header, so the same records give the same bytes. */
/**
 * `versionLabel`: the redaction_version written in each record (default: the current rule set).
 * Re-encoding an old part under its old label tells whether the new rules changed any byte.
 */
export function encodePart(dataset: Dataset, rows: (InteractionRow | HookEventRow)[], service: RedactionService, versionLabel = service.version): EncodedPart {
  const lines: string[] = [];
  for (const row of rows) {
    const rec = dataset === 'interactions' ? interactionRecord(row as InteractionRow, service) : hookEventRecord(row as HookEventRow, service);
    rec.redaction_version = versionLabel;
    lines.push(JSON.stringify(rec));
  }
  const text = lines.length > 0 ? `${lines.join('\n')}\n` : '';
  const raw = Buffer.from(text, 'utf8');
  return { body: zlib.gzipSync(raw, { level: 6 }), rows: rows.length, rawBytes: raw.length };
}
