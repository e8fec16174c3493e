// `rbk backup` asks the daemon for a consistent copy of the database (it keeps running: the copy is
// taken online). `rbk restore` puts a backup in place of the database: it stops rbkd, keeps the
// current file beside the new one, and starts rbkd again, whose sweep then reads what the
// transcripts on disk hold beyond the backup's point in time, and whose drain stores the hook
// events spooled meanwhile.
import fs from 'node:fs';
import path from 'node:path';
import { resolvePaths } from '../../common/paths.js';
import type { BackupProgress__Output } from '../../common/wire/rbk/v1/BackupProgress.js';
import type { BackupResult__Output } from '../../common/wire/rbk/v1/BackupResult.js';
import { loadConfig } from '../../daemon/config/load.js';
import { centralCopyBackups } from '../../daemon/maintenance/backup.js';
import { fileTimestamp, moveDatabaseFiles, removeDatabaseFiles } from '../../daemon/store/db.js';
import { migrate } from '../../daemon/store/migrate.js';
import { inspectDatabase, unpackBackup } from '../../daemon/store/snapshot.js';
import { createBackend } from '../../daemon/sync/backends/create.js';
import { stream } from '../client.js';
import { startDaemon, stopDaemon, waitForStartSweep } from '../daemon-control.js';
import { CliError, EXIT } from '../errors.js';
import { plural } from '../format.js';
import type { Io } from '../io.js';
import type { Confirmation } from '../parse.js';
import type { Sent } from '../wire.js';

type Result = Sent<BackupResult__Output>;

function mb(n: number | string): string {
  return `${(Number(n) / 1024 / 1024).toFixed(1)} MB`;
}

export async function backupCommand(io: Io, opts: { to?: string; json: boolean; progress: boolean }): Promise<number> {
  const tty = opts.progress && Boolean(process.stderr.isTTY);
  const request =
    opts.to === undefined
      ? { toCentralCopy: false }
      : opts.to === 'central-copy'
        ? { toCentralCopy: true }
        : { toDir: path.resolve(opts.to), toCentralCopy: false };
  let result: Result | undefined;
  const h = stream<Sent<BackupProgress__Output>>('Admin', 'Backup', request, (p) => {
    if (p.final) result = p.result;
    else if (tty && Number(p.pagesTotal) > 0)
      process.stderr.write(`\r\x1b[2Kbackup: ${Math.round((100 * Number(p.pagesDone)) / Number(p.pagesTotal))}% of ${plural(Number(p.pagesTotal), 'page')}`);
  });
  try {
    await h.done;
  } finally {
    if (tty) process.stderr.write('\r\x1b[2K');
  }
  if (!result) throw new CliError('the daemon ended the backup without a result; see its log', EXIT.failure);
  const rows = Object.fromEntries(Object.entries(result.rows).map(([k, v]) => [k, Number(v)]));
  if (opts.json) {
    io.json({
      ...result,
      bytes: Number(result.bytes),
      databaseBytes: Number(result.databaseBytes),
      rows,
      createdAt: new Date(Number(result.createdUnixMs)).toISOString(),
    });
    return EXIT.ok;
  }
  io.out(
    [
      `Backed up ${plural(rows.sessions ?? 0, 'session')} (${plural(rows.interactions ?? 0, 'interaction')}, ${plural(rows.hook_events ?? 0, 'hook event')}) as of ${new Date(Number(result.createdUnixMs)).toISOString()}:`,
      `  ${result.location}`,
      `  ${mb(result.bytes)} compressed (the database is ${mb(result.databaseBytes)}), sha256 ${result.sha256.slice(0, 16)}…, in ${(Number(result.durationMs) / 1000).toFixed(1)} s`,
      ...(result.removed.length > 0 ? [`Removed ${plural(result.removed.length, 'older backup')} (backup.keep).`] : []),
      `Restore it with: rbk restore ${result.location.startsWith('/') ? result.location : `central-copy:${result.name}`}`,
    ].join('\n'),
  );
  return EXIT.ok;
}

// --- restore ------------------------------------------------------------------------------------

/** A restored database unpacks to at most this: far above any real store, far below a gzip bomb's fill-the-disk. */
const MAX_RESTORE_BYTES = 256 * 1024 * 1024 * 1024;

/** Fetches `central-copy:latest` or `central-copy:<name>` into the data dir; a file path is used as it is. */
async function localCopyOf(source: string, dataDir: string): Promise<{ file: string; temporary: boolean; label: string }> {
  if (!source.startsWith('central-copy:')) {
    const file = path.resolve(source);
    if (!fs.existsSync(file)) throw new CliError(`no such backup file: ${file}`, EXIT.notFound);
    return { file, temporary: false, label: file };
  }
  const wanted = source.slice('central-copy:'.length);
  const paths = resolvePaths();
  const { config } = loadConfig(paths.config);
  const backend = createBackend(config, paths);
  try {
    const all = await centralCopyBackups(backend);
    const pick = wanted === 'latest' || wanted === '' ? all.at(-1) : all.find((b) => path.posix.basename(b.key) === wanted);
    if (!pick)
      throw new CliError(
        all.length === 0
          ? `the central copy (${backend.location}) holds no backup of this host; make one with: rbk backup --to central-copy`
          : `no backup named ${wanted} in the central copy; there are: ${all.map((b) => path.posix.basename(b.key)).join(', ')}`,
        EXIT.notFound,
      );
    const body = await backend.get(pick.key);
    if (!body) throw new CliError(`the backup ${pick.key} vanished from the central copy while it was read`, EXIT.failure);
    const file = path.join(dataDir, `.restore-download-${fileTimestamp()}.db.gz`);
    fs.writeFileSync(file, body, { mode: 0o600 });
    return { file, temporary: true, label: `${backend.location.replace(/\/$/, '')}/${pick.key}` };
  } finally {
    await backend.close();
  }
}

export async function restorePreview(_io: Io, opts: { source: string }): Promise<Confirmation> {
  const paths = resolvePaths();
  return {
    text: [
      `rbk restore will put the backup ${opts.source} in place of ${paths.db}:`,
      '  - stop rbkd (hook events spool meanwhile; none is lost)',
      `  - keep the current database beside it as ${path.basename(paths.db)}.before-restore-<time>`,
      '  - start rbkd on the backup: it drains the spool and re-reads the transcripts on disk, which brings back what they hold beyond the backup',
      'Sessions stored after the backup whose transcripts are gone are not in the backup.',
    ].join('\n'),
    question: 'Restore the backup?',
  };
}

export async function restoreCommand(io: Io, opts: { source: string; json: boolean }): Promise<number> {
  const paths = resolvePaths();
  const say = (line: string) => {
    if (!opts.json) io.err(line);
  };
  fs.mkdirSync(paths.dataDir, { recursive: true, mode: 0o700 });
  const source = await localCopyOf(opts.source, paths.dataDir);
  const staged = `${paths.db}.restoring`;
  removeDatabaseFiles(staged);
  let inspected: ReturnType<typeof inspectDatabase>;
  try {
    await unpackBackup(source.file, staged, MAX_RESTORE_BYTES);
    inspected = inspectDatabase(staged);
    if (inspected.check !== 'ok') throw new CliError(`the backup is damaged (quick_check: ${inspected.check}); pick another one`, EXIT.failure);
    // A backup from an older rbk is brought to this version's schema before it goes in place.
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(staged);
    try {
      migrate(db);
    } finally {
      db.close();
    }
  } catch (err) {
    removeDatabaseFiles(staged);
    if (err instanceof CliError) throw err;
    throw new CliError(`cannot restore ${source.label}: ${(err as Error).message}`, EXIT.failure);
  } finally {
    if (source.temporary) fs.rmSync(source.file, { force: true });
  }
  const stopped = await stopDaemon(paths, 60_000);
  if (stopped.wasRunning) say(`Stopped rbkd (pid ${stopped.pid}); hook events spool until it is back.`);
  const kept = `${paths.db}.before-restore-${fileTimestamp()}`;
  moveDatabaseFiles(paths.db, kept);
  fs.renameSync(staged, paths.db);
  fs.chmodSync(paths.db, 0o600);
  const since = Date.now();
  const started = await startDaemon(paths, 60_000);
  say(`Started rbkd (pid ${started.pid}) on the restored database; it drains the spool and reads the transcripts newer than the backup.`);
  const sweep = await waitForStartSweep(paths, since, { runIfOff: false });
  const out = {
    restored: true,
    from: source.label,
    previous: fs.existsSync(kept) ? kept : null,
    rows: inspected.rows,
    reread: sweep ? { transcripts: Number(sweep.counts.read ?? 0), interactions: Number(sweep.counts.interactions ?? 0) } : null,
  };
  if (opts.json) io.json(out);
  else {
    io.out(
      [
        `Restored ${source.label}: ${plural(inspected.rows.sessions ?? 0, 'session')}, ${plural(inspected.rows.interactions ?? 0, 'interaction')}, ${plural(inspected.rows.hook_events ?? 0, 'hook event')}.`,
        out.reread
          ? `Read ${plural(out.reread.transcripts, 'transcript')} that grew since the backup: ${plural(out.reread.interactions, 'interaction')} added.`
          : 'The sweep of the transcripts goes on in rbkd (rbk jobs shows it).',
        out.previous ? `The database it replaced is kept at ${out.previous}; delete it once you are satisfied.` : '',
      ]
        .filter(Boolean)
        .join('\n'),
    );
  }
  return EXIT.ok;
}
