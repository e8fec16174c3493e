// The central copy in the daemon: the backend from config, the engine, its triggers and the cron
// job. Built by daemon/main.ts; read by the Sync RPCs, metrics and doctor through status().
import type { RbkPaths } from '../../common/paths.js';
import type { RbkConfig } from '../config/schema.js';
import type { HookWriter } from '../ingest/hook-writer.js';
import type { JobFn } from '../jobs/registry.js';
import type { JobCounts } from '../jobs/runs.js';
import type { Logger } from '../log.js';
import type { RedactionService } from '../redact/service.js';
import type { Db } from '../store/db.js';
import type { StorageBackend } from './backend.js';
import { createBackend } from './backends/create.js';
import { SyncEngine, type RunOptions, type SyncMetricsSink, type SyncSummary } from './engine.js';
import { SyncTriggers } from './triggers.js';

export { SyncEngine, SyncUnavailableError, backoffDelay, type SyncSummary, type SyncProgress, type RunOptions, type SyncMetricsSink } from './engine.js';

export interface SyncStatus {
  backend: string;
  location: string;
  mirrorLocal: boolean;
  /** Local backend, written only when asked (sessionStorage.localExport: on-demand). */
  onDemand: boolean;
  backendError: string | null;
  backlogSessions: number;
  backlogBytes: number;
  backlogRows: number;
  sessionsInBackoff: number;
  nextAttemptAt: number | null;
  lastSuccessAt: number | null;
  lastError: string | null;
  lastErrorAt: number | null;
  lastErrorSessionId: string | null;
  /** now - when the oldest pending session became pending; 0 when nothing is pending. */
  lagMs: number;
  sessionsSynced: number;
  parts: number;
  bytes: number;
  running: boolean;
}

export interface SyncService {
  readonly engine: SyncEngine;
  run(opts: RunOptions): Promise<SyncSummary>;
  status(): SyncStatus;
  /** The cron job `sync`. */
  job(): JobFn;
  close(): Promise<void>;
}

export function createSyncService(deps: {
  db: Db;
  config: RbkConfig;
  paths: RbkPaths;
  redaction: RedactionService;
  hookWriter: HookWriter;
  log: Logger;
  metrics?: SyncMetricsSink | null;
  /** Whether `rbk import` runs: the idle uploads and the cron job wait for it to end. */
  importing?: () => boolean;
  /** False while the database may not be written (damaged: store/health.ts): the automatic runs wait. */
  storeWritable?: () => boolean;
  /** Tests inject a backend; the daemon builds it from config. */
  backend?: StorageBackend;
}): SyncService {
  const { db, config, log } = deps;
  const storage = config.integrations.claude.sessionStorage;
  let backend: StorageBackend | null = deps.backend ?? null;
  let backendError: string | null = null;
  if (!backend) {
    try {
      backend = createBackend(config, deps.paths);
    } catch (err) {
      // Capture matters more than the copy: the daemon runs on, and status/doctor say why.
      backendError = `cannot use the ${storage.backend} storage backend: ${(err as Error).message}`;
      log.error('sync disabled', { error: backendError, fix: 'correct integrations.claude.sessionStorage in the config and restart rbkd' });
    }
  }
  const engine = new SyncEngine(db, backend, backendError, deps.redaction, config.sync, log.child({ mod: 'sync' }), deps.metrics ?? null);
  // Parts uploaded under an older redaction rule set (a new release, a custom rule): their
  // sessions go back in the backlog and the next sync re-encodes and re-sends what changed.
  const stale = engine.state.markRedactionStale(deps.redaction.version, Date.now());
  if (stale > 0)
    log.info('redaction rules changed since some parts were uploaded; the next sync re-encodes them', {
      sessions: stale,
      redactionVersion: deps.redaction.version,
    });
  const importing = deps.importing ?? (() => false);
  // The default local copy is written on demand only: kept up to date on its own it would hold a
  // second, compressed copy of the whole archive in the data dir (docs/central-copy.md).
  const onDemand = storage.backend === 'local' && storage.localExport === 'on-demand';
  const triggers =
    config.sync.automatic && !onDemand ? new SyncTriggers(engine, config.sync, log.child({ mod: 'sync' }), Date.now, importing, deps.storeWritable) : null;
  if (triggers) {
    deps.hookWriter.onStored((_event, result) => {
      if (result.stored) triggers.onHookEvent(result.eventName, result.sessionId);
    });
  }

  const status = (): SyncStatus => {
    const now = Date.now();
    const s = engine.state.status(now);
    return {
      backend: backend?.name ?? storage.backend,
      location: backend?.location ?? '',
      mirrorLocal: storage.backend === 's3' && storage.mirrorLocal,
      onDemand,
      backendError,
      backlogSessions: s.backlogSessions,
      backlogBytes: s.backlogBytes,
      backlogRows: s.backlogRows,
      sessionsInBackoff: s.inBackoff,
      nextAttemptAt: s.nextAttemptAt,
      lastSuccessAt: s.lastSuccessAt,
      lastError: s.lastError,
      lastErrorAt: s.lastErrorAt,
      lastErrorSessionId: s.lastErrorSession,
      lagMs: s.oldestDirtySince !== null ? Math.max(0, now - s.oldestDirtySince) : 0,
      sessionsSynced: s.sessionsSynced,
      parts: s.parts,
      bytes: s.bytes,
      running: engine.running,
    };
  };

  return {
    engine,
    run: (opts) => engine.run(opts),
    status,
    job:
      () =>
      async (ctx): Promise<JobCounts> => {
        // The local copy on demand: the schedule leaves it alone; `rbk sync` writes it.
        if (ctx.trigger === 'cron' && onDemand)
          return { sessions: 0, uploaded: 0, failed: 0, deferred: 0, puts: 0, bytes: 0, backlog: engine.state.status(Date.now()).backlogSessions, onDemand: 1 };
        // A scheduled run during an import would upload its sessions half read; the next run (or,
        // with sync.automatic, the first idle check after the import) uploads them whole.
        if (ctx.trigger === 'cron' && importing()) {
          ctx.log.info('scheduled sync deferred: an import is running', { job: ctx.job });
          return {
            sessions: 0,
            uploaded: 0,
            failed: 0,
            deferred: 0,
            puts: 0,
            bytes: 0,
            backlog: engine.state.status(Date.now()).backlogSessions,
            deferredForImport: 1,
          };
        }
        const summary = await engine.run({
          signal: ctx.signal,
          onProgress: (p) => ctx.progress({ done: p.done, total: p.total, message: p.sessionId }),
        });
        if (summary.sessionsFailed > 0 && summary.sessionsUploaded === 0 && summary.sessionsChecked > 0) {
          throw new Error(`every session failed to upload (${summary.sessionsFailed}); first error: ${summary.errors[0]?.error ?? 'unknown'}`);
        }
        return {
          sessions: summary.sessionsChecked,
          uploaded: summary.sessionsUploaded,
          failed: summary.sessionsFailed,
          deferred: summary.sessionsDeferred,
          puts: summary.puts,
          bytes: summary.bytes,
          backlog: summary.backlogSessions,
        };
      },
    close: async () => {
      triggers?.stop();
      await engine.close();
    },
  };
}
