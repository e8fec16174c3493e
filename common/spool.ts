// The spool is where `rbk hook` leaves an event when the daemon cannot take it. One event per
// file, written to a temp name, fsync'd, then renamed into place: concurrent hooks never share a
// file, a reader never sees half an event, and the drain can delete a file only after its event
// is committed to SQLite. Re-draining after a crash is harmless because inserts are idempotent on
// the event id, which is also the file name.
import fs from 'node:fs';
import path from 'node:path';

export const SPOOL_VERSION = 1;
export const SPOOL_SUFFIX = '.json';
const EVENT_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

export interface SpoolRecord {
  v: number;
  event_id: string;
  event_name: string;
  hook_started_unix_ms: number;
  spooled_unix_ms: number;
  /** Why the hook could not deliver: "no daemon", "timeout", "UNAVAILABLE: …". */
  reason: string;
  /** The hook's stdin, base64, because it need not be valid UTF-8. */
  payload_b64: string;
}

export function writeSpoolRecord(spoolDir: string, record: SpoolRecord): string {
  if (!EVENT_ID.test(record.event_id)) throw new Error(`invalid spool event id ${record.event_id}`);
  fs.mkdirSync(spoolDir, { recursive: true, mode: 0o700 });
  const final = path.join(spoolDir, record.event_id + SPOOL_SUFFIX);
  const tmp = path.join(spoolDir, `.tmp-${record.event_id}`);
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    try {
      fs.writeSync(fd, `${JSON.stringify(record)}\n`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, final);
  } catch (err) {
    // A full disk fails the write: leave no empty temp file behind to take an inode.
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  return final;
}

/**
 * Creates `dir` (0700) if needed and checks that it and its parent are real directories of this
 * user's, closed to everyone else. The fallback spool lives in a shared place (the temp dir), where
 * someone else could have created the folder first, to read our events or plant their own.
 */
export function ensurePrivateDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const uid = process.getuid?.();
  for (const d of [path.dirname(dir), dir]) {
    const st = fs.lstatSync(d);
    if (!st.isDirectory()) throw new Error(`${d} is not a directory (a symlink?); refusing to spool there`);
    if (uid !== undefined && st.uid !== uid) throw new Error(`${d} belongs to uid ${st.uid}, not to this user; refusing to spool there`);
    if ((st.mode & 0o077) !== 0) throw new Error(`${d} is open to other users (mode ${(st.mode & 0o777).toString(8)}); refusing to spool there`);
  }
}

/** Event ids of the complete spool files, oldest first. */
export function listSpooled(spoolDir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(spoolDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return names
    .filter((n) => n.endsWith(SPOOL_SUFFIX) && EVENT_ID.test(n.slice(0, -SPOOL_SUFFIX.length)))
    .map((n) => n.slice(0, -SPOOL_SUFFIX.length))
    .sort();
}

export function parseSpoolRecord(text: string, expectedId: string): SpoolRecord {
  const r = JSON.parse(text) as Partial<SpoolRecord>;
  if (r.v !== SPOOL_VERSION) throw new Error(`unsupported spool version ${String(r.v)}`);
  if (r.event_id !== expectedId) throw new Error(`spool file ${expectedId} holds event ${String(r.event_id)}`);
  if (typeof r.payload_b64 !== 'string') throw new Error('spool record has no payload');
  return r as SpoolRecord;
}
