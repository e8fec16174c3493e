// rbkd: the per-user daemon. Start order matters: config → instance lock → database → socket,
// so that a second daemon is refused before it can touch the database or the socket.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDataDir } from '../common/data-dir.js';
import { resolvePaths, type RbkPaths } from '../common/paths.js';
import { RBK_VERSION } from '../common/version.js';
import { ConfigError, loadConfig } from './config/load.js';
import type { DaemonContext } from './context.js';
import { HookEventIngest } from './ingest/hook-events.js';
import { createRedactionService } from './redact/service.js';
import { HookWriter } from './ingest/hook-writer.js';
import { SpoolDrain } from './ingest/spool-drain.js';
import { TranscriptIngester } from './ingest/transcript-ingester.js';
import { TranscriptWatcher } from './ingest/transcript-watcher.js';
import { JobRegistry, Scheduler } from './jobs/index.js';
import { daemonJobs } from './job-list.js';
import { createLogger, type Logger } from './log.js';
import { RbkMetrics } from './metrics/metrics.js';
import { WebhookNotifier } from './notify/webhooks.js';
import { createLiveEvents } from './query/live.js';
import { acquireInstanceLock, type Db, openDatabase } from './store/db.js';
import { isCorruption, StoreDamagedError, StoreHealth } from './store/health.js';
import { checkIntegrity, integrityStateFile } from './store/integrity.js';
import { SessionQueries } from './store/sessions.js';
import { createSyncService, type SyncService } from './sync/service.js';
import { Backups } from './maintenance/backup.js';
import { AlreadyRunningError, startServer } from './server.js';
import { PackStore } from './store/pack.js';
import { rederive } from './ingest/rederive.js';
import { codexRoots } from './ingest/importer.js';
import { UiServer } from './http/server.js';
import { OtlpServer } from './http/otlp.js';
import { OtlpReceiver } from './ingest/otlp/receiver.js';
import { TelemetryStore } from './store/telemetry.js';
import { localHostname } from '../common/host.js';

export interface Daemon {
  ctx: DaemonContext;
  stop(): Promise<void>;
}

export type StartedBy = DaemonContext['startedBy'];

/**
 * How this process was started, for `rbk status` and `rbk stop`: the service templates and `rbk
 * start` set RBK_STARTED_BY; units written by older installs are recognised by what their
 * manager sets (INVOCATION_ID under systemd, XPC_SERVICE_NAME under launchd).
 */
export function howStarted(env: NodeJS.ProcessEnv = process.env): StartedBy {
  const said = env.RBK_STARTED_BY;
  if (said === 'systemd' || said === 'launchd' || said === 'background') return said;
  if (env.INVOCATION_ID && env.SYSTEMD_EXEC_PID) return 'systemd';
  if (env.XPC_SERVICE_NAME === 'dev.rbk.rbkd') return 'launchd';
  return 'foreground';
}

export class DataDirError extends Error {}

/**
 * The data dir holds every captured session: it must be a directory of this user's, closed to
 * everyone else. A folder someone made with the wrong mode (0755) is closed at start; one that
 * cannot be closed, or belongs to someone else, stops the daemon with what to do.
 */
export function secureDataDir(dir: string, log?: Logger): void {
  ensureDataDir(dir);
  const st = fs.lstatSync(dir);
  if (!st.isDirectory()) throw new DataDirError(`the data dir ${dir} is not a directory; move it away or set RBK_DATA_DIR to another place`);
  const me = process.getuid?.();
  if (me !== undefined && st.uid !== me) {
    throw new DataDirError(
      `the data dir ${dir} belongs to uid ${st.uid}, not to you (uid ${me}); rbk keeps sessions only in a folder of your own. Set RBK_DATA_DIR to one, or chown it`,
    );
  }
  if ((st.mode & 0o077) !== 0) {
    try {
      fs.chmodSync(dir, 0o700);
    } catch (err) {
      throw new DataDirError(
        `the data dir ${dir} is open to other users (mode ${(st.mode & 0o777).toString(8)}) and could not be closed: ${(err as Error).message}. Run: chmod 700 ${dir}`,
      );
    }
    log?.warn('the data dir was open to other users; closed it (mode 700)', { dataDir: dir, was: (st.mode & 0o777).toString(8) });
  }
}

export async function startDaemon(opts: { paths?: RbkPaths; log?: Logger } = {}): Promise<Daemon> {
  process.umask(0o077);
  const paths = opts.paths ?? resolvePaths();
  const { config, source } = loadConfig(paths.config);
  const log = opts.log ?? createLogger({ level: config.log.level, base: { svc: 'rbkd' } });

  secureDataDir(paths.dataDir, log);
  const lock = acquireInstanceLock(paths.lockFile);
  if (!lock) {
    let pid = 'unknown';
    try {
      pid = fs.readFileSync(paths.pidFile, 'utf8').trim();
    } catch {
      /* the pid file is informational only */
    }
    throw new AlreadyRunningError(
      `another rbkd (pid ${pid}) is already running with data dir ${paths.dataDir}; stop it first, or set RBK_DATA_DIR to run a second instance`,
    );
  }
  fs.writeFileSync(paths.pidFile, `${process.pid}\n`, { mode: 0o600 });

  let db: Db;
  try {
    db = openDatabase(paths.db);
  } catch (err) {
    lock.close();
    if (!isCorruption(err)) throw err;
    // Not even the schema can be read: serving nothing is safer than serving from it. Hooks spool.
    throw new DataDirError(
      `the database ${paths.db} is damaged (${(err as Error).message}); rbkd will not write to it. Hook events spool meanwhile. Run: rbk recover`,
    );
  }
  const health = new StoreHealth(log, paths.db);
  // Belt and braces: once damage is seen, SQLite itself refuses every write on this connection,
  // whichever module would have made it (each also checks health before writing).
  health.onDamage(() => db.pragma('query_only = ON'));
  // redaction.mode ingest (the default): nothing reaches SQLite unredacted. cron: the redact job does it later.
  const redaction = createRedactionService(config, paths.dataDir);
  const redactAtIngest = config.redaction.mode === 'ingest' ? redaction : null;
  const hookWriter = new HookWriter(db, new HookEventIngest(db, redactAtIngest), log, health);
  const ingester = new TranscriptIngester(db, log, {
    pricingOverrides: config.pricing.overrides,
    webSearchPerRequest: config.pricing.webSearchPerRequest,
    redaction: redactAtIngest,
    health,
  });
  const watcher = new TranscriptWatcher(ingester, log);
  // A hook names the transcript it belongs to; that is how live sessions get followed.
  hookWriter.onStored((_event, result) => {
    for (const t of result.transcripts) watcher.follow(t);
  });
  const sessions = new SessionQueries(db);
  const spool = new SpoolDrain(paths.spoolDir, hookWriter, log, paths.fallbackSpoolDir);
  // Observers first, so that events drained from the spool below are counted and notified too.
  const live = createLiveEvents({ db, hookWriter, ingester });
  // Telemetry is redacted at ingest whatever redaction.mode says: the redact job rewrites transcript
  // and hook text, not telemetry rows.
  const telemetry = new TelemetryStore(db);
  const otlpReceiver = new OtlpReceiver({ telemetry, health, host: localHostname(), redact: (v) => redaction.redactValue(v).value });
  const metrics = config.metrics.enabled ? new RbkMetrics({ db, spool, paths, log, hookWriter, ingester, sessions, otlpReceiver }) : null;
  const notifier = new WebhookNotifier({ db, hookWriter, ingester, log, config }, metrics?.webhookMetrics());
  // The central copy: uploads redacted sessions to the storage backend (local by default).
  const sync: SyncService = createSyncService({
    db,
    config,
    paths,
    redaction,
    hookWriter,
    log,
    importing: () => ingester.importing(),
    storeWritable: () => health.writable,
    metrics: metrics?.syncMetrics(() => sync.status()),
  });
  // Retention, compaction, redaction and sync, from the one list, on their cron schedules.
  const backups = new Backups({ db, paths, config, log, health, backend: sync.engine.backend, backendError: sync.engine.backendError });
  const registry = new JobRegistry();
  for (const job of daemonJobs({ redaction, sync, ingester, sessions, health, backups })) registry.register(job.name, job.run, job);
  const scheduler = new Scheduler({
    db,
    config,
    paths,
    log: log.child({ svc: 'jobs' }),
    registry,
    refuseRuns: () => (health.damage ? new StoreDamagedError(health.damage) : null),
  });
  const ctx: DaemonContext = {
    paths,
    config,
    configSource: source,
    db,
    health,
    log,
    hookWriter,
    spool,
    sessions,
    redaction,
    ingester,
    watcher,
    startedAt: Date.now(),
    startedBy: howStarted(),
    live,
    sync,
    storage: sync.engine.backend,
    backups,
    scheduler,
    ui: new UiServer(config.ui, paths.uiSecret, log.child({ svc: 'ui' })),
    telemetry,
    otlp: new OtlpServer(config.otel, paths.otlpToken, otlpReceiver, log.child({ svc: 'otlp' })),
  };

  // Check the file before anything is written to it (bounded: see store/integrity.ts). Damage found
  // here stops writes at once, so the drain below and the hooks keep their events in the spool.
  if (config.integrity.startBudgetMs > 0) {
    try {
      health.noteCheck(
        await checkIntegrity({ dbFile: paths.db, stateFile: integrityStateFile(paths.dataDir), kind: 'quick', budgetMs: config.integrity.startBudgetMs }),
      );
    } catch (err) {
      log.warn('the start-up integrity check could not run; the scheduled one will', { error: err });
    }
  }
  // Stored values whose rule changed since this database last ran (ingest/rederive.ts).
  if (health.writable) {
    try {
      rederive(db, log.child({ svc: 'rederive' }), { webSearchPrice: config.pricing.webSearchPerRequest });
    } catch (err) {
      health.noteError(err, 'write');
      log.error('re-deriving stored values failed; the next start tries again', { error: err });
    }
  }
  // Drain before serving, so that events from the outage land before newer ones.
  ctx.spool.drain();
  scheduler.start();
  const server = await startServer(ctx).catch(async (err: unknown) => {
    await scheduler.stop();
    await sync.close();
    throw err;
  });
  // A taken port is logged, not fatal: capture matters more than metrics.
  if (metrics) await metrics.listen(config.metrics.listen);
  await ctx.ui.start(ctx);
  await ctx.otlp.start();
  const drainTimer = setInterval(() => {
    try {
      ctx.spool.drain();
    } catch (err) {
      log.error('spool drain failed; will retry', { error: err });
    }
  }, config.ingest.spoolDrainIntervalMs);
  drainTimer.unref();
  // Catch up on sessions that were live when the daemon last stopped.
  try {
    for (const t of db
      .prepare(`SELECT t.path FROM transcripts t JOIN sessions s ON s.id = t.session_id WHERE s.last_activity_at > ?`)
      .pluck()
      .all(Date.now() - 24 * 3600_000) as string[]) {
      watcher.follow(t);
    }
  } catch (err) {
    health.noteError(err, 'read');
    if (health.writable) throw err;
  }
  // Codex CLI sessions have no hooks: watch this month's rollout folders (re-checked hourly, for a
  // new month or a first session), and the sweep reads whatever the watch missed.
  const watchCodex = () => {
    const now = new Date();
    const month = path.join(String(now.getFullYear()), String(now.getMonth() + 1).padStart(2, '0'));
    for (const root of codexRoots()) watcher.watchFolder(path.join(root, month));
  };
  watchCodex();
  const codexTimer = setInterval(watchCodex, 3600_000);
  codexTimer.unref();
  // Sessions no hook announced while the daemon was away (or ever): read them now, not in ten minutes.
  if (config.ingest.sweepAtStart) scheduler.tick('sweep');
  // Rows stored before storage v2 (migration 0015): packed in place, in the background.
  if (health.writable && !new PackStore(db).progress().done) scheduler.tick('pack');
  // Interactions left unsearchable by an import the last daemon did not finish.
  if (health.writable)
    ingester.searchBacklog.drain().catch((err: unknown) => log.error('search index catch-up failed; the next import retries it', { error: err }));
  log.info('rbkd started', { version: RBK_VERSION, pid: process.pid, socket: paths.socket, db: paths.db, config: source });

  let stopping: Promise<void> | undefined;
  return {
    ctx,
    stop: () =>
      (stopping ??= (async () => {
        clearInterval(drainTimer);
        clearInterval(codexTimer);
        await scheduler.stop();
        await ctx.ui.stop();
        await ctx.otlp.stop();
        await server.close();
        await notifier.close();
        await sync.close();
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

/**
 * Node prints process warnings (a library's deprecation notice, the AWS SDK's Node-version
 * warning) as plain lines on stderr, which would break the JSON log. They go through the logger
 * instead, once per distinct warning.
 */
function logProcessWarnings(log: Logger): void {
  const seen = new Set<string>();
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const opts = rest[0];
    const type = warning instanceof Error ? warning.name : typeof opts === 'string' ? opts : ((opts as { type?: string } | undefined)?.type ?? 'Warning');
    const code =
      warning instanceof Error
        ? (warning as NodeJS.ErrnoException).code
        : typeof opts === 'object' && opts
          ? (opts as { code?: string }).code
          : typeof rest[1] === 'string'
            ? rest[1]
            : undefined;
    const message = (warning instanceof Error ? warning.message : String(warning)).replace(/\s+/g, ' ').trim();
    const key = `${type}|${code ?? ''}|${message}`;
    if (seen.has(key)) return;
    seen.add(key);
    log.warn('process warning', { type, ...(code ? { code } : {}), warning: message });
  }) as typeof process.emitWarning;
}

/** What a person who ran `npm start` or `rbkd` in a terminal needs to know next. */
function foregroundHint(ctx: DaemonContext): string {
  const rbk = `node ${path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'rbk.js')}`;
  return [
    `rbkd is running in this terminal (pid ${process.pid}; socket ${ctx.paths.socket}). Ctrl-C stops it; nothing is lost.`,
    'Next, in another terminal:',
    `  ${rbk} install    register the hooks, put rbk on your PATH, and run rbkd as a service (this one stops)`,
    `  ${rbk} start      or: run it in the background instead of this terminal`,
    ...(ctx.ui.status().url ? [`  ${rbk} ui         open the web console (${ctx.ui.status().url}), logged in`] : []),
  ].join('\n');
}

/** Entry point of `rbkd` and `rbk daemon`. */
export async function main(): Promise<void> {
  let daemon: Daemon;
  const bootLog = createLogger({ base: { svc: 'rbkd' } });
  logProcessWarnings(bootLog);
  try {
    daemon = await startDaemon();
  } catch (err) {
    if (err instanceof DataDirError) {
      process.stderr.write(`rbkd: ${err.message}\n`);
      process.exit(1);
    }
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
  if (daemon.ctx.startedBy === 'foreground' && process.stderr.isTTY) process.stderr.write(`${foregroundHint(daemon.ctx)}\n`);
}
