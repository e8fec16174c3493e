// `rbk recover`: rebuilds a damaged database. The daemon is stopped (hooks spool meanwhile), the
// damaged file is moved aside and kept, a new one is written from every row SQLite's pages still
// hold (daemon/store/recover.ts), and the daemon is started on it. At start it drains the spool,
// and its sweep re-reads every transcript still on disk (recover resets their read offsets), which
// brings back what the damaged pages held for sessions younger than Claude Code's 30 days.
import fs from 'node:fs';
import path from 'node:path';
import { resolvePaths } from '../../common/paths.js';
import { fileTimestamp, moveDatabaseFiles, quickCheckFile, removeDatabaseFiles } from '../../daemon/store/db.js';
import { rebuildDatabase, type RebuildReport } from '../../daemon/store/recover.js';
import { call } from '../client.js';
import { startDaemon, stopDaemon, waitForStartSweep } from '../daemon-control.js';
import { CliError, EXIT } from '../errors.js';
import { plural } from '../format.js';
import type { Io } from '../io.js';
import type { Confirmation } from '../parse.js';
import type { WireJobRun } from '../wire.js';

function asideName(db: string): string {
  return `${db}.damaged-${fileTimestamp()}`;
}

export async function recoverPreview(_io: Io, opts: { force: boolean }): Promise<Confirmation> {
  const paths = resolvePaths();
  if (!fs.existsSync(paths.db)) return { text: `no database at ${paths.db}: nothing to recover`, question: '', nothingToDo: true };
  const check = quickCheckFile(paths.db);
  if (check === 'ok' && !opts.force) return { text: 'the database is not damaged (PRAGMA quick_check: ok)', question: '', nothingToDo: true };
  return {
    text: [
      `The database ${paths.db} ${check === 'ok' ? 'passes quick_check; --force rebuilds it anyway' : `is damaged: ${check.slice(0, 300)}`}.`,
      'rbk recover will:',
      '  - stop rbkd (hook events spool meanwhile; none is lost)',
      `  - move the damaged file aside to ${path.basename(asideName(paths.db))} (kept; delete it yourself once you are satisfied)`,
      '  - write a new database from every row its pages still hold',
      '  - start rbkd, which drains the spool and re-reads every transcript still on disk',
    ].join('\n'),
    question: 'Recover the database?',
  };
}

interface Outcome {
  damagedCopy: string;
  rebuild: RebuildReport;
  daemon: { started: boolean; pid: number };
  reread: WireJobRun | null;
  spoolBacklog: number | null;
}

export async function recoverCommand(io: Io, opts: { json: boolean; force: boolean; progress: boolean }): Promise<number> {
  const paths = resolvePaths();
  if (!fs.existsSync(paths.db)) throw new CliError(`no database at ${paths.db}: nothing to recover`, EXIT.notFound);
  const check = quickCheckFile(paths.db);
  if (check === 'ok' && !opts.force) {
    if (opts.json) io.json({ recovered: false, reason: 'not damaged', check });
    else io.out('The database is not damaged (PRAGMA quick_check: ok); nothing to do. rbk recover --force rebuilds it anyway.');
    return EXIT.ok;
  }
  const tty = opts.progress && Boolean(process.stderr.isTTY);
  const say = (line: string) => {
    if (!opts.json) io.err(line);
  };
  const stopped = await stopDaemon(paths, 60_000);
  if (stopped.wasRunning) say(`Stopped rbkd (pid ${stopped.pid}); hook events spool until it is back.`);
  const aside = asideName(paths.db);
  moveDatabaseFiles(paths.db, aside);
  say(`Moved the damaged database aside: ${aside}`);
  const building = `${paths.db}.recovering`;
  removeDatabaseFiles(building);
  let rebuild: RebuildReport;
  try {
    rebuild = rebuildDatabase({
      damaged: aside,
      target: building,
      onProgress: (table, rows) => {
        if (tty) process.stderr.write(`\r\x1b[2Kreading ${table}: ${rows} rows`);
      },
    });
    if (tty) process.stderr.write('\r\x1b[2K');
    // The checkpoint left an empty log and an index beside the kept copy: not part of what is kept.
    for (const suffix of ['-wal', '-shm'])
      if (fs.existsSync(aside + suffix) && (suffix === '-shm' || fs.statSync(aside + suffix).size === 0)) fs.rmSync(aside + suffix);
    fs.renameSync(building, paths.db);
    fs.chmodSync(paths.db, 0o600);
  } catch (err) {
    // Leave things as they were: the damaged file back in place, nothing half-built.
    removeDatabaseFiles(building);
    if (!fs.existsSync(paths.db)) moveDatabaseFiles(aside, paths.db);
    throw new CliError(
      `could not rebuild the database: ${(err as Error).message}. The damaged file is back in place, unchanged but for a WAL checkpoint`,
      EXIT.failure,
    );
  }
  const since = Date.now();
  const started = await startDaemon(paths, 60_000);
  say(`Started rbkd (pid ${started.pid}) on the new database; it drains the spool and re-reads the transcripts on disk.`);
  if (tty) process.stderr.write('re-reading the transcripts on disk…');
  const reread = await waitForStartSweep(paths, since, { runIfOff: true });
  if (tty) process.stderr.write('\r\x1b[2K');
  const status = await call<{ counts: { spoolBacklog: number } }>('Admin', 'Status', {}).catch(() => null);
  const outcome: Outcome = {
    damagedCopy: aside,
    rebuild,
    daemon: { started: !started.already, pid: started.pid },
    reread,
    spoolBacklog: status ? Number(status.counts.spoolBacklog) : null,
  };
  if (opts.json) {
    io.json({ recovered: true, ...outcome });
    return EXIT.ok;
  }
  io.out(report(outcome));
  return rebuild.check === 'ok' ? EXIT.ok : EXIT.failure;
}

function report(o: Outcome): string {
  const s = o.rebuild.stats;
  const lines = [
    `Recovered the database in ${(o.rebuild.durationMs / 1000).toFixed(1)} s (the new file's quick_check: ${o.rebuild.check}).`,
    '',
    'Saved from the damaged file:',
  ];
  for (const t of o.rebuild.tables.filter((t) => t.rows > 0))
    lines.push(
      `  ${t.table.padEnd(18)} ${String(t.rows).padStart(9)} rows${t.fromOrphanPages > 0 ? ` (${t.fromOrphanPages} found below a damaged page)` : ''}`,
    );
  lines.push('', 'Lost from the damaged file:');
  const lost = s.pagesUnreadable + s.cellsUnreadable + s.orphanPagesUnattributed;
  if (lost === 0) lines.push('  nothing: every page that holds rows could be read');
  else {
    if (s.pagesUnreadable > 0) lines.push(`  ${plural(s.pagesUnreadable, 'page')} that could not be read (of ${s.pages}), with the rows on them`);
    if (s.cellsUnreadable > 0) lines.push(`  ${plural(s.cellsUnreadable, 'row')} whose content was overwritten`);
    if (s.orphanPagesUnattributed > 0)
      lines.push(`  ${plural(s.orphanRowsUnattributed, 'row')} on ${plural(s.orphanPagesUnattributed, 'page')} that fit no single table (not guessed)`);
  }
  if (!s.freeListKnown) lines.push('  the first page was lost with the free list: rows deleted before the damage (retention) may have come back');
  lines.push('');
  if (o.reread) {
    const c = o.reread.counts;
    lines.push(
      `Re-read ${plural(Number(c.read ?? 0), 'transcript')} still on disk: ${plural(Number(c.interactions ?? 0), 'interaction')} came back that the damaged file had lost or never had.`,
    );
  } else lines.push('The re-read of the transcripts goes on in rbkd (rbk jobs shows it).');
  if (o.spoolBacklog !== null)
    lines.push(
      o.spoolBacklog === 0 ? 'The spool is drained.' : `${plural(o.spoolBacklog, 'hook event')} still in the spool; rbkd drains it every few seconds.`,
    );
  lines.push(`The damaged file is kept at ${o.damagedCopy}; delete it once you are satisfied.`);
  return lines.join('\n');
}
