// S3 retention over a real S3 wire protocol (s3rver): with retention.s3.days set, expired date=
// partitions go (manifests first), a pinned session in an expired partition stays with all its
// prefixes, fresh partitions stay, and the sync engine forgets the deleted parts. Unset: nothing.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../daemon/log.js';
import { createBackend } from '../../daemon/sync/backends/create.js';
import { S3Backend } from '../../daemon/sync/backends/s3.js';
import { parseKey } from '../../daemon/sync/layout.js';
import { expireCentralCopy, planS3Retention, runS3Retention } from '../../daemon/sync/retention.js';
import { captureScenario, engineFor, makeMachine, type Machine } from './pull-world.js';
import { assertBuilt, makeDataDir, runCli, startDaemon } from '../support/rbk.js';
import { emptyBucket, MANUAL_ONLY, S3_ENV, s3ConfigYaml, startS3rver, type S3Server } from './support.js';

const DAY = 86_400_000;
let s3: S3Server;
let a: Machine;
let bucket: S3Backend;
let ids: { failing: string; agent: string; resume: string };

beforeAll(async () => {
  Object.assign(process.env, S3_ENV);
  s3 = await startS3rver({ bucket: 'rbk-retention' });
});
afterAll(async () => {
  await s3.dispose();
});
beforeEach(async () => {
  a = makeMachine();
  bucket = new S3Backend({ bucket: s3.bucket, prefix: 'rbk', region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true });
  const [failing] = await captureScenario(a, 'failing-build', 'laptop-a');
  const [agent] = await captureScenario(a, 'agent-investigation', 'laptop-a');
  const [resume] = await captureScenario(a, 'resume', 'laptop-a');
  ids = { failing: failing!, agent: agent!, resume: resume! };
  // Three start days: two sessions 40 days ago (one pinned), one fresh (yesterday).
  const start = (id: string, ms: number) => a.db.prepare('UPDATE sessions SET started_at = ? WHERE id = ?').run(ms, id);
  start(ids.failing, Date.now() - 40 * DAY);
  start(ids.agent, Date.now() - 40 * DAY);
  start(ids.resume, Date.now() - DAY);
  a.db.prepare('UPDATE sessions SET pinned = 1 WHERE id = ?').run(ids.agent);
  expect((await engineFor(a, bucket).run({ now: true })).sessionsFailed).toBe(0);
});
afterEach(async () => {
  await bucket.close();
  await emptyBucket(s3.endpoint, s3.bucket);
  a.cleanup();
});

const sessionsIn = async () => new Set((await bucket.list('v1/')).map((o) => parseKey(o.key)!.sessionId));

describe('S3 retention', () => {
  it('deletes expired partitions, keeps the pinned session and fresh partitions', async () => {
    const all = await bucket.list('v1/');
    const expiredKeys = all.filter((o) => parseKey(o.key)!.sessionId === ids.failing);
    expect(expiredKeys.length).toBeGreaterThanOrEqual(3);

    const plan = await planS3Retention(a.db, bucket, 30, Date.now());
    expect(plan).toMatchObject({ s3Partitions: 1, s3SessionsDeleted: 1, s3PinnedKept: 1, s3ObjectsDeleted: expiredKeys.length });
    expect(plan.keys[0]!.key).toMatch(/^v1\/sessions\//);
    expect(await sessionsIn()).toEqual(new Set(Object.values(ids)));

    const counts = await runS3Retention({ db: a.db, backend: bucket, log: silentLogger, now: Date.now() }, 30);
    expect(counts).toEqual({
      s3Partitions: 1,
      s3ObjectsDeleted: expiredKeys.length,
      s3BytesDeleted: expiredKeys.reduce((n, o) => n + o.bytes, 0),
      s3SessionsDeleted: 1,
      s3PinnedKept: 1,
    });
    expect(await sessionsIn()).toEqual(new Set([ids.agent, ids.resume]));
    // The pinned session keeps every prefix: its manifest and both datasets.
    const pinnedDatasets = new Set((await bucket.list('v1/')).filter((o) => parseKey(o.key)!.sessionId === ids.agent).map((o) => parseKey(o.key)!.dataset));
    expect(pinnedDatasets).toEqual(new Set(['sessions', 'interactions', 'hook_events']));
    expect(a.db.prepare('SELECT count(*) FROM sync_parts WHERE session_id = ?').pluck().get(ids.failing)).toBe(0);
    // Running again deletes nothing more.
    expect((await runS3Retention({ db: a.db, backend: bucket, log: silentLogger, now: Date.now() }, 30)).s3ObjectsDeleted).toBe(0);

    // Unpinned, it goes too; with a longer window, nothing goes.
    a.db.prepare('UPDATE sessions SET pinned = 0 WHERE id = ?').run(ids.agent);
    expect((await runS3Retention({ db: a.db, backend: bucket, log: silentLogger, now: Date.now() }, 60)).s3ObjectsDeleted).toBe(0);
    await runS3Retention({ db: a.db, backend: bucket, log: silentLogger, now: Date.now() }, 30);
    expect(await sessionsIn()).toEqual(new Set([ids.resume]));
  });

  it('the retention job step does nothing when retention.s3.days is unset, and expires when set', async () => {
    const s3Storage = { backend: 's3', s3: { bucket: s3.bucket, prefix: 'rbk', endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true } };
    const unset = makeMachine({ integrations: { claude: { sessionStorage: s3Storage } } });
    const set = makeMachine({ integrations: { claude: { sessionStorage: s3Storage } }, retention: { s3: { days: 30 } } });
    // What the daemon builds once at start and shares (DaemonContext.storage).
    const backend = createBackend(set.config, a.paths);
    try {
      const ctx = (config: Machine['config']) => ({
        db: a.db,
        config,
        log: silentLogger,
        clock: { now: () => Date.now() },
        signal: new AbortController().signal,
      });
      expect((await expireCentralCopy(ctx(unset.config), { backend, backendError: null })).s3ObjectsDeleted).toBe(0);
      expect((await expireCentralCopy(ctx(set.config), null)).s3ObjectsDeleted).toBe(0);
      await expect(expireCentralCopy(ctx(set.config), { backend: null, backendError: 'no bucket' })).rejects.toThrow(/no usable backend: no bucket/);
      expect((await sessionsIn()).size).toBe(3);
      expect((await expireCentralCopy(ctx(set.config), { backend, backendError: null })).s3SessionsDeleted).toBe(1);
      expect(await sessionsIn()).toEqual(new Set([ids.agent, ids.resume]));
    } finally {
      await backend.close();
      unset.cleanup();
      set.cleanup();
    }
  });

  it('rbk retention --dry-run shows the S3 part (--json and text); the run deletes it and reports what went', async () => {
    assertBuilt();
    const expiredKeys = (await bucket.list('v1/')).filter((o) => parseKey(o.key)!.sessionId === ids.failing);
    const expiredDay = new Date(Date.now() - 40 * DAY).toISOString().slice(0, 10);
    // The daemon gets machine A's database (its sessions, the pin, the sync bookkeeping).
    const t = makeDataDir({ config: s3ConfigYaml(s3, { prefix: 'rbk', extra: `${MANUAL_ONLY}\nretention:\n  s3:\n    days: 30` }) });
    fs.mkdirSync(t.dataDir, { recursive: true, mode: 0o700 });
    await a.db.backup(path.join(t.dataDir, 'rbk.db'));
    fs.chmodSync(path.join(t.dataDir, 'rbk.db'), 0o600);
    const d = await startDaemon(t, { env: S3_ENV });
    try {
      const before = (await bucket.list('v1/')).length;
      const dry = await runCli(t, ['retention', '--dry-run', '--json'], { env: S3_ENV, timeoutMs: 60_000 });
      expect(dry.code, dry.stderr).toBe(0);
      const s3Part = {
        days: 30,
        cutoffDay: new Date(Date.now() - 30 * DAY).toISOString().slice(0, 10),
        location: 's3://rbk-retention/rbk/',
        partitions: [expiredDay],
        objects: expiredKeys.length,
        bytes: expiredKeys.reduce((n, o) => n + o.bytes, 0),
        sessions: 1,
        pinnedKept: 1,
        error: null,
      };
      expect(JSON.parse(dry.stdout)).toMatchObject({ dryRun: true, run: null, s3: s3Part });
      expect((await bucket.list('v1/')).length).toBe(before);

      const text = await runCli(t, ['retention', '--dry-run'], { env: S3_ENV, timeoutMs: 60_000 });
      expect(text.code, text.stderr).toBe(0);
      expect(text.stdout).toContain(
        `Central copy s3://rbk-retention/rbk/ (keeps 30 days: partitions before ${s3Part.cutoffDay}): ${expiredKeys.length} objects (`,
      );
      expect(text.stdout).toContain(`of 1 session in 1 partition would be deleted (${expiredDay}); 1 pinned session kept.`);

      const run = await runCli(t, ['retention', '--json', '--yes'], { env: S3_ENV, timeoutMs: 120_000 });
      expect(run.code, run.stderr).toBe(0);
      const went = JSON.parse(run.stdout);
      expect(went).toMatchObject({ dryRun: false, run: { status: 'ok', counts: { s3ObjectsDeleted: expiredKeys.length } }, s3: s3Part });
      expect(await sessionsIn()).toEqual(new Set([ids.agent, ids.resume]));
      const again = JSON.parse((await runCli(t, ['retention', '--dry-run', '--json'], { env: S3_ENV, timeoutMs: 60_000 })).stdout);
      expect(again.s3).toMatchObject({ partitions: [], objects: 0, sessions: 0, pinnedKept: 1 });
    } finally {
      await d.stop();
      t.cleanup();
    }
  }, 120_000);

  it('a bucket that cannot be listed: the dry run still shows the local part, names the error, exits 1', async () => {
    const t = makeDataDir({
      config: s3ConfigYaml({ endpoint: 'http://127.0.0.1:9', bucket: 'rbk-nowhere' }, { extra: `${MANUAL_ONLY}\nretention:\n  s3:\n    days: 30` }),
    });
    const d = await startDaemon(t, { env: S3_ENV });
    try {
      const dry = await runCli(t, ['retention', '--dry-run', '--json'], { env: S3_ENV, timeoutMs: 60_000 });
      expect(dry.code, dry.stderr).toBe(1);
      const j = JSON.parse(dry.stdout);
      expect(j).toMatchObject({ dryRun: true, days: 365, sessions: [], s3: { location: 's3://rbk-nowhere/rbk/', objects: 0 } });
      expect(j.s3.error).toMatch(/^listing s3:\/\/rbk-nowhere\/rbk\/ failed: .*rbk doctor\)$/);
    } finally {
      await d.stop();
      t.cleanup();
    }
  }, 60_000);
});
