// The per-installation HMAC key behind redaction tokens. Anyone holding it can confirm a guessed
// secret against a token, so it must be private to the user and must never change once tokens
// exist (changing it breaks correlation across stored rows).
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const KEY_BYTES = 32;

function errorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

function readExistingKey(file: string): Buffer | null {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY);
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return null;
    throw err;
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw new Error(`redaction key ${file} is not a regular file`);
    if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) {
      const mode = (stat.mode & 0o777).toString(8).padStart(4, '0');
      throw new Error(
        `refusing to use redaction key ${file}: it is accessible by group or others (mode ${mode}); ` +
          `anyone who can read it can test guesses against redacted secrets. Fix with: chmod 600 ${JSON.stringify(file)}`,
      );
    }
    const data = fs.readFileSync(fd);
    if (data.length === KEY_BYTES) return data;
    // Operators may provision the key as hex text.
    const text = data.toString('utf8').trim();
    if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
    throw new Error(
      `redaction key ${file} is corrupt (${data.length} bytes, expected ${KEY_BYTES} raw bytes or 64 hex characters). ` +
        'Restore it from a backup; deleting it creates a new key and tokens will no longer match earlier ones.',
    );
  } finally {
    fs.closeSync(fd);
  }
}

function fsyncDirectory(dir: string): void {
  try {
    const fd = fs.openSync(dir, fs.constants.O_RDONLY);
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // Not every platform lets a directory be opened for fsync; the key file itself is synced.
  }
}

/** 32 random bytes, created once with mode 0600; concurrent callers all end up with the same key. */
export function loadOrCreateRedactionKey(file: string): Buffer {
  const existing = readExistingKey(file);
  if (existing) return existing;

  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const key = randomBytes(KEY_BYTES);
  // Write a private temp file, then link() it into place: the key appears complete or not at all,
  // and link() fails instead of clobbering a key another process created in the meantime.
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
  try {
    fs.writeSync(fd, key);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.linkSync(tmp, file);
  } catch (err) {
    const code = errorCode(err);
    if (code === 'EEXIST') {
      const winner = readExistingKey(file);
      if (winner) return winner;
      throw err;
    }
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw err;
    // Filesystems without hard links: exclusive create is still no-clobber, only not all-or-nothing.
    const direct = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
    try {
      fs.writeSync(direct, key);
      fs.fsyncSync(direct);
    } finally {
      fs.closeSync(direct);
    }
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  fsyncDirectory(dir);
  return key;
}
