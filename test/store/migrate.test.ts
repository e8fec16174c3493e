import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrate, readMigrations, type Migration } from '../../daemon/store/migrate.js';
import { REPO_ROOT } from '../support/rbk.js';

// migrate.ts's default MIGRATIONS_DIR is resolved for the compiled file (dist/daemon/store), so from
// the sources it points one level too high; name the shipped migrations explicitly.
const SHIPPED = path.join(REPO_ROOT, 'migrations');

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rbk-migrate-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const tables = (db: Database.Database): string[] =>
  (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`).all() as { name: string }[]).map((r) => r.name);
const applied = (db: Database.Database): { version: number; name: string }[] =>
  db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all() as { version: number; name: string }[];

describe('the shipped migrations', () => {
  it('are numbered from 0001 without gaps and create the capture tables', () => {
    const ms = readMigrations(SHIPPED);
    expect(ms.length).toBeGreaterThanOrEqual(1);
    expect(ms.map((m) => m.version)).toEqual(ms.map((_, i) => i + 1));
    expect(ms[0]!.name).toBe('capture');

    const db = new Database(':memory:');
    expect(migrate(db, ms)).toEqual({ from: 0, to: ms.length });
    expect(tables(db)).toEqual(expect.arrayContaining(['hook_events', 'schema_migrations', 'sessions', 'transcripts']));
    expect(applied(db).map((r) => r.version)).toEqual(ms.map((m) => m.version));
    db.close();
  });

  it('are applied once: migrating again, or after reopening the file, changes nothing', () => {
    const file = path.join(dir, 'rbk.db');
    const ms = readMigrations(SHIPPED);
    const latest = ms.length;
    let db = new Database(file);
    expect(migrate(db, ms)).toEqual({ from: 0, to: latest });
    const stamp = db.prepare('SELECT applied_at FROM schema_migrations WHERE version = 1').get();
    db.prepare(`INSERT INTO sessions (id, host, created_at, updated_at) VALUES ('s1', 'h', 1, 1)`).run();
    expect(migrate(db, ms)).toEqual({ from: latest, to: latest });
    db.close();

    db = new Database(file);
    expect(migrate(db, readMigrations(SHIPPED))).toEqual({ from: latest, to: latest });
    expect(applied(db)).toHaveLength(latest);
    expect(db.prepare('SELECT applied_at FROM schema_migrations WHERE version = 1').get()).toEqual(stamp);
    // Data survives: nothing was re-created.
    expect(db.prepare('SELECT id FROM sessions').all()).toEqual([{ id: 's1' }]);
    db.close();
  });
});

describe('migrate()', () => {
  const m = (version: number, name: string, sql: string): Migration => ({ version, name, sql });

  it('applies only the pending migrations, in order', () => {
    const db = new Database(':memory:');
    expect(migrate(db, [m(1, 'a', 'CREATE TABLE a (x)')])).toEqual({ from: 0, to: 1 });
    expect(migrate(db, [m(1, 'a', 'CREATE TABLE a (x)'), m(2, 'b', 'CREATE TABLE b (y); INSERT INTO a VALUES (1)')])).toEqual({ from: 1, to: 2 });
    expect(tables(db)).toEqual(['a', 'b', 'schema_migrations']);
    expect(db.prepare('SELECT count(*) AS n FROM a').get()).toEqual({ n: 1 });
    expect(applied(db)).toEqual([
      { version: 1, name: 'a' },
      { version: 2, name: 'b' },
    ]);
  });

  it('runs all pending migrations in one transaction: a failure in the last leaves none applied', () => {
    const db = new Database(':memory:');
    const broken = [
      m(1, 'a', 'CREATE TABLE a (x); INSERT INTO a VALUES (1)'),
      m(2, 'b', 'CREATE TABLE b (y)'),
      m(3, 'c', 'CREATE TABLE c (z); THIS IS NOT SQL'),
    ];
    expect(() => migrate(db, broken)).toThrow(/syntax error/);
    expect(tables(db)).toEqual(['schema_migrations']);
    expect(applied(db)).toEqual([]);
    expect(db.inTransaction).toBe(false);

    // Fixed, it applies cleanly from scratch.
    const fixed = [...broken.slice(0, 2), m(3, 'c', 'CREATE TABLE c (z)')];
    expect(migrate(db, fixed)).toEqual({ from: 0, to: 3 });
    expect(tables(db)).toEqual(['a', 'b', 'c', 'schema_migrations']);
    expect(db.prepare('SELECT count(*) AS n FROM a').get()).toEqual({ n: 1 });
  });

  it('refuses a database newer than the code', () => {
    const db = new Database(':memory:');
    migrate(db, [m(1, 'a', 'CREATE TABLE a (x)'), m(2, 'b', 'CREATE TABLE b (x)')]);
    expect(() => migrate(db, [m(1, 'a', 'CREATE TABLE a (x)')])).toThrow(/schema version 2, newer than this rbk \(1\); upgrade rbk/);
  });
});

describe('readMigrations()', () => {
  const write = (files: Record<string, string>) => {
    for (const [name, sql] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), sql);
  };

  it('sorts by number and ignores non-.sql files', () => {
    write({ '0002_second.sql': 'B', '0001_first.sql': 'A', 'README.md': 'x' });
    expect(readMigrations(dir)).toEqual([
      { version: 1, name: 'first', sql: 'A' },
      { version: 2, name: 'second', sql: 'B' },
    ]);
  });

  it('detects a gap in the numbering', () => {
    write({ '0001_a.sql': 'A', '0003_c.sql': 'C' });
    expect(() => readMigrations(dir)).toThrow('migrations must be numbered 0001, 0002, … without gaps; found 3 at position 2');
  });

  it('detects a missing 0001 and a duplicate number', () => {
    write({ '0002_b.sql': 'B' });
    expect(() => readMigrations(dir)).toThrow(/found 2 at position 1/);
    fs.rmSync(path.join(dir, '0002_b.sql'));
    write({ '0001_a.sql': 'A', '0001_again.sql': 'A2' });
    expect(() => readMigrations(dir)).toThrow(/without gaps; found 1 at position 2/);
  });

  it('refuses badly named files', () => {
    write({ '1_capture.sql': 'A' });
    expect(() => readMigrations(dir)).toThrow('migration file 1_capture.sql must be named NNNN_name.sql');
  });
});
