// Asking for help never changes anything. Every command of the command table is run with --help
// and -h (and after its arguments, where it takes some), against a real daemon holding sessions
// that retention would delete, an install that uninstall would remove, and redactable rows; then
// with unknown or malformed arguments. The database's content, every file under HOME and the
// data dir, and the daemon itself must be exactly as before.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../cli/command-table.js';
import { registerFunctions } from '../../daemon/store/db.js';
import { assertBuilt, jobsOnRequestOnly, makeDataDir, REPO_ROOT, runCli, startDaemon, type DaemonProcess, type TempRbk } from '../support/rbk.js';

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'claude-code', 'transcripts');

/** Every table's rows, in a stable order, hashed: the store's content, whatever its pages look like. */
function dbContentHash(file: string): string {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  registerFunctions(db);
  try {
    const h = createHash('sha256');
    const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).pluck().all() as string[];
    for (const t of tables) {
      h.update(`\0table ${t}\0`);
      for (const row of db.prepare(`SELECT * FROM "${t.replace(/"/g, '""')}" ORDER BY 1`).iterate())
        h.update(JSON.stringify(row, (_k, v) => (Buffer.isBuffer(v) ? v.toString('hex') : typeof v === 'bigint' ? String(v) : v)));
    }
    return h.digest('hex');
  } finally {
    db.close();
  }
}

/** Every path under `root` with its kind, size, mode, mtime and content hash (SQLite's shared-memory index aside). */
function tree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      const rel = path.relative(root, p);
      if (rel.endsWith('-shm')) continue;
      const st = fs.lstatSync(p);
      if (e.isDirectory()) {
        out[`${rel}/`] = `dir ${(st.mode & 0o777).toString(8)}`;
        walk(p);
      } else if (e.isFile()) {
        out[rel] = `${(st.mode & 0o777).toString(8)} ${st.size} ${st.mtimeMs} ${createHash('sha256').update(fs.readFileSync(p)).digest('hex')}`;
      } else out[rel] = `other ${(st.mode & 0o777).toString(8)}`;
    }
  };
  walk(root);
  return out;
}

let t: TempRbk;
let d: DaemonProcess;
let home: string;
const env = () => ({ HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), PATH: `${path.join(home, 'nobus')}${path.delimiter}${process.env.PATH}` });

beforeAll(async () => {
  assertBuilt();
  // Nothing changes the store on its own during the test: no job on its cron schedule, no upload
  // of idle sessions. Retention keeps 30 days, so every fixture session (from 2025) is one it
  // would delete.
  t = makeDataDir({
    config: [jobsOnRequestOnly(), 'retention:', '  local: { days: 30 }', 'sync:', '  automatic: false'].join('\n'),
  });
  home = path.join(t.root, 'home');
  fs.mkdirSync(path.join(home, 'nobus'), { recursive: true });
  // A systemctl that finds no user bus, as in a container: install would fall back, not fail.
  fs.writeFileSync(path.join(home, 'nobus', 'systemctl'), '#!/bin/sh\necho "Failed to connect to bus: No medium found" >&2\nexit 1\n', { mode: 0o755 });
  d = await startDaemon(t);
  const projects = path.join(t.root, 'projects');
  fs.cpSync(FIXTURES, projects, { recursive: true, filter: (src) => !src.endsWith('README.txt') });
  const imp = await runCli(t, ['import', '--json', projects], { timeoutMs: 120_000 });
  expect(imp.code, imp.stderr).toBe(0);
  const inst = await runCli(t, ['install', '--no-service'], { env: env(), cwd: home });
  expect(inst.code, inst.stderr).toBe(0);
  // There is something to lose: retention would delete sessions now.
  const plan = JSON.parse((await runCli(t, ['retention', '--dry-run', '--json'])).stdout) as { sessions: unknown[] };
  expect(plan.sessions.length).toBeGreaterThan(0);
}, 180_000);

afterAll(async () => {
  await d?.stop();
  t?.cleanup();
});

interface State {
  db: string;
  home: Record<string, string>;
  data: Record<string, string>;
}
const state = (): State => ({ db: dbContentHash(t.db), home: tree(home), data: tree(t.dataDir) });

/** Every way of asking one command for help: --help and -h, alone and after its arguments. */
function helpInvocations(path_: string[], args: { name: string; required?: boolean; choices?: string[] }[]): string[][] {
  const sample = (a: { name: string; choices?: string[] }) => (a.choices ? a.choices[0]! : a.name === 'name' ? 'retention' : a.name === 'path' ? '/' : 'abc');
  const withArgs = args.length > 0 ? [...path_, ...args.map(sample)] : null;
  return [
    [...path_, '--help'],
    [...path_, '-h'],
    ...(withArgs
      ? [
          [...withArgs, '--help'],
          [...withArgs, '-h'],
          [...path_, '--help', ...args.map(sample)],
        ]
      : []),
    ['help', ...path_],
  ];
}

describe('--help changes nothing', () => {
  it('for every command in the table, however help is asked for', async () => {
    const before = state();
    const asked: string[] = [];
    for (const c of COMMANDS) {
      for (const argv of helpInvocations(c.path, c.args ?? [])) {
        // Destructive commands also with --yes, which must not turn help into a run.
        for (const extra of c.destructive ? [[], ['--yes'], ['--yes', '--purge']] : [[]]) {
          if (extra.includes('--purge') && c.path[0] !== 'uninstall') continue;
          const full = [...argv, ...extra];
          const r = await runCli(t, full, { env: env(), cwd: home, stdin: '{"session_id":"help-must-not-store","hook_event_name":"Stop"}' });
          asked.push(full.join(' '));
          expect(r.code, `rbk ${full.join(' ')}: ${r.stderr}`).toBe(0);
          expect(r.stdout, `rbk ${full.join(' ')}`).toContain(`rbk ${c.path.join(' ')}`);
          expect(r.stdout, `rbk ${full.join(' ')}`).toContain('Options:');
        }
      }
    }
    // The daemon is the same process, still serving; nothing was stored, deleted, written or removed.
    expect(d.isRunning()).toBe(true);
    expect((await runCli(t, ['status', '--json'])).code).toBe(0);
    const after = state();
    expect(after.db).toBe(before.db);
    expect(after.home).toEqual(before.home);
    expect(after.data).toEqual(before.data);
    expect(asked.length).toBeGreaterThan(COMMANDS.length * 4);
    // rbk hook --help sends nothing either (its stdin held an event).
    const hooks = new Database(t.db, { readonly: true }).prepare(`SELECT count(*) FROM hook_events WHERE session_id = 'help-must-not-store'`).pluck().get();
    expect(hooks).toBe(0);
  }, 600_000);

  it('nor does a command with an unknown, misspelled or malformed argument: it is refused before it runs', async () => {
    const before = state();
    const refused: string[][] = [
      ['retention', '--yes', '--bogus'],
      ['retention', '--yes', 'now'],
      ['retention', '--dryrun', '--yes'],
      ['jobs', 'run', 'retention', '--yes', '--bogus'],
      ['jobs', 'run', 'retention', 'compact', '--yes'],
      ['redact', '--yes', '--session'],
      ['redact', '--yes', '--no-progres'],
      ['uninstall', '--yes', '--purg'],
      ['uninstall', '--yes', '--purge', 'everything'],
      ['install', '--project'],
      ['install', '--no-servic'],
      ['import', '--yes', '/'],
      ['sessions', 'pin'],
      ['learn', 'abc', '--synthesizer', 'gpt'],
      ['learn', 'abc', '--incident-id', '../../etc'],
      ['sessions', '--limit', '0'],
      ['usage', 'dayly'],
    ];
    for (const argv of refused) {
      const r = await runCli(t, argv, { env: env(), cwd: home });
      expect(r.code, `rbk ${argv.join(' ')}: ${r.stdout}${r.stderr}`).toBe(2);
      expect(r.stdout, `rbk ${argv.join(' ')}`).toBe('');
      expect(r.stderr, `rbk ${argv.join(' ')}`).toMatch(/^rbk: /);
    }
    expect(d.isRunning()).toBe(true);
    const after = state();
    expect(after.db).toBe(before.db);
    expect(after.home).toEqual(before.home);
    expect(after.data).toEqual(before.data);
  }, 300_000);

  it('a destructive command without a terminal and without --yes shows what it would do, changes nothing, and says how to go ahead', async () => {
    const before = state();
    for (const argv of [['retention'], ['jobs', 'run', 'retention'], ['uninstall'], ['uninstall', '--purge']]) {
      const r = await runCli(t, argv, { env: env(), cwd: home });
      expect(r.code, `rbk ${argv.join(' ')}`).toBe(2);
      expect(r.stderr).toContain('run it again with --yes');
    }
    const ret = await runCli(t, ['retention'], { env: env(), cwd: home });
    expect(ret.stderr).toMatch(/\d+ sessions would be deleted:/);
    const un = await runCli(t, ['uninstall', '--purge'], { env: env(), cwd: home });
    expect(un.stderr).toContain(`DELETE ${t.dataDir}`);
    expect(d.isRunning()).toBe(true);
    const after = state();
    expect(after.db).toBe(before.db);
    expect(after.home).toEqual(before.home);
    expect(after.data).toEqual(before.data);
  }, 120_000);
});
