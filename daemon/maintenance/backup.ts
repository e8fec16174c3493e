// Backups of the database: `rbk backup` and the `backup` job. Claude Code deletes transcripts after
// 30 days, so for older sessions the store is the only copy; a backup is what survives a dead disk
// or a damaged file. Each backup is one gzip file (store/snapshot.ts) named
// rbk-<host>-<UTC time>.db.gz, written to a folder (backup.dir, or --to DIR) or to the central
// copy's storage under backups/host=<host>/ (S3 encrypts it as it does the sync's objects).
// After a backup is complete, this host's backups beyond backup.keep are deleted, oldest first.
import fs from 'node:fs';
import path from 'node:path';
import type { RbkPaths } from '../../common/paths.js';
import { localHostname } from '../../common/host.js';
import type { RbkConfig } from '../config/schema.js';
import { UserError } from '../errors.js';
import type { Logger } from '../log.js';
import { type Db, fileTimestamp } from '../store/db.js';
import type { StoreHealth } from '../store/health.js';
import { snapshotDatabase, type SnapshotInfo } from '../store/snapshot.js';
import type { StorageBackend } from '../sync/backend.js';
import { backupKey, backupPrefix, hostPartition } from '../sync/layout.js';

/** The central copy's put holds an object in memory: a bigger backup goes to a folder. */
const CENTRAL_COPY_MAX_BYTES = 1024 * 1024 * 1024;

export type BackupTarget = { kind: 'dir'; dir: string } | { kind: 'central-copy' };

export interface BackupResult extends Omit<SnapshotInfo, 'file'> {
  name: string;
  /** A file path, or s3://bucket/prefix/backups/host=<host>/<name>. */
  location: string;
  durationMs: number;
  /** Older backups deleted to keep backup.keep. */
  removed: string[];
}

export interface BackupEnv {
  db: Db;
  paths: RbkPaths;
  config: RbkConfig;
  log: Logger;
  health: StoreHealth;
  backend: StorageBackend | null;
  backendError: string | null;
}

const NAME = /^rbk-([a-z0-9._-]{1,63})-(\d{8}T\d{6}Z)\.db\.gz$/;

export function backupName(host: string, at: Date): string {
  return `rbk-${hostPartition(host)}-${fileTimestamp(at)}.db.gz`;
}

/** The configured target (backup.to, backup.dir relative to the data dir). */
export function configuredTarget(config: RbkConfig, paths: Pick<RbkPaths, 'dataDir'>): BackupTarget {
  return config.backup.to === 'central-copy' ? { kind: 'central-copy' } : { kind: 'dir', dir: path.resolve(paths.dataDir, config.backup.dir) };
}

/** Takes backups; one at a time (the job and `rbk backup` share it). Built once in daemon/main.ts. */
export class Backups {
  private running = false;

  constructor(private readonly env: BackupEnv) {}

  async run(target: BackupTarget, onProgress?: (done: number, total: number) => void): Promise<BackupResult> {
    const env = this.env;
    if (env.health.damage) throw new UserError('the database is damaged: a backup of it would keep the damage. Run rbk recover first', 'precondition');
    if (target.kind === 'central-copy' && !env.backend)
      throw new UserError(`no central copy to back up to: ${env.backendError ?? 'integrations.claude.sessionStorage is not usable'}`, 'precondition');
    if (this.running) throw new UserError('a backup is already running; wait for it (rbk jobs shows it)', 'busy');
    this.running = true;
    try {
      return await this.write(target, onProgress);
    } finally {
      this.running = false;
    }
  }

  private async write(target: BackupTarget, onProgress?: (done: number, total: number) => void): Promise<BackupResult> {
    const env = this.env;
    const started = Date.now();
    const host = hostPartition(localHostname());
    const name = backupName(host, new Date());
    const dir = target.kind === 'dir' ? target.dir : path.join(env.paths.dataDir, 'backup-staging');
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const snap = await snapshotDatabase(env.db, path.join(dir, name), onProgress);
    const { file: _file, ...info } = snap;
    let location = snap.file;
    let removed: string[];
    if (target.kind === 'dir') {
      removed = pruneDir(dir, host, env.config.backup.keep);
    } else {
      try {
        if (snap.bytes > CENTRAL_COPY_MAX_BYTES)
          throw new UserError(
            `the backup is ${snap.bytes} bytes compressed, more than the central copy takes in one object (${CENTRAL_COPY_MAX_BYTES}); back up to a folder: rbk backup --to DIR`,
            'exhausted',
          );
        const backend = env.backend!;
        const key = backupKey(host, name);
        await backend.put(key, fs.readFileSync(snap.file), { sha256: snap.sha256, contentType: 'application/gzip' });
        location = `${backend.location.replace(/\/$/, '')}/${key}`;
        removed = await pruneCentralCopy(backend, host, env.config.backup.keep);
      } finally {
        fs.rmSync(snap.file, { force: true });
      }
    }
    const result: BackupResult = { ...info, name, location, durationMs: Date.now() - started, removed };
    env.log.info('backup written', { location, bytes: result.bytes, rows: result.rows, removed: removed.length });
    return result;
  }
}

function pruneDir(dir: string, host: string, keep: number): string[] {
  const mine = fs
    .readdirSync(dir)
    .filter((n) => NAME.exec(n)?.[1] === host)
    .sort();
  const old = mine.slice(0, Math.max(0, mine.length - keep));
  for (const n of old) fs.rmSync(path.join(dir, n), { force: true });
  return old.map((n) => path.join(dir, n));
}

async function pruneCentralCopy(backend: StorageBackend, host: string, keep: number): Promise<string[]> {
  const keys = (await backend.list(backupPrefix(host))).map((o) => o.key).filter((k) => NAME.test(path.posix.basename(k)));
  keys.sort();
  const old = keys.slice(0, Math.max(0, keys.length - keep));
  if (old.length > 0) await backend.delete(old);
  return old;
}

/** This host's backups in the central copy, newest last: for `rbk restore central-copy:latest`. */
export async function centralCopyBackups(backend: StorageBackend, host = hostPartition(localHostname())): Promise<{ key: string; bytes: number }[]> {
  return (await backend.list(backupPrefix(host))).filter((o) => NAME.test(path.posix.basename(o.key))).map((o) => ({ key: o.key, bytes: o.bytes }));
}
