// The uploader. For one pending session, a pass:
//   1. plans, per dataset, the next part: the rows past the watermark (at most maxPartRows), under
//      the next sequence number; the plan is committed to SQLite before any byte is sent, and a
//      plan left by a crash or a failure is reused as it is, so the same rows always get the same
//      key and no row is ever in two parts;
//   2. PUTs each part (gzip NDJSON of redacted rows) with its sha256, verified by the backend;
//   3. PUTs session.json (metadata, totals, every confirmed part with its sha256);
//   4. advances the watermarks, records the parts and clears the backlog marker in one
//      transaction.
// A failure anywhere leaves the plan and the marker, and sets a backoff (exponential with jitter,
// sync.backoffBaseMs → sync.backoffCapMs). Steady state costs at most one PUT per dataset plus one
// manifest per session per pass, and never a LIST.
import type { Logger } from '../log.js';
import type { RedactionService } from '../redact/service.js';
import type { Db } from '../store/db.js';
import type { StorageBackend } from './backend.js';
import { sha256Hex } from './backends/local.js';
import { encodePart, rowIdOf, RowReader } from './export.js';
import { DATASETS, datePartition, hostPartition, manifestKey, partKey, type Dataset, type SessionPartition } from './layout.js';
import { encodeManifest, manifestContent, ManifestBuilder } from './manifest.js';
import { SyncState, type ConfirmedPart } from './state.js';
import { UserError } from '../errors.js';

export interface SyncTuning {
  backoffBaseMs: number;
  backoffCapMs: number;
  maxPartRows: number;
  maxPartBytes: number;
}

/** What the engine reports to metrics; see daemon/metrics. */
export interface SyncMetricsSink {
  put(backend: string, kind: 'part' | 'manifest', outcome: 'ok' | 'error', bytes: number): void;
  sessionFailed(backend: string): void;
}

export type SessionOutcome = 'uploaded' | 'unchanged' | 'skipped' | 'failed';

export interface SessionResult {
  sessionId: string;
  outcome: SessionOutcome;
  parts: number;
  manifests: number;
  puts: number;
  bytes: number;
  rows: Record<Dataset, number>;
  /** More rows are waiting (the part was full, or rows arrived meanwhile). */
  pending: boolean;
  /** A part reached maxPartRows or maxPartBytes: the session may have a backlog beyond it. */
  full: boolean;
  error?: string;
}

export interface SyncProgress {
  done: number;
  total: number;
  sessionId: string;
  message: string;
}

export interface SyncSummary {
  backend: string;
  location: string;
  startedAt: number;
  endedAt: number;
  sessionsChecked: number;
  sessionsUploaded: number;
  sessionsUnchanged: number;
  sessionsFailed: number;
  sessionsDeferred: number;
  parts: number;
  manifests: number;
  puts: number;
  bytes: number;
  interactions: number;
  hookEvents: number;
  backlogSessions: number;
  errors: { sessionId: string; error: string }[];
}

export interface RunOptions {
  /** Ignore backoff. */
  now?: boolean;
  /** Check every session and rewrite manifests even when unchanged. */
  force?: boolean;
  /** Only these sessions (triggers); default: every pending one. */
  sessions?: string[];
  onProgress?: (p: SyncProgress) => void;
  signal?: AbortSignal;
}

/** No backend (a config problem the person fixes), or the daemon is stopping. */
export class SyncUnavailableError extends UserError {
  constructor(message: string) {
    super(message, 'precondition');
  }
}
const FIX_BACKEND = '; fix integrations.claude.sessionStorage in the config and restart rbkd (rbk doctor checks it)';

const CONCURRENCY = 4;
/** A run keeps going on a session whose part was full, up to this many passes. */
const MAX_PASSES_PER_RUN = 100;
const MAX_ERRORS_IN_SUMMARY = 20;

/** Exponential backoff with jitter: half the delay fixed, half random, capped. */
export function backoffDelay(attempts: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  const exp = Math.min(capMs, baseMs * 2 ** Math.min(Math.max(attempts - 1, 0), 30));
  return Math.round(exp / 2 + random() * (exp / 2));
}

function errorText(err: unknown): string {
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number }; Code?: string };
  const status = e?.$metadata?.httpStatusCode ? ` (HTTP ${e.$metadata.httpStatusCode})` : '';
  const name = e?.name && e.name !== 'Error' ? `${e.name}: ` : '';
  return `${name}${e?.message ?? String(err)}${status}`.slice(0, 1000);
}

export class SyncEngine {
  readonly state: SyncState;
  private readonly reader: RowReader;
  private readonly manifests: ManifestBuilder;
  private readonly inFlight = new Map<string, Promise<SessionResult>>();
  private runChain: Promise<unknown> = Promise.resolve();
  private runningNow = 0;
  private readonly observers: ((r: SessionResult) => void)[] = [];
  private closed = false;

  constructor(
    db: Db,
    readonly backend: StorageBackend | null,
    /** Why there is no backend (config that cannot be used); shown by status and doctor. */
    readonly backendError: string | null,
    private readonly redaction: RedactionService,
    private readonly tuning: SyncTuning,
    private readonly log: Logger,
    private readonly metrics: SyncMetricsSink | null = null,
    private readonly clock: () => number = Date.now,
  ) {
    this.state = new SyncState(db);
    this.reader = new RowReader(db);
    this.manifests = new ManifestBuilder(db);
  }

  get running(): boolean {
    return this.runningNow > 0 || this.inFlight.size > 0;
  }

  /** Called after each session pass (triggers use it to arm retries). */
  onSessionDone(observer: (r: SessionResult) => void): void {
    this.observers.push(observer);
  }

  /** One pass over one session, unless a pass over it is already going on (then that one's result). */
  syncSession(sessionId: string, opts: { force?: boolean } = {}): Promise<SessionResult> {
    const existing = this.inFlight.get(sessionId);
    if (existing) return existing;
    const p = this.pass(sessionId, opts.force ?? false).finally(() => this.inFlight.delete(sessionId));
    this.inFlight.set(sessionId, p);
    void p.then((r) => {
      for (const o of this.observers) {
        try {
          o(r);
        } catch (err) {
          this.log.warn('sync observer failed', { error: err });
        }
      }
    });
    return p;
  }

  private async pass(sessionId: string, force: boolean): Promise<SessionResult> {
    const result: SessionResult = {
      sessionId,
      outcome: 'unchanged',
      parts: 0,
      manifests: 0,
      puts: 0,
      bytes: 0,
      rows: { interactions: 0, hook_events: 0 },
      pending: false,
      full: false,
    };
    const backend = this.backend;
    if (!backend) throw new SyncUnavailableError(`${this.backendError ?? 'no storage backend'}${FIX_BACKEND}`);
    const s = this.state.session(sessionId);
    if (!s || s.expired_at !== null || s.pulled_from !== null) {
      // Gone, expired by retention, or pulled from another host (read-only here): nothing to upload.
      this.state.clearDirty(sessionId);
      return { ...result, outcome: 'skipped' };
    }
    if (s.session_id === null) this.state.ensureSession(sessionId);
    try {
      let partition: SessionPartition;
      if (s.host && s.date) {
        partition = { sessionId, host: s.host, date: s.date };
      } else {
        // Fixed once: the keys of a session never move, even if its start time is corrected later.
        partition = { sessionId, host: hostPartition(s.session_host), date: datePartition(s.started_at ?? s.created_at) };
        partKey('interactions', partition, 1); // validates the id, host and date before anything is stored
        this.state.setPartition(sessionId, partition.host, partition.date);
      }
      // Parts encoded under an older redaction rule set: re-encode them with the current rules and
      // send the ones whose bytes changed again, under the same key, so the central copy loses
      // whatever the new rules redact.
      const rewritten = await this.rewriteStaleParts(backend, sessionId);
      result.puts += rewritten.puts;
      result.bytes += rewritten.bytes;
      const uploaded: ConfirmedPart[] = [];
      for (const dataset of DATASETS) {
        const part = await this.uploadPart(backend, partition, dataset);
        if (!part) continue;
        uploaded.push(part);
        result.parts += 1;
        result.puts += 1;
        result.bytes += part.bytes;
        result.rows[dataset] += part.rows;
        if (part.full) result.full = true;
      }
      const parts = [...this.state.parts(sessionId), ...uploaded];
      const now = this.clock();
      const manifest = this.manifests.build(partition, parts, this.redaction, now);
      if (!manifest) return { ...result, outcome: 'skipped' };
      const hash = sha256Hex(Buffer.from(manifestContent(manifest)));
      if (uploaded.length > 0 || rewritten.puts > 0 || force || hash !== s.manifest_sha256) {
        const body = encodeManifest(manifest);
        await this.put(backend, manifestKey(partition), body, 'application/json', 'manifest');
        result.manifests += 1;
        result.puts += 1;
        result.bytes += body.length;
      }
      const watermark = (d: Dataset) => uploaded.find((p) => p.dataset === d)?.lastRow ?? this.state.stream(sessionId, d).uploaded_through;
      const marks = Object.fromEntries(DATASETS.map((d) => [d, watermark(d)])) as Record<Dataset, number>;
      const clean = this.state.confirm(sessionId, uploaded, hash, this.clock(), () => DATASETS.some((d) => this.reader.hasRowsAfter(d, sessionId, marks[d])));
      result.pending = !clean;
      result.outcome = result.puts > 0 ? 'uploaded' : 'unchanged';
      return result;
    } catch (err) {
      const message = errorText(err);
      const attempts = this.state.failure(
        sessionId,
        message,
        this.clock(),
        (n) => this.clock() + backoffDelay(n, this.tuning.backoffBaseMs, this.tuning.backoffCapMs),
      );
      this.metrics?.sessionFailed(backend.name);
      this.log.warn('sync of a session failed; will retry with backoff', { session: sessionId, attempts, backend: backend.name, error: message });
      return { ...result, outcome: 'failed', pending: true, error: message };
    }
  }

  private async rewriteStaleParts(backend: StorageBackend, sessionId: string): Promise<{ puts: number; bytes: number }> {
    const version = this.redaction.version;
    let puts = 0;
    let bytes = 0;
    for (const part of this.state.staleParts(sessionId, version)) {
      const rows = this.reader.range(part.dataset, sessionId, part.firstRow, part.lastRow);
      if (rows.length === 0) continue; // expired by retention: its object goes with the session
      // Unchanged by the new rules when, labelled as before, the part encodes to the same bytes.
      if (part.redactionVersion) {
        const same = encodePart(part.dataset, rows, this.redaction, part.redactionVersion);
        if (sha256Hex(same.body) === part.sha256) {
          this.state.rewritePart(sessionId, { ...part, redactionVersion: version }, false, this.clock());
          continue;
        }
      }
      const encoded = encodePart(part.dataset, rows, this.redaction);
      const sha256 = await this.put(backend, part.key, encoded.body, 'application/gzip', 'part');
      this.state.rewritePart(sessionId, { ...part, rows: encoded.rows, bytes: encoded.body.length, sha256, redactionVersion: version }, true, this.clock());
      puts += 1;
      bytes += encoded.body.length;
    }
    return { puts, bytes };
  }

  /** Plans (or reuses the plan of) the next part of one dataset and uploads it; null = nothing new. */
  private async uploadPart(backend: StorageBackend, partition: SessionPartition, dataset: Dataset): Promise<(ConfirmedPart & { full: boolean }) | null> {
    const sessionId = partition.sessionId;
    const stream = this.state.stream(sessionId, dataset);
    let seq: number;
    let rows: ReturnType<RowReader['range']>;
    // More rows wait behind this part, so the run should go on with the session.
    let full: boolean;
    if (stream.planned_seq !== null && stream.planned_first_row !== null && stream.planned_last_row !== null) {
      seq = stream.planned_seq;
      rows = this.reader.range(dataset, sessionId, stream.planned_first_row, stream.planned_last_row);
      if (rows.length === 0) {
        // The planned rows are gone (retention expired them meanwhile): nothing to send under it.
        this.state.dropPlan(sessionId, dataset);
        return null;
      }
      full = this.reader.hasRowsAfter(dataset, sessionId, stream.planned_last_row);
    } else {
      const next = this.reader.after(dataset, sessionId, stream.uploaded_through, this.tuning.maxPartRows, this.tuning.maxPartBytes);
      rows = next.rows;
      full = next.full;
      if (rows.length === 0) return null;
      seq = stream.last_seq + 1;
      this.state.savePlan(sessionId, dataset, seq, rowIdOf(dataset, rows[0]!), rowIdOf(dataset, rows.at(-1)!));
    }
    const firstRow = stream.planned_first_row ?? rowIdOf(dataset, rows[0]!);
    const lastRow = stream.planned_last_row ?? rowIdOf(dataset, rows.at(-1)!);
    const encoded = encodePart(dataset, rows, this.redaction);
    const key = partKey(dataset, partition, seq);
    const sha256 = await this.put(backend, key, encoded.body, 'application/gzip', 'part');
    return {
      dataset,
      key,
      first: seq,
      last: seq,
      rows: encoded.rows,
      bytes: encoded.body.length,
      sha256,
      firstRow,
      lastRow,
      full,
      redactionVersion: this.redaction.version,
    };
  }

  private async put(backend: StorageBackend, key: string, body: Buffer, contentType: string, kind: 'part' | 'manifest'): Promise<string> {
    const sha256 = sha256Hex(body);
    try {
      await backend.put(key, body, { sha256, contentType });
    } catch (err) {
      this.metrics?.put(backend.name, kind, 'error', 0);
      throw err;
    }
    this.metrics?.put(backend.name, kind, 'ok', body.length);
    return sha256;
  }

  /**
   * Syncs the pending sessions (or opts.sessions). Runs are serialized: one that is asked for while
   * another goes on starts when it ends, so that it sees what arrived meanwhile.
   */
  run(opts: RunOptions = {}): Promise<SyncSummary> {
    if (!this.backend) return Promise.reject(new SyncUnavailableError(`${this.backendError ?? 'no storage backend'}${FIX_BACKEND}`));
    if (this.closed) return Promise.reject(new SyncUnavailableError('the daemon is stopping'));
    const next = this.runChain.then(
      () => this.doRun(opts),
      () => this.doRun(opts),
    );
    this.runChain = next.catch(() => undefined);
    return next;
  }

  private async doRun(opts: RunOptions): Promise<SyncSummary> {
    const backend = this.backend!;
    this.runningNow += 1;
    const startedAt = this.clock();
    const summary: SyncSummary = {
      backend: backend.name,
      location: backend.location,
      startedAt,
      endedAt: 0,
      sessionsChecked: 0,
      sessionsUploaded: 0,
      sessionsUnchanged: 0,
      sessionsFailed: 0,
      sessionsDeferred: 0,
      parts: 0,
      manifests: 0,
      puts: 0,
      bytes: 0,
      interactions: 0,
      hookEvents: 0,
      backlogSessions: 0,
      errors: [],
    };
    try {
      if (opts.force && !opts.sessions) this.state.markAllDirty(startedAt);
      const due = new Set(this.state.due(startedAt, Boolean(opts.now)));
      const ids = opts.sessions ? opts.sessions.filter((id) => due.has(id) || opts.force) : [...due];
      if (!opts.sessions) summary.sessionsDeferred = Math.max(0, this.state.dirtyCount() - due.size);
      let done = 0;
      const total = ids.length;
      let next = 0;
      const worker = async () => {
        while (next < ids.length) {
          opts.signal?.throwIfAborted();
          if (this.closed) return;
          const id = ids[next++]!;
          let r = await this.syncSession(id, { force: opts.force });
          this.add(summary, r);
          // Catching up a backlog: keep going while the last part was full.
          for (let pass = 1; r.outcome === 'uploaded' && r.full && pass < MAX_PASSES_PER_RUN && !this.closed; pass++) {
            opts.signal?.throwIfAborted();
            r = await this.syncSession(id);
            this.add(summary, r, false);
          }
          done += 1;
          opts.onProgress?.({ done, total, sessionId: id, message: r.outcome === 'failed' ? `failed: ${r.error}` : r.outcome });
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
      };
      await Promise.all(Array.from({ length: Math.min(CONCURRENCY, Math.max(ids.length, 1)) }, worker));
    } finally {
      this.runningNow -= 1;
    }
    summary.endedAt = this.clock();
    summary.backlogSessions = this.state.status(summary.endedAt).backlogSessions;
    if (summary.puts > 0 || summary.sessionsFailed > 0) {
      this.log.info('sync run', {
        backend: backend.name,
        sessions: summary.sessionsChecked,
        uploaded: summary.sessionsUploaded,
        failed: summary.sessionsFailed,
        puts: summary.puts,
        bytes: summary.bytes,
        backlog: summary.backlogSessions,
      });
    }
    return summary;
  }

  private add(summary: SyncSummary, r: SessionResult, newSession = true): void {
    if (newSession) summary.sessionsChecked += 1;
    if (r.outcome === 'uploaded' && newSession) summary.sessionsUploaded += 1;
    if ((r.outcome === 'unchanged' || r.outcome === 'skipped') && newSession) summary.sessionsUnchanged += 1;
    if (r.outcome === 'failed') {
      summary.sessionsFailed += newSession ? 1 : 0;
      if (summary.errors.length < MAX_ERRORS_IN_SUMMARY) summary.errors.push({ sessionId: r.sessionId, error: r.error ?? 'unknown error' });
    }
    summary.parts += r.parts;
    summary.manifests += r.manifests;
    summary.puts += r.puts;
    summary.bytes += r.bytes;
    summary.interactions += r.rows.interactions;
    summary.hookEvents += r.rows.hook_events;
  }

  /** Waits for passes in flight, then releases the backend. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.inFlight.values()]);
    await this.runChain.catch(() => undefined);
    await this.backend?.close();
  }
}
