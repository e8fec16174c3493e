// Every job the daemon runs, in one list. Each job lives with what it changes (the store's
// maintenance, the redaction rules, the central copy); the scheduler (daemon/jobs) only runs them.
// A job's cron schedule is config `jobs.<name>` (daemon/config/schema.ts).
import type { JobDefinition } from './jobs/index.js';
import { runCompaction } from './maintenance/compaction.js';
import { runPack } from './maintenance/pack.js';
import type { CentralCopyServices } from './sync/compaction.js';
import { runRetention } from './maintenance/retention.js';
import { redactionJob } from './redact/job.js';
import type { RedactionService } from './redact/service.js';
import type { SyncService } from './sync/service.js';
import { transcriptRoots } from './ingest/importer.js';
import { sweepTranscripts } from './ingest/sweep.js';
import type { TranscriptIngester } from './ingest/transcript-ingester.js';
import type { SessionQueries } from './store/sessions.js';
import type { StoreHealth } from './store/health.js';
import { checkIntegrity, integrityStateFile } from './store/integrity.js';
import { UserError } from './errors.js';
import { configuredTarget, type Backups } from './maintenance/backup.js';

export function daemonJobs(services: {
  redaction: RedactionService;
  sync: SyncService;
  ingester: TranscriptIngester;
  sessions: SessionQueries;
  health: StoreHealth;
  backups: Backups;
}): JobDefinition[] {
  const central: CentralCopyServices = {
    backend: services.sync.engine.backend,
    backendError: services.sync.engine.backendError,
    redaction: services.redaction,
  };
  return [
    {
      name: 'sweep',
      run: async (ctx) => {
        const roots = transcriptRoots(ctx.config.ingest.transcriptRoots);
        const r = await sweepTranscripts({
          ingester: services.ingester,
          sessions: services.sessions,
          roots,
          isCancelled: () => ctx.signal.aborted,
          onProgress: (p) => ctx.progress({ done: p.filesDone, total: p.filesTotal, message: p.currentFile }),
        });
        if (r.unannounced > 0) {
          ctx.log.warn('the sweep found sessions no hook announced; they are stored now. rbk doctor says why hooks may have missed them', {
            sessions: r.unannounced,
            ids: r.unannouncedSessionIds.slice(0, 10),
          });
        }
        for (const e of r.errors.slice(0, 10)) ctx.log.warn('sweep could not read a transcript; the next sweep retries it', e);
        return {
          files: r.files,
          read: r.read,
          newFiles: r.newFiles,
          sessions: r.sessions,
          unannounced: r.unannounced,
          interactions: r.interactionsAdded,
          errors: r.errors.length,
        };
      },
      description: 'read transcripts no hook announced: new or grown files under the transcript roots (stat only when nothing changed)',
    },
    {
      name: 'integrity',
      run: async (ctx) => {
        const summary = await checkIntegrity({
          dbFile: ctx.paths.db,
          stateFile: integrityStateFile(ctx.paths.dataDir),
          kind: 'full',
          signal: ctx.signal,
        });
        services.health.noteCheck(summary);
        if (summary.result !== 'ok')
          throw new UserError(`the database is damaged: ${summary.problems.slice(0, 3).join('; ')}. Run: rbk recover`, 'unavailable');
        return { tables: summary.tablesChecked, problems: 0, ms: summary.durationMs };
      },
      description: 'check the whole database file (PRAGMA integrity_check); damage stops writes until rbk recover',
    },
    {
      name: 'backup',
      run: async (ctx) => {
        const r = await services.backups.run(configuredTarget(ctx.config, ctx.paths), (done, total) => ctx.progress({ done, total, message: 'pages copied' }));
        return { bytes: r.bytes, databaseBytes: r.databaseBytes, interactions: r.rows.interactions ?? 0, removed: r.removed.length, ms: r.durationMs };
      },
      description: 'a compressed, consistent copy of the database to backup.dir (or the central copy), keeping backup.keep',
    },
    {
      name: 'retention',
      run: (ctx) => runRetention(ctx, central),
      description: 'expire sessions idle longer than retention.local.days (pinned ones stay)',
    },
    {
      name: 'compact',
      run: (ctx) => runCompaction(ctx, central),
      description: "drop raw transcript lines older than compaction.keepRawDays; return free space; merge closed sessions' parts in the central copy",
    },
    {
      name: 'pack',
      run: (ctx) => runPack(ctx),
      description: 'pack rows stored before storage v2 (long texts, tool results, raw lines) in place; resumable, a no-op once done (upToDate=1)',
    },
    {
      name: 'redact',
      run: redactionJob(services.redaction),
      description: 're-redact rows stored before the current rule set (or all rows in redaction.mode: cron)',
    },
    {
      name: 'sync',
      run: services.sync.job(),
      description: 'upload pending sessions to the central copy (integrations.claude.sessionStorage)',
    },
  ];
}
