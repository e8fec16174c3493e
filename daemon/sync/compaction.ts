// S3 compaction, a step of the `compact` job: once a session has been closed (ended, or idle) for
// compaction.s3.closedHours, each dataset's parts are merged into one object
// `part-<first>-<last>.ndjson.gz`, the manifest is rewritten to name it, and only then are the
// parts it replaced deleted. Fewer, larger objects: cheaper GETs for pull and for Athena/DuckDB.
//
// The order makes every intermediate state one a reader can use:
//   1. merge:    GET each part (sha256 checked against sync_parts), concatenate the NDJSON in
//                part order, gzip, PUT the merged object with its checksum. The old manifest and
//                parts are untouched: readers see the old state (scanners may also see the new
//                object; rows are keyed by uuid/event id, so DISTINCT removes the overlap).
//   2. record:   in SQLite, replace the dataset's sync_parts rows by one row for the merged object.
//                The sync watermarks (sync_streams) are not touched: later uploads continue at
//                last_seq + 1, and the next manifest the engine writes lists the merged object.
//   3. manifest: PUT the rebuilt session.json (a PUT replaces the object atomically).
//   4. cleanup:  GET the manifest back; only if it names the merged objects, delete the parts they
//                cover (and nothing outside their ranges, so a part uploaded meanwhile stays). Then
//                store the manifest's hash, so the engine does not PUT an identical one again.
// A crash between any two steps leaves a usable state, and the next run finishes the work: a
// session with merged parts recorded in the last RECHECK_MS is checked again (one GET of its
// manifest, one LIST per dataset) until nothing is left to delete. The merge is deterministic
// (same parts, same bytes), so compacting twice changes nothing.
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import type { RbkConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { RedactionService } from '../redact/service.js';
import type { Db } from '../store/db.js';
import type { StorageBackend } from './backend.js';
import { compactedPartKey, DATASETS, manifestKey, parseKey, sessionPrefix, type Dataset, type SessionPartition } from './layout.js';
import { encodeManifest, manifestContent, ManifestBuilder } from './manifest.js';
import { gunzipBounded, sha256Hex } from './pull.js';
import { SyncState, type ConfirmedPart } from './state.js';

const HOUR_MS = 3600_000;
/** How long after a merge a session is checked again for parts left by an interrupted cleanup. */
export const RECHECK_MS = 3 * 24 * HOUR_MS;
const NEWLINE = Buffer.from('\n');
const PART_FILE = /^part-(\d{6})(?:-(\d{6}))?\.ndjson\.gz$/;

export interface S3CompactionEnv {
  db: Db;
  backend: StorageBackend;
  redaction: RedactionService;
  log: Logger;
  now: () => number;
  signal?: AbortSignal;
}

export interface S3CompactionCounts {
  /** Sessions whose parts were merged in this run. */
  s3SessionsCompacted: number;
  /** Part objects read and merged, merged objects written, objects deleted, manifests written. */
  s3PartsMerged: number;
  s3ObjectsWritten: number;
  s3ObjectsDeleted: number;
  s3Manifests: number;
  /** Sessions left for the next run because of an error (bad part, backend down). */
  s3Errors: number;
}

export type CompactionStep = 'merge' | 'record' | 'manifest' | 'cleanup';

interface Merged {
  dataset: Dataset;
  part: ConfirmedPart;
  replaced: ConfirmedPart[];
}

export class S3CompactionError extends Error {}

/**
 * Sessions to look at: captured here, synced, closed since before `cutoff`, with nothing pending,
 * and either more than one part in a dataset or a merge recorded recently (cleanup to verify).
 */
export function compactionCandidates(db: Db, cutoff: number, now: number): string[] {
  return db
    .prepare(
      `SELECT s.id FROM sessions s JOIN sync_sessions ss ON ss.session_id = s.id
       WHERE s.pulled_from IS NULL AND s.expired_at IS NULL AND ss.host IS NOT NULL AND ss.date IS NOT NULL
         AND ss.dirty_since IS NULL
         AND COALESCE(s.last_activity_at, s.ended_at, s.started_at, s.created_at) < @cutoff
         AND (s.status = 'ended' OR COALESCE(s.last_activity_at, s.started_at, s.created_at) < @cutoff)
         AND NOT EXISTS (SELECT 1 FROM sync_streams st WHERE st.session_id = s.id AND st.planned_seq IS NOT NULL)
         AND (EXISTS (SELECT 1 FROM sync_parts p WHERE p.session_id = s.id GROUP BY p.dataset HAVING count(*) > 1)
              OR EXISTS (SELECT 1 FROM sync_parts p WHERE p.session_id = s.id AND p.last_seq > p.first_seq AND p.uploaded_at >= @recheck))
       ORDER BY s.id`,
    )
    .pluck()
    .all({ cutoff, recheck: now - RECHECK_MS }) as string[];
}

export class SessionCompactor {
  private readonly state: SyncState;
  private readonly manifests: ManifestBuilder;

  constructor(private readonly env: S3CompactionEnv) {
    this.state = new SyncState(env.db);
    this.manifests = new ManifestBuilder(env.db);
  }

  private partition(sessionId: string): SessionPartition {
    const s = this.state.session(sessionId);
    if (!s?.host || !s.date) throw new S3CompactionError(`session ${sessionId} has no sync partition yet`);
    return { sessionId, host: s.host, date: s.date };
  }

  /** Step 1: the merged object of each dataset with more than one part, PUT; nothing recorded yet. */
  async merge(sessionId: string, counts: S3CompactionCounts): Promise<Merged[]> {
    const p = this.partition(sessionId);
    const all = this.state.parts(sessionId);
    const out: Merged[] = [];
    for (const dataset of DATASETS) {
      const parts = all.filter((x) => x.dataset === dataset).sort((a, b) => a.first - b.first);
      if (parts.length < 2) continue;
      // One part gunzipped at a time into one gzip stream, keeping only the compressed output: a
      // session of hundreds of MB would otherwise be held whole, twice (the parts, then their
      // concatenation), before compressing. Without flushes zlib's output depends only on the bytes
      // fed, not on how they were split, so this is what gzipSync of the concatenation gives (and
      // zlib writes no timestamp): merging twice gives the same object.
      const backend = this.env.backend;
      const signal = this.env.signal;
      const compressed: Buffer[] = [];
      await pipeline(
        async function* () {
          for (const part of parts) {
            signal?.throwIfAborted();
            const body = await backend.get(part.key);
            if (body === null) throw new S3CompactionError(`${part.key} is missing from the bucket; run \`rbk sync --force\` to check the session`);
            if (sha256Hex(body) !== part.sha256) throw new S3CompactionError(`${part.key} does not match its recorded sha256; left as it is`);
            const raw = gunzipBounded(body);
            if (raw.length === 0) continue;
            yield raw;
            if (raw.at(-1) !== 0x0a) yield NEWLINE;
          }
        },
        // Same level as the engine's parts.
        zlib.createGzip({ level: 6 }),
        async (gzipped: AsyncIterable<Buffer>) => {
          for await (const chunk of gzipped) compressed.push(chunk);
        },
      );
      const first = parts[0]!.first;
      const last = parts.at(-1)!.last;
      const body = Buffer.concat(compressed);
      const key = compactedPartKey(dataset, p, first, last);
      const sha256 = sha256Hex(body);
      await this.env.backend.put(key, body, { sha256, contentType: 'application/gzip' });
      counts.s3PartsMerged += parts.length;
      counts.s3ObjectsWritten += 1;
      out.push({
        dataset,
        replaced: parts,
        part: {
          dataset,
          key,
          first,
          last,
          rows: parts.reduce((a, x) => a + x.rows, 0),
          bytes: body.length,
          sha256,
          firstRow: Math.min(...parts.map((x) => x.firstRow)),
          lastRow: Math.max(...parts.map((x) => x.lastRow)),
          // One rule set for the merged object only if all its parts were encoded under it.
          redactionVersion: parts.every((x) => x.redactionVersion && x.redactionVersion === parts[0]!.redactionVersion) ? parts[0]!.redactionVersion! : null,
        },
      });
    }
    return out;
  }

  /** Step 2: sync_parts names the merged objects instead of the parts (unless parts changed meanwhile). */
  record(sessionId: string, merged: Merged[]): number {
    const db = this.env.db;
    const del = db.prepare('DELETE FROM sync_parts WHERE session_id = ? AND dataset = ? AND first_seq = ? AND key = ?');
    const ins = db.prepare(`
      INSERT INTO sync_parts (session_id, dataset, first_seq, last_seq, key, first_row, last_row, rows, bytes, sha256, uploaded_at, redaction_version)
      VALUES (@sessionId, @dataset, @first, @last, @key, @firstRow, @lastRow, @rows, @bytes, @sha256, @now, @redactionVersion)`);
    return db
      .transaction(() => {
        let recorded = 0;
        for (const m of merged) {
          // All or nothing per dataset: a part that changed since the merge means another run won.
          const gone = m.replaced.map((x) => del.run(sessionId, m.dataset, x.first, x.key).changes).reduce((a, b) => a + b, 0);
          if (gone !== m.replaced.length) throw new S3CompactionError(`the parts of ${sessionId} changed during compaction; retried next run`);
          ins.run({ ...m.part, sessionId, dataset: m.dataset, now: this.env.now() });
          recorded += 1;
        }
        return recorded;
      })
      .immediate();
  }

  /** Step 3: session.json rebuilt from sync_parts and PUT (atomic replace). Returns its content hash. */
  async writeManifest(sessionId: string, counts: S3CompactionCounts): Promise<string> {
    const p = this.partition(sessionId);
    const manifest = this.manifests.build(p, this.state.parts(sessionId), this.env.redaction, this.env.now());
    if (!manifest) throw new S3CompactionError(`session ${sessionId} is gone`);
    const body = encodeManifest(manifest);
    await this.env.backend.put(manifestKey(p), body, { sha256: sha256Hex(body), contentType: 'application/json' });
    counts.s3Manifests += 1;
    return sha256Hex(Buffer.from(manifestContent(manifest)));
  }

  /**
   * Step 4: deletes the objects the merged parts replaced, once the manifest in the bucket names
   * the merged parts. Returns false (nothing deleted) while it does not.
   */
  async cleanup(sessionId: string, counts: S3CompactionCounts, manifestHash?: string): Promise<boolean> {
    const p = this.partition(sessionId);
    const listed = await this.bucketManifestKeys(p);
    const mergedParts = this.state.parts(sessionId).filter((x) => x.last > x.first);
    // The bucket's manifest must name every merged object before anything it covers goes.
    if (mergedParts.some((x) => !listed.has(x.key))) return false;
    for (const dataset of DATASETS) {
      const ranges = mergedParts.filter((x) => x.dataset === dataset);
      if (ranges.length === 0) continue;
      const stale: string[] = [];
      for (const o of await this.env.backend.list(sessionPrefix(dataset, p))) {
        if (listed.has(o.key)) continue;
        const at = parseKey(o.key);
        const file = at && at.sessionId === sessionId ? PART_FILE.exec(at.file) : null;
        if (!file) continue;
        const first = Number(file[1]);
        const last = file[2] === undefined ? first : Number(file[2]);
        // Only what a merged part covers: a newer part uploaded meanwhile is not touched.
        if (ranges.some((r) => first >= r.first && last <= r.last)) stale.push(o.key);
      }
      if (stale.length > 0) {
        await this.env.backend.delete(stale);
        counts.s3ObjectsDeleted += stale.length;
      }
    }
    if (manifestHash) this.env.db.prepare('UPDATE sync_sessions SET manifest_sha256 = ? WHERE session_id = ?').run(manifestHash, sessionId);
    return true;
  }

  /** The part keys session.json in the bucket names (empty when it is missing or unreadable). */
  private async bucketManifestKeys(p: SessionPartition): Promise<Set<string>> {
    const bytes = await this.env.backend.get(manifestKey(p));
    try {
      const m = JSON.parse(Buffer.from(bytes ?? []).toString('utf8')) as { parts?: Record<string, { key?: unknown }[]> };
      return new Set(DATASETS.flatMap((d) => (m.parts?.[d] ?? []).map((x) => String(x.key))));
    } catch {
      return new Set();
    }
  }

  /** Whether the bucket's manifest already names every merged part recorded here. */
  async manifestCurrent(sessionId: string): Promise<boolean> {
    const listed = await this.bucketManifestKeys(this.partition(sessionId));
    return this.state.parts(sessionId).every((x) => listed.has(x.key));
  }

  /** The four steps, or up to `stopAfter` (tests use it to leave the state a crash would). */
  async compact(sessionId: string, counts: S3CompactionCounts, stopAfter?: CompactionStep): Promise<void> {
    const merged = await this.merge(sessionId, counts);
    if (stopAfter === 'merge') return;
    if (merged.length > 0) this.record(sessionId, merged);
    if (stopAfter === 'record') return;
    // After a crash between record and manifest, the bucket's manifest still names the old parts.
    const hash = merged.length > 0 || !(await this.manifestCurrent(sessionId)) ? await this.writeManifest(sessionId, counts) : undefined;
    if (stopAfter === 'manifest') return;
    await this.cleanup(sessionId, counts, hash);
    if (merged.length > 0) counts.s3SessionsCompacted += 1;
  }
}

export function emptyCounts(): S3CompactionCounts {
  return { s3SessionsCompacted: 0, s3PartsMerged: 0, s3ObjectsWritten: 0, s3ObjectsDeleted: 0, s3Manifests: 0, s3Errors: 0 };
}

/** Every candidate session, one after the other; an error leaves that session for the next run. */
export async function runS3Compaction(
  env: S3CompactionEnv,
  closedHours: number,
  progress?: (done: number, total: number, counts: S3CompactionCounts) => void,
): Promise<S3CompactionCounts> {
  const counts = emptyCounts();
  const ids = compactionCandidates(env.db, env.now() - closedHours * HOUR_MS, env.now());
  const compactor = new SessionCompactor(env);
  for (const [i, id] of ids.entries()) {
    env.signal?.throwIfAborted();
    try {
      await compactor.compact(id, counts);
    } catch (err) {
      if (env.signal?.aborted) throw err;
      counts.s3Errors += 1;
      env.log.warn('S3 compaction of a session failed; the next run tries again', { session: id, error: (err as Error).message });
    }
    progress?.(i + 1, ids.length, counts);
  }
  return counts;
}

/** What the central copy's steps of retention and compaction use: the daemon's own backend and redaction service. */
export interface CentralCopyServices {
  backend: StorageBackend | null;
  /** Why there is no backend (a config that cannot be used): the step then fails with it. */
  backendError: string | null;
  redaction: RedactionService;
}

/**
 * The step the `compact` job runs (daemon/maintenance/compaction.ts), with the daemon's own
 * backend: nothing to do when no session is due.
 */
export async function compactCentralCopy(
  ctx: {
    db: Db;
    config: RbkConfig;
    log: Logger;
    clock: { now(): number };
    signal: AbortSignal;
    progress?: (done: number, total: number, counts: S3CompactionCounts) => void;
  },
  /** The daemon's backend (DaemonContext.storage, used, not closed) and redaction service. */
  central: CentralCopyServices,
): Promise<S3CompactionCounts> {
  const closedHours = ctx.config.compaction.s3.closedHours;
  if (compactionCandidates(ctx.db, ctx.clock.now() - closedHours * HOUR_MS, ctx.clock.now()).length === 0) return emptyCounts();
  const backend = central.backend;
  if (!backend)
    throw new Error(
      `sessions are due for compaction in the central copy, but it has no usable backend: ${central.backendError ?? 'unknown'}; fix integrations.claude.sessionStorage (rbk doctor)`,
    );
  return runS3Compaction(
    { db: ctx.db, backend, redaction: central.redaction, log: ctx.log, now: () => ctx.clock.now(), signal: ctx.signal },
    closedHours,
    ctx.progress,
  );
}
