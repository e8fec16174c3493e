// Runs registered jobs on their cron schedules (node-cron) and on request, one run per job at a
// time, recording every run in job_runs.
//
// - No overlap: a scheduled run that comes due while the previous one still runs is skipped (and
//   logged); a manual run requested meanwhile is refused with JobBusyError, which names the run.
// - A run stopped through its AbortSignal (daemon shutdown, cancel()) ends 'interrupted'; a run
//   whose process died ends 'interrupted' at the next daemon start.
// - Catch-up: a slot missed because the machine slept (node-cron reports it on wake-up), or because
//   the daemon was not running, runs once, late, rather than waiting for the next slot.
import cron, { type ScheduledTask } from 'node-cron';
import type { RbkPaths } from '../../common/paths.js';
import type { RbkConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { Db } from '../store/db.js';
import { systemClock, type Clock } from './clock.js';
import { scheduleOf, type JobContext, type JobDefinition, type JobProgress, type JobRegistry } from './registry.js';
import { cleanCounts, JobRuns, type JobCounts, type JobRun, type JobTrigger } from './runs.js';
import { UserError } from '../errors.js';

export class UnknownJobError extends UserError {
  constructor(message: string) {
    super(message, 'not-found');
  }
}

export class JobBusyError extends UserError {
  constructor(
    readonly job: string,
    readonly runId: number,
    readonly startedAt: number,
    readonly trigger: JobTrigger,
  ) {
    super(
      `${job} is already running (run ${runId}, ${trigger}, started ${new Date(startedAt).toISOString()}); ` +
        `a job never runs twice at once. Wait for it to finish: rbk jobs`,
      'busy',
    );
  }
}

export class SchedulerStoppedError extends UserError {
  constructor(message: string) {
    super(message, 'precondition');
  }
}

export interface RunHandle {
  runId: number;
  job: string;
  trigger: JobTrigger;
  startedAt: number;
  /** Resolves when the run has ended and been recorded; never rejects. */
  done: Promise<JobRun>;
  /** Adds a progress listener; returns the function that removes it. */
  onProgress(listener: (p: JobProgress) => void): () => void;
}

export interface JobInfo {
  name: string;
  description: string | null;
  /** Cron expression, or null when the job runs only on request. */
  schedule: string | null;
  nextRunAt: number | null;
  running: { runId: number; trigger: JobTrigger; startedAt: number; progress: JobProgress | null } | null;
}

export interface SchedulerOptions {
  db: Db;
  config: RbkConfig;
  paths: RbkPaths;
  log: Logger;
  clock?: Clock;
  /** The jobs to run (the daemon's comes from daemon/job-list.ts). */
  registry: JobRegistry;
  /** Why no job may start now (a damaged database: store/health.ts), or null. Checked before the run is recorded. */
  refuseRuns?: () => Error | null;
  /** Schedule jobs with node-cron (default true); tests that drive runs by hand turn it off. */
  cron?: boolean;
  /** How long after start() a run missed while the daemon was down is made up (default 5 min). */
  catchUpDelayMs?: number;
  /** How long stop() waits for running jobs to notice the abort (default 20 s). */
  stopTimeoutMs?: number;
}

interface Active {
  runId: number;
  job: string;
  trigger: JobTrigger;
  startedAt: number;
  controller: AbortController;
  progress: JobProgress | null;
  listeners: Set<(p: JobProgress) => void>;
  done: Promise<JobRun>;
}

function reasonText(reason: unknown): string {
  if (reason instanceof Error) return reason.message;
  return typeof reason === 'string' ? reason : 'the run was stopped';
}

export class Scheduler {
  readonly runs: JobRuns;
  readonly clock: Clock;
  private readonly registry: JobRegistry;
  private readonly active = new Map<string, Active>();
  private readonly tasks = new Map<string, { schedule: string; task: ScheduledTask }>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private unsubscribe: (() => void) | undefined;
  private started = false;
  private stopped = false;

  constructor(private readonly opts: SchedulerOptions) {
    this.runs = new JobRuns(opts.db);
    this.clock = opts.clock ?? systemClock;
    this.registry = opts.registry;
  }

  /** Marks leftovers of a previous daemon as interrupted, then schedules every registered job. */
  start(): void {
    if (this.started) return;
    this.started = true;
    // A store that may not be written (damaged) keeps its leftovers until it is recovered.
    const leftovers = this.opts.refuseRuns?.() ? 0 : this.runs.interruptLeftovers(this.clock.now());
    if (leftovers > 0) this.opts.log.warn('job runs left running by a previous daemon marked interrupted', { runs: leftovers });
    for (const def of this.registry.list()) this.schedule(def);
    this.unsubscribe = this.registry.onRegister((def) => this.schedule(def));
  }

  /** Stops scheduling, aborts running jobs and waits for them (up to stopTimeoutMs). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.unsubscribe?.();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const { task } of this.tasks.values()) await task.destroy();
    this.tasks.clear();
    const running = [...this.active.values()];
    for (const a of running) a.controller.abort(new Error('the daemon stopped during this run'));
    if (running.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.opts.stopTimeoutMs ?? 20_000);
    });
    const result = await Promise.race([Promise.all(running.map((a) => a.done)), timeout]);
    clearTimeout(timer);
    if (result === 'timeout') {
      // Record them now: the database is about to close under them.
      for (const a of this.active.values()) {
        try {
          this.runs.finish(
            a.runId,
            'interrupted',
            this.clock.now(),
            a.progress?.counts ?? {},
            'the daemon stopped during this run (the job did not stop in time)',
          );
        } catch {
          /* best effort */
        }
      }
      this.opts.log.error('jobs still running at shutdown; recorded as interrupted', { jobs: [...this.active.keys()] });
    }
  }

  /**
   * Starts a run now. Throws UnknownJobError, JobBusyError (the job is running: no overlap) or
   * SchedulerStoppedError; otherwise the run is recorded as 'running' before this returns.
   */
  run(name: string, trigger: JobTrigger = 'manual', onProgress?: (p: JobProgress) => void): RunHandle {
    if (this.stopped) throw new SchedulerStoppedError('the daemon is stopping; run the job after it restarts');
    const def = this.registry.get(name);
    if (!def) {
      const known = this.registry.list().map((d) => d.name);
      throw new UnknownJobError(`no job named "${name}"; known jobs: ${known.length > 0 ? known.join(', ') : 'none'}`);
    }
    const busy = this.active.get(name);
    if (busy) throw new JobBusyError(name, busy.runId, busy.startedAt, busy.trigger);
    const refused = this.opts.refuseRuns?.();
    if (refused) throw refused;
    const startedAt = this.clock.now();
    const runId = this.runs.start(name, trigger, startedAt);
    const a: Active = {
      runId,
      job: name,
      trigger,
      startedAt,
      controller: new AbortController(),
      progress: null,
      listeners: new Set(onProgress ? [onProgress] : []),
      done: undefined as unknown as Promise<JobRun>,
    };
    this.active.set(name, a);
    a.done = this.execute(def, a);
    return {
      runId,
      job: name,
      trigger,
      startedAt,
      done: a.done,
      onProgress: (l) => {
        a.listeners.add(l);
        return () => a.listeners.delete(l);
      },
    };
  }

  /** Aborts the running run of `name`, if any; it ends 'interrupted'. */
  cancel(name: string, reason = 'cancelled'): boolean {
    const a = this.active.get(name);
    if (!a) return false;
    a.controller.abort(new Error(reason));
    return true;
  }

  /** The running run of `name`, if any. */
  current(name: string): RunHandle | undefined {
    const a = this.active.get(name);
    if (!a) return undefined;
    return {
      runId: a.runId,
      job: a.job,
      trigger: a.trigger,
      startedAt: a.startedAt,
      done: a.done,
      onProgress: (l) => {
        a.listeners.add(l);
        return () => a.listeners.delete(l);
      },
    };
  }

  jobs(): JobInfo[] {
    return this.registry.list().map((def) => {
      const a = this.active.get(def.name);
      const task = this.tasks.get(def.name);
      let nextRunAt: number | null = null;
      try {
        nextRunAt = task?.task.getNextRun()?.getTime() ?? null;
      } catch {
        nextRunAt = null;
      }
      return {
        name: def.name,
        description: def.description ?? null,
        schedule: this.validSchedule(def),
        nextRunAt,
        running: a ? { runId: a.runId, trigger: a.trigger, startedAt: a.startedAt, progress: a.progress } : null,
      };
    });
  }

  /** What a cron tick does: start a run unless one is going (then skip, and say so). */
  tick(name: string): RunHandle | null {
    const busy = this.active.get(name);
    if (busy) {
      this.opts.log.warn('scheduled run skipped: the previous run is still going', { job: name, runId: busy.runId });
      return null;
    }
    try {
      return this.run(name, 'cron');
    } catch (err) {
      if (!(err instanceof SchedulerStoppedError)) this.opts.log.error('scheduled run could not start', { job: name, error: err });
      return null;
    }
  }

  private validSchedule(def: JobDefinition): string | null {
    const expr = scheduleOf(def, this.opts.config);
    return expr && cron.validate(expr) ? expr : null;
  }

  private schedule(def: JobDefinition): void {
    if (!this.started || this.stopped) return;
    const previous = this.tasks.get(def.name);
    if (previous) {
      void previous.task.destroy();
      this.tasks.delete(def.name);
    }
    if (this.opts.cron === false) return;
    const expr = scheduleOf(def, this.opts.config);
    if (!expr) return;
    if (!cron.validate(expr)) {
      this.opts.log.error(`jobs.${def.name}: "${expr}" is not a valid cron expression; the job runs only when asked (rbk jobs run ${def.name})`, {
        job: def.name,
      });
      return;
    }
    const log = this.opts.log;
    const task = cron.schedule(expr, () => void this.tick(def.name), {
      name: `rbk-${def.name}`,
      // Late by up to a minute (a busy event loop) still counts as on time.
      missedExecutionTolerance: 60_000,
      logger: {
        info: (m) => log.debug(`node-cron: ${m}`),
        warn: (m) => log.warn(`node-cron: ${m}`),
        error: (m) => log.error(`node-cron: ${String(m)}`),
        debug: (m) => log.debug(`node-cron: ${String(m)}`),
      },
    });
    // A slot missed while the machine slept: run once now rather than wait a whole period.
    task.on('execution:missed', () => {
      log.info('scheduled run missed (the machine slept or was busy); running it now', { job: def.name });
      this.tick(def.name);
    });
    this.tasks.set(def.name, { schedule: expr, task });
    this.planCatchUp(def.name, task);
  }

  /** If the last run is older than one period, the daemon was down at a slot: run once, later. */
  private planCatchUp(name: string, task: ScheduledTask): void {
    const [a, b] = task.getNextRuns(2);
    if (!a || !b) return;
    const period = b.getTime() - a.getTime();
    const last = this.runs.list({ limit: 1, job: name })[0];
    // Never run before: a new install, nothing to make up.
    if (!last || this.clock.now() - last.startedAt <= period + 60_000) return;
    const delay = this.opts.catchUpDelayMs ?? 5 * 60_000;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      const latest = this.runs.list({ limit: 1, job: name })[0];
      if (latest && this.clock.now() - latest.startedAt <= period) return;
      this.opts.log.info('making up a scheduled run missed while the daemon was not running', { job: name });
      this.tick(name);
    }, delay);
    timer.unref();
    this.timers.add(timer);
  }

  private async execute(def: JobDefinition, a: Active): Promise<JobRun> {
    const log = this.opts.log.child({ job: def.name, run: a.runId });
    let partial: JobCounts = {};
    const ctx: JobContext = {
      db: this.opts.db,
      clock: this.clock,
      log,
      config: this.opts.config,
      paths: this.opts.paths,
      signal: a.controller.signal,
      job: def.name,
      runId: a.runId,
      trigger: a.trigger,
      progress: (p) => {
        a.progress = p;
        if (p.counts) partial = cleanCounts(p.counts);
        for (const l of a.listeners) {
          try {
            l(p);
          } catch (err) {
            log.debug('progress listener failed', { error: err });
          }
        }
      },
    };
    // Let run() return (and its caller attach listeners) before the job does anything.
    await Promise.resolve();
    log.info('job started', { trigger: a.trigger });
    let status: 'ok' | 'failed' | 'interrupted';
    let counts: JobCounts;
    let error: string | null = null;
    try {
      // Stopped before it began (stop() right after run()): do not start it at all.
      a.controller.signal.throwIfAborted();
      counts = cleanCounts(await def.run(ctx));
      if (a.controller.signal.aborted) {
        status = 'interrupted';
        error = reasonText(a.controller.signal.reason);
      } else {
        status = 'ok';
      }
    } catch (err) {
      counts = partial;
      if (a.controller.signal.aborted) {
        status = 'interrupted';
        error = reasonText(a.controller.signal.reason);
      } else {
        status = 'failed';
        error = err instanceof Error ? err.message : String(err);
      }
    }
    const endedAt = this.clock.now();
    try {
      this.runs.finish(a.runId, status, endedAt, counts, error);
      this.runs.prune(def.name);
    } catch (err) {
      log.error('could not record the end of a job run', { error: err });
    }
    this.active.delete(def.name);
    const fields = { status, counts, ms: endedAt - a.startedAt, ...(error ? { error } : {}) };
    if (status === 'ok') log.info('job finished', fields);
    else log.warn('job did not finish', fields);
    return { id: a.runId, job: def.name, trigger: a.trigger, startedAt: a.startedAt, endedAt, status, counts, error };
  }
}
