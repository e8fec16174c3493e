// The `pack` job: converts rows written before storage v2 to the packed form (store/pack.ts), a
// window at a time between which the daemon serves hooks and ingest as usual, then returns the
// freed pages to the file system. It runs when the daemon starts with rows left to pack, on its
// schedule (a no-op once done), and by `rbk migrate`.
import path from 'node:path';
import { checkpoint, type JobContext } from '../jobs/registry.js';
import type { JobCounts } from '../jobs/runs.js';
import { PackStore } from '../store/pack.js';
import { fileSize, freeBytes } from './compaction.js';

/** Rows per transaction: each is one short write (a few MB at most), so hooks never wait long. */
const WINDOW_ROWS = 500;
const VACUUM_PAGES = 4096;

export async function runPack(ctx: JobContext): Promise<JobCounts> {
  const { db, signal } = ctx;
  const store = new PackStore(db);
  const start = store.progress();
  const counts = { rows: 0, bytesBefore: 0, bytesAfter: 0, pagesFreed: 0, vacuumed: 0, vacuumSkippedNoSpace: 0 };
  // Nothing written before storage v2 is left (or ever was): say so, rather than print nothing.
  if (start.done) return { ...counts, upToDate: 1 };
  const span = Math.max(1, start.untilId - start.throughId);
  for (;;) {
    await checkpoint(signal);
    const r = store.packNext(WINDOW_ROWS);
    counts.rows += r.rows;
    counts.bytesBefore += r.bytesBefore;
    counts.bytesAfter += r.bytesAfter;
    ctx.progress({
      done: Math.min(span, r.throughId - start.throughId),
      total: span,
      message: 'packing rows stored before storage v2',
      counts: { rows: counts.rows },
    });
    if (r.done) break;
  }
  // Packing shrinks rows in place: their pages get emptier but stay in the file. One VACUUM
  // rewrites the file at its new size, when packing freed a tenth of it or more and the disk has
  // room for the copy. Writes wait meanwhile (hooks go to the spool, and are drained after).
  const file = db.name;
  const onDisk = fileSize(file) + fileSize(`${file}-wal`);
  if (counts.bytesBefore - counts.bytesAfter >= onDisk / 10) {
    const free = freeBytes(path.dirname(file));
    const needed = 2 * onDisk + 64 * 1024 * 1024;
    if (free !== null && free < needed) {
      counts.vacuumSkippedNoSpace = 1;
      ctx.log.warn('packing freed space inside the database, but the disk lacks room to rewrite it; the space is reused by new rows', {
        freeBytes: free,
        neededBytes: needed,
      });
    } else {
      await checkpoint(signal);
      ctx.progress({ done: span, total: span, message: 'rewriting the database at its packed size (one VACUUM)', counts: { rows: counts.rows } });
      db.exec('VACUUM');
      counts.vacuumed = 1;
    }
  }
  // Freed pages go back to the file system (auto_vacuum = INCREMENTAL; an older file without it
  // is converted by the compact job, which needs room for a VACUUM).
  if ((db.pragma('auto_vacuum', { simple: true }) as number) === 2) {
    for (;;) {
      await checkpoint(signal);
      const free = db.pragma('freelist_count', { simple: true }) as number;
      if (free === 0) break;
      db.pragma(`incremental_vacuum(${VACUUM_PAGES})`);
      counts.pagesFreed += Math.min(free, VACUUM_PAGES);
    }
  }
  db.pragma('wal_checkpoint(TRUNCATE)');
  return counts;
}
