// File writes for install/uninstall: backups first, atomic replace, symlinks followed (a
// dotfiles-managed settings.json stays a symlink), modes kept.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export function sha256(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

export function readIfExists(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** 20260102T030405Z */
export function stamp(now = new Date()): string {
  return now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

/** Copies `file` to `<file>.rbk-backup-<stamp>` (0600) and returns the backup's path. */
export function backup(file: string, now = new Date()): string {
  const real = fs.realpathSync(file);
  let target = `${file}.rbk-backup-${stamp(now)}`;
  for (let n = 2; fs.existsSync(target); n++) target = `${file}.rbk-backup-${stamp(now)}-${n}`;
  fs.copyFileSync(real, target, fs.constants.COPYFILE_EXCL);
  fs.chmodSync(target, 0o600);
  return target;
}

/** Writes `text` to `file` atomically (temp file + rename), following a symlink, keeping the mode. */
/** `private`: whatever the file's mode was, group and others lose access (it holds a secret now). */
export function writeAtomic(file: string, text: string, mode = 0o644, opts: { private?: boolean } = {}): void {
  let target = file;
  try {
    target = fs.realpathSync(file);
  } catch {
    /* new file */
  }
  let fileMode = mode;
  try {
    fileMode = fs.statSync(target).mode & 0o7777;
  } catch {
    /* new file */
  }
  if (opts.private) fileMode &= ~0o077;
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.rbk-tmp-${process.pid}`);
  const fd = fs.openSync(tmp, 'w', fileMode);
  try {
    fs.writeFileSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.chmodSync(tmp, fileMode);
  fs.renameSync(tmp, target);
}

/** Minimal unified diff (LCS over lines) for dry-run output. */
export function unifiedDiff(before: string, after: string, label: string, context = 3): string {
  const a = before.split('\n');
  const b = after.split('\n');
  const n = a.length;
  const m = b.length;
  // LCS table; settings files are small.
  const dp: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--) dp[i]![j] = a[i] === b[j] ? dp[i + 1]![j + 1]! + 1 : Math.max(dp[i + 1]![j]!, dp[i]![j + 1]!);
  const ops: { op: ' ' | '-' | '+'; line: string; ai: number; bi: number }[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) ops.push({ op: ' ', line: a[i]!, ai: i++, bi: j++ });
    else if (i < n && (j >= m || dp[i + 1]![j]! >= dp[i]![j + 1]!)) ops.push({ op: '-', line: a[i]!, ai: i++, bi: j });
    else ops.push({ op: '+', line: b[j]!, ai: i, bi: j++ });
  }
  const out = [`--- ${label}`, `+++ ${label} (after)`];
  let k = 0;
  while (k < ops.length) {
    if (ops[k]!.op === ' ') {
      k++;
      continue;
    }
    let start = Math.max(0, k - context);
    let end = k;
    // extend the hunk while changes are within 2*context lines of each other
    for (;;) {
      while (end < ops.length && ops[end]!.op !== ' ') end++;
      let next = end;
      while (next < ops.length && ops[next]!.op === ' ' && next - end < 2 * context) next++;
      if (next < ops.length && ops[next]!.op !== ' ') end = next;
      else break;
    }
    const stop = Math.min(ops.length, end + context);
    const hunk = ops.slice(start, stop);
    const aLen = hunk.filter((o) => o.op !== '+').length;
    const bLen = hunk.filter((o) => o.op !== '-').length;
    out.push(`@@ -${hunk[0]!.ai + 1},${aLen} +${hunk[0]!.bi + 1},${bLen} @@`);
    for (const o of hunk) out.push(`${o.op}${o.line}`);
    k = stop;
    start = stop;
  }
  return out.join('\n');
}

/**
 * mkdir -p that remembers which folders it made (parents first), so that uninstall can remove
 * exactly those when they are empty again.
 */
export function mkdirRecorded(dir: string, created: string[], mode = 0o755): void {
  const missing: string[] = [];
  for (let d = path.resolve(dir); !fs.existsSync(d); d = path.dirname(d)) {
    missing.unshift(d);
    if (path.dirname(d) === d) break;
  }
  fs.mkdirSync(dir, { recursive: true, mode });
  for (const d of missing) if (!created.includes(d)) created.push(d);
}

/** Removes each of `dirs` that is empty, deepest first; returns the ones removed. */
export function removeEmptyDirs(dirs: string[]): string[] {
  const removed: string[] = [];
  for (const d of [...dirs].sort((a, b) => b.length - a.length)) {
    try {
      fs.rmdirSync(d);
      removed.push(d);
    } catch {
      /* not empty, or already gone */
    }
  }
  return removed;
}
