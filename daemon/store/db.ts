import fs from 'node:fs';
import Database from 'better-sqlite3';
import { migrate } from './migrate.js';

export type Db = Database.Database;

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
