// The job_runs table (migrations/0004_jobs.sql): one row per run of a job, written when the run
// starts ('running') and again when it ends ('ok', 'failed' or 'interrupted').
import type { Db } from '../store/db.js';

export type JobTrigger = 'cron' | 'manual';
export type JobStatus = 'running' | 'ok' | 'failed' | 'interrupted';
export type JobCounts = Record<string, number>;

export interface JobRun {
  id: number;
  job: string;
  trigger: JobTrigger;
  startedAt: number;
  endedAt: number | null;
  status: JobStatus;
  counts: JobCounts;
  error: string | null;
}

interface JobRunRow {
  id: number;
  job: string;
  trigger: JobTrigger;
  started_at: number;
  ended_at: number | null;
  status: JobStatus;
  counts: string;
  error: string | null;
}

/** Runs kept per job; older ones are pruned when a run ends. */
export const RUNS_KEPT_PER_JOB = 500;

function parseCounts(text: string): JobCounts {
  try {
    const v = JSON.parse(text) as unknown;
    if (!v || typeof v !== 'object' || Array.isArray(v)) return {};
    const out: JobCounts = {};
    for (const [k, n] of Object.entries(v)) if (typeof n === 'number' && Number.isFinite(n)) out[k] = n;
    return out;
  } catch {
    return {};
  }
}

/** Only finite numbers survive: counts are shown and summed, never parsed again by hand. */
export function cleanCounts(counts: unknown): JobCounts {
  const out: JobCounts = {};
  if (!counts || typeof counts !== 'object') return out;
  for (const [k, n] of Object.entries(counts)) if (typeof n === 'number' && Number.isFinite(n)) out[k] = n;
  return out;
}

function toRun(r: JobRunRow): JobRun {
  return {
    id: r.id,
    job: r.job,
    trigger: r.trigger,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    status: r.status,
    counts: parseCounts(r.counts),
    error: r.error,
  };
}

export class JobRuns {
  private readonly stmts;

  constructor(db: Db) {
    this.stmts = {
      insert: db.prepare(`INSERT INTO job_runs (job, trigger, started_at, status) VALUES (?, ?, ?, 'running')`),
      finish: db.prepare(`UPDATE job_runs SET status = @status, ended_at = @endedAt, counts = @counts, error = @error WHERE id = @id`),
      interruptAll: db.prepare(
        `UPDATE job_runs SET status = 'interrupted', ended_at = COALESCE(ended_at, @at),
                error = COALESCE(error, 'the daemon stopped during this run (crash, kill or power loss)')
         WHERE status = 'running'`,
      ),
      get: db.prepare('SELECT * FROM job_runs WHERE id = ?'),
      list: db.prepare('SELECT * FROM job_runs ORDER BY id DESC LIMIT ?'),
      listJob: db.prepare('SELECT * FROM job_runs WHERE job = ? ORDER BY id DESC LIMIT ?'),
      prune: db.prepare(
        `DELETE FROM job_runs WHERE job = @job AND status <> 'running'
           AND id <= (SELECT id FROM job_runs WHERE job = @job ORDER BY id DESC LIMIT 1 OFFSET @keep)`,
      ),
    };
  }

  start(job: string, trigger: JobTrigger, at: number): number {
    return Number(this.stmts.insert.run(job, trigger, at).lastInsertRowid);
  }

  finish(id: number, status: Exclude<JobStatus, 'running'>, at: number, counts: JobCounts, error: string | null): void {
    this.stmts.finish.run({ id, status, endedAt: at, counts: JSON.stringify(cleanCounts(counts)), error });
  }

  /** At daemon start: a run still 'running' belongs to a process that is gone. Returns how many. */
  interruptLeftovers(at: number): number {
    return this.stmts.interruptAll.run({ at }).changes;
  }

  get(id: number): JobRun | undefined {
    const r = this.stmts.get.get(id) as JobRunRow | undefined;
    return r ? toRun(r) : undefined;
  }

  /** Newest first. */
  list(opts: { limit: number; job?: string }): JobRun[] {
    const limit = Math.min(Math.max(opts.limit || 20, 1), 10_000);
    const rows = (opts.job ? this.stmts.listJob.all(opts.job, limit) : this.stmts.list.all(limit)) as JobRunRow[];
    return rows.map(toRun);
  }

  prune(job: string, keep = RUNS_KEPT_PER_JOB): number {
    return this.stmts.prune.run({ job, keep }).changes;
  }
}
