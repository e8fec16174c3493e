import type { RbkConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { Db } from '../store/db.js';
import type { StorageBackend } from './backend.js';
import { LAYOUT_VERSION, parseKey } from './layout.js';
import type { CentralCopyServices } from './compaction.js';

const DAY_MS = 86_400_000;
const DELETE_BATCH = 1000;
/** Manifests first: see the header. */
const ORDER = ['sessions', 'interactions', 'hook_events'] as const;
const DATE_IN_KEY = /^v1\/(?:sessions|interactions|hook_events)\/date=(\d{4}-\d{2}-\d{2})\//;

export interface S3RetentionCounts {
  s3Partitions: number;
  s3ObjectsDeleted: number;
  s3BytesDeleted: number;
  s3SessionsDeleted: number;
  s3PinnedKept: number;
}

export interface S3RetentionPlan extends S3RetentionCounts {
  days: number;
  /** Partitions before this UTC day expire. */
  cutoffDay: string;
  partitions: string[];
  keys: { key: string; bytes: number; dataset: (typeof ORDER)[number] }[];
}

export function emptyRetentionCounts(): S3RetentionCounts {
  return { s3Partitions: 0, s3ObjectsDeleted: 0, s3BytesDeleted: 0, s3SessionsDeleted: 0, s3PinnedKept: 0 };
}

/** What would go now: lists each dataset once, changes nothing. */
export async function planS3Retention(db: Db, backend: StorageBackend, days: number, now: number): Promise<S3RetentionPlan> {
  const cutoffDay = new Date(now - days * DAY_MS).toISOString().slice(0, 10);
  const pinned = new Set(db.prepare('SELECT id FROM sessions WHERE pinned = 1').pluck().all() as string[]);
  const keys: S3RetentionPlan['keys'] = [];
  const partitions = new Set<string>();
  const sessions = new Set<string>();
  const pinnedKept = new Set<string>();
  for (const dataset of ORDER) {
    for (const o of await backend.list(`${LAYOUT_VERSION}/${dataset}/`)) {
      const date = DATE_IN_KEY.exec(o.key)?.[1];
      if (!date || date >= cutoffDay) continue;
      const at = parseKey(o.key);
      if (at && pinned.has(at.sessionId)) {
        pinnedKept.add(at.sessionId);
        continue;
      }
      // Anything else under an expired partition goes, also keys that are not layout keys.
      partitions.add(date);
      if (at) sessions.add(at.sessionId);
      keys.push({ key: o.key, bytes: o.bytes, dataset });
    }
  }
  return {
    days,
    cutoffDay,
    partitions: [...partitions].sort(),
    keys,
    s3Partitions: partitions.size,
    s3ObjectsDeleted: keys.length,
    s3BytesDeleted: keys.reduce((a, k) => a + k.bytes, 0),
    s3SessionsDeleted: sessions.size,
    s3PinnedKept: pinnedKept.size,
  };
}

/** Deletes what planS3Retention finds, manifests first, and forgets the deleted parts in sync_parts. */
export async function runS3Retention(
  env: { db: Db; backend: StorageBackend; log: Logger; now: number; signal?: AbortSignal },
  days: number,
): Promise<S3RetentionCounts> {
  const plan = await planS3Retention(env.db, env.backend, days, env.now);
  const forget = env.db.prepare('DELETE FROM sync_parts WHERE key = ?');
  let deleted = 0;
  for (const dataset of ORDER) {
    const keys = plan.keys.filter((k) => k.dataset === dataset).map((k) => k.key);
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      env.signal?.throwIfAborted();
      const batch = keys.slice(i, i + DELETE_BATCH);
      await env.backend.delete(batch);
      env.db.transaction(() => {
        for (const k of batch) forget.run(k);
      })();
      deleted += batch.length;
    }
  }
  env.log.info('S3 retention done', { days, cutoffDay: plan.cutoffDay, partitions: plan.s3Partitions, objects: deleted, pinnedKept: plan.s3PinnedKept });
  const { s3Partitions, s3BytesDeleted, s3SessionsDeleted, s3PinnedKept } = plan;
  return { s3Partitions, s3ObjectsDeleted: deleted, s3BytesDeleted, s3SessionsDeleted, s3PinnedKept };
}

export interface S3RetentionPreview {
  days: number;
  cutoffDay: string;
  /** The backend's location (s3://bucket/prefix). */
  location: string;
  partitions: string[];
  objects: number;
  bytes: number;
  sessions: number;
  pinnedKept: number;
  /** Listing the bucket failed: the rest is empty. */
  error: string | null;
}

/**
 * The S3 part of `rbk retention --dry-run`: what the job's S3 step would delete now, or null when
 * it would not run (retention.s3.days unset, or the backend is not s3). A bucket that cannot be
 * listed is reported in `error`, not thrown: the local part of the preview still stands.
 */
export async function previewCentralCopyRetention(ctx: {
  db: Db;
  config: RbkConfig;
  now: number;
  /** The daemon's backend (DaemonContext.storage): used, not closed. */
  backend: StorageBackend | null;
  /** Why there is no backend, when there is none. */
  backendError: string | null;
}): Promise<S3RetentionPreview | null> {
  const days = ctx.config.retention.s3.days;
  if (days === undefined || ctx.config.integrations.claude.sessionStorage.backend !== 's3') return null;
  const cutoffDay = new Date(ctx.now - days * DAY_MS).toISOString().slice(0, 10);
  const empty = { days, cutoffDay, partitions: [], objects: 0, bytes: 0, sessions: 0, pinnedKept: 0 };
  const backend = ctx.backend;
  if (!backend) return { ...empty, location: '', error: ctx.backendError ?? 'no storage backend' };
  try {
    const plan = await planS3Retention(ctx.db, backend, days, ctx.now);
    return {
      days,
      cutoffDay: plan.cutoffDay,
      location: backend.location,
      partitions: plan.partitions,
      objects: plan.s3ObjectsDeleted,
      bytes: plan.s3BytesDeleted,
      sessions: plan.s3SessionsDeleted,
      pinnedKept: plan.s3PinnedKept,
      error: null,
    };
  } catch (err) {
    return {
      ...empty,
      location: backend.location,
      error: `listing ${backend.location} failed: ${(err as Error).message}; check the bucket, endpoint and credentials (rbk doctor)`,
    };
  }
}

/** The step the `retention` job runs: nothing unless retention.s3.days is set and the backend is s3. */
export async function expireCentralCopy(
  ctx: {
    db: Db;
    config: RbkConfig;
    log: Logger;
    clock: { now(): number };
    signal: AbortSignal;
  },
  /** The daemon's backend (DaemonContext.storage), shared with sync: used, not closed; null = no central copy step. */
  central: Pick<CentralCopyServices, 'backend' | 'backendError'> | null,
): Promise<S3RetentionCounts> {
  const days = ctx.config.retention.s3.days;
  if (days === undefined || !central || ctx.config.integrations.claude.sessionStorage.backend !== 's3') return emptyRetentionCounts();
  const backend = central.backend;
  if (!backend)
    throw new Error(
      `retention.s3.days is set but the central copy has no usable backend: ${central.backendError ?? 'unknown'}; fix integrations.claude.sessionStorage (rbk doctor)`,
    );
  return runS3Retention({ db: ctx.db, backend, log: ctx.log, now: ctx.clock.now(), signal: ctx.signal }, days);
}
