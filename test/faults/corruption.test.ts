// A damaged database, end to end with the real daemon, hook and CLI: pages of a real store are
// overwritten at seeded random places; the daemon finds the damage at start, writes nothing more to
// the file, and the hooks spool; `rbk recover` keeps the damaged file, saves every row the pages
// still hold (counted against the undamaged original, and never a row the original did not have),
// re-reads the transcripts and drains the spool, so that in the end nothing is missing.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCorpus, prng } from '../../bench/corpus.mjs';
import { hookPayload, makeDataDir, queryOne, runCli, runHook, spoolFiles, startDaemon, waitFor, type TempRbk } from '../support/rbk.js';

const KEPT = ['sessions', 'transcripts', 'interactions', 'message_usage', 'subagents', 'hook_events'] as const;
/**
 * Columns that differ on purpose: transcripts are re-read from the start, and a row the re-read
 * brings back gets a new row id and ingest time (its content is what the original had).
 */
const RESET = new Set(['byte_offset', 'inode', 'lines', 'skipped', 'last_error', 'last_read_at', 'id', 'ingested_at']);

function counts(db: string): Record<string, number> {
  const d = new Database(db, { readonly: true });
  try {
    return Object.fromEntries(KEPT.map((t) => [t, d.prepare(`SELECT count(*) FROM ${t}`).pluck().get() as number]));
  } finally {
    d.close();
  }
}

/** Rows of `table` in `db` that `original` does not have, column for column: rows recovery made up. */
function invented(db: string, original: string, table: string): number {
  const d = new Database(db, { readonly: true });
  try {
    d.exec(`ATTACH '${original.replaceAll("'", "''")}' AS o`);
    const cols = (d.prepare('SELECT name FROM pragma_table_info(?)').pluck().all(table) as string[]).filter((c) => !RESET.has(c));
    const list = cols.map((c) => `"${c}"`).join(', ');
    return d.prepare(`SELECT count(*) FROM (SELECT ${list} FROM main.${table} EXCEPT SELECT ${list} FROM o.${table})`).pluck().get() as number;
  } finally {
    d.close();
  }
}

/** Overwrites `n` pages that hold rows (b-tree and overflow pages of the kept tables), chosen by `seed`, with seeded noise. */
function damage(db: string, seed: number, n: number): number[] {
  const d = new Database(db, { readonly: true });
  const candidates = d
    .prepare(`SELECT pageno FROM dbstat WHERE name IN (${KEPT.map((t) => `'${t}'`).join(', ')}) ORDER BY pageno`)
    .pluck()
    .all() as number[];
  const pageSize = d.pragma('page_size', { simple: true }) as number;
  d.close();
  const rand = prng(seed);
  const pages = new Set<number>();
  while (pages.size < n) pages.add(candidates[Math.floor(rand() * candidates.length)]!);
  const fd = fs.openSync(db, 'r+');
  for (const p of pages) {
    const noise = Buffer.alloc(pageSize);
    for (let i = 0; i < pageSize; i++) noise[i] = Math.floor(rand() * 256);
    fs.writeSync(fd, noise, 0, pageSize, (p - 1) * pageSize);
  }
  fs.closeSync(fd);
  return [...pages].sort((a, b) => a - b);
}

describe('a damaged database', () => {
  let t: TempRbk;
  let original: string;
  let before: Record<string, number>;
  const shares: string[] = [];

  beforeAll(async () => {
    t = makeDataDir();
    const corpus = path.join(t.root, 'projects');
    generateCorpus(corpus, { seed: 2323, totalBytes: 6 * 1024 * 1024, bigFileBytes: 0, taskChance: 0.1 });
    t.writeConfig(`ingest:\n  transcriptRoots: [${JSON.stringify(corpus)}]\nmetrics:\n  enabled: false\n`);
    const d = await startDaemon(t);
    await waitFor('the start sweep', () => queryOne(t, `SELECT 1 AS ok FROM job_runs WHERE job = 'sweep' AND status = 'ok'`), 60_000);
    for (let i = 0; i < 20; i++)
      expect((await runHook(t, hookPayload('UserPromptSubmit', `c0ffee00-0000-4000-8000-${String(i).padStart(12, '0')}`))).code).toBe(0);
    await d.stop();
    original = path.join(t.root, 'original.db');
    fs.copyFileSync(t.db, original);
    before = counts(original);
    expect(before.interactions).toBeGreaterThan(500);
    expect(before.hook_events).toBe(20);
  }, 120_000);

  afterAll(async () => {
    await runCli(t, ['stop']);
    if (shares.length > 0) console.log(`rows saved from the damaged file, per seed:\n${shares.join('\n')}`);
    t?.cleanup();
  });

  it('damage that appears while rbkd runs is found by the integrity job, and writes stop from then on', async () => {
    for (const f of fs.readdirSync(t.dataDir)) if (f.startsWith('rbk.db')) fs.rmSync(path.join(t.dataDir, f), { recursive: true, force: true });
    fs.copyFileSync(original, t.db);
    const d = await startDaemon(t);
    expect((await runCli(t, ['status'])).code).toBe(0);
    damage(t.db, 5, 3);
    const run = await runCli(t, ['jobs', 'run', 'integrity', '--json']);
    expect(run.code).toBe(1);
    expect((JSON.parse(run.stdout) as { status: string; error: string }).error).toContain('rbk recover');
    const s = JSON.parse((await runCli(t, ['status', '--json'])).stdout) as { store: { condition: string; damage: { foundBy: string } } };
    expect(s.store).toMatchObject({ condition: 'damaged', damage: { foundBy: 'scheduled-check' } });
    expect((await runHook(t, hookPayload('UserPromptSubmit', 'e0e0e0e0-0000-4000-8000-000000000001'))).code).toBe(0);
    expect(spoolFiles(t)).toHaveLength(1);
    // No job may write to the file now, the integrity job included.
    const refused = await runCli(t, ['jobs', 'run', 'sweep']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('rbk recover');
    // Nor any other path that writes: SQLite itself refuses (query_only) and the message says what to do.
    const probe = new Database(original, { readonly: true });
    const someSession = probe.prepare('SELECT id FROM sessions WHERE interactions > 0 LIMIT 1').pluck().get() as string;
    probe.close();
    const pin = await runCli(t, ['sessions', 'pin', someSession]);
    expect(pin.code, pin.stdout).not.toBe(0);
    expect(pin.stderr).toContain('rbk recover');
    await d.stop();
    for (const f of spoolFiles(t)) fs.rmSync(path.join(t.spoolDir, f));
  }, 60_000);

  for (const seed of [11, 23, 47]) {
    it(`seed ${seed}: detected at start, hooks spool, recover saves what the pages hold and the transcripts bring back the rest`, async () => {
      for (const f of fs.readdirSync(t.dataDir)) if (f.startsWith('rbk.db')) fs.rmSync(path.join(t.dataDir, f), { recursive: true, force: true });
      fs.rmSync(path.join(t.dataDir, 'integrity.json'), { force: true });
      fs.copyFileSync(original, t.db);
      const pages = damage(t.db, seed, 3);

      const d = await startDaemon(t);
      const sj = await runCli(t, ['status', '--json']);
      expect(sj.code, 'rbk status exits 1 on a damaged store').toBe(1);
      const s = JSON.parse(sj.stdout) as { store: { condition: string; damage: { foundBy: string } | null } };
      expect(s.store.condition, `pages ${pages.join(', ')}`).toBe('damaged');
      expect(s.store.damage?.foundBy).toBe('start-check');
      const st = await runCli(t, ['status']);
      expect(st.code).toBe(1);
      expect(st.stdout).toContain('Run: rbk recover');

      // Nothing more goes into the damaged file: the events wait in the spool.
      const ids = Array.from({ length: 5 }, (_, i) => `d00d0000-0000-4000-8000-${String(seed * 100 + i).padStart(12, '0')}`);
      for (const id of ids) expect((await runHook(t, hookPayload('UserPromptSubmit', id))).code).toBe(0);
      expect(spoolFiles(t)).toHaveLength(5);
      expect(d.log()).toContain('the database is damaged');

      const r = await runCli(t, ['recover', '--yes', '--json'], { timeoutMs: 120_000 });
      expect(r.code, r.stderr).toBe(0);
      await d.exited; // recover stopped it, and started another in the background
      const out = JSON.parse(r.stdout) as { recovered: boolean; damagedCopy: string; rebuild: { tables: { table: string; rows: number }[]; check: string } };
      expect(out.recovered).toBe(true);
      expect(out.rebuild.check).toBe('ok');
      expect(fs.existsSync(out.damagedCopy)).toBe(true);

      // What the damaged pages gave back, against the original: a share, and nothing made up.
      const saved = Object.fromEntries(out.rebuild.tables.map((x) => [x.table, x.rows]));
      const total = KEPT.reduce((a, k) => a + before[k]!, 0);
      const got = KEPT.reduce((a, k) => a + Math.min(saved[k] ?? 0, before[k]!), 0);
      shares.push(`  seed ${seed} (pages ${pages.join(', ')}): ${got}/${total} rows (${((100 * got) / total).toFixed(2)}%)`);
      expect(got / total).toBeGreaterThan(0.9);

      // Then the re-read and the drain: every row is back, and the 5 spooled events are stored once.
      await waitFor('the spool to drain', () => spoolFiles(t).length === 0 || null, 30_000);
      const after = counts(t.db);
      expect(after.interactions).toBe(before.interactions);
      expect(after.message_usage).toBe(before.message_usage);
      expect(after.sessions).toBe(before.sessions! + 5);
      expect(after.hook_events).toBe(before.hook_events! + 5);
      for (const table of ['interactions', 'message_usage', 'subagents'] as const) expect(invented(t.db, original, table), table).toBe(0);
      await runCli(t, ['stop']);
    }, 180_000);
  }
});
