// A consistent copy of the live database, taken while the daemon runs: SQLite's online backup API
// (better-sqlite3's db.backup), which copies the file a few hundred pages at a time between turns
// of the event loop, so hooks keep being answered. Writes made through this connection while it
// runs are carried into the copy; the copy is the database as of the moment the backup finished.
// The copy is checked (quick_check), then gzipped (zlib runs off the main thread), fsync'd and
// renamed into place: a backup file that exists is complete.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import Database from 'better-sqlite3';
import { type Db, quickCheckFile, removeDatabaseFiles } from './db.js';

/** The tables whose rows a backup counts (and a restore is checked against). */
export const CORE_TABLES = ['sessions', 'hook_events', 'interactions', 'message_usage', 'subagents', 'transcripts'] as const;

export interface SnapshotInfo {
  file: string;
  /** Compressed size. */
  bytes: number;
  /** Of the uncompressed database. */
  databaseBytes: number;
  sha256: string;
  rows: Record<string, number>;
  schemaVersion: number;
  createdUnixMs: number;
}

/** Opens a database file read-only and says what it holds: quick_check, schema version and core row counts. */
export function inspectDatabase(file: string): { check: string; schemaVersion: number; rows: Record<string, number> } {
  const check = quickCheckFile(file);
  // A damaged file's counts would be wrong or fail: the caller refuses it on the check alone.
  if (check !== 'ok') return { check, schemaVersion: 0, rows: {} };
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const schemaVersion = db.prepare('SELECT COALESCE(MAX(version), 0) FROM schema_migrations').pluck().get() as number;
    const rows: Record<string, number> = {};
    for (const t of CORE_TABLES) rows[t] = db.prepare(`SELECT count(*) FROM ${t}`).pluck().get() as number;
    return { check, schemaVersion, rows };
  } finally {
    db.close();
  }
}

export async function snapshotDatabase(db: Db, outFile: string, onProgress?: (done: number, total: number) => void): Promise<SnapshotInfo> {
  const plain = `${outFile}.tmp-plain`;
  const packed = `${outFile}.tmp`;
  for (const f of [plain, packed]) fs.rmSync(f, { force: true });
  try {
    // Created 0600 before SQLite writes to it: a copy of every session is as private as the original.
    fs.closeSync(fs.openSync(plain, 'w', 0o600));
    await db.backup(plain, {
      progress: ({ totalPages, remainingPages }) => {
        onProgress?.(totalPages - remainingPages, totalPages);
        return 256;
      },
    });
    const createdUnixMs = Date.now();
    const info = inspectDatabase(plain);
    if (info.check !== 'ok') throw new Error(`the copy failed its check (${info.check}); the database may be damaged: run rbk doctor`);
    const hash = crypto.createHash('sha256');
    const out = fs.createWriteStream(packed, { mode: 0o600 });
    const gzip = zlib.createGzip({ level: 6 });
    gzip.on('data', (chunk: Buffer) => hash.update(chunk));
    await pipeline(fs.createReadStream(plain), gzip, out);
    const fd = fs.openSync(packed, 'r');
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    const databaseBytes = fs.statSync(plain).size;
    fs.renameSync(packed, outFile);
    return {
      file: outFile,
      bytes: fs.statSync(outFile).size,
      databaseBytes,
      sha256: hash.digest('hex'),
      rows: info.rows,
      schemaVersion: info.schemaVersion,
      createdUnixMs,
    };
  } finally {
    removeDatabaseFiles(plain);
    fs.rmSync(packed, { force: true });
  }
}

/**
 * Unpacks a backup (gzip, or a plain database file) to `outFile`, 0600, refusing more than
 * `maxBytes` (a corrupt or hostile .gz must not fill the disk).
 */
export async function unpackBackup(backup: string, outFile: string, maxBytes: number): Promise<void> {
  const head = Buffer.alloc(2);
  const fd = fs.openSync(backup, 'r');
  fs.readSync(fd, head, 0, 2, 0);
  fs.closeSync(fd);
  const gz = head[0] === 0x1f && head[1] === 0x8b;
  let written = 0;
  const limit = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      written += chunk.length;
      if (written > maxBytes) cb(new Error(`the backup unpacks to more than ${maxBytes} bytes; is it an rbk backup?`));
      else cb(null, chunk);
    },
  });
  const out = fs.createWriteStream(outFile, { mode: 0o600 });
  if (gz) await pipeline(fs.createReadStream(backup), zlib.createGunzip(), limit, out);
  else await pipeline(fs.createReadStream(backup), limit, out);
}
