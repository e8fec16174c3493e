// Storage v2's migration (migration 0015 and the pack job): a database written by the release
// before it (test/store/fixtures/v1-store.db.gz, built by that release: see build-v1-store.mjs)
// converts in place with every row's content unchanged, the same answers from `rbk usage` and
// `rbk sessions show`, and a kill -9 halfway through costs nothing but a restart.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { registerFunctions } from '../../daemon/store/db.js';
import { unpackInteraction } from '../../daemon/store/line-codec.js';
import { makeDataDir, REPO_ROOT, runCli, runHook, sleep, startDaemon, type TempRbk } from '../support/rbk.js';

const FIXTURES = path.join(REPO_ROOT, 'test/store/fixtures');
const V1_OUTPUTS = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'v1-outputs.json'), 'utf8')) as {
  usage: { daily: unknown; session: unknown };
  show: Record<string, unknown>;
};

let t: TempRbk;
beforeEach(() => {
  t = makeDataDir();
  fs.mkdirSync(t.dataDir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(t.db, zlib.gunzipSync(fs.readFileSync(path.join(FIXTURES, 'v1-store.db.gz'))), { mode: 0o600 });
});
afterEach(() => t.cleanup());

const sha = (v: unknown) => createHash('sha256').update(JSON.stringify(v)).digest('hex');

/**
 * A hash of every interaction (every column, with text, tool_use_result and raw as their text),
 * usage row and hook event, keyed by its identity: what "no row lost or changed" means.
 */
function contentHashes(file: string): Map<string, string> {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  registerFunctions(db);
  try {
    const out = new Map<string, string>();
    for (const r of db.prepare('SELECT *, rbk_text(text) AS text FROM interactions ORDER BY id').iterate() as Iterable<Record<string, unknown>>) {
      const plain = unpackInteraction(r as never);
      const { content_key, ...rest } = r;
      const row = { ...rest, tool_use_result: plain.toolUseResult, raw: plain.raw, content_key: (content_key as Buffer | null)?.toString('hex') ?? null };
      out.set(`i:${r.uuid}:${r.block_index}`, sha(row));
    }
    for (const r of db.prepare('SELECT * FROM message_usage').iterate() as Iterable<Record<string, unknown>>) out.set(`u:${r.usage_key}`, sha(r));
    for (const r of db.prepare('SELECT * FROM hook_events').iterate() as Iterable<Record<string, unknown>>) out.set(`h:${r.event_id}`, sha(r));
    return out;
  } finally {
    db.close();
  }
}

/** What is still stored plain that storage v2 packs. */
function plainLeft(file: string): number {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare(
        `SELECT count(*) FROM interactions WHERE (typeof(raw) = 'text' AND length(raw) >= 256)
           OR (typeof(tool_use_result) = 'text' AND length(tool_use_result) >= 256) OR (typeof(text) = 'text' AND length(text) >= 1024)`,
      )
      .pluck()
      .get() as number;
  } finally {
    db.close();
  }
}

async function cliJson(args: string[]): Promise<unknown> {
  const r = await runCli(t, [...args, '--json'], { env: { TZ: 'UTC' } });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

describe('storage v2 migration', () => {
  it('converts a store of the previous release in place: every content hash equal, usage and show identical', async () => {
    const before = contentHashes(t.db);
    expect(before.size).toBeGreaterThan(800);
    expect(plainLeft(t.db)).toBeGreaterThan(100);
    const bytesBefore = fs.statSync(t.db).size;

    const d = await startDaemon(t);
    try {
      // The daemon packs in the background after it starts; `rbk migrate` runs (or waits for) it.
      const run = (await cliJson(['migrate'])) as { status: string; counts: Record<string, number> };
      expect(run.status).toBe('ok');
      // Once done, it says so.
      expect(await cliJson(['migrate'])).toMatchObject({ status: 'ok', counts: { upToDate: 1 } });
      // Hooks are taken as usual on the migrated store.
      const hook = await runHook(
        t,
        JSON.stringify({ session_id: 'f0f0f0f0-0000-4000-8000-000000000001', hook_event_name: 'SessionStart', cwd: '/tmp', source: 'startup' }),
      );
      expect(hook.code).toBe(0);

      expect(await cliJson(['usage', 'daily', '--since', '2020-01-01', '--timezone', 'UTC'])).toEqual(V1_OUTPUTS.usage.daily);
      expect(await cliJson(['usage', 'session', '--since', '2020-01-01', '--timezone', 'UTC'])).toEqual(V1_OUTPUTS.usage.session);
      for (const [id, show] of Object.entries(V1_OUTPUTS.show)) expect(await cliJson(['sessions', 'show', id])).toEqual(show);
      // Search reads the re-built index through the packed text.
      const hits = (await cliJson(['sessions', 'search', 'build'])) as { hits: unknown[] };
      expect(hits.hits.length).toBeGreaterThan(0);
    } finally {
      await d.stop();
    }
    const after = contentHashes(t.db);
    // The one row added since is the hook event sent on the migrated store.
    const added = [...after.keys()].filter((k) => !before.has(k));
    expect(added).toEqual([expect.stringMatching(/^h:/)]);
    for (const k of added) after.delete(k);
    expect(plainLeft(t.db)).toBe(0);
    expect(after).toEqual(before);
    expect(fs.statSync(t.db).size).toBeLessThan(bytesBefore);
  }, 60_000);

  it('a kill -9 halfway through packing loses and changes nothing; the next start finishes it', async () => {
    const before = contentHashes(t.db);
    // A packer in its own process (the daemon's code), small windows with pauses so it can be
    // killed in the middle.
    const script = `
      import { openDatabase } from ${JSON.stringify(path.join(REPO_ROOT, 'dist/daemon/store/db.js'))};
      import { PackStore } from ${JSON.stringify(path.join(REPO_ROOT, 'dist/daemon/store/pack.js'))};
      const db = openDatabase(process.argv[1]);
      const store = new PackStore(db);
      for (;;) { const r = store.packNext(25); process.stdout.write(r.throughId + '\\n'); if (r.done) break; await new Promise((ok) => setTimeout(ok, 30)); }
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, t.db], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c));
    child.stderr.on('data', (c: Buffer) => (err += c));
    const exited = new Promise((r) => child.on('close', r));
    // Wait for a few committed windows, then kill -9.
    for (let i = 0; i < 400 && out.split('\n').length < 6; i++) await sleep(10);
    expect(out.split('\n').length, err).toBeGreaterThanOrEqual(6);
    child.kill('SIGKILL');
    await exited;

    // Half done: some rows packed, some not, the file consistent.
    const probe = new Database(t.db, { readonly: true, fileMustExist: true });
    const progress = probe.prepare('SELECT until_id, through_id FROM storage_pack').get() as { until_id: number; through_id: number };
    expect(probe.pragma('quick_check', { simple: true })).toBe('ok');
    probe.close();
    expect(progress.through_id).toBeGreaterThan(0);
    expect(progress.through_id).toBeLessThan(progress.until_id);
    expect(plainLeft(t.db)).toBeGreaterThan(0);
    expect(contentHashes(t.db)).toEqual(before);

    // The daemon resumes the job when it starts.
    const d = await startDaemon(t);
    try {
      for (let i = 0; i < 200 && plainLeft(t.db) > 0; i++) await sleep(50);
    } finally {
      await d.stop();
    }
    expect(plainLeft(t.db)).toBe(0);
    expect(contentHashes(t.db)).toEqual(before);
  }, 60_000);
});
