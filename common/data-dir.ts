// Creating the data dir, wherever it happens first (the daemon, rbk start, rbk install): mode 0700,
// and the folders above it that had to be made along the way are written down in
// created-parents.json, so that `rbk uninstall --purge` can take away exactly those (when empty)
// and leave HOME as it found it.
import fs from 'node:fs';
import path from 'node:path';

export const CREATED_PARENTS_FILE = 'created-parents.json';

export function ensureDataDir(dataDir: string): void {
  if (fs.existsSync(dataDir)) return;
  const parents: string[] = [];
  for (let d = path.dirname(path.resolve(dataDir)); !fs.existsSync(d); d = path.dirname(d)) {
    parents.unshift(d);
    if (path.dirname(d) === d) break;
  }
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (parents.length > 0) fs.writeFileSync(path.join(dataDir, CREATED_PARENTS_FILE), `${JSON.stringify(parents)}\n`, { mode: 0o600 });
}
