// The central copy's object layout, Hive style so that Athena, Trino, Spark and DuckDB prune by
// partition:
//
//   v1/interactions/date=YYYY-MM-DD/host=<host>/session=<id>/part-<seq>.ndjson.gz
//   v1/hook_events/date=YYYY-MM-DD/host=<host>/session=<id>/part-<seq>.ndjson.gz
//   v1/sessions/date=YYYY-MM-DD/host=<host>/session=<id>/session.json
//
// `date` is the UTC day the session started, so a session's objects never move between
// partitions however long it runs. Parts are numbered from 1 (`part-000001`); a part covers a
// contiguous range of the session's rows and is never rewritten with other rows, so a key always
// names the same data. S3 compaction writes `part-<first>-<last>.ndjson.gz`, covering parts
// first..last, then rewrites the manifest, then deletes the parts it replaced.
// All keys are relative to the backend's root (s3 prefix or local base dir).
import { isSafeId } from '../../common/ids.js';

export const LAYOUT_VERSION = 'v1';
export const DATASETS = ['interactions', 'hook_events'] as const;
export type Dataset = (typeof DATASETS)[number];

const HOST = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** A host name usable as a partition value: lowercased, anything else becomes "-". */
export function hostPartition(hostname: string): string {
  const cleaned = hostname
    .toLowerCase()
    .replace(/[^a-z0-9._-]/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 63);
  return cleaned || 'unknown-host';
}

export function datePartition(startedAtMs: number): string {
  return new Date(startedAtMs).toISOString().slice(0, 10);
}

export class UnsafeKeyError extends Error {}

function check(sessionId: string, host: string, date: string): void {
  if (!isSafeId(sessionId)) throw new UnsafeKeyError(`refusing to build an object key from session id ${JSON.stringify(String(sessionId).slice(0, 80))}`);
  if (!HOST.test(host)) throw new UnsafeKeyError(`refusing to build an object key from host ${JSON.stringify(host.slice(0, 80))}`);
  if (!DAY.test(date)) throw new UnsafeKeyError(`refusing to build an object key from date ${JSON.stringify(date.slice(0, 20))}`);
}

export interface SessionPartition {
  sessionId: string;
  host: string;
  /** YYYY-MM-DD, from datePartition(session start). */
  date: string;
}

/** `v1/<dataset>/date=…/host=…/session=…/` */
export function sessionPrefix(dataset: Dataset | 'sessions', p: SessionPartition): string {
  check(p.sessionId, p.host, p.date);
  return `${LAYOUT_VERSION}/${dataset}/date=${p.date}/host=${p.host}/session=${p.sessionId}/`;
}

const pad = (n: number) => String(n).padStart(6, '0');

export function partKey(dataset: Dataset, p: SessionPartition, seq: number): string {
  if (!Number.isInteger(seq) || seq < 1) throw new UnsafeKeyError(`part sequence must be a positive integer, got ${seq}`);
  return `${sessionPrefix(dataset, p)}part-${pad(seq)}.ndjson.gz`;
}

export function compactedPartKey(dataset: Dataset, p: SessionPartition, first: number, last: number): string {
  if (!Number.isInteger(first) || !Number.isInteger(last) || first < 1 || last < first) throw new UnsafeKeyError(`bad compacted part range ${first}-${last}`);
  return `${sessionPrefix(dataset, p)}part-${pad(first)}-${pad(last)}.ndjson.gz`;
}

export function manifestKey(p: SessionPartition): string {
  return `${sessionPrefix('sessions', p)}session.json`;
}

/** `v1/<dataset>/date=YYYY-MM-DD/`: what S3 retention deletes once the day has expired. */
export function datePrefix(dataset: Dataset | 'sessions', date: string): string {
  if (!DAY.test(date)) throw new UnsafeKeyError(`bad date partition ${JSON.stringify(date.slice(0, 20))}`);
  return `${LAYOUT_VERSION}/${dataset}/date=${date}/`;
}

/** Parses a key back into its partition, or null if it is not a layout key. Used by pull. */
export function parseKey(key: string): (SessionPartition & { dataset: Dataset | 'sessions'; file: string }) | null {
  const m = /^v1\/(interactions|hook_events|sessions)\/date=(\d{4}-\d{2}-\d{2})\/host=([^/]+)\/session=([^/]+)\/([^/]+)$/.exec(key);
  if (!m) return null;
  const [, dataset, date, host, sessionId, file] = m;
  if (!isSafeId(sessionId!) || !HOST.test(host!)) return null;
  return { dataset: dataset as Dataset | 'sessions', date: date!, host: host!, sessionId: sessionId!, file: file! };
}

export interface ManifestPart {
  key: string;
  /** Inclusive range of part sequence numbers this object covers (first = last for a plain part). */
  first: number;
  last: number;
  rows: number;
  bytes: number;
  /** Hex sha256 of the gzip object as stored. */
  sha256: string;
}

/**
 * `session.json`: written after the parts it lists, so a reader that follows the manifest never
 * meets a missing part. Readers that scan the prefixes directly (Athena) may see a part before
 * the manifest names it; rows are keyed by uuid/event id so duplicates across a compaction window
 * can be removed with DISTINCT.
 */
export interface SessionManifest {
  layout: typeof LAYOUT_VERSION;
  sessionId: string;
  host: string;
  date: string;
  /** Updated on each upload. */
  updatedAt: string;
  session: Record<string, unknown>;
  totals: Record<string, number | null>;
  /** Tokens and cost per model (added by the sync engine; absent in manifests written before it). */
  usage?: ModelUsage[];
  parts: Record<Dataset, ManifestPart[]>;
}

/** One model's deduplicated API usage in a session, as `rbk usage session --breakdown` counts it. */
export interface ModelUsage {
  model: string;
  messages: number;
  input_tokens: number;
  output_tokens: number;
  cache_creation_tokens: number;
  cache_creation_5m_tokens: number;
  cache_creation_1h_tokens: number;
  cache_read_tokens: number;
  /** null when a response of this model has no known price. */
  cost_usd: number | null;
  /** Server-side web searches (billed per request, in cost_usd); absent in manifests written before. */
  web_search_requests?: number;
}

/** Database backups (`rbk backup --to central-copy`): beside the datasets, one folder per host. */
export function backupPrefix(host: string): string {
  if (!HOST.test(host)) throw new UnsafeKeyError(`refusing to build a backup key from host ${JSON.stringify(host.slice(0, 80))}`);
  return `backups/host=${host}/`;
}

const BACKUP_NAME = /^rbk-[a-z0-9._-]{1,63}-\d{8}T\d{6}Z\.db\.gz$/;

export function backupKey(host: string, name: string): string {
  if (!BACKUP_NAME.test(name)) throw new UnsafeKeyError(`refusing to build a backup key from name ${JSON.stringify(name.slice(0, 80))}`);
  return backupPrefix(host) + name;
}
