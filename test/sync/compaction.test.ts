// S3 compaction over a real S3 wire protocol (s3rver) with the real sync engine: a closed
// session's parts become one object per dataset, the manifest names it, the parts are gone, and
// a pull afterwards gives exactly the rows a pull before gave. Each crash point (after merge,
// after record, after the manifest PUT) leaves a state a pull reads in full, and the next run
// finishes the job. Compacting twice changes nothing; later uploads continue after `last`.
import zlib from 'node:zlib';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../daemon/log.js';
import { listSessions } from '../../daemon/query/sessions.js';
import { buildTimeline } from '../../daemon/query/timeline.js';
import { usageReport } from '../../daemon/query/usage.js';
import { createBackend } from '../../daemon/sync/backends/create.js';
import { S3Backend } from '../../daemon/sync/backends/s3.js';
import { createRedactionService } from '../../daemon/redact/service.js';
import { parseKey } from '../../daemon/sync/layout.js';
import { pullCentralCopy } from '../../daemon/sync/pull.js';
import { compactCentralCopy, emptyCounts, runS3Compaction, SessionCompactor, type CompactionStep } from '../../daemon/sync/compaction.js';
import { captureScenario, engineFor, makeMachine, snapshot, type Machine } from './pull-world.js';
import { emptyBucket, S3_ENV, startS3rver, type S3Server } from './support.js';

const HOUR = 3600_000;
let s3: S3Server;
let a: Machine;
let bucket: S3Backend;
const machines: Machine[] = [];

beforeAll(async () => {
  Object.assign(process.env, S3_ENV);
  s3 = await startS3rver({ bucket: 'rbk-compaction' });
});
afterAll(async () => {
  await s3.dispose();
});
beforeEach(async () => {
  // Small parts, so one session has several per dataset.
  a = makeMachine({ sync: { maxPartRows: 4 } });
  machines.push(a);
  bucket = new S3Backend({ bucket: s3.bucket, prefix: 'rbk', region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true });
});
afterEach(async () => {
  await bucket.close();
  await emptyBucket(s3.endpoint, s3.bucket);
  for (const m of machines.splice(0)) m.cleanup();
});

/** Two days after the fixtures' sessions ended: past compaction.s3.closedHours (24). */
const later = () => Date.now() + 48 * HOUR;
const env = () => ({ db: a.db, backend: bucket, redaction: a.redaction, log: silentLogger, now: later });

async function pulledView() {
  const m = makeMachine();
  machines.push(m);
  const r = await pullCentralCopy({ db: m.db, backend: bucket, selfHost: 'desk-b', log: silentLogger }, {});
  expect(r.skipped).toEqual({});
  const ids = m.db.prepare('SELECT id FROM sessions ORDER BY id').pluck().all() as string[];
  return {
    sessions: listSessions(m.db, { limit: 100 }).map((s) => ({ ...s, updated_at: 0, created_at: 0 })),
    timelines: ids.map((id) => buildTimeline(m.db, id)),
    usage: usageReport(m.db, { report: 'session', timeZone: 'UTC' }).rows,
    rows: m.db.prepare('SELECT (SELECT count(*) FROM interactions) AS i, (SELECT count(*) FROM hook_events) AS h').get(),
  };
}

async function setup(): Promise<string> {
  const [id] = await captureScenario(a, 'failing-build', 'laptop-a');
  const s = await engineFor(a, bucket).run({ now: true });
  expect(s.sessionsFailed).toBe(0);
  return id!;
}

const keysOf = async (dataset: string) => (await bucket.list(`v1/${dataset}/`)).map((o) => parseKey(o.key)!.file);

describe('S3 compaction', () => {
  it('merges parts per dataset, rewrites the manifest, deletes the parts; a pull after it gives the same rows', async () => {
    const id = await setup();
    const partsBefore = { i: await keysOf('interactions'), h: await keysOf('hook_events') };
    expect(partsBefore.i.length).toBeGreaterThan(1);
    expect(partsBefore.h.length).toBeGreaterThan(1);
    const before = await pulledView();
    // What the merged object must hold, byte for byte: the parts' NDJSON, in order, gzipped as one.
    const partBodies = [];
    for (const o of await bucket.list('v1/interactions/')) partBodies.push(zlib.gunzipSync((await bucket.get(o.key))!));
    const expectedMerged = zlib.gzipSync(Buffer.concat(partBodies), { level: 6 });

    // Not yet closed long enough: nothing happens.
    expect(await runS3Compaction({ ...env(), now: () => Date.now() }, 24 * 365 * 10)).toEqual(emptyCounts());

    const counts = await runS3Compaction(env(), 24);
    expect(counts).toMatchObject({ s3SessionsCompacted: 1, s3ObjectsWritten: 2, s3Manifests: 1, s3Errors: 0 });
    expect(counts.s3PartsMerged).toBe(partsBefore.i.length + partsBefore.h.length);
    expect(counts.s3ObjectsDeleted).toBe(partsBefore.i.length + partsBefore.h.length);
    const pad = (n: number) => String(n).padStart(6, '0');
    expect(await keysOf('interactions')).toEqual([`part-000001-${pad(partsBefore.i.length)}.ndjson.gz`]);
    expect(await keysOf('hook_events')).toEqual([`part-000001-${pad(partsBefore.h.length)}.ndjson.gz`]);
    // The parts were streamed through one gzip, one at a time, and give the same bytes.
    const mergedKey = (await bucket.list('v1/interactions/'))[0]!.key;
    expect(Buffer.from((await bucket.get(mergedKey))!).equals(expectedMerged)).toBe(true);
    const manifest = JSON.parse(Buffer.from((await bucket.get((await bucket.list('v1/sessions/'))[0]!.key))!).toString('utf8'));
    expect(manifest.parts.interactions).toEqual([expect.objectContaining({ first: 1, last: partsBefore.i.length })]);
    expect(a.db.prepare('SELECT dataset, first_seq, last_seq FROM sync_parts WHERE session_id = ? ORDER BY dataset').all(id)).toEqual([
      { dataset: 'hook_events', first_seq: 1, last_seq: partsBefore.h.length },
      { dataset: 'interactions', first_seq: 1, last_seq: partsBefore.i.length },
    ]);
    expect(await pulledView()).toEqual(before);

    // Twice is a no-op: nothing written, nothing deleted, the bucket byte for byte the same.
    const objects = await snapshot(bucket);
    expect(await runS3Compaction(env(), 24)).toMatchObject({ s3ObjectsWritten: 0, s3ObjectsDeleted: 0, s3Manifests: 0, s3Errors: 0 });
    expect(await snapshot(bucket)).toEqual(objects);
    // And the engine has nothing to re-upload: its manifest hash is the compacted manifest's.
    expect((await engineFor(a, bucket).run({ now: true, force: true })).parts).toBe(0);
  });

  it('later uploads for the session continue numbering after the merged range', async () => {
    const id = await setup();
    const n = (await keysOf('hook_events')).length;
    await runS3Compaction(env(), 24);
    a.db
      .prepare(
        `INSERT INTO hook_events (event_id, session_id, event_name, received_at, via, payload, payload_bytes) VALUES ('late-1', ?, 'Notification', ?, 'direct', '{}', 2)`,
      )
      .run(id, Date.now());
    expect((await engineFor(a, bucket).run({ now: true })).parts).toBe(1);
    expect(await keysOf('hook_events')).toEqual([`part-000001-${String(n).padStart(6, '0')}.ndjson.gz`, `part-${String(n + 1).padStart(6, '0')}.ndjson.gz`]);
    const view = await pulledView();
    expect(view.rows).toEqual(a.db.prepare('SELECT (SELECT count(*) FROM interactions) AS i, (SELECT count(*) FROM hook_events) AS h').get());
    // Compacting again folds the new part in.
    await runS3Compaction({ ...env(), now: () => Date.now() + 96 * HOUR }, 24);
    expect(await keysOf('hook_events')).toEqual([`part-000001-${String(n + 1).padStart(6, '0')}.ndjson.gz`]);
    expect(await pulledView()).toEqual(view);
  });

  for (const step of ['merge', 'record', 'manifest'] as CompactionStep[]) {
    it(`a crash after "${step}" leaves a complete copy for readers, and the next run finishes`, async () => {
      const id = await setup();
      const before = await pulledView();
      const counts = emptyCounts();
      await new SessionCompactor(env()).compact(id, counts, step);
      // Readers following the manifest see every row at this point.
      expect(await pulledView()).toEqual(before);
      const finish = await runS3Compaction(env(), 24);
      expect(finish.s3Errors).toBe(0);
      expect(await keysOf('interactions')).toHaveLength(1);
      expect(await keysOf('hook_events')).toHaveLength(1);
      expect(await pulledView()).toEqual(before);
      expect(await runS3Compaction(env(), 24)).toMatchObject({ s3ObjectsWritten: 0, s3ObjectsDeleted: 0, s3Manifests: 0 });
    });
  }

  it('the compact job runs it with the backend built from the config', async () => {
    await setup();
    const m = makeMachine({
      integrations: {
        claude: {
          sessionStorage: { backend: 's3', s3: { bucket: s3.bucket, prefix: 'rbk', endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true } },
        },
      },
    });
    machines.push(m);
    // What the daemon builds once at start and shares (DaemonContext.storage, .redaction).
    const backend = createBackend(m.config, a.paths);
    try {
      const ctx = { db: a.db, config: m.config, log: silentLogger, clock: { now: later }, signal: new AbortController().signal };
      await expect(
        compactCentralCopy(ctx, { backend: null, backendError: 'no bucket', redaction: createRedactionService(m.config, a.paths.dataDir) }),
      ).rejects.toThrow(/no usable backend: no bucket/);
      const counts = await compactCentralCopy(ctx, { backend, backendError: null, redaction: createRedactionService(m.config, a.paths.dataDir) });
      expect(counts.s3SessionsCompacted).toBe(1);
    } finally {
      await backend.close();
    }
    expect(await keysOf('interactions')).toHaveLength(1);
  });
});
