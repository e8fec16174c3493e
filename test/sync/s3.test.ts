// The central copy over a real S3 wire protocol: s3rver on loopback, the real daemon (credentials
// from the AWS default chain: env vars), the real CLI. Proves the object set is exactly what the
// layout says, that a second sync adds nothing, that new rows make one new part, that the
// manifests' checksums match the objects, and that DuckDB over the layout (hive_partitioning)
// gives the same per-session token totals as `rbk usage session --json`.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { datePartition, hostPartition } from '../../daemon/sync/layout.js';
import { hookPayload, makeDataDir, queryAll, queryOne, runCli, runHook, startDaemon, type DaemonProcess, type TempRbk } from '../support/rbk.js';
import {
  MANUAL_ONLY,
  ndjsonRecords,
  readAllObjects,
  S3_ENV,
  s3ConfigYaml,
  sessionIdFor,
  startS3rver,
  writeObjects,
  writeSyntheticTranscript,
  type S3Server,
} from './support.js';

const PREFIX = 'team/rbk';
const HOST = hostPartition(os.hostname());
const START = Date.parse('2026-03-02T10:00:00Z');
const DAY = datePartition(START);

let s3: S3Server;
let t: TempRbk;
let d: DaemonProcess;
const transcripts = path.join(os.tmpdir(), `rbk-sync-s3-${process.pid}`);
const sessions = [sessionIdFor(1), sessionIdFor(2), sessionIdFor(3)];

async function cliJson<T>(args: string[]): Promise<T> {
  const r = await runCli(t, [...args, '--json'], { env: S3_ENV, timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`rbk ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

interface SyncJson {
  backend: string;
  location: string;
  sessions: { checked: number; uploaded: number; unchanged: number; failed: number; deferred: number };
  parts: number;
  manifests: number;
  puts: number;
  bytes: number;
  rows: { interactions: number; hookEvents: number };
  backlogSessions: number;
  errors: { sessionId: string; error: string }[];
}

const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
const key = (dataset: string, session: string, file: string) => `v1/${dataset}/date=${DAY}/host=${HOST}/session=${session}/${file}`;

beforeAll(async () => {
  s3 = await startS3rver({ bucket: 'rbk-central' });
  t = makeDataDir({ config: s3ConfigYaml(s3, { prefix: PREFIX, extra: MANUAL_ONLY }) });
  fs.mkdirSync(transcripts, { recursive: true });
  for (const [i, id] of sessions.entries()) writeSyntheticTranscript(transcripts, id, 3 + i, { startMs: START });
  d = await startDaemon(t, { env: S3_ENV });
  const imported = await runCli(t, ['import', transcripts, '--json'], { timeoutMs: 60_000 });
  expect(imported.code, imported.stderr).toBe(0);
  // Hook events for the first session (its start, and so its partition day, is the transcript's).
  for (const [i, event] of ['SessionStart', 'UserPromptSubmit', 'Stop'].entries()) {
    const r = await runHook(t, hookPayload(event, sessions[0]!, { prompt: `hello ${i}` }));
    expect(r.code).toBe(0);
  }
  await expectRows(sessions[0]!, 'hook_events', 3);
});

afterAll(async () => {
  await d?.stop();
  t?.cleanup();
  await s3?.dispose();
  fs.rmSync(transcripts, { recursive: true, force: true });
});

async function expectRows(session: string, table: 'hook_events' | 'interactions', n: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const got = queryOne<{ n: number }>(t, `SELECT count(*) AS n FROM ${table} WHERE session_id = ?`, session)!.n;
    if (got >= n) return;
    if (Date.now() > deadline) throw new Error(`${table} of ${session}: ${got} rows, expected ${n}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function objects(): Promise<Map<string, Buffer>> {
  return readAllObjects(s3.endpoint, s3.bucket, `${PREFIX}/`);
}

describe('sync to S3 (s3rver)', () => {
  let first: Map<string, Buffer>;

  it('uploads exactly the expected objects: one part per dataset with rows, one manifest per session', async () => {
    const summary = await cliJson<SyncJson>(['sync']);
    expect(summary).toMatchObject({ backend: 's3', location: `s3://rbk-central/${PREFIX}/`, errors: [], backlogSessions: 0 });
    expect(summary.sessions).toMatchObject({ checked: 3, uploaded: 3, failed: 0 });
    first = await objects();
    const expected = [
      ...sessions.map((s) => key('interactions', s, 'part-000001.ndjson.gz')),
      key('hook_events', sessions[0]!, 'part-000001.ndjson.gz'),
      ...sessions.map((s) => key('sessions', s, 'session.json')),
    ].sort();
    expect([...first.keys()].sort()).toEqual(expected);
    expect(summary.puts).toBe(expected.length);
    expect(summary.parts).toBe(4);
    expect(summary.manifests).toBe(3);

    // Every row of the database is in exactly one part, and nothing else is.
    for (const s of sessions) {
      const db = queryAll<{ uuid: string; block_index: number }>(t, 'SELECT uuid, block_index FROM interactions WHERE session_id = ? ORDER BY id', s);
      const recs = ndjsonRecords(first.get(key('interactions', s, 'part-000001.ndjson.gz'))!);
      expect(recs.map((r) => `${r.uuid}/${r.block_index}`)).toEqual(db.map((r) => `${r.uuid}/${r.block_index}`));
      expect(recs.every((r) => r.session_id === s)).toBe(true);
    }
    const hooks = ndjsonRecords(first.get(key('hook_events', sessions[0]!, 'part-000001.ndjson.gz'))!);
    expect(hooks.map((r) => r.event_name)).toEqual(['SessionStart', 'UserPromptSubmit', 'Stop']);

    // Manifests list each part with the sha256 and size of the object actually stored.
    for (const s of sessions) {
      const m = JSON.parse(first.get(key('sessions', s, 'session.json'))!.toString('utf8'));
      expect(m).toMatchObject({ layout: 'v1', sessionId: s, host: HOST, date: DAY });
      for (const part of [...m.parts.interactions, ...m.parts.hook_events]) {
        const body = first.get(part.key)!;
        expect(body, part.key).toBeDefined();
        expect(part.sha256).toBe(sha256(body));
        expect(part.bytes).toBe(body.length);
        expect(part.rows).toBe(ndjsonRecords(body).length);
      }
    }
  });

  it('re-running adds nothing and changes no object', async () => {
    const summary = await cliJson<SyncJson>(['sync']);
    expect(summary.puts).toBe(0);
    expect(summary.sessions.checked).toBe(0);
    const again = await objects();
    expect([...again.keys()].sort()).toEqual([...first.keys()].sort());
    for (const [k, v] of again) expect(v.equals(first.get(k)!), k).toBe(true);
    // --now --force looks at every session again: still no new part, and the parts are untouched.
    const forced = await cliJson<SyncJson>(['sync', '--now', '--force']);
    expect(forced.parts).toBe(0);
    expect(forced.sessions.failed).toBe(0);
    const afterForce = await objects();
    expect([...afterForce.keys()].sort()).toEqual([...first.keys()].sort());
    for (const [k, v] of afterForce) if (k.endsWith('.gz')) expect(v.equals(first.get(k)!), k).toBe(true);
  });

  it('new rows make one new part with only the new rows, and the manifest lists both', async () => {
    const s = sessions[1]!;
    const snapshot = await objects();
    const before = queryAll<{ id: number }>(t, 'SELECT id FROM interactions WHERE session_id = ?', s).length;
    writeSyntheticTranscript(transcripts, s, 7, { startMs: START }); // same first 4 turns, 3 more
    const imported = await runCli(t, ['import', transcripts, '--json'], { timeoutMs: 60_000 });
    expect(imported.code, imported.stderr).toBe(0);
    const after = queryAll<{ uuid: string; block_index: number }>(t, 'SELECT uuid, block_index FROM interactions WHERE session_id = ? ORDER BY id', s);
    expect(after.length).toBe(before + 6);

    const status = await cliJson<{ backlog: { sessions: number; rows: number; bytes: number } }>(['sync', 'status']);
    expect(status.backlog).toMatchObject({ sessions: 1, rows: 6 });
    expect(status.backlog.bytes).toBeGreaterThan(0);

    const summary = await cliJson<SyncJson>(['sync']);
    expect(summary).toMatchObject({ parts: 1, manifests: 1, puts: 2, rows: { interactions: 6, hookEvents: 0 } });
    const now = await objects();
    const newPart = key('interactions', s, 'part-000002.ndjson.gz');
    expect([...now.keys()].sort()).toEqual([...snapshot.keys(), newPart].sort());
    const p1 = ndjsonRecords(now.get(key('interactions', s, 'part-000001.ndjson.gz'))!);
    const p2 = ndjsonRecords(now.get(newPart)!);
    expect([...p1, ...p2].map((r) => `${r.uuid}/${r.block_index}`)).toEqual(after.map((r) => `${r.uuid}/${r.block_index}`));
    const m = JSON.parse(now.get(key('sessions', s, 'session.json'))!.toString('utf8'));
    expect(m.parts.interactions.map((p: { key: string; first: number }) => [p.key, p.first])).toEqual([
      [key('interactions', s, 'part-000001.ndjson.gz'), 1],
      [newPart, 2],
    ]);
    expect(m.totals.interactions).toBe(after.length);
    // Objects of the other sessions were not touched.
    for (const other of [sessions[0]!, sessions[2]!]) {
      for (const [k, v] of now) if (k.includes(`session=${other}/`)) expect(v.equals(snapshot.get(k)!), k).toBe(true);
    }
  });

  it('rbk sync status reports the copy: no backlog, last success, where it goes', async () => {
    const status = await cliJson<Record<string, any>>(['sync', 'status']);
    expect(status).toMatchObject({
      backend: 's3',
      location: `s3://rbk-central/${PREFIX}/`,
      mirrorLocal: false,
      backendError: null,
      backlog: { sessions: 0, rows: 0, bytes: 0, inBackoff: 0 },
      lastError: null,
      lagMs: 0,
      synced: { sessions: 3, parts: 5 },
    });
    expect(Date.parse(status.lastSuccessAt)).toBeGreaterThan(Date.now() - 120_000);
    const text = await runCli(t, ['sync', 'status'], { env: S3_ENV });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/backend\s+s3\s+s3:\/\/rbk-central\/team\/rbk\//);
    expect(text.stdout).toMatch(/backlog\s+0 sessions/);
  });

  it('DuckDB over the synced layout (hive_partitioning) gives the token totals of rbk usage session', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rbk-duck-'));
    try {
      writeObjects(await objects(), dir);
      const usage = await cliJson<{
        sessions: {
          sessionId: string;
          inputTokens: number;
          outputTokens: number;
          cacheCreationTokens: number;
          cacheReadTokens: number;
          totalTokens: number;
          messages: number;
        }[];
      }>(['usage', 'session']);
      expect(usage.sessions.map((s) => s.sessionId).sort()).toEqual([...sessions].sort());

      const duck = await DuckDBInstance.create(':memory:');
      const conn = await duck.connect();
      const totals = (
        await conn.runAndReadAll(`
          SELECT session, host, date::VARCHAR AS date, totals.input_tokens AS input, totals.output_tokens AS output,
                 totals.cache_creation_tokens AS cache_creation, totals.cache_read_tokens AS cache_read, totals.messages AS messages
          FROM read_json_auto('${dir}/v1/sessions/*/*/*/session.json', hive_partitioning = true)
          ORDER BY session`)
      ).getRowObjectsJS() as Record<string, unknown>[];
      expect(totals.map((r) => [r.session, r.host, String(r.date)])).toEqual([...sessions].sort().map((s) => [s, HOST, DAY]));
      for (const row of totals) {
        const u = usage.sessions.find((s) => s.sessionId === row.session)!;
        expect([row.input, row.output, row.cache_creation, row.cache_read, row.messages].map(Number), String(row.session)).toEqual([
          u.inputTokens,
          u.outputTokens,
          u.cacheCreationTokens,
          u.cacheReadTokens,
          u.messages,
        ]);
      }

      // The interaction parts read as one table, partition columns included; each block once.
      const perSession = (
        await conn.runAndReadAll(`
          SELECT session, count(*) AS n, count(DISTINCT uuid || '/' || block_index) AS distinct_blocks,
                 count(DISTINCT message_id) FILTER (WHERE kind = 'assistant_text') AS answers
          FROM read_json_auto('${dir}/v1/interactions/*/*/*/*.ndjson.gz', hive_partitioning = true)
          WHERE date = '${DAY}' AND host = '${HOST}'
          GROUP BY session ORDER BY session`)
      ).getRowObjectsJS() as { session: string; n: bigint; distinct_blocks: bigint; answers: bigint }[];
      for (const row of perSession) {
        const n = queryOne<{ n: number }>(t, 'SELECT count(*) AS n FROM interactions WHERE session_id = ?', row.session)!.n;
        expect(Number(row.n)).toBe(n);
        expect(Number(row.distinct_blocks)).toBe(n);
        expect(Number(row.answers)).toBe(usage.sessions.find((s) => s.sessionId === row.session)!.messages);
      }
      expect(perSession.length).toBe(3);
      conn.closeSync();
      duck.closeSync();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
