// rbk pull over the real sync engine's output (LocalBackend): what machine A uploads, machine B
// pulls, and B's sessions, timelines, usage and search then equal A's. Bad objects are counted
// skips; re-running adds nothing; pulled sessions are read-only on B.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../daemon/log.js';
import { search } from '../../daemon/query/search.js';
import { listSessions } from '../../daemon/query/sessions.js';
import { buildTimeline } from '../../daemon/query/timeline.js';
import { usageReport } from '../../daemon/query/usage.js';
import { LocalBackend } from '../../daemon/sync/backends/local.js';
import { parseKey } from '../../daemon/sync/layout.js';
import { pullCentralCopy, sha256Hex, type PullRequest } from '../../daemon/sync/pull.js';
import { captureScenario, engineFor, makeMachine, type Machine } from './pull-world.js';

let a: Machine;
let b: Machine;
let bucketDir: string;
let bucket: LocalBackend;

beforeEach(() => {
  a = makeMachine();
  b = makeMachine();
  bucketDir = fs.mkdtempSync(path.join(a.dir, 'bucket-'));
  bucket = new LocalBackend(bucketDir);
});
afterEach(async () => {
  await bucket.close();
  a.cleanup();
  b.cleanup();
});

const pull = (m: Machine, req: PullRequest = {}, selfHost = 'desk-b') =>
  pullCentralCopy({ db: m.db, backend: bucket, selfHost, log: silentLogger, maxPartBytes: 4 * 1024 * 1024 }, req);

/** What `rbk sessions --json` compares on: everything but where the row came from. */
function sessionsOf(m: Machine) {
  return (listSessions(m.db, { limit: 100 }) as unknown as Record<string, unknown>[]).map(
    ({ transcript_path: _t, origin: _o, created_at: _c, updated_at: _u, ...rest }: Record<string, unknown>) => {
      const r = rest as Record<string, unknown>;
      delete r.pulled_from;
      delete r.pinned;
      delete r.expired_at;
      // The launch directory's merge bookkeeping (store/session-store.ts); a pulled row is read-only.
      delete r.cwd_at;
      // Each side of the hook/transcript pair is shown as the larger count; B has the larger in both.
      for (const [h, t] of [
        ['prompts', 't_prompts'],
        ['tool_calls', 't_tool_calls'],
        ['tool_failures', 't_tool_failures'],
        ['subagents', 't_subagents'],
      ] as const) {
        r[h] = Math.max(r[h] as number, r[t] as number);
        delete r[t];
      }
      return r;
    },
  );
}

const usageOf = (m: Machine) => usageReport(m.db, { report: 'session', timeZone: 'UTC' });
const count = (m: Machine, table: string) => m.db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;

async function aUploadsAll(): Promise<string[]> {
  const ids = [...(await captureScenario(a, 'failing-build', 'laptop-a')), ...(await captureScenario(a, 'agent-investigation', 'laptop-a'))];
  const s = await engineFor(a, bucket).run({ now: true });
  expect(s.sessionsFailed).toBe(0);
  expect(s.sessionsUploaded).toBe(ids.length);
  return ids;
}

describe('pull', () => {
  it("hydrates B with A's sessions: list, timeline, usage and search equal A's", async () => {
    const ids = await aUploadsAll();
    const r = await pull(b);
    expect(r.skipped).toEqual({});
    expect(r.sessionsAdded).toBe(ids.length);
    expect(r.hosts).toEqual(['laptop-a']);
    expect(r.interactionsAdded).toBe(count(a, 'interactions'));
    expect(r.hookEventsAdded).toBe(count(a, 'hook_events'));

    expect(sessionsOf(b)).toEqual(sessionsOf(a));
    for (const id of ids) {
      expect(buildTimeline(b.db, id)).toEqual(buildTimeline(a.db, id));
      expect(b.db.prepare('SELECT pulled_from, origin FROM sessions WHERE id = ?').get(id)).toEqual({ pulled_from: 'laptop-a', origin: 'pull' });
    }
    // Subagent spans too (rebuilt from the pulled sidechain rows and the Agent call that spawned them).
    expect(ids.some((id) => buildTimeline(b.db, id).some((e) => e.kind === 'subagent' && e.text.startsWith('general-purpose: ')))).toBe(true);
    const ua = usageOf(a);
    const ub = usageOf(b);
    expect(ub.totals).toEqual(ua.totals);
    expect(ub.rows.map((x) => [x.sessionId, x.totals, x.models])).toEqual(ua.rows.map((x) => [x.sessionId, x.totals, x.models]));
    expect(ua.totals.totalTokens).toBeGreaterThan(0);

    const hitsA = search(a.db, { query: 'build', limit: 50 } as never);
    const hitsB = search(b.db, { query: 'build', limit: 50 } as never);
    expect(hitsB.hits.length).toBeGreaterThan(0);
    expect(hitsB.hits.map((h: { sessionId: string }) => h.sessionId).sort()).toEqual(hitsA.hits.map((h: { sessionId: string }) => h.sessionId).sort());
  });

  it("carries web searches: B's usage and session totals count A's searches, and their cost", async () => {
    // A reads a session whose WebSearch result ran 3 searches (Claude Code's shape: searchCount on
    // the tool's result, 0 in the calling response's usage).
    const sid = '5e55c0de-0000-4000-8000-000000000001';
    const line = (o: object) => JSON.stringify({ sessionId: sid, cwd: '/home/dev/shop', version: '2.1.90', isSidechain: false, ...o });
    const file = path.join(a.dir, 'projects', '-home-dev-shop', `${sid}.jsonl`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(
      file,
      `${[
        line({ type: 'user', uuid: 'w1', timestamp: '2026-05-20T09:00:00.000Z', message: { role: 'user', content: 'what is new in node 24?' } }),
        line({
          type: 'assistant',
          uuid: 'w2',
          timestamp: '2026-05-20T09:00:01.000Z',
          requestId: 'req_w2',
          message: {
            id: 'msg_w2',
            model: 'claude-sonnet-4-5-20250929',
            role: 'assistant',
            content: [{ type: 'tool_use', id: 'toolu_ws', name: 'WebSearch', input: { query: 'node 24 release notes' } }],
            usage: { input_tokens: 4, output_tokens: 30, server_tool_use: { web_search_requests: 0 } },
          },
        }),
        line({
          type: 'user',
          uuid: 'w3',
          timestamp: '2026-05-20T09:00:05.000Z',
          message: {
            role: 'user',
            content: [{ type: 'tool_result', tool_use_id: 'toolu_ws', content: 'Web search results for query: "node 24 release notes"' }],
          },
          toolUseResult: { query: 'node 24 release notes', results: [], durationSeconds: 4.2, searchCount: 3 },
        }),
      ].join('\n')}\n`,
    );
    await a.ingester.ingestFile(file, 'import');
    expect(usageOf(a).totals.webSearchRequests).toBe(3);
    await engineFor(a, bucket).run({ now: true });
    await pull(b);
    expect(usageOf(b).totals).toEqual(usageOf(a).totals);
    expect(sessionsOf(b)).toEqual(sessionsOf(a));
    expect(b.db.prepare('SELECT web_search_requests FROM sessions WHERE id = ?').pluck().get(sid)).toBe(3);
  });

  it("keeps the agent: A's Codex session is a Codex session on B", async () => {
    const ids = await captureScenario(a, 'failing-build', 'laptop-a');
    a.db.prepare(`UPDATE sessions SET agent = 'codex' WHERE id = ?`).run(ids[0]);
    const s = await engineFor(a, bucket).run({ now: true });
    expect(s.sessionsFailed).toBe(0);
    await pull(b);
    expect(b.db.prepare('SELECT agent FROM sessions WHERE id = ?').pluck().get(ids[0])).toBe('codex');
  });

  it('is idempotent: a second pull fetches no part and adds nothing', async () => {
    await aUploadsAll();
    await pull(b);
    const before = { s: count(b, 'sessions'), i: count(b, 'interactions'), h: count(b, 'hook_events'), u: count(b, 'message_usage') };
    const again = await pull(b);
    expect(again).toMatchObject({ sessionsAdded: 0, sessionsUpdated: 0, partsFetched: 0, interactionsAdded: 0, hookEventsAdded: 0, usageRows: 0 });
    expect(again.sessionsUnchanged).toBe(before.s);
    expect({ s: count(b, 'sessions'), i: count(b, 'interactions'), h: count(b, 'hook_events'), u: count(b, 'message_usage') }).toEqual(before);
    // Not even the manifests were read: each was listed with the version it had when stored.
    expect(again.bytesFetched).toBe(0);

    // A manifest replaced by the same bytes has a new version: read once, found the same, then
    // skipped again. Without versions (NULL, as rows from before they were kept) it is read too.
    const [manifest] = (await bucket.list('v1/sessions/')).map((o) => o.key);
    const bytes = (await bucket.get(manifest!))!;
    await bucket.put(manifest!, bytes, { sha256: sha256Hex(bytes), contentType: 'application/json' });
    const reread = await pull(b);
    expect(reread).toMatchObject({ sessionsUnchanged: before.s, partsFetched: 0, bytesFetched: bytes.length });
    expect((await pull(b)).bytesFetched).toBe(0);
    b.db.prepare('UPDATE pull_sessions SET manifest_version = NULL').run();
    expect((await pull(b)).bytesFetched).toBeGreaterThan(0);
    expect(await pull(b)).toMatchObject({ bytesFetched: 0, sessionsUnchanged: before.s });
  });

  it('a newer manifest adds only the new rows, fetching only the new parts', async () => {
    await captureScenario(a, 'resume', 'laptop-a');
    const engine = engineFor(a, bucket);
    // First upload with only the first half of the hook events.
    const [sid] = a.db.prepare('SELECT id FROM sessions').pluck().all() as string[];
    const half = a.db.prepare('SELECT seq FROM hook_events WHERE session_id = ? ORDER BY seq').pluck().all(sid) as number[];
    const later = a.db.prepare('SELECT * FROM hook_events WHERE seq > ?').all(half[5]) as Record<string, unknown>[];
    a.db.prepare('DELETE FROM hook_events WHERE seq > ?').run(half[5]);
    await engine.run({ now: true });
    const first = await pull(b);
    expect(first.hookEventsAdded).toBe(6);

    const insert = a.db.prepare(
      `INSERT INTO hook_events (seq, event_id, session_id, event_name, tool_name, tool_use_id, prompt_id, agent_id, hook_started_at, sent_at, received_at, via, payload, payload_bytes, problem, redaction_version)
       VALUES (@seq, @event_id, @session_id, @event_name, @tool_name, @tool_use_id, @prompt_id, @agent_id, @hook_started_at, @sent_at, @received_at, @via, @payload, @payload_bytes, @problem, @redaction_version)`,
    );
    for (const row of later) insert.run(row);
    a.db.prepare('UPDATE sessions SET hook_events = (SELECT count(*) FROM hook_events WHERE session_id = id)').run();
    await engine.run({ now: true });
    const second = await pull(b);
    expect(second.partsFetched).toBe(1);
    expect(second.hookEventsAdded).toBe(later.length);
    expect(second.interactionsAdded).toBe(0);
    expect(second.sessionsUpdated).toBe(1);
    expect(count(b, 'hook_events')).toBe(count(a, 'hook_events'));
    expect(sessionsOf(b)).toEqual(sessionsOf(a));
  });

  it("skips this machine's own host, and sessions captured or expired here", async () => {
    const ids = await aUploadsAll();
    expect((await pull(b, {}, 'laptop-a')).skipped).toEqual({ 'own-host': ids.length });
    // B captured one of them itself (same id), and expired another by retention.
    b.db.prepare(`INSERT INTO sessions (id, host, created_at, updated_at) VALUES (?, 'desk-b', 1, 1)`).run(ids[0]);
    const r = await pull(b);
    expect(r.skipped).toEqual({ 'local-session': 1 });
    expect(b.db.prepare('SELECT pulled_from FROM sessions WHERE id = ?').pluck().get(ids[0])).toBeNull();
    b.db.prepare('UPDATE sessions SET expired_at = 5 WHERE id = ?').run(ids[1]);
    b.db.prepare('UPDATE pull_sessions SET manifest_sha256 = NULL').run();
    expect((await pull(b)).skipped).toEqual({ 'local-session': 1, 'expired-locally': 1 });
  });

  it('--host and --since prune by partition', async () => {
    await aUploadsAll();
    expect((await pull(b, { host: 'someone-else' })).manifestsTotal).toBe(0);
    // The fixtures' sessions started long before today.
    expect((await pull(b, { sinceMs: Date.now() - 1000 })).manifestsTotal).toBe(0);
    await expect(pull(b, { sinceMs: Date.now() + 7 * 86_400_000 })).rejects.toThrow(/future/);
    const r = await pull(b, { host: 'laptop-a', sinceMs: Date.UTC(2020, 0, 1) });
    expect(r.manifestsTotal).toBe(2);
    await expect(pull(b, { host: '../etc' })).rejects.toThrow(/--host/);
  });

  it('bad objects are counted skips with a reason, and a later good copy is pulled', async () => {
    const ids = await aUploadsAll();
    const keys = (await bucket.list('v1/')).map((o) => o.key);
    const manifests = keys.filter((k) => k.endsWith('session.json'));
    const partOf = (sid: string, ds: string) => keys.find((k) => k.startsWith(`v1/${ds}/`) && parseKey(k)?.sessionId === sid)!;
    const file = (k: string) => path.join(bucketDir, k);
    const [s0, s1] = ids as [string, string];

    // 1. A part whose bytes do not match the manifest's sha256.
    const p0 = partOf(s0, 'interactions');
    const good0 = fs.readFileSync(file(p0));
    fs.writeFileSync(file(p0), Buffer.concat([good0, Buffer.from('x')]));
    // 2. A part that is not gzip, with the manifest's checksum updated to match (a broken writer).
    const p1 = partOf(s1, 'hook_events');
    const good1 = fs.readFileSync(file(p1));
    const notGzip = Buffer.from('{"event_id":"x"}\n');
    fs.writeFileSync(file(p1), notGzip);
    const m1 = manifests.find((k) => parseKey(k)?.sessionId === s1)!;
    const man1 = JSON.parse(fs.readFileSync(file(m1), 'utf8'));
    const goodMan1 = fs.readFileSync(file(m1));
    man1.parts.hook_events[0].sha256 = sha256Hex(notGzip);
    fs.writeFileSync(file(m1), JSON.stringify(man1));
    // 3. Hostile objects: a session id that is not a safe id, a manifest pointing at another session's part,
    //    a manifest that is not JSON, a gzip bomb.
    const hostileDir = path.join(bucketDir, 'v1/sessions/date=2026-05-19/host=evil/session=a.b');
    fs.mkdirSync(hostileDir, { recursive: true });
    fs.writeFileSync(path.join(hostileDir, 'session.json'), '{}');
    const thief = 'v1/sessions/date=2026-05-19/host=evil/session=thief/session.json';
    await bucket.put(thief, Buffer.from(JSON.stringify({ ...man1, sessionId: 'thief', host: 'evil', date: '2026-05-19' })), {
      sha256: sha256Hex(Buffer.from(JSON.stringify({ ...man1, sessionId: 'thief', host: 'evil', date: '2026-05-19' }))),
      contentType: 'application/json',
    });
    const junk = Buffer.from('not json');
    await bucket.put('v1/sessions/date=2026-05-19/host=evil/session=junk/session.json', junk, { sha256: sha256Hex(junk), contentType: 'application/json' });
    const bomb = zlib.gzipSync(Buffer.alloc(8 * 1024 * 1024, 0x20));
    const bombKey = 'v1/interactions/date=2026-05-19/host=evil/session=bomb/part-000001.ndjson.gz';
    await bucket.put(bombKey, bomb, { sha256: sha256Hex(bomb), contentType: 'application/gzip' });
    const bombManifest = Buffer.from(
      JSON.stringify({
        layout: 'v1',
        sessionId: 'bomb',
        host: 'evil',
        date: '2026-05-19',
        updatedAt: 'x',
        session: {},
        totals: {},
        parts: { interactions: [{ key: bombKey, first: 1, last: 1, rows: 1, bytes: bomb.length, sha256: sha256Hex(bomb) }], hook_events: [] },
      }),
    );
    await bucket.put('v1/sessions/date=2026-05-19/host=evil/session=bomb/session.json', bombManifest, {
      sha256: sha256Hex(bombManifest),
      contentType: 'application/json',
    });

    const r = await pull(b);
    expect(r.skipped).toEqual({
      'checksum-mismatch': 1,
      'corrupt-gzip': 1,
      'not-a-layout-key': 1,
      'manifest-invalid': 2,
      'part-too-large': 1,
    });
    expect(r.problems.map((p) => p.reason).sort()).toEqual([
      'checksum-mismatch',
      'corrupt-gzip',
      'manifest-invalid',
      'manifest-invalid',
      'not-a-layout-key',
      'part-too-large',
    ]);
    // The junk manifest is not JSON; the thief's points at s1's parts, outside its own prefix.
    expect(
      r.problems
        .filter((p) => p.reason === 'manifest-invalid')
        .map((p) => p.key)
        .sort(),
    ).toEqual(['v1/sessions/date=2026-05-19/host=evil/session=junk/session.json', thief]);
    expect(b.db.prepare("SELECT count(*) FROM sessions WHERE id IN ('thief', 'a.b', 'junk')").pluck().get()).toBe(0);
    // The parts that were fine are in; the bad ones are retried on the next pull once repaired.
    fs.writeFileSync(file(p0), good0);
    fs.writeFileSync(file(p1), good1);
    fs.writeFileSync(file(m1), goodMan1);
    fs.rmSync(path.join(bucketDir, 'v1/sessions/date=2026-05-19'), { recursive: true, force: true });
    const again = await pull(b);
    expect(again.skipped).toEqual({});
    expect(again.manifestsTotal).toBe(2);
    expect(count(b, 'interactions')).toBe(count(a, 'interactions'));
    expect(count(b, 'hook_events')).toBe(count(a, 'hook_events'));
    expect(sessionsOf(b)).toEqual(sessionsOf(a));
  });

  it("pulled sessions are read-only: B's hooks and transcripts do not change them", async () => {
    const ids = await aUploadsAll();
    await pull(b);
    const before = b.db.prepare('SELECT * FROM sessions ORDER BY id').all();
    const rowsBefore = count(b, 'interactions');
    // The same Claude Code session's hooks and transcript arrive on B too.
    await captureScenario(b, 'failing-build', 'laptop-a');
    expect(b.db.prepare('SELECT * FROM sessions ORDER BY id').all()).toEqual(before);
    expect(count(b, 'interactions')).toBe(rowsBefore);
    const strays = b.db.prepare(`SELECT session_id, problem FROM hook_events WHERE problem LIKE '%read-only here%'`).all() as {
      session_id: string | null;
      problem: string;
    }[];
    expect(strays.length).toBeGreaterThan(0);
    expect(strays.every((s) => s.session_id === null && s.problem.includes('pulled from host laptop-a'))).toBe(true);
    // And B's sync never uploads them.
    const other = new LocalBackend(fs.mkdtempSync(path.join(b.dir, 'bucket-b-')));
    const s = await engineFor(b, other).run({ now: true, force: true });
    expect(s.parts).toBe(0);
    expect((await other.list('v1/')).length).toBe(0);
    expect(ids.length).toBe(2);
    await other.close();
  });
});
