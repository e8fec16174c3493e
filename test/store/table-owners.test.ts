// Each core table has one writer (daemon/store/, CONTRIBUTING's "one owner module"): no other
// module of the daemon, the CLI, the hook or the console writes SQL against it. A module that
// needs a change calls the owner, whose merge rules are written down once.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SOURCE_DIRS = ['daemon', 'cli', 'common', 'hook', 'ui'];

/** Table → the one module allowed to INSERT, UPDATE, DELETE or REPLACE its rows. */
const OWNERS: Record<string, string> = {
  sessions: 'daemon/store/session-store.ts',
  interactions: 'daemon/store/interactions.ts',
  hook_events: 'daemon/store/hook-event-store.ts',
  message_usage: 'daemon/store/usage-store.ts',
};

const WRITE = /\b(INSERT(?:\s+OR\s+\w+)?\s+INTO|UPDATE(?:\s+OR\s+\w+)?|DELETE\s+FROM|REPLACE\s+INTO)\s+["`]?([A-Za-z_]+)/gi;

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'node_modules' && e.name !== 'dist' && e.name !== 'generated') out.push(...sourceFiles(p));
    } else if (/\.(ts|tsx|mts|mjs|js)$/.test(e.name)) out.push(p);
  }
  return out;
}

/** Every write statement against a core table: "file:line TABLE", for files other than the table's owner. */
function writesOutsideOwners(files: readonly string[], read: (file: string) => string): string[] {
  const found: string[] = [];
  for (const file of files) {
    const rel = path.relative(ROOT, file).split(path.sep).join('/');
    const text = read(file);
    for (const m of text.matchAll(WRITE)) {
      const table = m[2]!.toLowerCase();
      const owner = OWNERS[table];
      if (owner === undefined || owner === rel) continue;
      found.push(`${rel}:${text.slice(0, m.index).split('\n').length} ${m[1]!.split(/\s+/)[0]!.toUpperCase()} ${table}`);
    }
  }
  return found;
}

describe('core table owners', () => {
  const files = SOURCE_DIRS.map((d) => path.join(ROOT, d))
    .filter((d) => fs.existsSync(d))
    .flatMap(sourceFiles);

  it('finds the sources it checks, and the owners among them', () => {
    expect(files.length).toBeGreaterThan(100);
    const rel = new Set(files.map((f) => path.relative(ROOT, f).split(path.sep).join('/')));
    for (const owner of Object.values(OWNERS)) expect(rel.has(owner), owner).toBe(true);
  });

  it('no module but the owner writes sessions, interactions, hook_events or message_usage', () => {
    expect(writesOutsideOwners(files, (f) => fs.readFileSync(f, 'utf8'))).toEqual([]);
  });

  it('sees a write however it is spelled (so the check above cannot pass by missing one)', () => {
    const fake = path.join(ROOT, 'daemon/ingest/example.ts');
    const text = [
      "db.prepare('UPDATE sessions SET pinned = 1')",
      'db.prepare(`INSERT OR IGNORE INTO hook_events (event_id) VALUES (?)`)',
      "db.prepare('delete   from\\n message_usage WHERE 1')".replace('\\n', '\n'),
      'db.prepare(`REPLACE INTO interactions (id) VALUES (1)`)',
      "db.prepare('UPDATE transcripts SET lines = 0')",
      "db.prepare('SELECT * FROM sessions')",
    ].join('\n');
    expect(writesOutsideOwners([fake], () => text)).toEqual([
      'daemon/ingest/example.ts:1 UPDATE sessions',
      'daemon/ingest/example.ts:2 INSERT hook_events',
      'daemon/ingest/example.ts:3 DELETE message_usage',
      'daemon/ingest/example.ts:5 REPLACE interactions',
    ]);
  });
});
