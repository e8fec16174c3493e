import fs from 'node:fs';
import Database from 'better-sqlite3';
import { registerFunctions } from './functions.js';
import { migrate } from './migrate.js';

export { registerFunctions };

export type Db = Database.Database;

/** A database is its file and, in WAL mode, two more beside it: they move and go together. */
const DATABASE_FILE_SUFFIXES = ['', '-wal', '-shm'] as const;

/** Renames a database (with its -wal and -shm, where present) from one path to another. */
export function moveDatabaseFiles(from: string, to: string): void {
  for (const s of DATABASE_FILE_SUFFIXES) if (fs.existsSync(from + s)) fs.renameSync(from + s, to + s);
}

export function removeDatabaseFiles(file: string): void {
  for (const s of DATABASE_FILE_SUFFIXES) fs.rmSync(file + s, { force: true });
}

/** UTC time for a file name, to the second: 20261202T225612Z (no ':' for any file system). */
export function fileTimestamp(at: Date = new Date()): string {
  return at
    .toISOString()
    .replaceAll('-', '')
    .replaceAll(':', '')
    .replace(/\.\d+Z$/, 'Z');
}

/** PRAGMA quick_check on a read-only connection: "ok", or what is wrong (a file that will not open is damaged too). */
export function quickCheckFile(file: string): string {
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true, timeout: 5000 });
    return (db.pragma('quick_check') as { quick_check: string }[])
      .map((r) => r.quick_check)
      .join('; ')
      .replaceAll('\n', '; ');
  } catch (err) {
    return (err as Error).message;
  } finally {
    db?.close();
  }
}

/**
 * Opens (creating if needed) the daemon's SQLite file: WAL, 0600, migrated.
 * The file is created with 0600 before SQLite touches it so that it is never world-readable,
 * not even for the instant between creation and chmod.
 */
export function openDatabase(file: string): Db {
  const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
  fs.closeSync(fd);
  fs.chmodSync(file, 0o600);
  const db = new Database(file);
  // Must come first: auto_vacuum applies at once only to a database whose header is not written
  // yet; journal_mode = WAL writes it, after which the pragma is silently ignored until a VACUUM.
  // Older databases created without it are converted once by the compaction job (daemon/maintenance/compaction.ts).
  db.pragma('auto_vacuum = INCREMENTAL');
  db.pragma('journal_mode = WAL');
  // FULL: a hook is acknowledged only after its event is durable, even across power loss.
  // Group commit in ingest/hook-writer.ts keeps this affordable.
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  // Page cache and mmap, set from measurement (docs/benchmarks.md#page-cache-and-mmap): importing
  // 612 K interactions took 129 s with SQLite's 2 MB cache, 124 s with 16 MB and 127 s with 64 MB
  // (the import is CPU-bound; the OS page cache holds the file), while 64 MB added 66 MB to the
  // peak RSS. A 256 MB mmap made it 116 s but put 208 MB of the file into the daemon's RSS. Both
  // stay at SQLite's defaults, written out so that a change is a measured one.
  db.pragma('cache_size = -2000');
  db.pragma('mmap_size = 0');
  for (const suffix of ['-wal', '-shm']) {
    if (fs.existsSync(file + suffix)) fs.chmodSync(file + suffix, 0o600);
  }
  migrate(db);
  return db;
}

/** Holds an exclusive lock for the life of the process; the kernel drops it on any exit, kill -9 included. */
export function acquireInstanceLock(lockFile: string): Db | null {
  const fd = fs.openSync(lockFile, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
  fs.closeSync(fd);
  const lock = new Database(lockFile, { timeout: 0 });
  try {
    lock.pragma('locking_mode = EXCLUSIVE');
    lock.exec('BEGIN EXCLUSIVE');
    return lock;
  } catch (err) {
    lock.close();
    if ((err as { code?: string }).code === 'SQLITE_BUSY') return null;
    throw err;
  }
}
