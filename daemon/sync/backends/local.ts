// The `local` backend: one file per object under a base directory (localBaseDir, resolved against
// the data dir). Each put writes a temp file, fsyncs it, reads it back to check its sha256, then
// renames it into place and fsyncs the directory, so a reader (or a crash) sees the old object or
// the new one, never a torn one. Files are 0600 and directories 0700, like the rest of the data dir.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ObjectInfo, PutResult, StorageBackend } from '../backend.js';
import { checkKey, checkPrefix } from './keys.js';

const TMP_MARK = '.tmp-';

export class ChecksumMismatchError extends Error {}

export function sha256Hex(body: Uint8Array): string {
  return crypto.createHash('sha256').update(body).digest('hex');
}

export class LocalBackend implements StorageBackend {
  readonly name = 'local';
  readonly location: string;

  constructor(readonly baseDir: string) {
    if (!path.isAbsolute(baseDir)) throw new Error(`local backend base dir must be absolute, got ${baseDir}`);
    this.location = baseDir;
  }

  private pathOf(key: string): string {
    const file = path.join(this.baseDir, ...checkKey(key).split('/'));
    // checkKey already refuses "..", this keeps the invariant visible.
    if (!file.startsWith(this.baseDir + path.sep)) throw new Error(`object key ${key} resolves outside ${this.baseDir}`);
    return file;
  }

  async put(key: string, body: Uint8Array, opts: { sha256: string; contentType: string }): Promise<PutResult> {
    const file = this.pathOf(key);
    const given = sha256Hex(body);
    if (given !== opts.sha256) throw new ChecksumMismatchError(`refusing to store ${key}: its bytes hash to ${given}, not the expected ${opts.sha256}`);
    const dir = path.dirname(file);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = `${file}${TMP_MARK}${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
    try {
      const fd = fs.openSync(tmp, 'wx', 0o600);
      try {
        let off = 0;
        while (off < body.length) off += fs.writeSync(fd, body, off, body.length - off);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      const stored = sha256Hex(fs.readFileSync(tmp));
      if (stored !== opts.sha256) throw new ChecksumMismatchError(`${key}: the file written hashes to ${stored}, not ${opts.sha256}; the disk may be failing`);
      fs.renameSync(tmp, file);
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw err;
    }
    fsyncDir(dir);
    return { sha256: opts.sha256, bytes: body.length };
  }

  async get(key: string): Promise<Uint8Array | null> {
    try {
      return fs.readFileSync(this.pathOf(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    checkPrefix(prefix);
    // Start at the deepest directory the prefix names, then filter on the full prefix.
    const dirPart = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    const start = dirPart ? path.join(this.baseDir, ...dirPart.split('/')) : this.baseDir;
    const out: ObjectInfo[] = [];
    const walk = (dir: string, rel: string) => {
      let entries: fs.Dirent[];
      try {
        entries = fs.readdirSync(dir, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return;
        throw err;
      }
      for (const e of entries) {
        const key = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) walk(path.join(dir, e.name), key);
        else if (e.isFile() && !e.name.includes(TMP_MARK) && key.startsWith(prefix)) {
          // put() renames a new file into place, so a replaced object has a new inode.
          const st = fs.statSync(path.join(dir, e.name), { bigint: true });
          out.push({ key, bytes: Number(st.size), version: `${st.ino}-${st.size}-${st.mtimeNs}` });
        }
      }
    };
    walk(start, dirPart);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(keys: string[]): Promise<void> {
    for (const key of keys) {
      const file = this.pathOf(key);
      fs.rmSync(file, { force: true });
      // Leave no empty partition directories behind (stop at the base dir).
      let dir = path.dirname(file);
      while (dir.startsWith(this.baseDir + path.sep)) {
        try {
          fs.rmdirSync(dir);
        } catch {
          break;
        }
        dir = path.dirname(dir);
      }
    }
  }

  async close(): Promise<void> {}
}

function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    /* some filesystems refuse fsync on a directory; the rename is still atomic */
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
