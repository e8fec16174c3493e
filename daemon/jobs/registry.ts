// The jobs a scheduler knows. The daemon builds one registry from one list (daemon/job-list.ts);
// the scheduler picks up registrations made before or after it started.
import type { RbkPaths } from '../../common/paths.js';
import type { RbkConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { Db } from '../store/db.js';
import type { Clock } from './clock.js';
import type { JobCounts, JobTrigger } from './runs.js';

export interface JobProgress {
  done: number;
  total: number;
  message?: string;
  /** Counts so far: recorded on the run if it fails or is interrupted before returning its own. */
  counts?: JobCounts;
}

/** What a job gets. A job must check `signal` between units of work (see throwIfAborted). */
export interface JobContext {
  db: Db;
  clock: Clock;
  log: Logger;
  config: RbkConfig;
  paths: RbkPaths;
  progress(p: JobProgress): void;
  signal: AbortSignal;
  job: string;
  runId: number;
  trigger: JobTrigger;
}

/** Returns the run's counts, e.g. { sessions: 3, interactions: 120 }: stored in job_runs.counts. */
export type JobFn = (ctx: JobContext) => Promise<JobCounts>;

export interface JobOptions {
  /** One line for `rbk jobs`. */
  description?: string;
  /**
   * When to run it. Default: config `jobs.<name>` if the config has that key, else manual only.
   * A function receives the config; return null for manual only.
   */
  schedule?: string | ((config: RbkConfig) => string | null);
}

export interface JobDefinition extends JobOptions {
  name: string;
  run: JobFn;
}

const NAME = /^[a-z][a-z0-9-]{0,31}$/;

export class JobRegistry {
  private readonly jobs = new Map<string, JobDefinition>();
  private readonly listeners = new Set<(def: JobDefinition) => void>();

  /**
   * Adds a job, or replaces the one of the same name (so that a daemon started twice in one
   * process, as tests do, registers again harmlessly). Returns a function that removes it.
   */
  register(name: string, run: JobFn, opts: JobOptions = {}): () => void {
    if (!NAME.test(name)) throw new Error(`job name "${name}" must be 1-32 lowercase letters, digits or '-', starting with a letter`);
    const def: JobDefinition = { name, run, ...opts };
    this.jobs.set(name, def);
    for (const l of this.listeners) l(def);
    return () => {
      if (this.jobs.get(name) === def) this.jobs.delete(name);
    };
  }

  get(name: string): JobDefinition | undefined {
    return this.jobs.get(name);
  }

  list(): JobDefinition[] {
    return [...this.jobs.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Called on every registration from now on. Returns the unsubscribe function. */
  onRegister(listener: (def: JobDefinition) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** The cron expression a job runs on under `config`, or null for manual only. */
export function scheduleOf(def: JobDefinition, config: RbkConfig): string | null {
  if (typeof def.schedule === 'function') return def.schedule(config);
  if (typeof def.schedule === 'string') return def.schedule;
  const fromConfig = (config.jobs as Record<string, string | undefined>)[def.name];
  return typeof fromConfig === 'string' && fromConfig.length > 0 ? fromConfig : null;
}

/** Yields to the event loop (so the daemon keeps serving), then throws if the run was stopped. */
export async function checkpoint(signal: AbortSignal): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  signal.throwIfAborted();
}
