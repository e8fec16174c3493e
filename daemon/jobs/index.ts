// The jobs rbk itself ships. Others register theirs with registerJob() (registry.ts).
import { runCompaction } from '../maintenance/compaction.js';
import { jobRegistry, type JobRegistry } from './registry.js';
import { runRetention } from '../maintenance/retention.js';

export { FakeClock, systemClock, DAY_MS, type Clock } from './clock.js';
export { registerJob, jobRegistry, JobRegistry, checkpoint, type JobContext, type JobFn, type JobOptions, type JobProgress } from './registry.js';
export { JobRuns, type JobRun, type JobStatus, type JobTrigger, type JobCounts } from './runs.js';
export { Scheduler, createScheduler, schedulerFor, JobBusyError, UnknownJobError, SchedulerStoppedError, type RunHandle, type JobInfo } from './scheduler.js';

export function registerBuiltinJobs(registry: JobRegistry = jobRegistry): void {
  registry.register('retention', runRetention, {
    description: 'expire sessions idle longer than retention.local.days (pinned ones stay)',
  });
  registry.register('compact', runCompaction, {
    description: "drop raw transcript lines older than compaction.keepRawDays; return free space; merge closed sessions' parts in the central copy",
  });
}
