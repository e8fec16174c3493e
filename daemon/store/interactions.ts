// The one writer of `interactions` rows: what the transcript ingester stores and what a pull
// brings back from the central copy go through the same insert, with the same rules.
//
// Merge rules:
// - **first copy wins**: a row is identified by (uuid, block_index), and within a session by its
//   content key (ingest/transcripts/identity.ts); a row already stored under either is never
//   overwritten (INSERT OR IGNORE), because resume and fork write earlier lines again.
// - **stored once, packed**: `text` of 1,024 characters or more, `tool_use_result` and `raw` are
//   kept as line-codec.ts packs them; callers give them packed (the parse worker does it during an
//   import) or plain, through asStored().
// - **redaction rewrites in place**: the redact job's rewrite() replaces a row's text fields with
//   their redacted values and packs them again against the new text.
// - **derived columns follow the current rule**: re-derivation (ingest/rederive.ts) and the
//   attachment of inline sidechains set kind/subtype, content_key, agent_id and web_searches in
//   place; it removes a row only when an earlier row of the session holds the same content (a
//   replay stored before content identity existed: the first copy wins, as at ingest).
// - **retention removes whole sessions** (and rows of no session past the cutoff); the compact
//   job drops only `raw`, after its retention window.
import type { Db } from './db.js';
import { packInteraction, packText, type StoredBody } from './line-codec.js';

/** One row as the insert takes it (SQLite has no booleans: 0/1). */
export interface InteractionInsert {
  uuid: string;
  blockIndex: number;
  sessionId: string | null;
  agentId: string | null;
  kind: string;
  subtype: string | null;
  timestamp: number | null;
  text: StoredBody;
  textLength: number;
  toolName: string | null;
  toolUseId: string | null;
  toolInput: string | null;
  isError: number | null;
  toolUseResult: StoredBody;
  spawnedAgentId: string | null;
  data: string | null;
  parentUuid: string | null;
  logicalParentUuid: string | null;
  isSidechain: number;
  isMeta: number;
  isCompactSummary: number;
  hidden: number;
  requestId: string | null;
  messageId: string | null;
  model: string | null;
  cwd: string | null;
  gitBranch: string | null;
  version: string | null;
  promptId: string | null;
  sourcePath: string;
  raw: StoredBody;
  now: number;
  redactionVersion: string | null;
  contentKey: Buffer | null;
  webSearches: number | null;
}

/** text, tool_use_result and raw as stored, from their plain values. */
export function asStored(v: { text: string; toolInput: string | null; toolUseResult: string | null; raw: string | null }): {
  text: StoredBody;
  toolUseResult: StoredBody;
  raw: StoredBody;
} {
  return { text: packText(v.text), ...packInteraction(v) };
}

export class InteractionStore {
  private readonly stmts;

  constructor(db: Db) {
    this.stmts = {
      insert: db.prepare(`
        INSERT OR IGNORE INTO interactions (uuid, block_index, session_id, agent_id, kind, subtype, ts, text, text_length,
          tool_name, tool_use_id, tool_input, is_error, tool_use_result, spawned_agent_id, data, parent_uuid,
          logical_parent_uuid, is_sidechain, is_meta, is_compact_summary, hidden, request_id, message_id, model, cwd,
          git_branch, cc_version, prompt_id, source_path, raw, ingested_at, redaction_version, content_key, web_searches)
        VALUES (@uuid, @blockIndex, @sessionId, @agentId, @kind, @subtype, @timestamp, @text, @textLength,
          @toolName, @toolUseId, @toolInput, @isError, @toolUseResult, @spawnedAgentId, @data, @parentUuid,
          @logicalParentUuid, @isSidechain, @isMeta, @isCompactSummary, @hidden, @requestId, @messageId, @model, @cwd,
          @gitBranch, @version, @promptId, @sourcePath, @raw, @now, @redactionVersion, @contentKey, @webSearches)`),
      rewrite: db.prepare(
        'UPDATE interactions SET text = @text, tool_input = @toolInput, tool_use_result = @toolUseResult, data = @data, raw = @raw, redaction_version = @version WHERE id = @id',
      ),
      setRedactionVersion: db.prepare('UPDATE interactions SET redaction_version = ? WHERE id = ?'),
      dropRaw: db.prepare('UPDATE interactions SET raw = NULL WHERE id > @from AND id <= @to AND raw IS NOT NULL AND COALESCE(ts, ingested_at) < @cutoff'),
      idRange: db.prepare('SELECT MIN(id) AS lo, MAX(id) AS hi FROM interactions'),
      packKeepText: db.prepare('UPDATE interactions SET tool_use_result = @toolUseResult, raw = @raw WHERE id = @id'),
      pack: db.prepare('UPDATE interactions SET text = @text, tool_use_result = @toolUseResult, raw = @raw WHERE id = @id'),
      attachAgent: db.prepare('UPDATE interactions SET agent_id = ? WHERE id = ?'),
      reclassifyAsContext: db.prepare(`UPDATE interactions SET kind = 'meta', subtype = ? WHERE id = ? AND kind = 'user_prompt'`),
      setContentKey: db.prepare('UPDATE interactions SET content_key = ? WHERE id = ?'),
      removeReplay: db.prepare('DELETE FROM interactions WHERE id = ?'),
      setWebSearches: db.prepare('UPDATE interactions SET web_searches = ? WHERE id = ?'),
      deleteSession: db.prepare('DELETE FROM interactions WHERE session_id = ?'),
      deleteOrphans: db.prepare(
        'DELETE FROM interactions WHERE id IN (SELECT id FROM interactions WHERE session_id IS NULL AND COALESCE(ts, ingested_at) < ? LIMIT ?)',
      ),
    };
  }

  /** Stores the row unless a copy of it is stored (first copy wins). Returns rows added (0 or 1) and the new id. */
  insert(row: InteractionInsert): { changes: number; id: number } {
    const r = this.stmts.insert.run(row);
    return { changes: r.changes, id: Number(r.lastInsertRowid) };
  }

  /** The redact job: the row's text fields replaced by their redacted (plain) values, packed again. */
  rewrite(
    id: number,
    plain: { text: string; toolInput: string | null; toolUseResult: string | null; data: string | null; raw: string | null },
    version: string,
  ): void {
    this.stmts.rewrite.run({ id, ...asStored(plain), toolInput: plain.toolInput, data: plain.data, version });
  }

  /** The compact job: the whole lines of rows with ids in (from, to] older than cutoff are dropped. */
  dropRaw(from: number, to: number, cutoff: number): number {
    return this.stmts.dropRaw.run({ from, to, cutoff }).changes;
  }

  idRange(): { lo: number | null; hi: number | null } {
    return this.stmts.idRange.get() as { lo: number | null; hi: number | null };
  }

  /**
   * Storage v2's conversion (store/pack.ts): a row written before it, packed. `text` null means the
   * text stays as it is (an already packed text is not read back to be written, nor re-indexed).
   */
  pack(id: number, packed: { text: StoredBody | null; toolUseResult: StoredBody; raw: StoredBody }): void {
    if (packed.text === null) this.stmts.packKeepText.run({ id, toolUseResult: packed.toolUseResult, raw: packed.raw });
    else this.stmts.pack.run({ id, ...packed });
  }

  /** An inline sidechain row (Claude Code ≤ 2.0.27) attached to the subagent that wrote it. */
  attachAgent(id: number, agentId: string): void {
    this.stmts.attachAgent.run(agentId, id);
  }

  /** A prompt that is only IDE or system context becomes context; true when it was a prompt. */
  reclassifyAsContext(id: number, subtype: string): boolean {
    return this.stmts.reclassifyAsContext.run(subtype, id).changes > 0;
  }

  setContentKey(id: number, key: Buffer): number {
    return this.stmts.setContentKey.run(key, id).changes;
  }

  /** A row whose content an earlier row of its session holds (a replay): removed. */
  removeReplay(id: number): number {
    return this.stmts.removeReplay.run(id).changes;
  }

  setWebSearches(id: number, n: number): void {
    this.stmts.setWebSearches.run(n, id);
  }

  deleteSession(sessionId: string): number {
    return this.stmts.deleteSession.run(sessionId).changes;
  }

  /** Rows of no session older than the cutoff, at most `limit`; returns how many went. */
  deleteOrphans(cutoff: number, limit: number): number {
    return this.stmts.deleteOrphans.run(cutoff, limit).changes;
  }

  /** The redact job found nothing to change: the row is at this rule set now (the index is not touched). */
  setRedactionVersion(id: number, version: string): void {
    this.stmts.setRedactionVersion.run(version, id);
  }
}
