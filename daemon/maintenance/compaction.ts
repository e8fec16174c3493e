// The compaction job, local part: the whole transcript line kept in interactions.raw (block 0 of
// each line) is dropped once the row is older than compaction.keepRawDays; the normalized columns
// (text, tool input, ids, times, ...) stay. The freed pages go back to the file system through
// incremental vacuum, and the WAL is checkpointed and truncated.
//
// The database is created with auto_vacuum = INCREMENTAL (store/db.ts). One created before that
// was fixed has auto_vacuum = NONE, where freed pages are only reused, never returned: the first
// compaction converts it with one VACUUM when the disk has room for it (about twice the file).
//
// S3 compaction of the central copy is step 4 (daemon/sync/compaction.ts).
import fs from 'node:fs';
import path from 'node:path';
import { DAY_MS } from '../jobs/clock.js';
import { InteractionStore } from '../store/interactions.js';
import { checkpoint, type JobContext } from '../jobs/registry.js';
import type { JobCounts } from '../jobs/runs.js';
import { type CentralCopyServices, compactCentralCopy, emptyCounts } from '../sync/compaction.js';

/** Rows of interactions (by id) looked at per batch: each batch is one short write. */
const ID_WINDOW = 5000;
/** Pages returned to the file system per incremental_vacuum step. */
const VACUUM_PAGES = 4096;

export function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

export function freeBytes(dir: string): number | null {
  try {
    const st = fs.statfsSync(dir);
    return st.bavail * st.bsize;
  } catch {
    return null;
  }
}

/**
 * `central`: the central copy's backend and redaction service (DaemonContext.storage and
 * .redaction); without it the central copy's step is skipped.
 */
export async function runCompaction(ctx: JobContext, central: CentralCopyServices | null = null): Promise<JobCounts> {
  const { db, signal } = ctx;
  const file = db.name;
  const onDisk = () => fileSize(file) + fileSize(`${file}-wal`);
  const bytesBefore = onDisk();
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  const cutoff = ctx.clock.now() - ctx.config.compaction.keepRawDays * DAY_MS;

  // 1. Drop raw, in id windows: each statement touches at most ID_WINDOW rows.
  const interactions = new InteractionStore(db);
  const range = interactions.idRange();
  let rawDropped = 0;
  if (range.lo !== null && range.hi !== null) {
    const windows = Math.ceil((range.hi - range.lo + 1) / ID_WINDOW);
    for (let w = 0; w < windows; w++) {
      await checkpoint(signal);
      const from = range.lo - 1 + w * ID_WINDOW;
      rawDropped += interactions.dropRaw(from, from + ID_WINDOW, cutoff);
      ctx.progress({
        done: w + 1,
        total: windows + 1,
        message: `dropping raw lines older than ${ctx.config.compaction.keepRawDays} days`,
        counts: { rawDropped },
      });
    }
  }

  // 2. Return free pages to the file system.
  await checkpoint(signal);
  const freelistBefore = db.pragma('freelist_count', { simple: true }) as number;
  let autoVacuum = db.pragma('auto_vacuum', { simple: true }) as number;
  let autoVacuumConverted = 0;
  let vacuumSkippedNoSpace = 0;
  if (autoVacuum !== 2) {
    const needed = 2 * fileSize(file) + 64 * 1024 * 1024;
    const free = freeBytes(path.dirname(file));
    if (free !== null && free < needed) {
      vacuumSkippedNoSpace = 1;
      ctx.log.warn('the database has auto_vacuum off and the disk lacks room to convert it; free pages stay reusable but are not returned', {
        freeBytes: free,
        neededBytes: needed,
      });
    } else {
      ctx.progress({ done: 0, total: 1, message: 'converting the database to incremental auto-vacuum (one full VACUUM)', counts: { rawDropped } });
      db.pragma('auto_vacuum = INCREMENTAL');
      db.exec('VACUUM');
      autoVacuum = db.pragma('auto_vacuum', { simple: true }) as number;
      autoVacuumConverted = autoVacuum === 2 ? 1 : 0;
      ctx.log.info('database converted to incremental auto-vacuum', { converted: autoVacuumConverted === 1 });
    }
  }
  if (autoVacuum === 2) {
    let left = db.pragma('freelist_count', { simple: true }) as number;
    while (left > 0) {
      await checkpoint(signal);
      db.pragma(`incremental_vacuum(${VACUUM_PAGES})`);
      const now = db.pragma('freelist_count', { simple: true }) as number;
      if (now >= left) break;
      left = now;
    }
  }
  const freelistAfter = db.pragma('freelist_count', { simple: true }) as number;

  // 3. Fold the WAL into the file and truncate it.
  await checkpoint(signal);
  const cp = (db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number; log: number; checkpointed: number }[])[0];
  const bytesAfter = onDisk();

  // 4. The central copy: merge closed sessions' parts (daemon/sync/compaction.ts).
  await checkpoint(signal);
  const s3 = central
    ? await compactCentralCopy(
        {
          ...ctx,
          progress: (done, total, c) =>
            ctx.progress({ done, total, message: `compacting the central copy: ${done} of ${total} sessions`, counts: { rawDropped, ...c } }),
        },
        central,
      )
    : emptyCounts();
  const counts: JobCounts = {
    rawDropped,
    bytesBefore,
    bytesAfter,
    bytesReclaimed: bytesBefore - bytesAfter,
    pageSize,
    freelistPagesBefore: freelistBefore,
    freelistPagesAfter: freelistAfter,
    autoVacuumConverted,
    vacuumSkippedNoSpace,
    // 1 when a reader kept the checkpoint from finishing; the WAL is truncated on a later one.
    walCheckpointBusy: cp?.busy ?? 0,
    ...s3,
  };
  ctx.progress({ done: 1, total: 1, message: 'compacted', counts });
  return counts;
}
