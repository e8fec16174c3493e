// The sync engine's bookkeeping in SQLite (migrations/0005_sync.sql): per session the partition,
// the backlog marker and the backoff; per session and dataset the watermark and the planned part;
// the confirmed parts that the manifest lists.
import type { Db } from '../store/db.js';
import type { Dataset } from './layout.js';
import type { PartRecord } from './manifest.js';

export interface SyncSessionState {
  session_id: string;
  host: string | null;
  date: string | null;
  dirty_since: number | null;
  attempts: number;
  next_attempt_at: number | null;
  last_success_at: number | null;
  manifest_sha256: string | null;
  /** From sessions: */
  session_host: string;
  started_at: number | null;
  created_at: number;
  expired_at: number | null;
  pulled_from: string | null;
}

export interface StreamState {
  uploaded_through: number;
  last_seq: number;
  planned_seq: number | null;
  planned_first_row: number | null;
  planned_last_row: number | null;
}

export interface ConfirmedPart extends PartRecord {
  firstRow: number;
  lastRow: number;
  /** The redaction rule set the part was encoded under (null: before that was recorded). */
  redactionVersion?: string | null;
}

export interface SyncStatusRow {
  backlogSessions: number;
  backlogRows: number;
  backlogBytes: number;
  inBackoff: number;
  nextAttemptAt: number | null;
  oldestDirtySince: number | null;
  lastSuccessAt: number | null;
  lastError: string | null;
  lastErrorAt: number | null;
  lastErrorSession: string | null;
  sessionsSynced: number;
  parts: number;
  bytes: number;
}

/** A session is uploadable when it was captured here and retention has not expired it. */
const UPLOADABLE = 's.expired_at IS NULL AND s.pulled_from IS NULL';

export class SyncState {
  private readonly stmts;

  constructor(private readonly db: Db) {
    this.stmts = {
      session: db.prepare(`
        SELECT ss.session_id, ss.host, ss.date, ss.dirty_since, ss.attempts, ss.next_attempt_at, ss.last_success_at, ss.manifest_sha256,
               s.host AS session_host, s.started_at, s.created_at, s.expired_at, s.pulled_from
        FROM sessions s LEFT JOIN sync_sessions ss ON ss.session_id = s.id WHERE s.id = ?`),
      ensureSession: db.prepare(`INSERT INTO sync_sessions (session_id) VALUES (?) ON CONFLICT (session_id) DO NOTHING`),
      setPartition: db.prepare(`UPDATE sync_sessions SET host = ?, date = ? WHERE session_id = ?`),
      clearDirty: db.prepare(`UPDATE sync_sessions SET dirty_since = NULL, attempts = 0, next_attempt_at = NULL WHERE session_id = ?`),
      markAllDirty: db.prepare(`
        INSERT INTO sync_sessions (session_id, dirty_since)
        SELECT s.id, @now FROM sessions s WHERE ${UPLOADABLE}
        ON CONFLICT (session_id) DO UPDATE SET dirty_since = COALESCE(sync_sessions.dirty_since, excluded.dirty_since)`),
      due: db
        .prepare(`
        SELECT ss.session_id FROM sync_sessions ss
        WHERE ss.dirty_since IS NOT NULL AND (@ignoreBackoff OR ss.next_attempt_at IS NULL OR ss.next_attempt_at <= @now)
        ORDER BY ss.dirty_since, ss.session_id`)
        .pluck(),
      dirtyCount: db.prepare(`SELECT count(*) FROM sync_sessions WHERE dirty_since IS NOT NULL`).pluck(),
      idle: db
        .prepare(`
        SELECT ss.session_id FROM sync_sessions ss JOIN sessions s ON s.id = ss.session_id
        WHERE ss.dirty_since IS NOT NULL AND (ss.next_attempt_at IS NULL OR ss.next_attempt_at <= @now)
          AND COALESCE(s.last_activity_at, s.updated_at) <= @idleBefore
        ORDER BY ss.dirty_since`)
        .pluck(),
      nextRetry: db.prepare(`SELECT MIN(next_attempt_at) FROM sync_sessions WHERE dirty_since IS NOT NULL AND next_attempt_at IS NOT NULL`).pluck(),
      stream: db.prepare(
        `SELECT uploaded_through, last_seq, planned_seq, planned_first_row, planned_last_row FROM sync_streams WHERE session_id = ? AND dataset = ?`,
      ),
      savePlan: db.prepare(`
        INSERT INTO sync_streams (session_id, dataset, planned_seq, planned_first_row, planned_last_row) VALUES (@sessionId, @dataset, @seq, @first, @last)
        ON CONFLICT (session_id, dataset) DO UPDATE SET planned_seq = @seq, planned_first_row = @first, planned_last_row = @last`),
      dropPlan: db.prepare(
        `UPDATE sync_streams SET planned_seq = NULL, planned_first_row = NULL, planned_last_row = NULL WHERE session_id = ? AND dataset = ?`,
      ),
      adoptStream: db.prepare(`
        INSERT INTO sync_streams (session_id, dataset, uploaded_through, last_seq) VALUES (@sessionId, @dataset, @through, @seq)
        ON CONFLICT (session_id, dataset) DO UPDATE SET uploaded_through = MAX(uploaded_through, @through), last_seq = MAX(last_seq, @seq)`),
      confirmStream: db.prepare(`
        UPDATE sync_streams SET uploaded_through = @lastRow, last_seq = @seq, planned_seq = NULL, planned_first_row = NULL, planned_last_row = NULL
        WHERE session_id = @sessionId AND dataset = @dataset`),
      insertPart: db.prepare(`
        INSERT INTO sync_parts (session_id, dataset, first_seq, last_seq, key, first_row, last_row, rows, bytes, sha256, uploaded_at, redaction_version)
        VALUES (@sessionId, @dataset, @first, @last, @key, @firstRow, @lastRow, @rows, @bytes, @sha256, @now, @redactionVersion)
        ON CONFLICT (session_id, dataset, first_seq) DO UPDATE SET
          last_seq = excluded.last_seq, key = excluded.key, first_row = excluded.first_row, last_row = excluded.last_row,
          rows = excluded.rows, bytes = excluded.bytes, sha256 = excluded.sha256, uploaded_at = excluded.uploaded_at,
          redaction_version = excluded.redaction_version`),
      staleParts: db.prepare(`
        SELECT dataset, first_seq AS first, last_seq AS last, key, rows, bytes, sha256, first_row AS firstRow, last_row AS lastRow, redaction_version AS redactionVersion
        FROM sync_parts WHERE session_id = ? AND redaction_version IS NOT ? ORDER BY dataset, first_seq`),
      rewritePart: db.prepare(`
        UPDATE sync_parts SET rows = @rows, bytes = @bytes, sha256 = @sha256, redaction_version = @redactionVersion, uploaded_at = CASE WHEN @uploaded THEN @now ELSE uploaded_at END
        WHERE session_id = @sessionId AND dataset = @dataset AND first_seq = @first`),
      markStale: db.prepare(`
        INSERT INTO sync_sessions (session_id, dirty_since)
        SELECT DISTINCT session_id, @now FROM sync_parts WHERE redaction_version IS NOT @version
        ON CONFLICT (session_id) DO UPDATE SET dirty_since = COALESCE(sync_sessions.dirty_since, excluded.dirty_since)`),
      parts: db.prepare(`
        SELECT dataset, first_seq AS first, last_seq AS last, key, rows, bytes, sha256, first_row AS firstRow, last_row AS lastRow, redaction_version AS redactionVersion
        FROM sync_parts WHERE session_id = ? ORDER BY dataset, first_seq`),
      success: db.prepare(`
        UPDATE sync_sessions SET attempts = 0, next_attempt_at = NULL, last_error = NULL, last_error_at = NULL,
          last_attempt_at = @now, last_success_at = @now, manifest_sha256 = @manifest,
          dirty_since = CASE WHEN @clean THEN NULL ELSE dirty_since END
        WHERE session_id = @sessionId`),
      failure: db.prepare(`
        UPDATE sync_sessions SET attempts = attempts + 1, next_attempt_at = @nextAt, last_attempt_at = @now, last_error = @error, last_error_at = @now
        WHERE session_id = @sessionId`),
      attempts: db.prepare(`SELECT attempts FROM sync_sessions WHERE session_id = ?`).pluck(),
      lastSuccess: db.prepare(`SELECT last_success_at FROM sync_sessions WHERE session_id = ?`).pluck(),
    };
  }

  /**
   * One part of a session of this machine's, restored from the central copy (rbk restore
   * --from-central-copy): it is there already, so the sync state says so, in the transaction that
   * stores its rows. Rows stored later go up as the next parts of the same streams. The part's
   * redaction version is unknown, so it counts as encoded before versions were recorded.
   */
  adoptRestoredPart(sessionId: string, partition: { host: string; date: string }, p: PartRecord & { firstRow: number; lastRow: number }, now: number): void {
    this.stmts.ensureSession.run(sessionId);
    this.stmts.setPartition.run(partition.host, partition.date, sessionId);
    this.recordPart(sessionId, { ...p, redactionVersion: null }, now);
    this.stmts.adoptStream.run({ sessionId, dataset: p.dataset, through: p.lastRow, seq: p.last });
  }

  /**
   * The restored session's manifest is the central copy's: nothing is pending for it, and the next
   * upload rewrites the manifest only when it changes (`manifestContentSha256` as the engine hashes it).
   */
  adoptRestoredManifest(sessionId: string, manifestContentSha256: string, now: number): void {
    this.stmts.ensureSession.run(sessionId);
    this.stmts.success.run({ sessionId, now, manifest: manifestContentSha256, clean: 1 });
  }

  session(sessionId: string): SyncSessionState | undefined {
    return this.stmts.session.get(sessionId) as SyncSessionState | undefined;
  }

  ensureSession(sessionId: string): void {
    this.stmts.ensureSession.run(sessionId);
  }

  setPartition(sessionId: string, host: string, date: string): void {
    this.stmts.setPartition.run(host, date, sessionId);
  }

  clearDirty(sessionId: string): void {
    this.stmts.clearDirty.run(sessionId);
  }

  markAllDirty(now: number): void {
    this.stmts.markAllDirty.run({ now });
  }

  due(now: number, ignoreBackoff: boolean): string[] {
    return this.stmts.due.all({ now, ignoreBackoff: ignoreBackoff ? 1 : 0 }) as string[];
  }

  dirtyCount(): number {
    return this.stmts.dirtyCount.get() as number;
  }

  idle(now: number, idleBefore: number): string[] {
    return this.stmts.idle.all({ now, idleBefore }) as string[];
  }

  nextRetryAt(): number | null {
    return (this.stmts.nextRetry.get() as number | null) ?? null;
  }

  lastSuccessAt(sessionId: string): number | null {
    return (this.stmts.lastSuccess.get(sessionId) as number | null | undefined) ?? null;
  }

  stream(sessionId: string, dataset: Dataset): StreamState {
    return (
      (this.stmts.stream.get(sessionId, dataset) as StreamState | undefined) ?? {
        uploaded_through: 0,
        last_seq: 0,
        planned_seq: null,
        planned_first_row: null,
        planned_last_row: null,
      }
    );
  }

  /** Durable before the PUT: a retry after a crash uploads these rows under this seq again. */
  savePlan(sessionId: string, dataset: Dataset, seq: number, first: number, last: number): void {
    this.stmts.savePlan.run({ sessionId, dataset, seq, first, last });
  }

  dropPlan(sessionId: string, dataset: Dataset): void {
    this.stmts.dropPlan.run(sessionId, dataset);
  }

  /** Parts encoded under another redaction rule set than `version`. */
  staleParts(sessionId: string, version: string): ConfirmedPart[] {
    return this.stmts.staleParts.all(sessionId, version) as ConfirmedPart[];
  }

  /** A part re-encoded under the current rules; `uploaded`: its bytes changed and were sent again. */
  rewritePart(sessionId: string, p: ConfirmedPart, uploaded: boolean, now: number): void {
    this.stmts.rewritePart.run({
      sessionId,
      dataset: p.dataset,
      first: p.first,
      rows: p.rows,
      bytes: p.bytes,
      sha256: p.sha256,
      redactionVersion: p.redactionVersion ?? null,
      uploaded: uploaded ? 1 : 0,
      now,
    });
  }

  /** Sessions with a part encoded under other rules go back in the backlog; returns how many. */
  markRedactionStale(version: string, now: number): number {
    return this.stmts.markStale.run({ version, now }).changes;
  }

  parts(sessionId: string): ConfirmedPart[] {
    return this.stmts.parts.all(sessionId) as ConfirmedPart[];
  }

  /** A part as the manifest lists it, with the row range it holds here. */
  private recordPart(sessionId: string, p: ConfirmedPart, now: number): void {
    this.stmts.insertPart.run({
      sessionId,
      dataset: p.dataset,
      first: p.first,
      last: p.last,
      key: p.key,
      firstRow: p.firstRow,
      lastRow: p.lastRow,
      rows: p.rows,
      bytes: p.bytes,
      sha256: p.sha256,
      now,
      redactionVersion: p.redactionVersion ?? null,
    });
  }

  /** One transaction: the new parts, the watermarks past them, and the session's success. */
  confirm(sessionId: string, uploaded: ConfirmedPart[], manifestHash: string, now: number, stillDirty: () => boolean): boolean {
    return this.db
      .transaction(() => {
        for (const p of uploaded) {
          this.recordPart(sessionId, p, now);
          this.stmts.confirmStream.run({ sessionId, dataset: p.dataset, lastRow: p.lastRow, seq: p.last });
        }
        const clean = !stillDirty();
        this.stmts.success.run({ sessionId, now, manifest: manifestHash, clean: clean ? 1 : 0 });
        return clean;
      })
      .immediate();
  }

  /** Records a failure; returns the number of consecutive failed attempts. */
  failure(sessionId: string, error: string, now: number, nextAt: (attempts: number) => number): number {
    const attempts = ((this.stmts.attempts.get(sessionId) as number | undefined) ?? 0) + 1;
    this.stmts.failure.run({ sessionId, nextAt: nextAt(attempts), now, error: error.slice(0, 2000) });
    return attempts;
  }

  status(now: number): SyncStatusRow {
    const backlog = this.db
      .prepare(
        `SELECT count(*) AS n, MIN(ss.dirty_since) AS oldest, COALESCE(SUM(ss.next_attempt_at > @now), 0) AS inBackoff,
                MIN(CASE WHEN ss.next_attempt_at > @now THEN ss.next_attempt_at END) AS nextAt
         FROM sync_sessions ss JOIN sessions s ON s.id = ss.session_id WHERE ss.dirty_since IS NOT NULL AND ${UPLOADABLE}`,
      )
      .get({ now }) as { n: number; oldest: number | null; inBackoff: number; nextAt: number | null };
    const pendingInteractions = this.db
      .prepare(
        `SELECT count(*) AS n, COALESCE(SUM(i.text_length + COALESCE(length(i.tool_input), 0) + COALESCE(length(i.tool_use_result), 0) + COALESCE(length(i.data), 0)), 0) AS bytes
         FROM sync_sessions ss JOIN sessions s ON s.id = ss.session_id
         JOIN interactions i ON i.session_id = ss.session_id
           AND i.id > COALESCE((SELECT uploaded_through FROM sync_streams st WHERE st.session_id = ss.session_id AND st.dataset = 'interactions'), 0)
         WHERE ss.dirty_since IS NOT NULL AND ${UPLOADABLE}`,
      )
      .get() as { n: number; bytes: number };
    const pendingHooks = this.db
      .prepare(
        `SELECT count(*) AS n, COALESCE(SUM(h.payload_bytes), 0) AS bytes
         FROM sync_sessions ss JOIN sessions s ON s.id = ss.session_id
         JOIN hook_events h ON h.session_id = ss.session_id
           AND h.seq > COALESCE((SELECT uploaded_through FROM sync_streams st WHERE st.session_id = ss.session_id AND st.dataset = 'hook_events'), 0)
         WHERE ss.dirty_since IS NOT NULL AND ${UPLOADABLE}`,
      )
      .get() as { n: number; bytes: number };
    const last = this.db
      .prepare(
        `SELECT MAX(last_success_at) AS lastSuccessAt,
                (SELECT last_error FROM sync_sessions WHERE last_error IS NOT NULL ORDER BY last_error_at DESC LIMIT 1) AS lastError,
                (SELECT last_error_at FROM sync_sessions WHERE last_error IS NOT NULL ORDER BY last_error_at DESC LIMIT 1) AS lastErrorAt,
                (SELECT session_id FROM sync_sessions WHERE last_error IS NOT NULL ORDER BY last_error_at DESC LIMIT 1) AS lastErrorSession,
                count(last_success_at) AS synced
         FROM sync_sessions`,
      )
      .get() as { lastSuccessAt: number | null; lastError: string | null; lastErrorAt: number | null; lastErrorSession: string | null; synced: number };
    const parts = this.db.prepare(`SELECT count(*) AS n, COALESCE(SUM(bytes), 0) AS bytes FROM sync_parts`).get() as { n: number; bytes: number };
    return {
      backlogSessions: backlog.n,
      backlogRows: pendingInteractions.n + pendingHooks.n,
      backlogBytes: pendingInteractions.bytes + pendingHooks.bytes,
      inBackoff: backlog.inBackoff,
      nextAttemptAt: backlog.nextAt,
      oldestDirtySince: backlog.oldest,
      lastSuccessAt: last.lastSuccessAt,
      lastError: last.lastError,
      lastErrorAt: last.lastErrorAt,
      lastErrorSession: last.lastErrorSession,
      sessionsSynced: last.synced,
      parts: parts.n,
      bytes: parts.bytes,
    };
  }
}
