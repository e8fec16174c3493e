// Compaction over a real, migrated SQLite file: raw goes after keepRawDays, the normalized
// columns and the FTS index stay, and the freed bytes go back to the file system.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCompaction } from '../../daemon/maintenance/compaction.js';
import { migrate } from '../../daemon/store/migrate.js';
import { openDatabase } from '../../daemon/store/db.js';
import { NOW, fileBytes, jobContext, makeTestDb, seedSession, tokenOf, type TestDb } from './support.js';

let t: TestDb;

beforeEach(() => {
  t = makeTestDb({ compaction: { keepRawDays: 30 } });
});
afterEach(() => t.cleanup());

const RAW = 16 * 1024;

function seedWorld(db = t.db): void {
  // 10 old sessions x 30 interactions of 16 kB raw each (~4.8 MB), 2 recent ones.
  for (let i = 0; i < 10; i++) seedSession(db, NOW, { id: `old${i}`, ageDays: 60 + i, interactions: 30, rawBytes: RAW });
  for (let i = 0; i < 2; i++) seedSession(db, NOW, { id: `new${i}`, ageDays: 5, interactions: 30, rawBytes: RAW });
  db.pragma('wal_checkpoint(TRUNCATE)');
}

describe('compaction', () => {
  it('new databases are created with auto_vacuum = INCREMENTAL', () => {
    expect(t.db.pragma('auto_vacuum', { simple: true })).toBe(2);
    expect(t.db.pragma('journal_mode', { simple: true })).toBe('wal');
  });

  it('drops raw older than keepRawDays, keeps normalized columns and search, and shrinks the file', async () => {
    seedWorld();
    const textBefore = t.db.prepare('SELECT id, text, tool_input, ts, kind FROM interactions ORDER BY id').all();
    const before = fileBytes(t.file);
    expect(before).toBeGreaterThan(12 * 30 * RAW);

    const counts = await runCompaction(jobContext(t));
    const after = fileBytes(t.file);
    expect(counts.rawDropped).toBe(300);
    expect(t.db.prepare('SELECT count(*) FROM interactions WHERE raw IS NOT NULL').pluck().get()).toBe(60);
    expect(t.db.prepare(`SELECT count(*) FROM interactions WHERE raw IS NOT NULL AND session_id LIKE 'old%'`).pluck().get()).toBe(0);
    expect(t.db.prepare('SELECT id, text, tool_input, ts, kind FROM interactions ORDER BY id').all()).toEqual(textBefore);
    expect(t.db.prepare('SELECT count(*) FROM interactions_fts WHERE interactions_fts MATCH ?').pluck().get(tokenOf('old3'))).toBe(30);

    // ~4.8 MB of raw went: the file (and the truncated WAL) must be at least 4 MB smaller.
    expect(before - after).toBeGreaterThan(4 * 1024 * 1024);
    expect(fs.statSync(`${t.file}-wal`).size).toBe(0);
    expect(counts).toMatchObject({
      bytesBefore: before,
      bytesAfter: after,
      bytesReclaimed: before - after,
      autoVacuumConverted: 0,
      walCheckpointBusy: 0,
      freelistPagesAfter: 0,
    });
    expect(counts.freelistPagesBefore).toBeGreaterThan(1000);
    expect(t.db.pragma('integrity_check', { simple: true })).toBe('ok');

    // Nothing left to do on a second run.
    expect(await runCompaction(jobContext(t))).toMatchObject({ rawDropped: 0, freelistPagesBefore: 0 });
  });

  it('moves with the clock: recent raw goes once it is old enough', async () => {
    seedWorld();
    await runCompaction(jobContext(t));
    t.clock.advanceDays(26);
    expect((await runCompaction(jobContext(t))).rawDropped).toBe(60);
  });

  it('an interrupted run keeps what it did; a re-run finishes', async () => {
    seedWorld();
    const ctl = new AbortController();
    let steps = 0;
    await expect(
      runCompaction(
        jobContext(t, {
          signal: ctl.signal,
          progress: () => {
            if (++steps === 1) ctl.abort(new Error('stop'));
          },
        }),
      ),
    ).rejects.toThrow('stop');
    const counts = await runCompaction(jobContext(t));
    expect(t.db.prepare(`SELECT count(*) FROM interactions WHERE raw IS NOT NULL AND session_id LIKE 'old%'`).pluck().get()).toBe(0);
    expect(counts.freelistPagesAfter).toBe(0);
  });

  it('converts a database created without auto_vacuum (before the fix) once, and reclaims its space', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rbk-legacy-'));
    try {
      const file = path.join(dir, 'rbk.db');
      // What openDatabase used to do: WAL first, so auto_vacuum never took.
      const legacy = new Database(file);
      legacy.pragma('journal_mode = WAL');
      legacy.pragma('auto_vacuum = INCREMENTAL');
      migrate(legacy);
      expect(legacy.pragma('auto_vacuum', { simple: true })).toBe(0);
      legacy.close();
      const db = openDatabase(file);
      expect(db.pragma('auto_vacuum', { simple: true })).toBe(0);
      seedWorld(db);
      const before = fileBytes(file);
      const counts = await runCompaction(jobContext({ ...t, db }));
      expect(counts).toMatchObject({ rawDropped: 300, autoVacuumConverted: 1 });
      expect(db.pragma('auto_vacuum', { simple: true })).toBe(2);
      expect(before - fileBytes(file)).toBeGreaterThan(4 * 1024 * 1024);
      expect(db.prepare('SELECT count(*) FROM interactions_fts WHERE interactions_fts MATCH ?').pluck().get(tokenOf('new1'))).toBe(30);
      db.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
