// Learn's tables (migrations/0006_learn.sql): per-session error signatures, learnings with their
// provenance, and the record of each learn run.
import type { Db } from './db.js';

/** Bumped when the incident model changes what it finds: scans made by an older model are redone. */
export const INCIDENT_MODEL_VERSION = 1;

export interface SignatureRow {
  session_id: string;
  signature_id: string;
  signature: string;
  tool_name: string;
  check_key: string;
  occurrences: number;
  first_ts: number | null;
  last_ts: number | null;
  resolved: number;
  fix: string;
  fix_refs: string;
  verification: string;
  failure_refs: string;
  example: string;
  status: string;
}

/** One incident of a session, as the cross-session index keeps it. */
export interface IncidentRecord {
  signatureId: string;
  signature: string;
  toolName: string;
  checkKey: string;
  occurrences: number;
  firstTs: number | null;
  lastTs: number | null;
  status: 'resolved' | 'fixed-unverified' | 'unresolved';
  fix: string;
  fixRefs: string[];
  verification: string;
  failureRefs: string[];
  example: string;
}

/** Interactions + hook events: grows whenever the session does, so a larger count means rescan. */
export function sessionSourceRows(db: Db, sessionId: string): number {
  return (db.prepare('SELECT interactions + hook_events AS n FROM sessions WHERE id = ?').get(sessionId) as { n: number } | undefined)?.n ?? 0;
}

export function isScanCurrent(db: Db, sessionId: string): boolean {
  const row = db.prepare('SELECT source_rows, model FROM signature_scans WHERE session_id = ?').get(sessionId) as
    | { source_rows: number; model: number }
    | undefined;
  return row !== undefined && row.model === INCIDENT_MODEL_VERSION && row.source_rows === sessionSourceRows(db, sessionId);
}

/** Replaces the session's incident signatures with these (a rescan may find fewer, e.g. after redaction). */
export function saveSignatures(db: Db, sessionId: string, incidents: IncidentRecord[], now = Date.now()): void {
  const insert = db.prepare(
    `INSERT INTO error_signatures (session_id, signature_id, signature, tool_name, check_key, occurrences, first_ts, last_ts, resolved, fix, fix_refs, verification, failure_refs, example, status)
     VALUES (@session_id, @signature_id, @signature, @tool_name, @check_key, @occurrences, @first_ts, @last_ts, @resolved, @fix, @fix_refs, @verification, @failure_refs, @example, @status)
     ON CONFLICT (session_id, signature_id) DO UPDATE SET occurrences = occurrences + excluded.occurrences, last_ts = MAX(COALESCE(last_ts, 0), COALESCE(excluded.last_ts, 0)),
       resolved = MAX(resolved, excluded.resolved), fix = CASE WHEN excluded.resolved = 1 THEN excluded.fix ELSE fix END`,
  );
  db.transaction(() => {
    db.prepare('DELETE FROM error_signatures WHERE session_id = ?').run(sessionId);
    for (const i of incidents) {
      insert.run({
        session_id: sessionId,
        signature_id: i.signatureId,
        signature: i.signature,
        tool_name: i.toolName,
        check_key: i.checkKey,
        occurrences: i.occurrences,
        first_ts: i.firstTs,
        last_ts: i.lastTs,
        resolved: i.status === 'resolved' ? 1 : 0,
        fix: i.fix,
        fix_refs: JSON.stringify(i.fixRefs),
        verification: i.verification.slice(0, 500),
        failure_refs: JSON.stringify(i.failureRefs),
        example: i.example.slice(0, 500),
        status: i.status,
      });
    }
    db.prepare(
      'INSERT INTO signature_scans (session_id, source_rows, scanned_at, model) VALUES (?, ?, ?, ?) ON CONFLICT (session_id) DO UPDATE SET source_rows = excluded.source_rows, scanned_at = excluded.scanned_at, model = excluded.model',
    ).run(sessionId, sessionSourceRows(db, sessionId), now, INCIDENT_MODEL_VERSION);
  }).immediate();
}

export function otherSessionsWith(db: Db, signatureId: string, exceptSession: string): (SignatureRow & { project: string | null; cwd: string | null })[] {
  return db
    .prepare(
      `SELECT e.*, s.project, s.cwd FROM error_signatures e LEFT JOIN sessions s ON s.id = e.session_id
       WHERE e.signature_id = ? AND e.session_id <> ? ORDER BY COALESCE(e.first_ts, 0), e.session_id`,
    )
    .all(signatureId, exceptSession) as (SignatureRow & { project: string | null; cwd: string | null })[];
}

export interface LearningRow {
  id: string;
  kind: string;
  signature_id: string | null;
  signature: string | null;
  title: string;
  fix: string;
  verification: string;
  first_seen: number | null;
  last_seen: number | null;
  doc_path: string | null;
  created_at: number;
  updated_at: number;
}

export interface LearningSourceRow {
  learning_id: string;
  session_id: string;
  run_id: string;
  refs: string;
  created_at: number;
}

export interface LearningInput {
  id: string;
  kind: 'fix' | 'unverified' | 'ruled-out';
  signatureId: string;
  signature: string;
  title: string;
  fix: string;
  verification: string;
  firstSeen: number | null;
  lastSeen: number | null;
  docPath: string;
  sessionId: string;
  refs: string[];
}

export function upsertLearning(db: Db, l: LearningInput, runId: string, now = Date.now()): void {
  db.prepare(
    `INSERT INTO learnings (id, kind, signature_id, signature, title, fix, verification, first_seen, last_seen, doc_path, created_at, updated_at)
     VALUES (@id, @kind, @signatureId, @signature, @title, @fix, @verification, @firstSeen, @lastSeen, @docPath, @now, @now)
     ON CONFLICT (id) DO UPDATE SET title = excluded.title, fix = excluded.fix, verification = excluded.verification,
       first_seen = MIN(COALESCE(first_seen, excluded.first_seen), COALESCE(excluded.first_seen, first_seen)),
       last_seen = MAX(COALESCE(last_seen, excluded.last_seen), COALESCE(excluded.last_seen, last_seen)),
       doc_path = excluded.doc_path, updated_at = excluded.updated_at`,
  ).run({ ...l, now });
  db.prepare(
    `INSERT INTO learning_sources (learning_id, session_id, run_id, refs, created_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (learning_id, session_id) DO UPDATE SET run_id = excluded.run_id, refs = excluded.refs, created_at = excluded.created_at`,
  ).run(l.id, l.sessionId, runId, JSON.stringify(l.refs), now);
}

export function recordRun(
  db: Db,
  run: {
    id: string;
    sessionId: string;
    incidentId: string | null;
    query: string | null;
    synthesizer: string;
    fallbackReason: string | null;
    outputDir: string;
    files: string[];
  },
  now = Date.now(),
): void {
  db.prepare(
    `INSERT INTO learn_runs (id, session_id, incident_id, query, synthesizer, fallback_reason, output_dir, files, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(run.id, run.sessionId, run.incidentId, run.query, run.synthesizer, run.fallbackReason, run.outputDir, JSON.stringify(run.files), now);
}

export function listLearnings(db: Db, limit: number): (LearningRow & { sessions: number })[] {
  return db
    .prepare(
      `SELECT l.*, (SELECT count(*) FROM learning_sources s WHERE s.learning_id = l.id) AS sessions
       FROM learnings l ORDER BY COALESCE(l.last_seen, l.updated_at) DESC, l.id LIMIT ?`,
    )
    .all(limit) as (LearningRow & { sessions: number })[];
}

export function getLearning(db: Db, idOrPrefix: string): { learning: LearningRow; sources: LearningSourceRow[] } | { ambiguous: string[] } | null {
  const rows = db
    .prepare(`SELECT * FROM learnings WHERE id = ? OR id LIKE ? ESCAPE '\\' ORDER BY id LIMIT 5`)
    .all(idOrPrefix, `${idOrPrefix.replace(/[\\%_]/g, '\\$&')}%`) as LearningRow[];
  const exact = rows.find((r) => r.id === idOrPrefix);
  if (!exact && rows.length > 1) return { ambiguous: rows.map((r) => r.id) };
  const learning = exact ?? rows[0];
  if (!learning) return null;
  const sources = db.prepare('SELECT * FROM learning_sources WHERE learning_id = ? ORDER BY created_at, session_id').all(learning.id) as LearningSourceRow[];
  return { learning, sources };
}
