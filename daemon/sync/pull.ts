// `rbk pull`: hydrates the local index from the central copy that other machines (the user's own,
// or teammates') uploaded. It reads only what the layout names:
//
//   1. LIST the manifests under v1/sessions/ (one prefix per UTC day for --since, narrowed to
//      host=<H>/ for --host), skipping this machine's own host;
//   2. GET each session.json, validate it, and refuse one whose ids disagree with its key; a
//      manifest listed with the version (ETag) it had when a pull last stored it in full is not
//      read again, so a pull that finds nothing new sends only LIST requests;
//   3. GET each part it lists that is newer than what was pulled before (pull_sessions holds a
//      contiguous per-dataset watermark of part sequence numbers), verify its sha256 against the
//      manifest, gunzip it with a size bound, and insert its rows in one transaction with the new
//      watermark: interactions keyed on (uuid, block_index), hook events on event_id, usage on
//      usage_key, so a re-run or a part seen twice (before and after S3 compaction) adds nothing.
//
// Pulled sessions carry sessions.pulled_from = <origin host>. They are read-only here: hooks and
// transcripts of this machine do not touch them (ingest/hook-events.ts, transcript-ingester.ts),
// and the sync engine never uploads them. A session captured here (pulled_from NULL) is never
// overwritten by a pull, and one expired here by local retention is not pulled back.
//
// Nothing read from the bucket is trusted: keys are parsed by layout.parseKey (safe ids only),
// part keys must sit in the manifest's own session prefix, every value goes through zod and into
// SQL as a bound parameter, and a bad object is a counted skip with its reason, never a crash.
//
// The parts live in pull/: types (request and progress), schema (manifests and rows), objects
// (reading and validating what the bucket holds), store (merging into SQLite). This file runs a
// pull and serves it to the daemon.
import { localHostname } from '../../common/host.js';
import { forRequest } from '../../common/wire-schema.js';
import type { PullRequest__Output } from '../../common/wire/rbk/v1/PullRequest.js';
import { UserError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Db } from '../store/db.js';
import type { StorageBackend } from './backend.js';
import { SyncState } from './state.js';
import { DATASETS, hostPartition, parseKey } from './layout.js';
import { z } from 'zod';
import { Skip, gunzipBounded, manifestPrefixes, parseNdjson, sha256Hex, validateManifest } from './pull/objects.js';
import {
  insertRows,
  replaceUsage,
  sessionFields,
  statements,
  type ListedManifest,
  type LocalSession,
  type PullState,
  type Stmts,
  SETTABLE_SESSION_COLUMNS,
} from './pull/store.js';
import { MAX_PART_BYTES, MAX_PROBLEMS, type PullEnv, type PullProgress, type PullProgressWire, type PullRequest } from './pull/types.js';
export { gunzipBounded, manifestPrefixes, parseNdjson, sha256Hex, validateManifest } from './pull/objects.js';
export { sessionFields } from './pull/store.js';
export { PullRequestError, type PullEnv, type PullProblem, type PullProgress, type PullProgressWire, type PullRequest } from './pull/types.js';

// ---------------------------------------------------------------------------------------------
// The pull
// ---------------------------------------------------------------------------------------------

export async function pullCentralCopy(env: PullEnv, req: PullRequest, onProgress: (p: PullProgress) => void = () => {}): Promise<PullProgress> {
  const now = env.now ?? Date.now;
  const { db, backend, log } = env;
  const progress: PullProgress = {
    phase: 'listing',
    manifestsTotal: 0,
    manifestsDone: 0,
    sessionsAdded: 0,
    sessionsUpdated: 0,
    sessionsUnchanged: 0,
    partsFetched: 0,
    bytesFetched: 0,
    interactionsAdded: 0,
    hookEventsAdded: 0,
    usageRows: 0,
    hosts: [],
    skipped: {},
    problems: [],
    startedAt: now(),
  };
  const hosts = new Set<string>();
  const skip = (reason: string, n = 1) => {
    progress.skipped[reason] = (progress.skipped[reason] ?? 0) + n;
  };
  const problem = (key: string, reason: string, detail: string) => {
    skip(reason);
    if (progress.problems.length < MAX_PROBLEMS) progress.problems.push({ key: key.slice(0, 512), reason, detail: detail.slice(0, 300) });
    log.warn('pull skipped an object', { key: key.slice(0, 512), reason, detail: detail.slice(0, 300) });
  };

  const { prefixes, sinceDay } = manifestPrefixes(req, now());
  onProgress({ ...progress });
  const manifests: ListedManifest[] = [];
  for (const prefix of prefixes) {
    env.signal?.throwIfAborted();
    for (const o of await backend.list(prefix)) {
      if (!o.key.endsWith('/session.json')) continue;
      const at = parseKey(o.key);
      if (at?.dataset !== 'sessions' || at.file !== 'session.json') {
        problem(o.key, 'not-a-layout-key', 'a session.json whose key is not <prefix>/v1/sessions/date=/host=/session=<safe id>/');
        continue;
      }
      if (sinceDay !== null && at.date < sinceDay) continue;
      if (req.own) {
        if (at.host !== (req.host ?? env.selfHost)) continue;
        manifests.push({ key: o.key, version: o.version ?? null, sessionId: at.sessionId, host: at.host });
        continue;
      }
      if (req.host !== undefined && at.host !== req.host) continue;
      if (at.host === env.selfHost) {
        skip('own-host');
        continue;
      }
      manifests.push({ key: o.key, version: o.version ?? null, sessionId: at.sessionId, host: at.host });
    }
  }
  progress.phase = 'pulling';
  progress.manifestsTotal = manifests.length;
  onProgress({ ...progress });

  const stmts = statements(db);
  for (const listed of manifests) {
    const { key, version } = listed;
    env.signal?.throwIfAborted();
    try {
      if (unchangedSinceLastPull(stmts, listed, hosts)) progress.sessionsUnchanged += 1;
      else await pullSession(env, stmts, key, version, progress, skip, problem, now, hosts, req.own ? new SyncState(db) : null);
    } catch (err) {
      if (err instanceof Skip) problem(key, err.reason, err.message);
      else if (env.signal?.aborted) throw err;
      else {
        // A backend error (network, permissions) on one session: counted, and the next one tried.
        problem(key, 'backend-error', (err as Error).message ?? String(err));
      }
    }
    progress.manifestsDone += 1;
    progress.hosts = [...hosts].sort();
    onProgress({ ...progress });
  }
  progress.phase = 'done';
  progress.hosts = [...hosts].sort();
  onProgress({ ...progress });
  return progress;
}

/**
 * A manifest listed with the version it had when a pull last stored it in full, for a session
 * still pulled here from that host: nothing to read. Without this every pull would GET every
 * manifest of the bucket, one request per session of the whole team, to find most unchanged.
 */
function unchangedSinceLastPull(stmts: Stmts, listed: ListedManifest, hosts: Set<string>): boolean {
  if (listed.version === null) return false;
  const state = stmts.state.get(listed.sessionId) as PullState | undefined;
  if (!state || state.manifest_sha256 === null || state.manifest_version !== listed.version || state.host !== listed.host) return false;
  const local = stmts.local.get(listed.sessionId) as LocalSession | undefined;
  if (!local || local.pulled_from !== listed.host || local.expired_at !== null) return false;
  hosts.add(listed.host);
  return true;
}

async function pullSession(
  env: PullEnv,
  stmts: Stmts,
  key: string,
  version: string | null,
  progress: PullProgress,
  skip: (reason: string, n?: number) => void,
  problem: (key: string, reason: string, detail: string) => void,
  now: () => number,
  hosts: Set<string>,
  /**
   * Set for rbk restore --from-central-copy. The session is stored as a pulled one (read-only,
   * never uploaded) while its parts come in, each part's sync state with its rows, so that a
   * killed restore resumes like a pull; once all of it is in, it becomes this machine's own.
   */
  restoreOwn: SyncState | null = null,
): Promise<void> {
  const { db, backend } = env;
  const bytes = await backend.get(key);
  if (bytes === null) throw new Skip('manifest-missing', 'session.json was listed but is gone (deleted meanwhile?)');
  progress.bytesFetched += bytes.length;
  const v = validateManifest(key, bytes);
  const m = v.manifest;
  hosts.add(m.host);

  const local = stmts.local.get(m.sessionId) as LocalSession | undefined;
  if (local && local.pulled_from === null) {
    skip('local-session');
    return;
  }
  if (local && local.pulled_from !== m.host) throw new Skip('other-origin', `already pulled from host ${local.pulled_from}`);
  if (local && local.expired_at !== null) {
    skip('expired-locally');
    return;
  }
  const state = stmts.state.get(m.sessionId) as PullState | undefined;
  if (state && state.manifest_sha256 === v.sha256) {
    // Replaced by identical bytes (or first seen since versions were kept): the next pull skips it.
    if (version !== null) stmts.sameManifest.run({ id: m.sessionId, version });
    progress.sessionsUnchanged += 1;
    return;
  }

  // The session row goes in with the first rows stored (or at the end when the manifest lists no
  // parts): a session none of whose parts could be read is not shown as an empty one. From then on
  // hooks and transcripts of this machine see it as pulled. Its counts and totals are the
  // origin's, as of this manifest.
  const fields = sessionFields(m);
  let added = false;
  let updated = false;
  let ready = false;
  const ensureSession = () => {
    if (ready) return;
    ready = true;
    if (!local) {
      stmts.sessions.createPulled({ id: m.sessionId, host: m.host, now: now() });
      added = true;
    }
    stmts.upsertState.run({ id: m.sessionId, host: m.host, key, now: now() });
    if (stmts.sessions.updatePulled(m.sessionId, m.host, fields, SETTABLE_SESSION_COLUMNS, now())) updated = true;
  };

  const through = { interactions: state?.interactions_through ?? 0, hook_events: state?.hook_events_through ?? 0 };
  let failed = false;
  let rowsAdded = 0;
  for (const dataset of DATASETS) {
    // Set once a part of this dataset could not be stored: later parts are still stored (rows
    // are idempotent), but the watermark stays below the gap so that the next pull retries it.
    let gap = false;
    for (const part of v.parts[dataset]) {
      env.signal?.throwIfAborted();
      // Already pulled (a compacted part covering parts we have adds nothing either).
      if (part.last <= through[dataset]) continue;
      let rows: Record<string, unknown>[];
      try {
        const body = await backend.get(part.key);
        if (body === null) throw new Skip('part-missing', `${part.file} is listed in session.json but not in the bucket`);
        progress.bytesFetched += body.length;
        const sha = sha256Hex(body);
        if (sha !== part.sha256)
          throw new Skip('checksum-mismatch', `${part.file}: sha256 ${sha.slice(0, 12)}… is not the manifest's ${part.sha256.slice(0, 12)}…`);
        const parsed = parseNdjson(gunzipBounded(body, env.maxPartBytes ?? MAX_PART_BYTES));
        if (parsed.badLines > 0) skip('row-invalid', parsed.badLines);
        rows = parsed.rows;
      } catch (err) {
        if (!(err instanceof Skip)) throw err;
        problem(part.key, err.reason, err.message);
        gap = true;
        failed = true;
        continue;
      }
      progress.partsFetched += 1;
      const advance = !gap && part.first <= through[dataset] + 1;
      // Rows and the watermark in one transaction: a kill leaves either both or neither.
      const n = db
        .transaction(() => {
          ensureSession();
          const ids = { first: 0, last: 0 };
          const inserted = insertRows(stmts, dataset, rows, m.sessionId, part.key, now(), skip, ids);
          if (advance) stmts.advance[dataset].run({ id: m.sessionId, through: part.last });
          if (restoreOwn && ids.first > 0)
            restoreOwn.adoptRestoredPart(m.sessionId, { host: m.host, date: m.date }, { ...part, dataset, firstRow: ids.first, lastRow: ids.last }, now());
          return inserted;
        })
        .immediate();
      if (advance) through[dataset] = Math.max(through[dataset], part.last);
      else gap = true;
      rowsAdded += n;
      if (dataset === 'interactions') progress.interactionsAdded += n;
      else progress.hookEventsAdded += n;
    }
  }
  // Usage, token totals and counts, once the rows are in: one transaction.
  if (!ready && failed) return;
  const final = db
    .transaction(() => {
      ensureSession();
      const usage = replaceUsage(stmts, m.usage ?? [], m.sessionId, skip);
      stmts.subagents.run({ id: m.sessionId });
      if (stmts.legacySidechains.pending(m.sessionId)) stmts.legacySidechains.attribute(m.sessionId, now());
      const changed = stmts.sessions.recountPulled({ id: m.sessionId, cost: usage.cost, complete: usage.complete, now: now() });
      return { usage: usage.rows, changed };
    })
    .immediate();
  progress.usageRows += final.usage;
  if (final.changed) updated = true;
  // Only a manifest pulled in full is remembered as done; otherwise the next pull tries again.
  // Its listed version too, which may be older than what was read (replaced between the LIST and
  // the GET): then the next pull reads it again, and never skips a manifest it has not stored.
  if (!failed) stmts.manifestDone.run({ id: m.sessionId, sha: v.sha256, version, now: now() });
  if (!failed && restoreOwn) {
    db.transaction(() => {
      stmts.sessions.becomeOwn(m.sessionId);
      restoreOwn.adoptRestoredManifest(m.sessionId, v.contentSha256, now());
    })();
  }
  if (added) progress.sessionsAdded += 1;
  else if (updated || rowsAdded > 0) progress.sessionsUpdated += 1;
  else progress.sessionsUnchanged += 1;
}

// ---------------------------------------------------------------------------------------------
// In the daemon (the Pull RPC)
// ---------------------------------------------------------------------------------------------

export const pullRequestSchema = forRequest<PullRequest__Output>()(
  z.object({
    sinceUnixMs: z.number().int().min(0).default(0),
    host: z.string().max(253).default(''),
    restoreOwn: z.boolean().default(false),
  }),
);

/** This machine's host partition: the value its own uploads carry, never pulled back. */
export function selfHostPartition(): string {
  return hostPartition(localHostname());
}

/** How often progress goes out, at most (the final message always does). */
const PROGRESS_EVERY_MS = 100;

export interface PullDaemonContext {
  db: Db;
  log: Logger;
  /** The central copy's backend (DaemonContext.storage); null when the config names none that works. */
  storage: StorageBackend | null;
  sync: { engine: { backendError: string | null } };
}

/** Runs a pull with the daemon's backend; resolves with the final message (phase "done"). */
export async function pullForDaemon(
  ctx: PullDaemonContext,
  req: z.infer<typeof pullRequestSchema>,
  send: (p: PullProgressWire) => void,
): Promise<PullProgressWire> {
  const backend = ctx.storage;
  if (!backend) {
    throw new UserError(
      `${ctx.sync.engine.backendError ?? 'no storage backend'}; set integrations.claude.sessionStorage (backend and s3.bucket) to the central copy's bucket and restart rbkd`,
      'precondition',
    );
  }
  const toProto = (p: PullProgress): PullProgressWire => ({ ...p, startedUnixMs: p.startedAt, backend: backend.name, location: backend.location });
  let last = 0;
  const final = await pullCentralCopy(
    { db: ctx.db, backend, selfHost: selfHostPartition(), log: ctx.log.child({ mod: 'pull' }) },
    { sinceMs: req.sinceUnixMs > 0 ? req.sinceUnixMs : undefined, host: req.host || undefined, own: req.restoreOwn },
    (p) => {
      const t = Date.now();
      if (p.phase === 'done' || t - last < PROGRESS_EVERY_MS) return;
      last = t;
      send(toProto(p));
    },
  );
  ctx.log.info('pull done', { manifests: final.manifestsTotal, added: final.sessionsAdded, updated: final.sessionsUpdated, skipped: final.skipped });
  return toProto(final);
}
