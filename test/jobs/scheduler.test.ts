// The scheduler and job_runs bookkeeping: runs recorded ok / failed / interrupted, no overlap,
// leftovers of a dead daemon marked interrupted, cron schedules from config.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JobRegistry } from '../../daemon/jobs/registry.js';
import { JobBusyError, Scheduler, UnknownJobError } from '../../daemon/jobs/scheduler.js';
import { createLogger, silentLogger } from '../../daemon/log.js';
import { makeTestDb, type TestDb } from './support.js';

let t: TestDb;
let registry: JobRegistry;
let scheduler: Scheduler;

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

function newScheduler(opts: { cron?: boolean; log?: typeof silentLogger } = {}): Scheduler {
  return new Scheduler({ db: t.db, config: t.config, paths: t.paths, log: opts.log ?? silentLogger, clock: t.clock, registry, cron: opts.cron ?? false });
}

beforeEach(() => {
  t = makeTestDb();
  registry = new JobRegistry();
});

afterEach(async () => {
  await scheduler?.stop();
  t.cleanup();
});

describe('job runs', () => {
  it('records an ok run with its counts, start and end on the injected clock', async () => {
    registry.register('count', async (ctx) => {
      expect(ctx.clock).toBe(t.clock);
      t.clock.advance(1500);
      return { widgets: 3, gadgets: 0 };
    });
    scheduler = newScheduler();
    scheduler.start();
    const started = t.clock.now();
    const run = await scheduler.run('count').done;
    expect(run).toMatchObject({
      job: 'count',
      trigger: 'manual',
      status: 'ok',
      counts: { widgets: 3, gadgets: 0 },
      error: null,
      startedAt: started,
      endedAt: started + 1500,
    });
    const [row] = scheduler.runs.list({ limit: 10 });
    expect(row).toEqual(run);
    expect(t.db.prepare('SELECT counts FROM job_runs WHERE id = ?').pluck().get(run.id)).toBe('{"widgets":3,"gadgets":0}');
  });

  it('records a failed run with the error and the counts reported so far', async () => {
    registry.register('boom', async (ctx) => {
      ctx.progress({ done: 1, total: 2, counts: { items: 1 } });
      throw new Error('disk on fire');
    });
    scheduler = newScheduler();
    scheduler.start();
    const run = await scheduler.run('boom').done;
    expect(run).toMatchObject({ status: 'failed', error: 'disk on fire', counts: { items: 1 } });
    expect(scheduler.runs.get(run.id)).toMatchObject({ status: 'failed', error: 'disk on fire' });
  });

  it('a cancelled run ends interrupted, with its partial counts', async () => {
    const gate = deferred();
    registry.register('slow', async (ctx) => {
      ctx.progress({ done: 1, total: 10, counts: { done: 1 } });
      await gate.promise;
      ctx.signal.throwIfAborted();
      return { done: 10 };
    });
    scheduler = newScheduler();
    scheduler.start();
    const h = scheduler.run('slow');
    await new Promise((r) => setImmediate(r));
    expect(scheduler.runs.get(h.runId)?.status).toBe('running');
    expect(scheduler.cancel('slow', 'stopped by test')).toBe(true);
    gate.resolve();
    const run = await h.done;
    expect(run).toMatchObject({ status: 'interrupted', error: 'stopped by test', counts: { done: 1 } });
  });

  it('stop() aborts running jobs and records them interrupted', async () => {
    registry.register('forever', async (ctx) => {
      await new Promise<void>((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
      return {};
    });
    scheduler = newScheduler();
    scheduler.start();
    const h = scheduler.run('forever');
    await new Promise((r) => setImmediate(r));
    await scheduler.stop();
    expect((await h.done).status).toBe('interrupted');
    expect(scheduler.runs.get(h.runId)).toMatchObject({ status: 'interrupted', error: 'the daemon stopped during this run' });
    expect(() => scheduler.run('forever')).toThrow(/stopping/);
  });

  it('a run stopped before its job began is interrupted without running it', async () => {
    let ran = false;
    registry.register('never', async () => {
      ran = true;
      return {};
    });
    scheduler = newScheduler();
    const h = scheduler.run('never');
    await scheduler.stop();
    expect(await h.done).toMatchObject({ status: 'interrupted' });
    expect(ran).toBe(false);
  });

  it('at start, runs left "running" by a dead daemon become interrupted', async () => {
    const id = Number(t.db.prepare(`INSERT INTO job_runs (job, trigger, started_at, status) VALUES ('retention', 'cron', 1, 'running')`).run().lastInsertRowid);
    t.db.prepare(`INSERT INTO job_runs (job, trigger, started_at, ended_at, status) VALUES ('retention', 'cron', 1, 2, 'ok')`).run();
    scheduler = newScheduler();
    scheduler.start();
    expect(scheduler.runs.get(id)).toMatchObject({ status: 'interrupted', endedAt: t.clock.now() });
    expect(scheduler.runs.get(id)?.error).toMatch(/daemon stopped/);
    expect(t.db.prepare(`SELECT count(*) FROM job_runs WHERE status = 'ok'`).pluck().get()).toBe(1);
  });

  it('refuses unknown jobs, naming the known ones', () => {
    registry.register('retention', async () => ({}));
    scheduler = newScheduler();
    expect(() => scheduler.run('nope')).toThrow(UnknownJobError);
    expect(() => scheduler.run('nope')).toThrow(/known jobs: retention/);
  });

  it('keeps the last runs per job only', async () => {
    registry.register('tiny', async () => ({}));
    scheduler = newScheduler();
    for (let i = 0; i < 8; i++) await scheduler.run('tiny').done;
    expect(scheduler.runs.prune('tiny', 3)).toBe(5);
    expect(scheduler.runs.list({ limit: 100, job: 'tiny' })).toHaveLength(3);
  });
});

describe('no overlap', () => {
  it('a manual run while the job runs is refused; a cron tick is skipped; other jobs still run', async () => {
    const gate = deferred();
    let starts = 0;
    registry.register('long', async () => {
      starts += 1;
      await gate.promise;
      return { starts };
    });
    registry.register('other', async () => ({ ok: 1 }));
    scheduler = newScheduler();
    scheduler.start();
    const first = scheduler.run('long', 'cron');
    let err: unknown;
    try {
      scheduler.run('long', 'manual');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(JobBusyError);
    expect((err as Error).message).toMatch(new RegExp(`long is already running \\(run ${first.runId}, cron, started`));
    expect(scheduler.tick('long')).toBeNull();
    expect((await scheduler.run('other').done).status).toBe('ok');
    expect(scheduler.current('long')?.runId).toBe(first.runId);
    expect(scheduler.jobs().find((j) => j.name === 'long')?.running?.runId).toBe(first.runId);
    gate.resolve();
    expect((await first.done).counts).toEqual({ starts: 1 });
    // One row for the refused/skipped attempts: none.
    expect(scheduler.runs.list({ limit: 10, job: 'long' })).toHaveLength(1);
    // Free again once it ended.
    expect((await scheduler.run('long').done).counts).toEqual({ starts: 2 });
  });

  it('progress reaches listeners attached after run() returned', async () => {
    registry.register('steps', async (ctx) => {
      for (let i = 1; i <= 3; i++) ctx.progress({ done: i, total: 3, message: `step ${i}` });
      return { steps: 3 };
    });
    scheduler = newScheduler();
    const seen: string[] = [];
    const h = scheduler.run('steps');
    h.onProgress((p) => seen.push(`${p.done}/${p.total} ${p.message}`));
    await h.done;
    expect(seen).toEqual(['1/3 step 1', '2/3 step 2', '3/3 step 3']);
  });
});

describe('cron', () => {
  it('runs a job on its schedule from config jobs.<name>, with trigger cron', async () => {
    t.config = { ...t.config, jobs: { ...t.config.jobs, compact: '* * * * * *' } };
    registry.register('compact', async () => ({ ticks: 1 }));
    registry.register('manualonly', async () => ({}));
    scheduler = newScheduler({ cron: true });
    scheduler.start();
    const info = scheduler.jobs();
    expect(info.find((j) => j.name === 'compact')).toMatchObject({ schedule: '* * * * * *' });
    expect(info.find((j) => j.name === 'compact')?.nextRunAt).toBeGreaterThan(Date.now() - 1000);
    expect(info.find((j) => j.name === 'manualonly')).toMatchObject({ schedule: null, nextRunAt: null });
    const deadline = Date.now() + 5000;
    while (scheduler.runs.list({ limit: 1, job: 'compact' }).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const [run] = scheduler.runs.list({ limit: 1, job: 'compact' });
    expect(run).toMatchObject({ job: 'compact', trigger: 'cron' });
  });

  it('makes up a slot missed while the daemon was down (last run older than one period), once', async () => {
    const DAY = 24 * 3600_000;
    registry.register('compact', async () => ({ made: 1 }));
    registry.register('retention', async () => ({ made: 1 }));
    const insert = t.db.prepare(`INSERT INTO job_runs (job, trigger, started_at, ended_at, status) VALUES (?, 'cron', ?, ?, 'ok')`);
    insert.run('compact', t.clock.now() - 3 * DAY, t.clock.now() - 3 * DAY + 1000); // daily job, 3 days ago: missed
    insert.run('retention', t.clock.now() - 3600_000, t.clock.now() - 3600_000 + 1000); // an hour ago: on time
    scheduler = new Scheduler({ db: t.db, config: t.config, paths: t.paths, log: silentLogger, clock: t.clock, registry, catchUpDelayMs: 20 });
    scheduler.start();
    const deadline = Date.now() + 5000;
    while (scheduler.runs.list({ limit: 5, job: 'compact' }).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 100));
    expect(scheduler.runs.list({ limit: 5, job: 'compact' }).map((r) => r.trigger)).toEqual(['cron', 'cron']);
    expect(scheduler.runs.list({ limit: 5, job: 'retention' })).toHaveLength(1);
  });

  it('schedules jobs registered after start, and leaves an invalid expression manual-only with an error logged', async () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'debug', json: true, stream: { write: (s: string) => (lines.push(s), true) } as unknown as NodeJS.WritableStream });
    t.config = { ...t.config, jobs: { ...t.config.jobs, redact: '99 * * * *' } };
    scheduler = newScheduler({ cron: true, log });
    scheduler.start();
    registry.register('retention', async () => ({}));
    registry.register('redact', async () => ({}));
    const info = scheduler.jobs();
    expect(info.find((j) => j.name === 'retention')).toMatchObject({ schedule: t.config.jobs.retention });
    expect(info.find((j) => j.name === 'retention')?.nextRunAt).toBeGreaterThan(Date.now());
    expect(info.find((j) => j.name === 'redact')).toMatchObject({ schedule: null, nextRunAt: null });
    expect(lines.join('')).toMatch(/jobs.redact: \\"99 \* \* \* \*\\" is not a valid cron expression/);
    // Still runs on request.
    expect((await scheduler.run('redact').done).status).toBe('ok');
  });
});
