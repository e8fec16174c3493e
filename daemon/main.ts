// rbkd: the per-user daemon. Start order matters: config → instance lock → database → socket,
// so that a second daemon is refused before it can touch the database or the socket.
import fs from 'node:fs';
import { resolvePaths, type RbkPaths } from '../common/paths.js';
import { RBK_VERSION } from '../common/version.js';
import { ConfigError, loadConfig } from './config/load.js';
import type { DaemonContext } from './context.js';
import { HookEventStore } from './ingest/hook-events.js';
import { redactionJob } from './redact/job.js';
import { createRedactionService } from './redact/service.js';
import { HookWriter } from './ingest/hook-writer.js';
import { SpoolDrain } from './ingest/spool-drain.js';
import { TranscriptIngester } from './ingest/transcript-ingester.js';
import { TranscriptWatcher } from './ingest/transcript-watcher.js';
import { createScheduler, jobRegistry, registerBuiltinJobs } from './jobs/index.js';
import { createLogger, type Logger } from './log.js';
import { RbkMetrics } from './metrics/index.js';
import { WebhookNotifier } from './notify/webhooks.js';
import { createLiveEvents } from './query/live.js';
import { acquireInstanceLock, openDatabase } from './store/db.js';
import { SessionQueries } from './store/sessions.js';
import { createSyncService } from './sync/index.js';
import { AlreadyRunningError, startServer } from './server.js';

export interface Daemon {
  ctx: DaemonContext;
  stop(): Promise<void>;
}

export async function startDaemon(opts: { paths?: RbkPaths; log?: Logger } = {}): Promise<Daemon> {
  process.umask(0o077);
  const paths = opts.paths ?? resolvePaths();
  const { config, source } = loadConfig(paths.config);
  const log = opts.log ?? createLogger({ level: config.log.level, base: { svc: 'rbkd' } });

  fs.mkdirSync(paths.dataDir, { recursive: true, mode: 0o700 });
  const lock = acquireInstanceLock(paths.lockFile);
  if (!lock) {
    let pid = 'unknown';
    try {
      pid = fs.readFileSync(paths.pidFile, 'utf8').trim();
    } catch {
      /* the pid file is informational only */
    }
    throw new AlreadyRunningError(`another rbkd (pid ${pid}) is already running with data dir ${paths.dataDir}; stop it first, or set RBK_DATA_DIR to run a second instance`);
  }
  fs.writeFileSync(paths.pidFile, `${process.pid}\n`, { mode: 0o600 });

  const db = openDatabase(paths.db);
  // redaction.mode ingest (the default): nothing reaches SQLite unredacted. cron: the redact job does it later.
  const redaction = createRedactionService(config, paths.dataDir);
  const redactAtIngest = config.redaction.mode === 'ingest' ? redaction : null;
  const hookWriter = new HookWriter(db, new HookEventStore(db, redactAtIngest), log);
  const ingester = new TranscriptIngester(db, log, { pricingOverrides: config.pricing.overrides, redaction: redactAtIngest });
  const watcher = new TranscriptWatcher(ingester, log);
  // A hook names the transcript it belongs to; that is how live sessions get followed.
  hookWriter.onStored((_event, result) => {
    for (const t of result.transcripts) watcher.follow(t);
  });
  const ctx: DaemonContext = {
    paths,
    config,
    configSource: source,
    db,
    log,
    hookWriter,
    spool: new SpoolDrain(paths.spoolDir, hookWriter, log, paths.fallbackSpoolDir),
    sessions: new SessionQueries(db),
    redaction,
    ingester,
    watcher,
    startedAt: Date.now(),
  };

  createLiveEvents(ctx); // `rbk sessions tail`: new hook events and interactions, pushed as they are stored
  // Observers first, so that events drained from the spool below are counted and notified too.
  const metrics = config.metrics.enabled ? new RbkMetrics(ctx) : null;
  const notifier = new WebhookNotifier(ctx, metrics?.webhookMetrics());
  // The central copy: uploads redacted sessions to the storage backend (local by default).
  ctx.sync = createSyncService({ db, config, paths, redaction, hookWriter, log, importing: () => ingester.importing(), metrics: metrics?.syncMetrics(() => ctx.sync?.status() ?? null) });

  // Drain before serving, so that events from the outage land before newer ones.
  ctx.spool.drain();
  // Retention, compaction (and whatever else registered a job) on their cron schedules.
  registerBuiltinJobs();
  jobRegistry.register('redact', redactionJob(redaction), {
    description: 're-redact rows stored before the current rule set (or all rows in redaction.mode: cron)',
  });
  jobRegistry.register('sync', ctx.sync.job(), { description: 'upload pending sessions to the central copy (integrations.claude.sessionStorage)' });
  const scheduler = createScheduler(ctx);
  scheduler.start();
  const server = await startServer(ctx).catch(async (err: unknown) => {
    await scheduler.stop();
    await ctx.sync?.close();
    throw err;
  });
  // A taken port is logged, not fatal: capture matters more than metrics.
  if (metrics) await metrics.listen(config.metrics.listen);
  const drainTimer = setInterval(() => {
    try {
      ctx.spool.drain();
    } catch (err) {
      log.error('spool drain failed; will retry', { error: err });
    }
  }, config.ingest.spoolDrainIntervalMs);
  drainTimer.unref();
  // Catch up on sessions that were live when the daemon last stopped.
  for (const t of db
    .prepare(`SELECT t.path FROM transcripts t JOIN sessions s ON s.id = t.session_id WHERE s.last_activity_at > ?`)
    .pluck()
    .all(Date.now() - 24 * 3600_000) as string[]) {
    watcher.follow(t);
  }
  // Interactions left unsearchable by an import the last daemon did not finish.
  ingester.searchBacklog.drain().catch((err: unknown) => log.error('search index catch-up failed; the next import retries it', { error: err }));
  log.info('rbkd started', { version: RBK_VERSION, pid: process.pid, socket: paths.socket, db: paths.db, config: source });

  let stopping: Promise<void> | undefined;
  return {
    ctx,
    stop: () =>
      (stopping ??= (async () => {
        clearInterval(drainTimer);
        await scheduler.stop();
        await server.close();
        await notifier.close();
        await ctx.sync?.close();
        await watcher.close();
        await ingester.idle();
        await metrics?.close();
        db.close();
        fs.rmSync(paths.pidFile, { force: true });
        lock.close();
        log.info('rbkd stopped');
      })()),
  };
}

/** Entry point of `rbkd` and `rbk daemon`. */
export async function main(): Promise<void> {
  let daemon: Daemon;
  try {
    daemon = await startDaemon();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`rbkd: ${err.message}\n`);
      process.exit(2);
    }
    if (err instanceof AlreadyRunningError) {
      process.stderr.write(`rbkd: ${err.message}\n`);
      process.exit(1);
    }
    process.stderr.write(`rbkd: failed to start: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  }
  const shutdown = (signal: string) => {
    daemon.ctx.log.info('shutting down', { signal });
    daemon.stop().then(
      () => process.exit(0),
      (err) => {
        daemon.ctx.log.error('unclean shutdown', { error: err });
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}
