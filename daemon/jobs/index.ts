// The scheduler: job registry, runs and their bookkeeping, the injectable clock. The jobs
// themselves live with what they change (daemon/maintenance, daemon/redact, daemon/sync) and are
// listed once in daemon/job-list.ts.
export { FakeClock, systemClock, DAY_MS, type Clock } from './clock.js';
export { JobRegistry, checkpoint, type JobContext, type JobDefinition, type JobFn, type JobOptions, type JobProgress } from './registry.js';
export { JobRuns, type JobRun, type JobStatus, type JobTrigger, type JobCounts } from './runs.js';
export { Scheduler, JobBusyError, UnknownJobError, SchedulerStoppedError, type RunHandle, type JobInfo } from './scheduler.js';
