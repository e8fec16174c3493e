import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { packageRoot } from '../../common/root.js';
import { registerFunctions } from './functions.js';

export const MIGRATIONS_DIR = path.join(packageRoot(), 'migrations');

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Numbered, append-only SQL files: `0001_capture.sql`, `0002_….sql`. */
export function readMigrations(dir = MIGRATIONS_DIR): Migration[] {
  const found = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .map((file) => {
      const match = /^(\d{4})_([a-z0-9_]+)\.sql$/.exec(file);
      if (!match) throw new Error(`migration file ${file} must be named NNNN_name.sql`);
      return { version: Number(match[1]), name: match[2]!, sql: fs.readFileSync(path.join(dir, file), 'utf8') };
    })
    .sort((a, b) => a.version - b.version);
  found.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migrations must be numbered 0001, 0002, … without gaps; found ${m.version} at position ${i + 1}`);
  });
  return found;
}

/** Applies every pending migration in one transaction: either all land or none. */
export function migrate(db: Database.Database, migrations = readMigrations()): { from: number; to: number } {
  // Migrations (0015 on) and the triggers they create call rbk's functions.
  registerFunctions(db);
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
  const current = (db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations').get() as { v: number }).v;
  const latest = migrations.at(-1)?.version ?? 0;
  if (current > latest) {
    throw new Error(`the database is at schema version ${current}, newer than this rbk (${latest}); upgrade rbk or point RBK_DATA_DIR elsewhere`);
  }
  const pending = migrations.filter((m) => m.version > current);
  if (pending.length === 0) return { from: current, to: current };
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  db.transaction(() => {
    for (const m of pending) {
      db.exec(m.sql);
      record.run(m.version, m.name, Date.now());
    }
  }).immediate();
  return { from: current, to: latest };
}
