// Fault injection on the central copy, with real processes and a real S3 wire protocol:
// - s3rver stopped in the middle of a sync and started again later;
// - the daemon killed with SIGKILL in the middle of an upload and started again;
// - a loopback proxy between the SDK and s3rver answering 503 SlowDown / 500 InternalError,
//   dropping connections and adding latency, with the daemon's own backoff timers retrying.
// Each time the object set ends complete (every row of every session in exactly one part, every
// part listed in its manifest with the right sha256) and no interaction or hook event is in two
// parts.
import crypto from 'node:crypto';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeDataDir, queryAll, queryOne, runCli, spawnDaemon, startDaemon, waitFor, waitReady, type DaemonProcess, type TempRbk } from '../support/rbk.js';
import {
  MANUAL_ONLY,
  ndjsonRecords,
  readAllObjects,
  S3_ENV,
  s3ConfigYaml,
  sessionIdFor,
  startFaultProxy,
  startS3rver,
  writeSyntheticTranscript,
  type FaultProxy,
  type S3Server,
} from './support.js';

let s3: S3Server;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  s3 = await startS3rver({ bucket: 'rbk-faults' });
});

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

afterAll(async () => {
  await s3?.dispose();
});

interface World {
  t: TempRbk;
  proxy: FaultProxy;
  prefix: string;
  sessions: string[];
  d: DaemonProcess;
}

/** A daemon syncing to s3rver through the fault proxy, with `n` imported sessions. */
async function world(name: string, n: number, turns: number, extra = MANUAL_ONLY): Promise<World> {
  const proxy = await startFaultProxy(s3.endpoint);
  cleanups.push(() => proxy.close());
  const prefix = `faults/${name}`;
  const t = makeDataDir({ config: s3ConfigYaml({ endpoint: proxy.endpoint, bucket: s3.bucket }, { prefix, extra }) });
  cleanups.push(() => t.cleanup());
  const dir = path.join(t.root, 'transcripts');
  const sessions = Array.from({ length: n }, (_, i) => sessionIdFor(1000 + i));
  for (const [i, id] of sessions.entries()) writeSyntheticTranscript(dir, id, turns, { startMs: Date.parse('2026-03-02T10:00:00Z') + i * 3600_000 });
  const d = await startDaemon(t, { env: S3_ENV });
  const w: World = { t, proxy, prefix, sessions, d };
  cleanups.push(() => w.d.stop().then(() => undefined));
  const imported = await runCli(t, ['import', dir, '--json'], { timeoutMs: 120_000 });
  expect(imported.code, imported.stderr).toBe(0);
  return w;
}

async function syncJson(t: TempRbk, args: string[] = []): Promise<{ code: number | null; body: any; stderr: string }> {
  const r = await runCli(t, ['sync', ...args, '--json'], { env: S3_ENV, timeoutMs: 120_000 });
  let body: any = null;
  try {
    body = JSON.parse(r.stdout);
  } catch {
    /* no summary (e.g. the daemon died) */
  }
  return { code: r.code, body, stderr: r.stderr };
}

const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

/**
 * The whole object set against the database: every session has a manifest; each dataset's parts
 * are numbered 1..n without gaps; each listed part exists with the listed sha256; together they
 * hold exactly the session's rows, each once; and no part object exists that no manifest lists.
 */
async function expectComplete(w: World): Promise<{ objects: number; parts: number }> {
  const objects = await readAllObjects(s3.endpoint, s3.bucket, `${w.prefix}/`);
  const listed = new Set<string>();
  for (const s of w.sessions) {
    const manifestKey = [...objects.keys()].find((k) => k.startsWith('v1/sessions/') && k.includes(`/session=${s}/`) && k.endsWith('/session.json'));
    expect(manifestKey, `manifest of ${s}`).toBeDefined();
    const m = JSON.parse(objects.get(manifestKey!)!.toString('utf8'));
    for (const [dataset, table, idOf] of [
      ['interactions', `SELECT uuid || '/' || block_index AS id FROM interactions WHERE session_id = ? ORDER BY id`, (r: any) => `${r.uuid}/${r.block_index}`],
      ['hook_events', `SELECT event_id AS id FROM hook_events WHERE session_id = ? ORDER BY seq`, (r: any) => String(r.event_id)],
    ] as const) {
      const parts = m.parts[dataset] as { key: string; first: number; last: number; sha256: string; rows: number }[];
      expect(
        parts.map((p) => p.first),
        `${dataset} parts of ${s}`,
      ).toEqual(parts.map((_, i) => i + 1));
      const ids: string[] = [];
      for (const p of parts) {
        const body = objects.get(p.key);
        expect(body, p.key).toBeDefined();
        expect(sha256(body!), p.key).toBe(p.sha256);
        const recs = ndjsonRecords(body!);
        expect(recs.length).toBe(p.rows);
        ids.push(...recs.map(idOf));
        listed.add(p.key);
      }
      const db = queryAll<{ id: string }>(w.t, table, s).map((r) => r.id);
      expect(new Set(ids).size, `no ${dataset} row of ${s} twice`).toBe(ids.length);
      expect([...ids].sort(), `${dataset} of ${s} complete`).toEqual([...db].sort());
    }
  }
  const orphans = [...objects.keys()].filter((k) => k.endsWith('.gz') && !listed.has(k));
  expect(orphans).toEqual([]);
  return { objects: objects.size, parts: listed.size };
}

function okPuts(p: FaultProxy): number {
  return p.requests.filter((r) => r.method === 'PUT' && r.status === 200).length;
}

describe('sync under faults', () => {
  it('s3rver stopped mid-sync and started later: the object set completes, nothing twice', async () => {
    const w = await world(
      's3-down',
      30,
      4,
      ['sync:', '  automatic: false', '  backoffBaseMs: 50', '  backoffCapMs: 200', 'jobs:', '  sync: "0 0 1 1 *"'].join('\n'),
    );
    // Slow enough (latency on every request) that the stop lands in the middle of the run.
    w.proxy.setFault(() => ({ delayMs: 40 }));
    const running = syncJson(w.t);
    await waitFor('some objects uploaded', () => okPuts(w.proxy) >= 12, 60_000, 5);
    await s3.stop();
    const cut = await running;
    expect(cut.code, cut.stderr).toBe(1);
    expect(cut.body.sessions.failed).toBeGreaterThan(0);
    expect(cut.body.sessions.uploaded).toBeGreaterThan(0);
    const down = JSON.parse((await runCli(w.t, ['sync', 'status', '--json'], { env: S3_ENV })).stdout);
    expect(down.backlog.sessions).toBeGreaterThan(0);
    expect(down.lastError.message).toMatch(/ECONNREFUSED|socket|connect|ECONNRESET/i);

    // Still down: another attempt fails and loses nothing.
    const again = await syncJson(w.t, ['--now']);
    expect(again.code).toBe(1);
    expect(again.body.sessions.uploaded).toBe(0);

    await s3.start();
    w.proxy.setFault(null);
    const back = await syncJson(w.t, ['--now']);
    expect(back.code, back.stderr).toBe(0);
    expect(back.body.backlogSessions).toBe(0);
    const done = await expectComplete(w);
    expect(done.objects).toBe(30 * 2); // one interactions part and one manifest per session
    const status = JSON.parse((await runCli(w.t, ['sync', 'status', '--json'], { env: S3_ENV })).stdout);
    expect(status).toMatchObject({ backlog: { sessions: 0, rows: 0 }, lastError: null });
  });

  it('daemon killed with SIGKILL mid-upload and restarted: the object set completes, nothing twice', async () => {
    const w = await world('kill9', 30, 4);
    w.proxy.setFault(() => ({ delayMs: 40 }));
    const running = syncJson(w.t);
    await waitFor('some objects uploaded', () => okPuts(w.proxy) >= 12, 60_000, 5);
    await w.d.kill9();
    const cut = await running;
    expect(cut.code).not.toBe(0);
    // Planned parts survived the kill: they are retried under the same keys with the same rows.
    const planned = queryOne<{ n: number }>(w.t, 'SELECT count(*) AS n FROM sync_streams WHERE planned_seq IS NOT NULL')!.n;
    const pending = queryOne<{ n: number }>(w.t, 'SELECT count(*) AS n FROM sync_sessions WHERE dirty_since IS NOT NULL')!.n;
    expect(pending).toBeGreaterThan(0);
    expect(planned).toBeGreaterThan(0);

    w.d = spawnDaemon(w.t, { env: S3_ENV });
    await waitReady(w.t, w.d);
    w.proxy.setFault(null);
    const putsBefore = w.proxy.requests.length;
    const back = await syncJson(w.t, ['--now']);
    expect(back.code, back.stderr).toBe(0);
    expect(back.body.backlogSessions).toBe(0);
    // Each pending session costs one part and one manifest; the planned ones re-send their part.
    expect(w.proxy.requests.length - putsBefore).toBe(back.body.puts);
    expect(back.body.sessions.uploaded).toBe(pending);
    // No LIST (or any other request) ever: the backlog lives in SQLite, not in the bucket.
    expect(w.proxy.requests.every((r) => r.method === 'PUT')).toBe(true);
    expect(planned).toBeLessThanOrEqual(pending);
    const done = await expectComplete(w);
    expect(done.objects).toBe(30 * 2);
  });

  it('503 SlowDown, 500 InternalError, dropped connections and latency: backoff timers finish the job unattended', async () => {
    const w = await world(
      'flaky',
      12,
      3,
      [
        'sync:',
        '  automatic: true',
        '  idleMinutes: 1440',
        '  debounceMs: 3600000',
        '  backoffBaseMs: 100',
        '  backoffCapMs: 400',
        'jobs:',
        '  sync: "0 0 1 1 *"',
      ].join('\n'),
    );
    // Roughly a third of the requests fail, in every way the SDK and our backoff must absorb.
    let n = 0;
    w.proxy.setFault(({ method }) => {
      if (method !== 'PUT') return null;
      n += 1;
      if (n % 7 === 0) return 'drop';
      if (n % 3 === 0) return 503;
      if (n % 5 === 0) return 500;
      return n % 2 === 0 ? { delayMs: 30 } : null;
    });
    const first = await syncJson(w.t);
    // However the first run went, the daemon keeps retrying on its own until the backlog is empty.
    expect([0, 1]).toContain(first.code);
    let last: unknown;
    await waitFor(
      'backlog empty through the retry timers',
      async () => {
        last = JSON.parse((await runCli(w.t, ['sync', 'status', '--json'], { env: S3_ENV })).stdout);
        return (last as { backlog: { sessions: number } }).backlog.sessions === 0;
      },
      // Under the 60 s idle check, which would otherwise hide a retry timer that never fired.
      45_000,
      250,
    ).catch((err: Error) => {
      throw new Error(
        `${err.message}\nstatus: ${JSON.stringify(last)}\nrequests: ${JSON.stringify(w.proxy.requests.slice(-12).map((r) => [r.method, r.status, r.injected]))}\nlog: ${w.d.log().slice(-3000)}`,
      );
    });
    const injected = w.proxy.requests.filter((r) => r.injected).length;
    expect(injected).toBeGreaterThan(5);
    const done = await expectComplete(w);
    expect(done.objects).toBe(12 * 2);
    // Every object was stored by exactly one forwarded PUT per key, or by a retry of the same bytes.
    const forwardedKeys = w.proxy
      .forwarded('PUT')
      .filter((r) => r.status === 200)
      .map((r) => decodeURIComponent(r.path.split('?')[0]!));
    expect(new Set(forwardedKeys).size).toBe(12 * 2);
  }, 120_000);
});
