// Jobs end to end: the real daemon and the real CLI over a seeded data dir.
//   rbk retention --dry-run --json, rbk sessions pin|unpin, rbk jobs run <name>, rbk jobs --json,
//   cron-triggered runs, and runs left 'running' by a dead daemon.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../daemon/store/db.js';
import { makeDataDir, queryAll, queryOne, runCli, startDaemon, waitFor, type DaemonProcess, type TempRbk } from '../support/rbk.js';
import { seedSession, sessionState, tokenOf, type SeedSession } from './support.js';
import Database from 'better-sqlite3';

interface RunJson {
  id: number;
  job: string;
  trigger: string;
  startedAt: string;
  endedAt: string | null;
  durationMs: number | null;
  status: string;
  counts: Record<string, number>;
  error: string | null;
}

interface JobsJson {
  jobs: { name: string; description: string | null; schedule: string | null; nextRunAt: string | null; running: boolean; runningRunId: number | null }[];
  runs: RunJson[];
}

interface RetentionJson {
  dryRun: boolean;
  days: number;
  cutoff: string;
  sessions: {
    id: string;
    project: string | null;
    lastActivityAt: string;
    rows: { hookEvents: number; interactions: number; messageUsage: number; subagents: number };
  }[];
  pinnedKept: number;
  orphans: { hookEvents: number; interactions: number; messageUsage: number };
  spoolRejected: string[];
  artifactDirs: string[];
  run: RunJson | null;
  s3: unknown;
}

const WORLD: SeedSession[] = [
  { id: 'aaaa1111-old', ageDays: 500, project: 'alpha', hookEvents: 4, interactions: 5 },
  { id: 'bbbb2222-old', ageDays: 400, project: 'beta' },
  { id: 'cccc3333-old', ageDays: 380, project: 'gamma' },
  { id: 'dddd4444-new', ageDays: 2, project: 'delta' },
];

function seed(t: TempRbk, extra?: (db: Database.Database) => void): void {
  fs.mkdirSync(t.dataDir, { recursive: true, mode: 0o700 });
  const db = openDatabase(t.db);
  const now = Date.now();
  for (const s of WORLD) seedSession(db, now, s);
  extra?.(db);
  db.close();
}

async function cliJson<T>(t: TempRbk, args: string[], expectCode = 0): Promise<T> {
  const r = await runCli(t, [...args, '--json']);
  expect(r.code, `rbk ${args.join(' ')}: ${r.stderr}`).toBe(expectCode);
  return JSON.parse(r.stdout) as T;
}

describe('rbk jobs, retention and pinning through the daemon', () => {
  let t: TempRbk;
  let d: DaemonProcess;

  beforeAll(async () => {
    t = makeDataDir({ config: 'retention:\n  local:\n    days: 365\nmetrics:\n  enabled: false\n' });
    seed(t);
    d = await startDaemon(t);
  }, 60_000);

  afterAll(async () => {
    await d?.stop();
    t?.cleanup();
  });

  it('retention --dry-run --json lists the old sessions with their rows and changes nothing', async () => {
    const r = await cliJson<RetentionJson>(t, ['retention', '--dry-run']);
    expect(r).toMatchObject({ dryRun: true, days: 365, pinnedKept: 0, run: null, spoolRejected: [], artifactDirs: [] });
    // No retention.s3.days (and the local backend): the retention job has no S3 step.
    expect(r.s3).toBeNull();
    expect(r.sessions.map((s) => s.id)).toEqual(['aaaa1111-old', 'bbbb2222-old', 'cccc3333-old']);
    expect(r.sessions[0]).toMatchObject({ project: 'alpha', rows: { hookEvents: 4, interactions: 5, messageUsage: 2, subagents: 1 } });
    expect(Date.parse(r.sessions[0]!.lastActivityAt)).toBeLessThan(Date.parse(r.cutoff));
    expect(queryOne<{ n: number }>(t, 'SELECT count(*) AS n FROM sessions WHERE expired_at IS NOT NULL')?.n).toBe(0);

    const human = await runCli(t, ['retention', '--dry-run']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/3 sessions would be deleted/);
    expect(human.stdout).toMatch(/aaaa1111-old\s+alpha/);
  });

  it('sessions pin <prefix> keeps a session out of retention; unpin lets it go', async () => {
    expect(await cliJson(t, ['sessions', 'pin', 'bbbb'])).toEqual({ id: 'bbbb2222-old', pinned: true, changed: true, expiredAt: null });
    expect(await cliJson(t, ['sessions', 'pin', 'bbbb2222-old'])).toMatchObject({ changed: false });
    const r = await cliJson<RetentionJson>(t, ['retention', '--dry-run']);
    expect(r.sessions.map((s) => s.id)).toEqual(['aaaa1111-old', 'cccc3333-old']);
    expect(r.pinnedKept).toBe(1);

    const missing = await runCli(t, ['sessions', 'pin', 'zzzz']);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toMatch(/no session matches "zzzz"/);
  });

  it('jobs run retention expires them (progress, counts, exit 0), and rbk jobs --json shows the run', async () => {
    const run = await cliJson<RunJson>(t, ['jobs', 'run', 'retention', '--yes']);
    expect(run).toMatchObject({ job: 'retention', trigger: 'manual', status: 'ok', error: null });
    expect(run.counts).toMatchObject({ sessions: 2, hookEvents: 4 + 3, interactions: 5 + 4, messageUsage: 4, subagents: 2, pinnedKept: 1 });
    expect(run.durationMs).toBeGreaterThanOrEqual(0);

    const ftsGone = queryAll(t, 'SELECT rowid FROM interactions_fts WHERE interactions_fts MATCH ?', tokenOf('aaaa1111-old'));
    expect(ftsGone).toEqual([]);
    const state = (id: string) => withState(t, id);
    expect(state('aaaa1111-old')).toMatchObject({ hookEvents: 0, interactions: 0, messageUsage: 0, subagents: 0, fts: 0, transcripts: 1 });
    expect(state('bbbb2222-old')).toMatchObject({ hookEvents: 3, interactions: 4, fts: 4, expiredAt: null });
    expect(state('dddd4444-new')).toMatchObject({ hookEvents: 3, interactions: 4, fts: 4, expiredAt: null });
    // The tombstones stay in the table but not in the list: their data is gone.
    const listed = (await cliJson<{ id: string }[]>(t, ['sessions', '--json'])).map((x) => x.id);
    expect(listed).toEqual(expect.arrayContaining(['bbbb2222-old', 'dddd4444-new']));
    expect(listed).not.toContain('aaaa1111-old');

    const list = await cliJson<JobsJson>(t, ['jobs']);
    expect(list.runs[0]).toEqual(run);
    expect(list.jobs.map((j) => j.name)).toEqual(expect.arrayContaining(['compact', 'retention']));
    expect(list.jobs.find((j) => j.name === 'retention')).toMatchObject({ schedule: '17 3 * * *', running: false });
    expect(Date.parse(list.jobs.find((j) => j.name === 'retention')!.nextRunAt!)).toBeGreaterThan(Date.now());

    const human = await runCli(t, ['jobs']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/retention\s+manual\s+\S+ \S+\s+\d+s\s+ok\s+sessions=2 hookEvents=7/);

    // Unpinned, it goes on the next run; the plain `rbk retention` runs it and says what went.
    await cliJson(t, ['sessions', 'unpin', 'bbbb2222-old']);
    const went = await cliJson<RetentionJson>(t, ['retention', '--yes']);
    expect(went).toMatchObject({ dryRun: false, pinnedKept: 0, run: { job: 'retention', status: 'ok', counts: { sessions: 1 } } });
    expect(went.sessions.map((s) => s.id)).toEqual(['bbbb2222-old']);
    expect(withState(t, 'bbbb2222-old')).toMatchObject({ hookEvents: 0, interactions: 0, fts: 0 });
    expect((await cliJson<JobsJson>(t, ['jobs', '--job', 'retention'])).runs).toHaveLength(2);
  });

  it('jobs run compact reports bytes; unknown jobs exit 4 naming the known ones', async () => {
    const run = await cliJson<RunJson>(t, ['jobs', 'run', 'compact']);
    expect(run).toMatchObject({ job: 'compact', status: 'ok' });
    expect(run.counts).toHaveProperty('bytesReclaimed');
    expect(run.counts).toHaveProperty('rawDropped');

    const r = await runCli(t, ['jobs', 'run', 'nope']);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/no job named "nope"; known jobs: backup, compact, integrity, pack, redact, retention, sweep, sync/);
    const usage = await runCli(t, ['jobs', 'run']);
    expect(usage.code).toBe(2);
  });
});

describe('scheduled runs and leftovers of a dead daemon', () => {
  it('a run left running is marked interrupted at start; cron runs show trigger cron', async () => {
    const t = makeDataDir({ config: 'jobs:\n  compact: "* * * * * *"\nmetrics:\n  enabled: false\n' });
    seed(t, (db) => {
      db.prepare(`INSERT INTO job_runs (job, trigger, started_at, status) VALUES ('retention', 'cron', ?, 'running')`).run(Date.now() - 60_000);
    });
    const d = await startDaemon(t);
    try {
      const cron = await waitFor('a cron run of compact', async () => {
        const r = await cliJson<JobsJson>(t, ['jobs']);
        return r.runs.find((x) => x.job === 'compact' && x.trigger === 'cron' && x.status === 'ok');
      });
      expect(cron.counts).toHaveProperty('bytesReclaimed');
      const all = await cliJson<JobsJson>(t, ['jobs', '--limit', '100']);
      const left = all.runs.find((x) => x.job === 'retention');
      expect(left).toMatchObject({ status: 'interrupted', trigger: 'cron' });
      expect(left?.error).toMatch(/daemon stopped/);
      expect(all.jobs.find((j) => j.name === 'compact')?.schedule).toBe('* * * * * *');
    } finally {
      await d.stop();
      t.cleanup();
    }
  }, 60_000);
});

function withState(t: TempRbk, id: string) {
  const db = new Database(t.db, { readonly: true });
  try {
    return sessionState(db, id);
  } finally {
    db.close();
  }
}
