// Sessions → incident model → stored incident signatures, and cross-session retrieval: an earlier
// session with the same incident is found through the FTS index (its error output has the
// signature's stable words) and confirmed by the stored signature table, which is filled lazily
// as sessions are met. Only incident failures are stored: missteps and unrelated failures never
// become "incidents" across sessions.
import { search, SearchSyntaxError } from '../query/search.js';
import { buildTimeline, type TimelineEntry } from '../query/timeline.js';
import type { Db } from '../store/db.js';
import { pathScrubber, type PatchHunk } from './change.js';
import { fixSummary } from './extractive.js';
import { analyze, type Analysis, type Incident } from './incident.js';
import { INCIDENT_MODEL_VERSION, isScanCurrent, otherSessionsWith, saveSignatures, type IncidentRecord, type SignatureRow } from '../store/learnings.js';

/** tool_use_id → the tool_result's interaction uuid, so claims can cite the output itself. */
export function resultRefs(db: Db, sessionId: string): Map<string, string> {
  const rows = db
    .prepare(`SELECT tool_use_id, uuid FROM interactions WHERE session_id = ? AND kind = 'tool_result' AND tool_use_id IS NOT NULL ORDER BY id`)
    .all(sessionId) as { tool_use_id: string; uuid: string }[];
  const map = new Map<string, string>();
  for (const r of rows) if (!map.has(r.tool_use_id)) map.set(r.tool_use_id, r.uuid);
  return map;
}

/**
 * Claude Code's own diff of each Edit (toolUseResult.structuredPatch), by the tool_use's ref:
 * the real hunks, with line numbers and context, for fix steps that show the change.
 */
export function editPatches(db: Db, sessionId: string, entries: TimelineEntry[]): Map<string, PatchHunk[]> {
  const byToolUse = new Map<string, string>();
  for (const e of entries) if (e.kind === 'tool' && e.toolUseId && (e.toolName === 'Edit' || e.toolName === 'MultiEdit')) byToolUse.set(e.toolUseId, e.ref);
  const out = new Map<string, PatchHunk[]>();
  if (byToolUse.size === 0) return out;
  const rows = db
    .prepare(
      `SELECT tool_use_id, json_extract(result, '$.structuredPatch') AS patch
       FROM (SELECT tool_use_id, rbk_tool_result(text, tool_use_result) AS result FROM interactions
             WHERE session_id = ? AND kind = 'tool_result' AND tool_use_id IS NOT NULL AND tool_use_result IS NOT NULL)
       WHERE json_valid(result)`,
    )
    .all(sessionId) as { tool_use_id: string; patch: string | null }[];
  for (const r of rows) {
    const ref = byToolUse.get(r.tool_use_id);
    if (!ref || !r.patch || out.has(ref)) continue;
    try {
      const hunks = JSON.parse(r.patch) as PatchHunk[];
      if (Array.isArray(hunks) && hunks.every((h) => Array.isArray(h.lines))) out.set(ref, hunks);
    } catch {
      /* not a patch */
    }
  }
  return out;
}

export function sessionCwd(db: Db, sessionId: string): string {
  return (db.prepare('SELECT cwd FROM sessions WHERE id = ?').pluck().get(sessionId) as string | null | undefined) ?? '';
}

export interface SessionModel {
  analysis: Analysis;
  patches: Map<string, PatchHunk[]>;
  scrub: (s: string) => string;
}

/** The incident model of a stored session (or of `entries`, a focused part of it). */
export function sessionModel(db: Db, sessionId: string, entries: TimelineEntry[] = buildTimeline(db, sessionId, { inputs: true })): SessionModel {
  const cwd = sessionCwd(db, sessionId);
  return { analysis: analyze(entries, { cwd, resultRefs: resultRefs(db, sessionId) }), patches: editPatches(db, sessionId, entries), scrub: pathScrubber(cwd) };
}

/** How the cross-session index keeps an incident (paths made portable). */
export function incidentRecord(inc: Incident, m: Pick<SessionModel, 'scrub' | 'patches'>): IncidentRecord {
  return {
    signatureId: inc.signature.id,
    signature: inc.signature.text,
    toolName: inc.firstSymptom.toolName,
    checkKey: inc.checks[0] ?? '',
    occurrences: inc.failures.length,
    firstTs: inc.firstSymptom.unixMs || null,
    lastTs: inc.failures.at(-1)!.unixMs || null,
    status: inc.status,
    fix: inc.status === 'unresolved' ? '' : fixSummary(inc, m),
    fixRefs: [...new Set([...inc.fix.map((c) => c.ref), ...inc.verification.map((c) => c.ref)])],
    verification: inc.verification.map((v) => m.scrub(v.text)).join(' && '),
    failureRefs: inc.failures.map((f) => f.ref),
    example: m.scrub(inc.signature.line),
  };
}

/** Computes and stores the session's incident signatures unless they are current. */
export function ensureScanned(db: Db, sessionId: string): void {
  if (isScanCurrent(db, sessionId)) return;
  const m = sessionModel(db, sessionId);
  saveSignatures(
    db,
    sessionId,
    m.analysis.incidents.map((i) => incidentRecord(i, m)),
  );
}

/** Scans every session with a failed tool call whose incident signatures are missing or stale. */
export function scanAll(db: Db, onProgress?: (done: number, total: number) => void): number {
  const ids = db
    .prepare(
      `SELECT s.id FROM sessions s LEFT JOIN signature_scans c ON c.session_id = s.id
       WHERE (s.tool_failures > 0 OR s.t_tool_failures > 0) AND s.expired_at IS NULL
         AND (c.session_id IS NULL OR c.source_rows <> s.interactions + s.hook_events OR c.model <> ?)
       ORDER BY s.id`,
    )
    .pluck()
    .all(INCIDENT_MODEL_VERSION) as string[];
  ids.forEach((id, i) => {
    const m = sessionModel(db, id);
    saveSignatures(
      db,
      id,
      m.analysis.incidents.map((inc) => incidentRecord(inc, m)),
    );
    onProgress?.(i + 1, ids.length);
  });
  return ids.length;
}

export interface PriorOccurrence {
  sessionId: string;
  project: string;
  cwd: string;
  firstSeenUnixMs: number;
  lastSeenUnixMs: number;
  occurrences: number;
  resolved: boolean;
  status: string;
  fix: string;
  /** Interaction ids in that session: the fix steps and the passing check. */
  fixRefs: string[];
  failureRefs: string[];
}

const FTS_WORDS = 6;
const FTS_CANDIDATES = 50;

/** Earlier (or other) sessions with the same incident signature, oldest first. */
export function retrieve(db: Db, sessionId: string, inc: Incident): PriorOccurrence[] {
  const words = inc.signature.words.slice(0, FTS_WORDS);
  if (words.length > 0) {
    let candidates: string[] = [];
    try {
      candidates = [
        ...new Set(
          search(db, { query: words.map((w) => `"${w}"`).join(' '), errors: true, limit: FTS_CANDIDATES })
            .hits.map((h) => h.sessionId)
            .filter((id) => id && id !== sessionId),
        ),
      ];
    } catch (err) {
      if (!(err instanceof SearchSyntaxError)) throw err;
    }
    for (const id of candidates) ensureScanned(db, id);
  }
  return otherSessionsWith(db, inc.signature.id, sessionId).map(toPrior);
}

function toPrior(r: SignatureRow & { project: string | null; cwd: string | null }): PriorOccurrence {
  return {
    sessionId: r.session_id,
    project: r.project ?? '',
    cwd: r.cwd ?? '',
    firstSeenUnixMs: r.first_ts ?? 0,
    lastSeenUnixMs: r.last_ts ?? 0,
    occurrences: r.occurrences,
    resolved: r.resolved === 1,
    status: r.status,
    fix: r.fix,
    fixRefs: JSON.parse(r.fix_refs) as string[],
    failureRefs: JSON.parse(r.failure_refs) as string[],
  };
}

export interface IncidentCluster {
  signatureId: string;
  signature: string;
  toolName: string;
  example: string;
  occurrences: number;
  sessions: string[];
  firstSeenUnixMs: number;
  lastSeenUnixMs: number;
  resolvedSessions: number;
  /** Distinct fixes, most used first. */
  fixes: { fix: string; sessions: number }[];
}

/** Clusters of the same incident signature across every stored session. */
export function incidents(db: Db, opts: { minSessions?: number; limit?: number } = {}): IncidentCluster[] {
  scanAll(db);
  const rows = db.prepare('SELECT * FROM error_signatures ORDER BY signature_id, COALESCE(first_ts, 0), session_id').all() as SignatureRow[];
  const by = new Map<string, IncidentCluster & { fixCounts: Map<string, number> }>();
  for (const r of rows) {
    let inc = by.get(r.signature_id);
    if (!inc) {
      inc = {
        signatureId: r.signature_id,
        signature: r.signature,
        toolName: r.tool_name,
        example: r.example,
        occurrences: 0,
        sessions: [],
        firstSeenUnixMs: Number.MAX_SAFE_INTEGER,
        lastSeenUnixMs: 0,
        resolvedSessions: 0,
        fixes: [],
        fixCounts: new Map(),
      };
      by.set(r.signature_id, inc);
    }
    inc.occurrences += r.occurrences;
    inc.sessions.push(r.session_id);
    if (r.first_ts !== null) inc.firstSeenUnixMs = Math.min(inc.firstSeenUnixMs, r.first_ts);
    if (r.last_ts !== null) inc.lastSeenUnixMs = Math.max(inc.lastSeenUnixMs, r.last_ts);
    if (r.resolved) {
      inc.resolvedSessions++;
      inc.fixCounts.set(r.fix, (inc.fixCounts.get(r.fix) ?? 0) + 1);
    }
  }
  const out = [...by.values()]
    .filter((i) => i.sessions.length >= (opts.minSessions ?? 1))
    .map(({ fixCounts, ...i }) => ({
      ...i,
      firstSeenUnixMs: i.firstSeenUnixMs === Number.MAX_SAFE_INTEGER ? 0 : i.firstSeenUnixMs,
      fixes: [...fixCounts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([fix, sessions]) => ({ fix, sessions })),
    }))
    .sort(
      (a, b) =>
        b.sessions.length - a.sessions.length ||
        b.occurrences - a.occurrences ||
        b.lastSeenUnixMs - a.lastSeenUnixMs ||
        a.signatureId.localeCompare(b.signatureId),
    );
  return opts.limit ? out.slice(0, opts.limit) : out;
}
