// rbk restore --from-central-copy (pullCentralCopy with own: true) over the real sync engine's
// output: B, a fresh store of the same host, gets A's sessions back as its own. Interrupted after
// its first part, the restore leaves a read-only, never-uploaded session behind, and the next run
// finishes it. The sync state it writes is the one A's uploader had (parts, sequence numbers,
// manifest), so that B's uploader goes on where A's stopped.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../daemon/log.js';
import { buildTimeline } from '../../daemon/query/timeline.js';
import { LocalBackend } from '../../daemon/sync/backends/local.js';
import type { StorageBackend } from '../../daemon/sync/backend.js';
import { pullCentralCopy } from '../../daemon/sync/pull.js';
import { captureScenario, engineFor, makeMachine, type Machine } from './pull-world.js';

let a: Machine;
let b: Machine;
let bucket: LocalBackend;

beforeEach(() => {
  a = makeMachine();
  b = makeMachine();
  bucket = new LocalBackend(fs.mkdtempSync(path.join(a.dir, 'bucket-')));
});
afterEach(async () => {
  await bucket.close();
  a.cleanup();
  b.cleanup();
});

const restore = (signal?: AbortSignal, backend: StorageBackend = bucket) =>
  pullCentralCopy({ db: b.db, backend, selfHost: 'laptop-a', log: silentLogger, signal }, { own: true });

/** The bucket, but the restore is "killed" once the first part has been read (its rows then go in). */
function killedAfterFirstPart(stop: AbortController): StorageBackend {
  return Object.assign(Object.create(bucket) as StorageBackend, {
    get: async (key: string) => {
      const body = await bucket.get(key);
      if (key.includes('/part-')) stop.abort(new Error('killed'));
      return body;
    },
  });
}

/** A's or B's sync bookkeeping, minus what is local by nature (row ids, times). */
function syncState(m: Machine) {
  return {
    sessions: m.db.prepare('SELECT session_id, host, date, dirty_since IS NULL AS clean, manifest_sha256 FROM sync_sessions ORDER BY session_id').all(),
    streams: m.db.prepare('SELECT session_id, dataset, last_seq, planned_seq FROM sync_streams ORDER BY session_id, dataset').all(),
    parts: m.db
      .prepare('SELECT session_id, dataset, first_seq, last_seq, key, rows, bytes, sha256 FROM sync_parts ORDER BY session_id, dataset, first_seq')
      .all(),
  };
}

describe('restore this machine from the central copy', () => {
  it('brings the sessions back as its own, with the uploader state A had; interrupted, it resumes', async () => {
    const ids = [...(await captureScenario(a, 'failing-build', 'laptop-a')), ...(await captureScenario(a, 'agent-investigation', 'laptop-a'))];
    expect((await engineFor(a, bucket).run({ now: true })).sessionsUploaded).toBe(ids.length);

    // Stopped right after the first part is stored.
    const stop = new AbortController();
    await expect(restore(stop.signal, killedAfterFirstPart(stop))).rejects.toThrow('killed');
    const partial = b.db.prepare('SELECT id, pulled_from FROM sessions').all() as { id: string; pulled_from: string | null }[];
    expect(partial).toHaveLength(1);
    // Half restored (one part of it is in): read-only, so neither hooks nor the uploader touch it.
    expect(partial[0]!.pulled_from).toBe('laptop-a');
    expect(b.db.prepare('SELECT count(*) FROM sync_parts').pluck().get()).toBe(1);
    expect((await engineFor(b, bucket).run({ now: true })).sessionsUploaded).toBe(0);

    const done = await restore();
    expect(done.skipped).toEqual({});
    const rows = b.db.prepare('SELECT id, pulled_from, origin FROM sessions ORDER BY id').all();
    expect(rows).toEqual(ids.map((id) => ({ id, pulled_from: null, origin: 'restore' })));
    for (const id of ids) expect(buildTimeline(b.db, id)).toEqual(buildTimeline(a.db, id));
    expect(syncState(b)).toEqual(syncState(a));

    // Idempotent, and nothing for the uploader to do.
    expect(await restore()).toMatchObject({ sessionsAdded: 0, interactionsAdded: 0, hookEventsAdded: 0 });
    const before = [...(await bucket.list('v1/'))].map((o) => o.key);
    expect((await engineFor(b, bucket).run({ now: true })).sessionsUploaded).toBe(0);
    expect((await bucket.list('v1/')).map((o) => o.key)).toEqual(before);
  });

  it("takes only this host's sessions (or --host's), never another machine's", async () => {
    await captureScenario(a, 'failing-build', 'desk-b');
    await engineFor(a, bucket).run({ now: true });
    const r = await restore();
    expect(r.manifestsTotal).toBe(0);
    expect(b.db.prepare('SELECT count(*) FROM sessions').pluck().get()).toBe(0);
    const other = await pullCentralCopy({ db: b.db, backend: bucket, selfHost: 'laptop-a', log: silentLogger }, { own: true, host: 'desk-b' });
    expect(other.sessionsAdded).toBe(1);
    expect(b.db.prepare('SELECT pulled_from, origin FROM sessions').get()).toEqual({ pulled_from: null, origin: 'restore' });
  });
});
