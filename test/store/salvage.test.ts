// The page-by-page salvage (daemon/store/salvage.ts, recover.ts) on a real rbk database with the
// three kinds of damage that lose rows differently: an interior page (its children become orphans,
// found by the shape of their rows), page 1 (the schema and the free list are gone; every leaf is
// an orphan), and an overflow page (a row whose text was overwritten: dropped, never kept as
// garbage). Every case is checked against the undamaged original, row for row.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../daemon/store/db.js';
import { rebuildDatabase } from '../../daemon/store/recover.js';

let dir: string;
let original: string;
const N = 3000;

function overwrite(file: string, pages: number[]): void {
  const fd = fs.openSync(file, 'r+');
  for (const p of pages) fs.writeSync(fd, Buffer.alloc(4096, 0x5a), 0, 4096, (p - 1) * 4096);
  fs.closeSync(fd);
}

function pagesOf(sql: string): number[] {
  const d = new Database(original, { readonly: true });
  try {
    return d.prepare(sql).pluck().all() as number[];
  } finally {
    d.close();
  }
}

function rows(file: string, sql: string): unknown[] {
  const d = new Database(file, { readonly: true });
  try {
    return d.prepare(sql).all();
  } finally {
    d.close();
  }
}

const INTERACTIONS = 'SELECT id, uuid, block_index, session_id, kind, text FROM interactions ORDER BY id';

function damagedCopy(name: string, pages: number[]): string {
  const file = path.join(dir, `${name}.db`);
  fs.copyFileSync(original, file);
  overwrite(file, pages);
  return file;
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rbk-salvage-'));
  original = path.join(dir, 'original.db');
  const db = openDatabase(original);
  const insert = db.prepare(`INSERT INTO interactions (uuid, block_index, session_id, kind, ts, text, text_length, source_path, raw, ingested_at)
    VALUES (?, 0, ?, 'user_prompt', ?, ?, ?, '/p.jsonl', NULL, 0)`);
  db.transaction(() => {
    for (let i = 0; i < N; i++) {
      // Every 50th row is long enough to need overflow pages.
      const text = i % 50 === 0 ? `long ${i} ${'é'.repeat(6000)}` : `prompt ${i}`;
      insert.run(`u-${i}`, `s-${i % 7}`, i, text, text.length);
    }
    db.prepare(`INSERT INTO sessions (id, host, status, created_at, updated_at) VALUES ('s-0', 'h', 'ended', 1, 1)`).run();
    db.prepare(
      `INSERT INTO transcripts (path, session_id, source, byte_offset, inode, size, registered_at, lines) VALUES ('/p.jsonl', 's-0', 'hook', 9000, 42, 9000, 1, 30)`,
    ).run();
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('salvage from a damaged rbk database', () => {
  it('an interior page: its children are found as orphans and every row comes back', () => {
    const interior = pagesOf(`SELECT pageno FROM dbstat WHERE name = 'interactions' AND pagetype = 'internal' ORDER BY path = '/' LIMIT 1`);
    expect(interior).toHaveLength(1);
    const damaged = damagedCopy('interior', interior);
    const r = rebuildDatabase({ damaged, target: path.join(dir, 'interior-new.db') });
    const t = r.tables.find((x) => x.table === 'interactions')!;
    expect(r.stats.pagesUnreadable).toBe(1);
    expect(t.fromOrphanPages).toBeGreaterThan(0);
    expect(rows(path.join(dir, 'interior-new.db'), INTERACTIONS)).toEqual(rows(original, INTERACTIONS));
    expect(r.check).toBe('ok');
  });

  it('page 1: with no schema and no free list, every leaf is placed by its shape', () => {
    const damaged = damagedCopy('page1', [1]);
    const r = rebuildDatabase({ damaged, target: path.join(dir, 'page1-new.db') });
    expect(r.stats.schemaFrom).toBe('expected');
    expect(r.stats.freeListKnown).toBe(false);
    expect(rows(path.join(dir, 'page1-new.db'), INTERACTIONS)).toEqual(rows(original, INTERACTIONS));
    expect(rows(path.join(dir, 'page1-new.db'), 'SELECT id, host FROM sessions')).toEqual([{ id: 's-0', host: 'h' }]);
  });

  it('an overflow page: the row whose text it held is dropped and counted, the rest are exact', () => {
    // The last page of a chain (its next-page pointer is 0), overwritten with valid UTF-8 ("ZZZ…"): only
    // the chain's end tells that the text is not what was written.
    const fd = fs.openSync(original, 'r');
    const last = pagesOf(`SELECT pageno FROM dbstat WHERE name = 'interactions' AND pagetype = 'overflow' ORDER BY pageno`).find((p) => {
      const b = Buffer.alloc(4);
      fs.readSync(fd, b, 0, 4, (p - 1) * 4096);
      return b.readUInt32BE(0) === 0;
    });
    fs.closeSync(fd);
    const overflow = [last!];
    const damaged = damagedCopy('overflow', overflow);
    const target = path.join(dir, 'overflow-new.db');
    const r = rebuildDatabase({ damaged, target });
    expect(r.stats.cellsUnreadable).toBe(1);
    const got = rows(target, INTERACTIONS) as { id: number }[];
    const want = rows(original, INTERACTIONS) as { id: number }[];
    expect(got).toHaveLength(N - 1);
    const ids = new Set(got.map((g) => g.id));
    expect(want.filter((w) => ids.has(w.id))).toEqual(got);
  });

  it('resets every transcript offset (the sweep re-reads what is on disk) and leaves full-text indexing to the daemon from id 1', () => {
    const db = new Database(path.join(dir, 'interior-new.db'), { readonly: true });
    expect(db.prepare('SELECT path, byte_offset, inode, lines FROM transcripts').all()).toEqual([{ path: '/p.jsonl', byte_offset: 0, inode: null, lines: 0 }]);
    expect(db.prepare('SELECT count(*) FROM search_index_backlog WHERE from_id = 1').pluck().get()).toBe(1);
    db.close();
  });
});
