// Backup and restore with the real daemon, hook and CLI, while an import and a stream of hook
// events are running. The backup must be the database at one point in time: for the append-only
// tables, exactly the rows up to some id, each equal to the source's, with no hole and no torn row.
// The restore must give that database back, keep the one it replaced, and, after a sweep, have
// every interaction the transcripts on disk hold again.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCorpus } from '../../bench/corpus.mjs';
import { hookPayload, makeDataDir, pool, queryOne, runCli, runHook, startDaemon, type DaemonProcess, type TempRbk } from '../support/rbk.js';

/** Rows of `table` in `a` (up to `maxId`) not in `b`, and the reverse, over every column. */
function difference(a: string, b: string, table: string, idColumn: string, maxId: number): number {
  const d = new Database(a, { readonly: true });
  try {
    d.exec(`ATTACH '${b.replaceAll("'", "''")}' AS b`);
    const one = d.prepare(`SELECT count(*) FROM (SELECT * FROM main.${table} WHERE ${idColumn} <= ? EXCEPT SELECT * FROM b.${table} WHERE ${idColumn} <= ?)`);
    const other = d.prepare(`SELECT count(*) FROM (SELECT * FROM b.${table} WHERE ${idColumn} <= ? EXCEPT SELECT * FROM main.${table} WHERE ${idColumn} <= ?)`);
    return (one.pluck().get(maxId, maxId) as number) + (other.pluck().get(maxId, maxId) as number);
  } finally {
    d.close();
  }
}

function scalar(file: string, sql: string): number {
  const d = new Database(file, { readonly: true });
  try {
    return d.prepare(sql).pluck().get() as number;
  } finally {
    d.close();
  }
}

/** A hash of every core table's rows, in key order: equal hashes, equal content. */
function contentHash(file: string): string {
  const d = new Database(file, { readonly: true });
  try {
    const parts: string[] = [];
    for (const [t, order] of [
      ['sessions', 'id'],
      ['hook_events', 'seq'],
      ['interactions', 'id'],
      ['message_usage', 'usage_key'],
      ['subagents', 'session_id, agent_id'],
    ] as const)
      parts.push(JSON.stringify(d.prepare(`SELECT * FROM ${t} ORDER BY ${order}`).raw().all()));
    return parts.join('\n');
  } finally {
    d.close();
  }
}

describe('backup and restore while hooks and an import run', () => {
  let t: TempRbk;
  let d: DaemonProcess;
  let corpus: string;
  const backups = () => path.join(t.root, 'backups');

  beforeAll(async () => {
    t = makeDataDir();
    corpus = path.join(t.root, 'projects');
    generateCorpus(corpus, { seed: 99, totalBytes: 12 * 1024 * 1024, bigFileBytes: 0, taskChance: 0.1 });
    // No sweep at start: the import below is what reads the corpus, while the backup runs.
    t.writeConfig('ingest:\n  sweepAtStart: false\nmetrics:\n  enabled: false\n');
    d = await startDaemon(t);
  }, 60_000);

  afterAll(async () => {
    await runCli(t, ['stop']);
    await d?.stop();
    t?.cleanup();
  });

  it('is a point-in-time copy, restores to it, and the sweep brings back what the transcripts hold', async () => {
    const importing = runCli(t, ['import', corpus, '--json'], { timeoutMs: 120_000 });
    const ids = Array.from({ length: 150 }, (_, i) => `b4c0ffee-0000-4000-8000-${String(i).padStart(12, '0')}`);
    const hooks = pool(ids, 6, (id) => runHook(t, hookPayload('UserPromptSubmit', id, { prompt: `prompt ${id}` })));
    // Back up once both are under way.
    for (let i = 0; i < 200 && !(queryOne<{ n: number }>(t, 'SELECT count(*) AS n FROM hook_events')!.n > 5); i++) await new Promise((r) => setTimeout(r, 25));
    const b = await runCli(t, ['backup', '--to', backups(), '--json']);
    expect(b.code, b.stderr).toBe(0);
    const result = JSON.parse(b.stdout) as { location: string; rows: Record<string, number>; sha256: string };
    expect((await importing).code).toBe(0);
    for (const h of await hooks) expect(h.code).toBe(0);
    await d.stop();
    const source = path.join(t.root, 'source.db');
    fs.copyFileSync(t.db, source);

    // The backup file is complete, private, and holds the rows it says.
    expect(fs.statSync(result.location).mode & 0o777).toBe(0o600);
    const copy = path.join(t.root, 'backup.db');
    fs.writeFileSync(copy, zlib.gunzipSync(fs.readFileSync(result.location)));
    for (const [table, n] of Object.entries(result.rows)) expect(scalar(copy, `SELECT count(*) FROM ${table}`), table).toBe(n);
    // Taken once hooks were being stored (how many had landed by then varies from run to run).
    const backedHooks = scalar(copy, 'SELECT count(*) FROM hook_events');
    expect(backedHooks).toBeGreaterThan(0);
    expect(scalar(source, 'SELECT count(*) FROM hook_events')).toBe(150);

    // A point in time: rows up to the backup's last id are exactly the source's, with no hole.
    const maxSeq = scalar(copy, 'SELECT COALESCE(MAX(seq), 0) FROM hook_events');
    const maxId = scalar(copy, 'SELECT COALESCE(MAX(id), 0) FROM interactions');
    expect(backedHooks).toBe(scalar(source, `SELECT count(*) FROM hook_events WHERE seq <= ${maxSeq}`));
    expect(scalar(copy, 'SELECT count(*) FROM interactions')).toBe(scalar(source, `SELECT count(*) FROM interactions WHERE id <= ${maxId}`));
    expect(difference(copy, source, 'hook_events', 'seq', maxSeq)).toBe(0);
    expect(difference(copy, source, 'interactions', 'id', maxId)).toBe(0);

    // Restore: rbkd is started on the backup; the database it replaced is kept, unchanged.
    const r = await runCli(t, ['restore', result.location, '--yes', '--json'], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    const restored = JSON.parse(r.stdout) as { previous: string; rows: Record<string, number> };
    expect(contentHash(restored.previous)).toBe(contentHash(source));
    await runCli(t, ['stop']);
    expect(contentHash(t.db)).toBe(contentHash(copy));

    // The transcripts are still on disk: a sweep over them brings back every interaction.
    t.writeConfig(`ingest:\n  sweepAtStart: false\n  transcriptRoots: [${JSON.stringify(corpus)}]\nmetrics:\n  enabled: false\n`);
    d = await startDaemon(t);
    const sweep = await runCli(t, ['jobs', 'run', 'sweep', '--json'], { timeoutMs: 120_000 });
    expect(sweep.code, sweep.stderr).toBe(0);
    await d.stop();
    expect(scalar(t.db, 'SELECT count(*) FROM interactions')).toBe(scalar(source, 'SELECT count(*) FROM interactions'));
    expect(scalar(t.db, 'SELECT count(*) FROM message_usage')).toBe(scalar(source, 'SELECT count(*) FROM message_usage'));
    // Hook events after the backup exist only in the database it replaced: the documented recovery point.
    expect(scalar(t.db, 'SELECT count(*) FROM hook_events')).toBe(backedHooks);
  }, 240_000);

  it('keeps backup.keep generations of this host, deleting the oldest', async () => {
    t.writeConfig('ingest:\n  sweepAtStart: false\nmetrics:\n  enabled: false\nbackup:\n  keep: 2\n');
    d = await startDaemon(t);
    const names: string[] = [];
    for (let i = 0; i < 3; i++) {
      const b = await runCli(t, ['backup', '--to', path.join(t.root, 'gens'), '--json']);
      expect(b.code, b.stderr).toBe(0);
      names.push(path.basename((JSON.parse(b.stdout) as { location: string }).location));
      await new Promise((r) => setTimeout(r, 1100)); // names carry the second
    }
    expect(fs.readdirSync(path.join(t.root, 'gens')).sort()).toEqual(names.slice(1));
    await d.stop();
  }, 60_000);
});
