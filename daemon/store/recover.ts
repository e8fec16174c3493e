// Rebuilds rbk's database from a damaged copy: a fresh file with the current schema, then every row
// salvage.ts can read from the damaged one. Rows keep their ids. Derived data is rebuilt rather
// than copied: the usage rollup (from message_usage, by its triggers) and the full-text index (by
// the daemon's search catch-up, see ingest/search-backlog.ts). Every transcript's read offset is
// reset, so that the next sweep re-reads what is still on disk and adds back the rows that were
// lost; uniqueness keys drop the ones that were saved.
import fs from 'node:fs';
import Database from 'better-sqlite3';
import { openDatabase } from './db.js';
import { DamagedFileReader, readSchema, shapeOf, type SalvageStats, type SqlValue, type TableShape } from './salvage.js';

export interface RecoveredTable {
  table: string;
  /** Rows written to the new file. */
  rows: number;
  /** Of those, rows found on pages whose parent page was damaged. */
  fromOrphanPages: number;
  /** Rows read that the new file already had (same key): a page seen twice, or an orphan of a row already saved. */
  duplicates: number;
}

export interface RebuildReport {
  stats: SalvageStats;
  tables: RecoveredTable[];
  /** PRAGMA quick_check of the new file: "ok", or what is wrong. */
  check: string;
  durationMs: number;
}

/** Tables whose rows are derived from others and rebuilt, not copied. */
const DERIVED = new Set(['usage_rollup', 'search_index_backlog', 'schema_migrations', 'sqlite_sequence']);
/** Written before the rest (others refer to them) … */
const FIRST = ['sessions', 'transcripts', 'interactions', 'message_usage', 'subagents', 'hook_events'];
/**
 * … and last: the rows above mark their sessions as needing an upload (a trigger); the saved sync
 * state then replaces those marks, so that a session already in the central copy is not sent again.
 */
const LAST = ['sync_sessions'];

const BATCH = 2000;

function isFullTextShadow(name: string): boolean {
  return /_fts(_|$)/.test(name);
}

/**
 * Reads what it can from `damaged` (left as it is, apart from a WAL checkpoint into it) and writes
 * a new database at `target`, which must not exist.
 */
export function rebuildDatabase(opts: { damaged: string; target: string; onProgress?: (table: string, rows: number) => void }): RebuildReport {
  const started = Date.now();
  if (fs.existsSync(opts.target)) throw new Error(`${opts.target} already exists; move it away first`);
  // Committed pages still in the write-ahead log belong in the file before it is read page by page.
  try {
    const d = new Database(opts.damaged, { fileMustExist: true });
    try {
      d.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      d.close();
    }
  } catch {
    /* a file too damaged to open: what is in the main file is what there is */
  }
  const target = openDatabase(opts.target);
  const reader = new DamagedFileReader(opts.damaged);
  try {
    target.pragma('foreign_keys = OFF');
    target.pragma('synchronous = OFF');
    const expected = new Map<string, TableShape>();
    for (const name of target
      .prepare(`SELECT name FROM sqlite_schema WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' AND name NOT LIKE 'sqlite_%'`)
      .pluck()
      .all() as string[]) {
      if (!DERIVED.has(name) && !isFullTextShadow(name)) expected.set(name, shapeOf(target, name, 0));
    }
    const fromFile = readSchema(opts.damaged);
    const schemaFrom = fromFile ? 'file' : 'expected';
    const shapes = fromFile ?? [...expected.values()];
    // Pages of trees not kept must not be taken for orphans of kept ones.
    for (const t of shapes) if (!expected.has(t.name) && t.rootPage > 0) reader.skipTree(t.rootPage);
    // The schema itself (page 1 and, in a big schema, its children), and SQLite's own tables.
    reader.skipTree(1);
    if (fromFile) {
      const roots = new Database(opts.damaged, { readonly: true, fileMustExist: true });
      try {
        for (const r of roots
          .prepare(`SELECT rootpage FROM sqlite_schema WHERE rootpage > 0 AND (type = 'index' OR name LIKE 'sqlite_%')`)
          .pluck()
          .all() as number[])
          reader.skipTree(r);
      } catch {
        /* the orphan scan ignores index pages anyway */
      } finally {
        roots.close();
      }
    }
    // The full-text index is rebuilt by the daemon's catch-up from id 1 (see search-backlog.ts).
    target.prepare('INSERT INTO search_index_backlog (id, from_id) VALUES (1, 1)').run();

    const results = new Map<string, RecoveredTable>();
    const writers = new Map<string, (rows: { rowid: number | bigint; values: SqlValue[] }[], orphan: boolean) => void>();
    const writerFor = (t: TableShape) => {
      let w = writers.get(t.name);
      if (w) return w;
      const into = expected.get(t.name)!;
      const keep = t.columns.map((c, i) => ({ i, name: c.name })).filter((c) => into.columns.some((x) => x.name === c.name));
      const verb = LAST.includes(t.name) ? 'INSERT OR REPLACE' : 'INSERT OR IGNORE';
      const stmt = target.prepare(`${verb} INTO "${t.name}" (${keep.map((c) => `"${c.name}"`).join(', ')}) VALUES (${keep.map(() => '?').join(', ')})`);
      const r: RecoveredTable = { table: t.name, rows: 0, fromOrphanPages: 0, duplicates: 0 };
      results.set(t.name, r);
      const write = target.transaction((rows: { rowid: number | bigint; values: SqlValue[] }[], orphan: boolean) => {
        for (const row of rows) {
          if (t.rowidColumn !== null) row.values[t.rowidColumn] = row.rowid;
          const changes = stmt.run(keep.map((c) => (c.i < row.values.length ? row.values[c.i]! : null))).changes;
          if (changes > 0) {
            r.rows += 1;
            if (orphan) r.fromOrphanPages += 1;
          } else r.duplicates += 1;
        }
      });
      w = (rows, orphan) => {
        for (let i = 0; i < rows.length; i += BATCH) write(rows.slice(i, i + BATCH), orphan);
        opts.onProgress?.(t.name, r.rows);
      };
      writers.set(t.name, w);
      return w;
    };
    const kept = shapes.filter((t) => expected.has(t.name));
    const order = [
      ...FIRST.map((n) => kept.find((t) => t.name === n)).filter((t): t is TableShape => t !== undefined),
      ...kept.filter((t) => !FIRST.includes(t.name) && !LAST.includes(t.name)),
      ...LAST.map((n) => kept.find((t) => t.name === n)).filter((t): t is TableShape => t !== undefined),
    ];
    for (const t of order) {
      const write = writerFor(t);
      if (t.rootPage > 0) reader.walk(t.rootPage, (rows) => write(rows, false));
    }
    reader.orphans(order, (t, rows) => writerFor(t)(rows, true));
    // Read again from the start: rows lost here come back from the transcripts still on disk.
    target.prepare('UPDATE transcripts SET byte_offset = 0, inode = NULL, lines = 0, skipped = 0, last_error = NULL').run();
    target.pragma('synchronous = FULL');
    const check = (target.pragma('quick_check') as { quick_check: string }[]).map((r) => r.quick_check).join('; ');
    return {
      stats: { ...reader.stats, schemaFrom },
      tables: order.map((t) => results.get(t.name) ?? { table: t.name, rows: 0, fromOrphanPages: 0, duplicates: 0 }),
      check,
      durationMs: Date.now() - started,
    };
  } finally {
    reader.close();
    target.close();
  }
}
