// The retention job: sessions whose last activity is older than retention.local.days, and that are
// not pinned, lose their history.
//
// Per expired session, in ONE transaction: its hook_events, interactions (the FTS index follows
// through the triggers of migrations/0003_search.sql), message_usage and subagents rows are
// deleted, and the sessions row becomes a tombstone: expired_at set, counts, tokens and cost zeroed.
// An interrupted run therefore leaves every session either fully present or fully expired, and
// running again finishes the work.
//
// Kept on purpose:
// - the sessions row (tombstone): the id still resolves, `rbk sessions pin` on it says it is
//   expired, and a hook event arriving later for it (a resumed session) updates it again;
// - the transcripts rows with their byte offsets: the watcher and `rbk import` resume each file
//   where they stopped, so expired history is not read back in. (A transcript file that was
//   truncated or replaced since is read again from the start: that does re-import it.)
// - learnings and their learning_sources rows (migrations/0006_learn.sql): a learning is the
//   distilled, redacted fact (signature, fix, verification) that outlives transcripts by design,
//   and its provenance names the session by id and interaction ids only (the id resolves to the
//   tombstone). The session's own learn rows go with it, in the same transaction:
//   error_signatures (its failures, with example output lines), signature_scans and learn_runs
//   (its --query text and output files).
//
// Also removed: local artifacts under <dataDir>/<localBaseDir>/**/session=<id>/ of expired
// sessions, rows of no session (hook events without a session id, lines without one) older than
// the cutoff, and quarantined spool files (<spool>/rejected/*) older than the cutoff.
import { HookEventStore } from '../store/hook-event-store.js';
import { InteractionStore } from '../store/interactions.js';
import { SessionStore } from '../store/session-store.js';
import { UsageStore } from '../store/usage-store.js';
import { telemetryRetention } from '../store/telemetry.js';
import fs from 'node:fs';
import path from 'node:path';
import type { RbkPaths } from '../../common/paths.js';
import { isSafeId } from '../../common/ids.js';
import type { RbkConfig } from '../config/schema.js';
import type { Db } from '../store/db.js';
import { DAY_MS, type Clock } from '../jobs/clock.js';
import { checkpoint, type JobContext } from '../jobs/registry.js';
import type { JobCounts } from '../jobs/runs.js';
import { expireCentralCopy } from '../sync/retention.js';
import type { CentralCopyServices } from '../sync/compaction.js';

export interface RetentionEnv {
  db: Db;
  config: RbkConfig;
  paths: RbkPaths;
  clock: Clock;
}

export interface RetentionRows {
  hookEvents: number;
  interactions: number;
  messageUsage: number;
  subagents: number;
  /** error_signatures + signature_scans + learn_runs rows of the session. */
  learnRows: number;
  /** What agents exported over OTLP for the session (daemon/store/telemetry.ts). */
  telemetryEvents: number;
}

export interface RetentionSession {
  id: string;
  project: string | null;
  lastActivityAt: number;
  rows: RetentionRows;
}

export interface RetentionPlan {
  days: number;
  cutoff: number;
  /** Sessions that would be expired, oldest first. */
  sessions: RetentionSession[];
  /** Sessions past the cutoff that stay because they are pinned. */
  pinnedKept: number;
  /** Rows that belong to no session, older than the cutoff. */
  orphans: { hookEvents: number; interactions: number; messageUsage: number };
  spoolRejected: string[];
  artifactDirs: string[];
}

// The last sign of life. created_at is when rbk first stored the session: a floor, never NULL.
const LAST = 'COALESCE(s.last_activity_at, s.started_at, s.created_at)';
const HAS_ROWS = `(EXISTS (SELECT 1 FROM hook_events h WHERE h.session_id = s.id)
  OR EXISTS (SELECT 1 FROM interactions i WHERE i.session_id = s.id)
  OR EXISTS (SELECT 1 FROM message_usage m WHERE m.session_id = s.id)
  OR EXISTS (SELECT 1 FROM subagents a WHERE a.session_id = s.id))`;
// A tombstone is a candidate again only if rows for it arrived after it expired.
const CANDIDATES = `SELECT s.id, s.project, ${LAST} AS last FROM sessions s
  WHERE s.pinned = 0 AND ${LAST} < @cutoff AND (s.expired_at IS NULL OR ${HAS_ROWS})
  ORDER BY last, s.id`;
const ORPHAN_BATCH = 1000;

export function retentionCutoff(config: RbkConfig, clock: Clock): { days: number; cutoff: number } {
  const days = config.retention.local.days;
  return { days, cutoff: clock.now() - days * DAY_MS };
}

/**
 * Of `sessionIds` (what an import just stored), the unpinned ones already older than the
 * retention cutoff: the next retention run deletes them. Import warns about them.
 */
export function pastRetention(db: Db, config: RbkConfig, clock: Clock, sessionIds: string[]): { sessions: number; oldestUnixMs: number; days: number } {
  const { days, cutoff } = retentionCutoff(config, clock);
  let sessions = 0;
  let oldest = 0;
  for (let i = 0; i < sessionIds.length; i += 500) {
    const chunk = sessionIds.slice(i, i + 500);
    const r = db
      .prepare(
        `SELECT count(*) AS n, MIN(${LAST}) AS oldest FROM sessions s WHERE s.id IN (${chunk.map(() => '?').join(',')}) AND s.pinned = 0 AND ${LAST} < ?`,
      )
      .get(...chunk, cutoff) as { n: number; oldest: number | null };
    sessions += r.n;
    if (r.oldest !== null && (oldest === 0 || r.oldest < oldest)) oldest = r.oldest;
  }
  return { sessions, oldestUnixMs: oldest, days };
}

/** What a run would do now; changes nothing. */
export function planRetention(env: RetentionEnv): RetentionPlan {
  const { db } = env;
  const { days, cutoff } = retentionCutoff(env.config, env.clock);
  const count = {
    hookEvents: db.prepare('SELECT count(*) FROM hook_events WHERE session_id = ?').pluck(),
    interactions: db.prepare('SELECT count(*) FROM interactions WHERE session_id = ?').pluck(),
    messageUsage: db.prepare('SELECT count(*) FROM message_usage WHERE session_id = ?').pluck(),
    subagents: db.prepare('SELECT count(*) FROM subagents WHERE session_id = ?').pluck(),
    learnRows: db
      .prepare(
        `SELECT (SELECT count(*) FROM error_signatures WHERE session_id = @id) + (SELECT count(*) FROM signature_scans WHERE session_id = @id)
              + (SELECT count(*) FROM learn_runs WHERE session_id = @id)`,
      )
      .pluck(),
  };
  const telemetry = telemetryRetention(db);
  const sessions = (db.prepare(CANDIDATES).all({ cutoff }) as { id: string; project: string | null; last: number }[]).map((r) => ({
    id: r.id,
    project: r.project,
    lastActivityAt: r.last,
    rows: {
      hookEvents: count.hookEvents.get(r.id) as number,
      interactions: count.interactions.get(r.id) as number,
      messageUsage: count.messageUsage.get(r.id) as number,
      subagents: count.subagents.get(r.id) as number,
      learnRows: count.learnRows.get({ id: r.id }) as number,
      telemetryEvents: telemetry.count(r.id),
    },
  }));
  const one = (sql: string) => db.prepare(sql).pluck().get({ cutoff }) as number;
  const expiring = new Set(sessions.map((s) => s.id));
  return {
    days,
    cutoff,
    sessions,
    pinnedKept: one(`SELECT count(*) FROM sessions s WHERE s.pinned = 1 AND ${LAST} < @cutoff`),
    orphans: {
      hookEvents: one('SELECT count(*) FROM hook_events WHERE session_id IS NULL AND received_at < @cutoff'),
      interactions: one('SELECT count(*) FROM interactions WHERE session_id IS NULL AND COALESCE(ts, ingested_at) < @cutoff'),
      messageUsage: one('SELECT count(*) FROM message_usage WHERE session_id IS NULL AND ts < @cutoff'),
    },
    spoolRejected: oldRejectedSpoolFiles(env.paths, cutoff),
    artifactDirs: artifactDirsToRemove(env, cutoff, expiring),
  };
}

/** The job. Counts: sessions expired, rows deleted per table, orphans, files and dirs removed. */
/** `central`: the central copy's services (see compaction.ts); without them its step is skipped. */
export async function runRetention(ctx: JobContext, central: CentralCopyServices | null = null): Promise<JobCounts> {
  const { db, signal } = ctx;
  const { cutoff, days } = retentionCutoff(ctx.config, ctx.clock);
  const counts = {
    sessions: 0,
    hookEvents: 0,
    interactions: 0,
    messageUsage: 0,
    subagents: 0,
    learnRows: 0,
    telemetryEvents: 0,
    skipped: 0,
    pinnedKept: 0,
    orphanHookEvents: 0,
    orphanInteractions: 0,
    orphanMessageUsage: 0,
    orphanTelemetryEvents: 0,
    artifactDirs: 0,
    spoolRejected: 0,
  };
  const candidates = (db.prepare(CANDIDATES).all({ cutoff }) as { id: string }[]).map((r) => r.id);
  counts.pinnedKept = db.prepare(`SELECT count(*) FROM sessions s WHERE s.pinned = 1 AND ${LAST} < @cutoff`).pluck().get({ cutoff }) as number;
  ctx.log.info('retention starting', { days, cutoff: new Date(cutoff).toISOString(), sessions: candidates.length });

  const expire = sessionExpirer(db);
  const total = candidates.length + 1;
  ctx.progress({ done: 0, total, message: `expiring ${candidates.length} sessions`, counts });
  for (const [i, id] of candidates.entries()) {
    await checkpoint(signal);
    const r = expire(id, cutoff, ctx.clock.now());
    if (r) {
      counts.sessions += 1;
      counts.hookEvents += r.hookEvents;
      counts.interactions += r.interactions;
      counts.messageUsage += r.messageUsage;
      counts.subagents += r.subagents;
      counts.learnRows += r.learnRows;
      counts.telemetryEvents += r.telemetryEvents;
    } else {
      // Pinned, or active again, since the list was made.
      counts.skipped += 1;
    }
    ctx.progress({ done: i + 1, total, message: `expired ${counts.sessions} of ${candidates.length} sessions`, counts });
  }

  await checkpoint(signal);
  const hookEvents = new HookEventStore(db);
  const interactions = new InteractionStore(db);
  const usage = new UsageStore(db);
  counts.orphanHookEvents = await deleteInBatches(signal, () => hookEvents.deleteOrphans(cutoff, ORPHAN_BATCH));
  counts.orphanInteractions = await deleteInBatches(signal, () => interactions.deleteOrphans(cutoff, ORPHAN_BATCH));
  counts.orphanMessageUsage = await deleteInBatches(signal, () => usage.deleteOrphans(cutoff, ORPHAN_BATCH));

  const telemetryOrphans = telemetryRetention(db);
  for (;;) {
    const n = telemetryOrphans.removeOrphans(cutoff, ORPHAN_BATCH);
    counts.orphanTelemetryEvents += n;
    if (n < ORPHAN_BATCH) break;
    await checkpoint(signal);
  }

  await checkpoint(signal);
  // Every expired, still-old, unpinned session: this run's and those of an interrupted earlier one.
  for (const dir of artifactDirsToRemove(ctx, cutoff, new Set())) {
    fs.rmSync(dir, { recursive: true, force: true });
    counts.artifactDirs += 1;
  }
  for (const file of oldRejectedSpoolFiles(ctx.paths, cutoff)) {
    fs.rmSync(file, { force: true });
    counts.spoolRejected += 1;
  }
  // The central copy's expired date partitions (retention.s3.days; daemon/sync/retention.ts).
  await checkpoint(signal);
  const all = { ...counts, ...(await expireCentralCopy(ctx, central)) };
  ctx.progress({ done: total, total, message: `expired ${counts.sessions} sessions`, counts: all });
  return all;
}

/** Returns a function that expires one session in one transaction, or returns null if it should stay. */
export function sessionExpirer(db: Db): (id: string, cutoff: number, now: number) => RetentionRows | null {
  const stmts = {
    check: db.prepare(`SELECT s.pinned, ${LAST} AS last FROM sessions s WHERE s.id = ?`),
    hookEvents: new HookEventStore(db),
    interactions: new InteractionStore(db),
    messageUsage: new UsageStore(db),
    sessions: new SessionStore(db),
    subagents: db.prepare('DELETE FROM subagents WHERE session_id = ?'),
    errorSignatures: db.prepare('DELETE FROM error_signatures WHERE session_id = ?'),
    signatureScans: db.prepare('DELETE FROM signature_scans WHERE session_id = ?'),
    learnRuns: db.prepare('DELETE FROM learn_runs WHERE session_id = ?'),
    telemetry: telemetryRetention(db),
  };
  const tx = db.transaction((id: string, cutoff: number, now: number): RetentionRows | null => {
    // Checked again inside the transaction: a pin or new activity since the list was made wins.
    const row = stmts.check.get(id) as { pinned: number; last: number } | undefined;
    if (row?.pinned !== 0 || row.last >= cutoff) return null;
    const rows = {
      hookEvents: stmts.hookEvents.deleteSession(id),
      interactions: stmts.interactions.deleteSession(id),
      messageUsage: stmts.messageUsage.deleteSession(id),
      subagents: stmts.subagents.run(id).changes,
      learnRows: stmts.errorSignatures.run(id).changes + stmts.signatureScans.run(id).changes + stmts.learnRuns.run(id).changes,
      telemetryEvents: stmts.telemetry.remove(id),
    };
    stmts.sessions.tombstone(id, now);
    return rows;
  });
  return (id, cutoff, now) => tx.immediate(id, cutoff, now);
}

/** Runs one batch delete (at most ORPHAN_BATCH rows) until a batch comes back short, yielding between batches. */
async function deleteInBatches(signal: AbortSignal, deleteBatch: () => number): Promise<number> {
  let total = 0;
  for (;;) {
    const n = deleteBatch();
    total += n;
    if (n < ORPHAN_BATCH) return total;
    await checkpoint(signal);
  }
}

function oldRejectedSpoolFiles(paths: RbkPaths, cutoff: number): string[] {
  const dir = path.join(paths.spoolDir, 'rejected');
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries) {
    if (!e.isFile()) continue;
    const file = path.join(dir, e.name);
    try {
      if (fs.statSync(file).mtimeMs < cutoff) out.push(file);
    } catch {
      /* gone meanwhile */
    }
  }
  return out.sort();
}

/** <dataDir>/<localBaseDir>, resolved; absolute localBaseDir values are used as they are. */
export function artifactBase(config: RbkConfig, paths: RbkPaths): string {
  return path.resolve(paths.dataDir, config.integrations.claude.sessionStorage.localBaseDir);
}

/**
 * `session=<id>` directories anywhere under the artifact base (symlinks are not followed, and a
 * session directory is not searched further), by session id. Ids that are not safe ids are skipped.
 */
export function findSessionDirs(base: string, maxDepth = 8): Map<string, string[]> {
  const found = new Map<string, string[]>();
  const walk = (dir: string, depth: number): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const m = /^session=(.+)$/.exec(e.name);
      if (m) {
        if (isSafeId(m[1])) found.set(m[1]!, [...(found.get(m[1]!) ?? []), path.join(dir, e.name)]);
        continue;
      }
      if (depth < maxDepth) walk(path.join(dir, e.name), depth + 1);
    }
  };
  walk(base, 1);
  return found;
}

/** Artifact dirs of sessions that are expired (or in `expiring`), still past the cutoff and not pinned. */
function artifactDirsToRemove(env: { db: Db; config: RbkConfig; paths: RbkPaths }, cutoff: number, expiring: Set<string>): string[] {
  const dirs = findSessionDirs(artifactBase(env.config, env.paths));
  if (dirs.size === 0) return [];
  const gone = env.db.prepare(`SELECT 1 FROM sessions s WHERE s.id = ? AND s.pinned = 0 AND s.expired_at IS NOT NULL AND ${LAST} < ?`).pluck();
  const out: string[] = [];
  for (const [id, list] of dirs) {
    if (expiring.has(id) || gone.get(id, cutoff)) out.push(...list);
  }
  return out.sort();
}
