// Helpers for integration tests that drive the real rbk processes: the daemon (`node bin/rbkd.js`),
// the CLI (`node bin/rbk.js`) and the bundled hook (`node dist/hook/rbk-hook.cjs`). Nothing of
// ours is mocked; tests read the SQLite file directly (read-only) to check what was stored.
//
// These helpers run the build output, so `npm run build` must have run (npm test does it first).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import Database from 'better-sqlite3';
import { DAEMON_NODE_FLAGS } from '../../cli/install/locate.js';
import { registerFunctions } from '../../daemon/store/db.js';
import { unpackInteraction } from '../../daemon/store/line-codec.js';
import { configSchema } from '../../daemon/config/schema.js';
import type { StoredHookEvent } from '../../daemon/store/rows.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const RBKD_BIN = path.join(REPO_ROOT, 'bin', 'rbkd.js');
export const RBK_BIN = path.join(REPO_ROOT, 'bin', 'rbk.js');
export const HOOK_BUNDLE = path.join(REPO_ROOT, 'dist', 'hook', 'rbk-hook.cjs');
const BUILT_FILES = [HOOK_BUNDLE, path.join(REPO_ROOT, 'dist', 'daemon', 'main.js'), path.join(REPO_ROOT, 'dist', 'cli', 'main.js')];

/** Throws with the fix when the build output the real binaries load is missing. */
export function assertBuilt(): void {
  const missing = BUILT_FILES.filter((f) => !fs.existsSync(f));
  if (missing.length > 0) {
    throw new Error(
      `build output missing (${missing.map((f) => path.relative(REPO_ROOT, f)).join(', ')}): these tests run the real rbkd/rbk/hook from dist/. Run \`npm run build\` first (\`npm test\` does).`,
    );
  }
}

/**
 * Config lines that put every job the daemon has (every key of config `jobs`, so a new job cannot
 * be forgotten) on a schedule that never comes: for tests in which nothing may change the store on
 * its own.
 */
export function jobsOnRequestOnly(): string {
  return ['jobs:', ...Object.keys(configSchema.parse({}).jobs).map((job) => `  ${job}: "0 0 1 1 *"`)].join('\n');
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Temp data dirs
// ---------------------------------------------------------------------------------------------

// sun_path is 108 bytes on Linux (104 on macOS) including the NUL.
const SOCKET_LIMIT = process.platform === 'darwin' ? 103 : 107;

export interface TempRbk {
  /** The temp root; dataDir and the config file live inside it. Removed by cleanup(). */
  root: string;
  dataDir: string;
  /** RBK_CONFIG; exists only if a config text was given (or written later). */
  config: string;
  socket: string;
  db: string;
  spoolDir: string;
  /** RBK_DATA_DIR and RBK_CONFIG (and RBK_SOCKET when set explicitly). */
  env: Record<string, string>;
  writeConfig(yaml: string): void;
  cleanup(): void;
}

/**
 * A fresh data dir under a short temp root: <tmp>/rbk-XXXXXX/data, with the socket at
 * data/run/rbk.sock (what rbk picks when only RBK_DATA_DIR is set).
 */
export function makeDataDir(opts: { config?: string; socket?: string } = {}): TempRbk {
  let base = fs.realpathSync(os.tmpdir());
  // A long $TMPDIR would push the socket past the limit; /tmp is always short.
  if (Buffer.byteLength(path.join(base, 'rbk-XXXXXX', 'data', 'run', 'rbk.sock')) > SOCKET_LIMIT) base = '/tmp';
  const root = fs.mkdtempSync(path.join(base, 'rbk-'));
  const dataDir = path.join(root, 'data');
  const config = path.join(root, 'config.yaml');
  const socket = opts.socket ?? path.join(dataDir, 'run', 'rbk.sock');
  if (Buffer.byteLength(socket) > SOCKET_LIMIT) throw new Error(`test socket path too long (${Buffer.byteLength(socket)} bytes): ${socket}`);
  const env: Record<string, string> = { RBK_DATA_DIR: dataDir, RBK_CONFIG: config };
  if (opts.socket) env.RBK_SOCKET = opts.socket;
  const t: TempRbk = {
    root,
    dataDir,
    config,
    socket,
    db: path.join(dataDir, 'rbk.db'),
    spoolDir: path.join(dataDir, 'spool'),
    env,
    writeConfig: (yaml) => fs.writeFileSync(config, yaml),
    cleanup: () => fs.rmSync(root, { recursive: true, force: true }),
  };
  if (opts.config !== undefined) t.writeConfig(opts.config);
  return t;
}

let testHome: string | undefined;
/**
 * An empty HOME shared by this test file's children: the daemon sweeps ~/.claude/projects at
 * start, and must not read the developer's own transcripts into a test store.
 */
function emptyHome(): string {
  if (!testHome) {
    testHome = fs.mkdtempSync(path.join(fs.realpathSync(os.tmpdir()), 'rbk-home-'));
    process.once('exit', () => fs.rmSync(testHome!, { recursive: true, force: true }));
  }
  return testHome;
}

/** process.env without anything that could point a child at the developer's real rbk or transcripts. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('RBK_') || k.startsWith('XDG_') || k === 'CLAUDE_CONFIG_DIR') continue;
    env[k] = v;
  }
  env.HOME = emptyHome();
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env as NodeJS.ProcessEnv;
}

// ---------------------------------------------------------------------------------------------
// Subprocesses
// ---------------------------------------------------------------------------------------------

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  durationMs: number;
  /** Date.now() when the process was spawned and when it had exited. */
  startedAt: number;
  endedAt: number;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  stdin?: string | Buffer;
  timeoutMs?: number;
  cwd?: string;
  /** Run under this umask (via /bin/sh), e.g. 0 to prove file modes do not come from the caller's. */
  umask?: number;
}

/** [command, args] that run `argv` under `umask` (unchanged when umask is undefined). */
function withUmask(umask: number | undefined, argv: string[]): [string, string[]] {
  if (umask === undefined) return [argv[0]!, argv.slice(1)];
  return ['/bin/sh', ['-c', `umask ${umask.toString(8).padStart(3, '0')} && exec "$0" "$@"`, ...argv]];
}

/** Runs a node script to completion, feeding it stdin (closed right away when none is given). */
export function runNode(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const [cmd, argv] = withUmask(opts.umask, [process.execPath, ...args]);
    const child = spawn(cmd, argv, { cwd: opts.cwd ?? REPO_ROOT, env: cleanEnv(opts.env), stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const endedAt = Date.now();
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        durationMs: endedAt - started,
        startedAt: started,
        endedAt,
      });
    });
    // The child may exit before reading all of its stdin (EPIPE): that is its business, not ours.
    child.stdin.on('error', () => {});
    if (opts.stdin !== undefined) child.stdin.end(opts.stdin);
    else child.stdin.end();
  });
}

/**
 * `node bin/rbk.js <args>`. After a successful `rbk import` it also waits (60 s at most) until
 * `rbk status` says the full-text index has caught up: the daemon indexes an import's rows in the
 * background after the import returns, and most tests search what they imported. Tests of that
 * trailing itself pass waitForSearch: false.
 */
export async function runCli(t: TempRbk | null, args: string[], opts: RunOptions & { waitForSearch?: boolean } = {}): Promise<RunResult> {
  const r = await runNode([RBK_BIN, ...args], { ...opts, env: { ...(t?.env ?? {}), ...opts.env } });
  if (t && args[0] === 'import' && r.code === 0 && opts.waitForSearch !== false) await searchIndexComplete(t);
  return r;
}

/** Polls `rbk status` until no imported row waits to be indexed for search (throws after timeoutMs). */
export async function searchIndexComplete(t: TempRbk, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await runNode([RBK_BIN, 'status', '--json'], { env: t.env });
    const pending = r.code === 0 ? (JSON.parse(r.stdout) as StatusJson).counts?.searchIndexPending : undefined;
    if (pending === 0 || pending === undefined) return;
    if (Date.now() > deadline) throw new Error(`the search index still had ${pending} rows to index ${timeoutMs} ms after the import`);
    await sleep(50);
  }
}

/** `node dist/hook/rbk-hook.cjs` with `stdin` as the hook payload. */
export function runHook(t: TempRbk, stdin: string | Buffer, opts: Omit<RunOptions, 'stdin'> = {}): Promise<RunResult> {
  return runNode([HOOK_BUNDLE], { ...opts, stdin, env: { ...t.env, ...opts.env } });
}

/** `rbk status --json`, parsed; throws with the CLI's stderr when it fails. */
export async function status(t: TempRbk): Promise<StatusJson> {
  const r = await runCli(t, ['status', '--json']);
  if (r.code !== 0) throw new Error(`rbk status exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as StatusJson;
}

export interface StatusJson {
  running: boolean;
  daemonVersion: string;
  cliVersion: string;
  protocolVersion: number;
  pid: number;
  startedAt: string;
  paths: { config: string; dataDir: string; socket: string; db: string; spoolDir: string };
  config: string;
  counts: { sessions: number; hookEvents: number; interactions: number; transcripts: number; spoolBacklog: number; searchIndexPending: number };
  dbBytes: number;
}

/** Runs `fn` over items with at most `limit` in flight. */
export async function pool<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

// ---------------------------------------------------------------------------------------------
// The daemon
// ---------------------------------------------------------------------------------------------

export interface DaemonExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface DaemonProcess {
  proc: ChildProcess;
  pid: number;
  /** Everything the daemon wrote to stderr (its log) so far. */
  log(): string;
  /** Resolves when the process has exited. */
  exited: Promise<DaemonExit>;
  isRunning(): boolean;
  /** SIGTERM, and wait for the exit (SIGKILL after timeoutMs). */
  stop(timeoutMs?: number): Promise<DaemonExit>;
  /** kill -9, and wait for the exit. */
  kill9(): Promise<DaemonExit>;
}

export interface SpawnDaemonOptions {
  env?: Record<string, string | undefined>;
  /** Run under this umask (via /bin/sh), e.g. 0 to prove modes do not come from the caller's. */
  umask?: number;
}

/** Spawns `node bin/rbkd.js` without waiting for it to be ready. */
export function spawnDaemon(t: TempRbk, opts: SpawnDaemonOptions = {}): DaemonProcess {
  assertBuilt();
  const env = cleanEnv({ ...t.env, ...opts.env });
  const [cmd, argv] = withUmask(opts.umask, [process.execPath, ...DAEMON_NODE_FLAGS, RBKD_BIN]);
  const proc = spawn(cmd, argv, { cwd: REPO_ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  let running = true;
  proc.on('exit', () => {
    running = false;
  });
  // 'close' comes after 'exit' and after stderr has drained, so log() is complete by then.
  const closed = new Promise<DaemonExit>((resolve) => {
    proc.on('close', (code, signal) => resolve({ code, signal }));
    proc.on('error', (err) => {
      running = false;
      stderr += `spawn failed: ${err.message}\n`;
      resolve({ code: null, signal: null });
    });
  });
  const d: DaemonProcess = {
    proc,
    pid: proc.pid!,
    log: () => stderr,
    exited: closed,
    isRunning: () => running,
    stop: async (timeoutMs = 10_000) => {
      if (running) proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
      try {
        return await d.exited;
      } finally {
        clearTimeout(timer);
      }
    },
    kill9: async () => {
      if (running) proc.kill('SIGKILL');
      return d.exited;
    },
  };
  running = proc.pid !== undefined;
  return d;
}

/** Spawns the daemon and waits until its socket answers a health check. */
export async function startDaemon(t: TempRbk, opts: SpawnDaemonOptions & { timeoutMs?: number } = {}): Promise<DaemonProcess> {
  const d = spawnDaemon(t, opts);
  try {
    await waitReady(t, d, opts.timeoutMs ?? 20_000);
  } catch (err) {
    await d.kill9();
    throw err;
  }
  return d;
}

/** Polls the socket until grpc.health.v1 says SERVING; fails early (with the log) if the daemon exits. */
export async function waitReady(t: TempRbk, d: DaemonProcess, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!d.isRunning()) {
      const exit = await d.exited;
      throw new Error(`rbkd exited before it was ready (code ${exit.code}, signal ${exit.signal}):\n${d.log()}`);
    }
    if (fs.existsSync(t.socket) && (await canConnect(t.socket))) {
      try {
        if ((await healthCheck(t.socket, '', 2000)) === 'SERVING') return;
      } catch {
        /* not yet */
      }
    }
    if (Date.now() > deadline) throw new Error(`rbkd not ready after ${timeoutMs} ms; log:\n${d.log()}`);
    await sleep(25);
  }
}

export function canConnect(socket: string, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const conn = net.connect(socket);
    const done = (ok: boolean) => {
      conn.destroy();
      resolve(ok);
    };
    conn.once('connect', () => done(true));
    conn.once('error', () => done(false));
    conn.setTimeout(timeoutMs, () => done(false));
  });
}

// The standard health service, loaded from its .proto (not through rbk's own loader).
let HealthCtor: grpc.ServiceClientConstructor | undefined;
function healthClient(socket: string): grpc.Client {
  if (!HealthCtor) {
    const def = protoLoader.loadSync('grpc/health/v1/health.proto', { includeDirs: [path.join(REPO_ROOT, 'proto')], enums: String, defaults: true });
    const pkg = grpc.loadPackageDefinition(def) as unknown as { grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } } };
    HealthCtor = pkg.grpc.health.v1.Health;
  }
  return new HealthCtor(`unix:${socket}`, grpc.credentials.createInsecure());
}

/** grpc.health.v1.Health/Check; resolves with the status name, rejects with the gRPC error. */
export function healthCheck(socket: string, service = '', timeoutMs = 5000): Promise<string> {
  const client = healthClient(socket);
  return new Promise<string>((resolve, reject) => {
    (client as unknown as { Check: (req: object, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: { status: string }) => void) => void }).Check(
      { service },
      { deadline: Date.now() + timeoutMs },
      (err, res) => (err ? reject(err) : resolve(res.status)),
    );
  }).finally(() => client.close());
}

// ---------------------------------------------------------------------------------------------
// Reading the database
// ---------------------------------------------------------------------------------------------

/**
 * Opens rbk.db read-only, runs fn, closes. Safe while the daemon runs (WAL readers do not block it).
 * With rbk's SQL functions (rbk_text: the full-text index reads packed text through it), so SQL can
 * say rbk_text(text) for an interaction's text as a string.
 */
export function withDb<R>(t: TempRbk, fn: (db: Database.Database) => R): R {
  const db = new Database(t.db, { readonly: true, fileMustExist: true });
  registerFunctions(db);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

export function queryAll<R = Record<string, unknown>>(t: TempRbk, sql: string, ...params: unknown[]): R[] {
  return withDb(t, (db) => db.prepare(sql).all(...params) as R[]);
}

export function queryOne<R = Record<string, unknown>>(t: TempRbk, sql: string, ...params: unknown[]): R | undefined {
  return withDb(t, (db) => db.prepare(sql).get(...params) as R | undefined);
}

/**
 * Every table's content with packed values unpacked (interactions' text, tool result and line), as
 * one buffer: what a leak check must search, since a file's bytes cannot show what is compressed.
 */
export function plainStoreContent(file: string): Buffer {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  registerFunctions(db);
  try {
    const parts: string[] = [];
    const tables = db
      .prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'interactions_fts%' AND name NOT LIKE 'sqlite_%'`)
      .pluck()
      .all() as string[];
    for (const table of tables) {
      const sql =
        table === 'interactions'
          ? 'SELECT *, rbk_text(text) AS text, rbk_tool_result(text, tool_use_result) AS tool_use_result, rbk_line(text, tool_input, tool_use_result, raw) AS raw FROM interactions'
          : `SELECT * FROM "${table}"`;
      for (const row of db.prepare(sql).iterate() as Iterable<Record<string, unknown>>)
        parts.push(JSON.stringify(row, (_k, v) => (Buffer.isBuffer(v) ? v.toString('latin1') : typeof v === 'bigint' ? String(v) : v)));
    }
    return Buffer.from(parts.join('\n'));
  } finally {
    db.close();
  }
}

/** An interaction's stored transcript line (`raw`, packed: store/line-codec.ts) as text; null when not kept. */
export function storedLine(t: TempRbk, uuid: string, blockIndex = 0): string | null {
  const row = queryOne<{ text: string; tool_input: string | null; tool_use_result: Buffer | string | null; raw: Buffer | string | null }>(
    t,
    'SELECT rbk_text(text) AS text, tool_input, tool_use_result, raw FROM interactions WHERE uuid = ? AND block_index = ?',
    uuid,
    blockIndex,
  );
  if (!row) throw new Error(`no interaction ${uuid}/${blockIndex}`);
  return unpackInteraction(row).raw;
}

/** A hook_events row as the tests read it (every column, daemon/store/rows.ts). */
export type HookEventDbRow = StoredHookEvent;

export function hookEventRows(t: TempRbk, where = '1 = 1', ...params: unknown[]): HookEventDbRow[] {
  return queryAll<HookEventDbRow>(t, `SELECT * FROM hook_events WHERE ${where} ORDER BY seq`, ...params);
}

/** Polls until `check` returns a truthy value (retrying through errors), or throws after timeoutMs. */
export async function waitFor<R>(what: string, check: () => R | Promise<R>, timeoutMs = 15_000, intervalMs = 50): Promise<NonNullable<R>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const r = await check();
      if (r) return r as NonNullable<R>;
      last = r;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await sleep(intervalMs);
  }
}

/** Names of complete spool files (event ids), sorted. */
export function spoolFiles(t: TempRbk): string[] {
  try {
    return fs
      .readdirSync(t.spoolDir)
      .filter((n) => n.endsWith('.json'))
      .sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

export function mode(file: string): number {
  return fs.statSync(file).mode & 0o777;
}

/** A hook payload shaped like Claude Code's. */
export function hookPayload(event: string, sessionId: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    session_id: sessionId,
    cwd: '/tmp/rbk-test-project',
    permission_mode: 'default',
    hook_event_name: event,
    ...extra,
  });
}
