// What a pull is asked for and reports: the request, its progress, its problems, its environment.
import type { PullProgress as PullProgressMessage } from '../../../common/wire/rbk/v1/PullProgress.js';
import { UserError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { Db } from '../../store/db.js';
import type { StorageBackend } from '../backend.js';

/** Largest manifest and largest (gunzipped) part accepted: anything bigger is a skip, not an OOM. */
export const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;
export const MAX_PART_BYTES = 512 * 1024 * 1024;
/** Problems listed one by one in the summary (all of them are counted). */
export const MAX_PROBLEMS = 50;
/** Beyond this many days, --since lists v1/sessions/ once instead of one prefix per day. */
export const MAX_DAY_PREFIXES = 400;

export const HOST = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
export const DAY = /^\d{4}-\d{2}-\d{2}$/;
export const SHA256 = /^[0-9a-f]{64}$/;
export const PART_FILE = /^part-(\d{6})(?:-(\d{6}))?\.ndjson\.gz$/;

export class PullRequestError extends UserError {}

export interface PullRequest {
  /** Only sessions whose date partition (UTC start day) is on or after this instant's day. */
  sinceMs?: number;
  /** Only this origin host (a partition value, as `rbk sessions --host` shows it). */
  host?: string;
  /**
   * rbk restore --from-central-copy: this machine's own sessions (host, or this machine's
   * partition), which come back as its own once complete, not read-only.
   */
  own?: boolean;
}

export interface PullProblem {
  key: string;
  reason: string;
  detail: string;
}

/** PullProgress as the Pull RPC streams it (what `rbk pull` reads). */
/** PullProgress as the Pull RPC sends it: the generated message type. */
export type PullProgressWire = PullProgressMessage;

export interface PullProgress {
  phase: 'listing' | 'pulling' | 'done';
  manifestsTotal: number;
  manifestsDone: number;
  sessionsAdded: number;
  sessionsUpdated: number;
  sessionsUnchanged: number;
  partsFetched: number;
  bytesFetched: number;
  interactionsAdded: number;
  hookEventsAdded: number;
  /** message_usage rows rebuilt from the manifests' per-model usage. */
  usageRows: number;
  /** Origin hosts seen (this machine's own excluded). */
  hosts: string[];
  /** Counted skips by reason: own-host, local-session, expired-locally, checksum-mismatch, corrupt-gzip, ... */
  skipped: Record<string, number>;
  /** The first MAX_PROBLEMS problems, for the person to look at. */
  problems: PullProblem[];
  startedAt: number;
}

export interface PullEnv {
  db: Db;
  backend: StorageBackend;
  /** This machine's host partition: its own sessions are never pulled. */
  selfHost: string;
  log: Logger;
  now?: () => number;
  signal?: AbortSignal;
  /** Bound on a gunzipped part (default 512 MB): beyond it the part is a skip, not an out-of-memory. */
  maxPartBytes?: number;
}
