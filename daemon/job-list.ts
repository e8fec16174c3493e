// Every job the daemon runs, in one list. Each job lives with what it changes (the store's
// maintenance, the redaction rules, the central copy); the scheduler (daemon/jobs) only runs them.
// A job's cron schedule is config `jobs.<name>` (daemon/config/schema.ts).
import type { JobDefinition } from './jobs/index.js';
import { runCompaction } from './maintenance/compaction.js';
import type { CentralCopyServices } from './sync/compaction.js';
import { runRetention } from './maintenance/retention.js';
import { redactionJob } from './redact/job.js';
import type { RedactionService } from './redact/service.js';
import type { SyncService } from './sync/index.js';

export function daemonJobs(services: { redaction: RedactionService; sync: SyncService }): JobDefinition[] {
  const central: CentralCopyServices = {
    backend: services.sync.engine.backend,
    backendError: services.sync.engine.backendError,
    redaction: services.redaction,
  };
  return [
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
