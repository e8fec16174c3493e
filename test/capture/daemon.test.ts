// The real daemon (`node bin/rbkd.js`) and CLI (`node bin/rbk.js`) as processes: status, file
// modes, single instance, crash and clean shutdown, the health service, and start-up errors.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, RBK_VERSION } from '../../common/version.js';
import {
  assertBuilt,
  healthCheck,
  hookEventRows,
  hookPayload,
  makeDataDir,
  mode,
  runCli,
  runHook,
  spawnDaemon,
  spoolFiles,
  startDaemon,
  status,
  type DaemonProcess,
  type TempRbk,
} from '../support/rbk.js';

beforeAll(() => assertBuilt());

// Everything started in a test is stopped and removed after it, pass or fail.
const daemons: DaemonProcess[] = [];
const dirs: TempRbk[] = [];
function tempRbk(opts: Parameters<typeof makeDataDir>[0] = {}): TempRbk {
  const t = makeDataDir(opts);
  dirs.push(t);
  return t;
}
async function daemon(t: TempRbk, opts: Parameters<typeof startDaemon>[1] = {}): Promise<DaemonProcess> {
  const d = await startDaemon(t, opts);
  daemons.push(d);
  return d;
}
afterEach(async () => {
  await Promise.all(daemons.splice(0).map((d) => d.kill9()));
  for (const t of dirs.splice(0)) t.cleanup();
});

describe('a running rbkd', () => {
  let t: TempRbk;
  let d: DaemonProcess;
  beforeAll(async () => {
    // A long drain interval keeps spooled files in place long enough to look at them.
    t = makeDataDir({ config: 'ingest:\n  spoolDrainIntervalMs: 600000\n' });
    // umask 000: every mode checked below must come from rbk itself, not from the caller.
    d = await startDaemon(t, { umask: 0 });
  });
  afterAll(async () => {
    await d?.stop();
    t?.cleanup();
  });

  it('rbk status --json reports version, protocol, pid, paths, config and counts', async () => {
    const s = await status(t);
    expect(s).toMatchObject({
      running: true,
      daemonVersion: RBK_VERSION,
      cliVersion: RBK_VERSION,
      protocolVersion: PROTOCOL_VERSION,
      pid: d.pid,
      paths: { config: t.config, dataDir: t.dataDir, socket: t.socket, db: t.db, spoolDir: t.spoolDir },
      config: t.config,
      counts: { sessions: 0, hookEvents: 0, interactions: 0, transcripts: 0, spoolBacklog: 0 },
    });
    expect(Date.now() - Date.parse(s.startedAt)).toBeLessThan(120_000);
    expect(s.dbBytes).toBeGreaterThan(0);

    const hook = await runHook(t, hookPayload('SessionStart', 'status-session', { transcript_path: path.join(t.root, 'status-session.jsonl') }));
    expect(hook.code).toBe(0);
    const after = await status(t);
    expect(after.counts).toMatchObject({ sessions: 1, hookEvents: 1, transcripts: 1, spoolBacklog: 0 });

    // The human form says the same.
    const human = await runCli(t, ['status']);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`rbkd ${RBK_VERSION} running (pid ${d.pid}`);
    expect(human.stdout).toContain(t.socket);
  });

  it('keeps its socket 0600 in a 0700 directory, and the data dir, DB and spool private, even under umask 000', async () => {
    expect(fs.statSync(t.socket).isSocket()).toBe(true);
    expect(mode(t.socket)).toBe(0o600);
    expect(mode(path.dirname(t.socket))).toBe(0o700);
    expect(mode(t.dataDir)).toBe(0o700);
    expect(mode(t.db)).toBe(0o600);
    for (const f of ['rbk.db-wal', 'rbk.db-shm', 'rbkd.pid', 'rbkd.lock']) {
      const file = path.join(t.dataDir, f);
      if (fs.existsSync(file)) expect(mode(file), f).toBe(0o600);
    }
    expect(fs.readFileSync(path.join(t.dataDir, 'rbkd.pid'), 'utf8').trim()).toBe(String(d.pid));

    // A hook that cannot reach the daemon spools its event: the file and its directory are private too.
    const spooled = await runHook(t, hookPayload('Notification', 'spool-modes'), { env: { RBK_SOCKET: path.join(t.root, 'nobody.sock') }, umask: 0 });
    expect(spooled).toMatchObject({ code: 0, stdout: '' });
    const files = spoolFiles(t);
    expect(files).toHaveLength(1);
    expect(mode(t.spoolDir)).toBe(0o700);
    expect(mode(path.join(t.spoolDir, files[0]!))).toBe(0o600);
    expect((await status(t)).counts.spoolBacklog).toBe(1);
  });

  it('answers the standard grpc.health.v1 Check', async () => {
    expect(await healthCheck(t.socket, '')).toBe('SERVING');
    for (const service of ['rbk.v1.Ingest', 'rbk.v1.Query', 'rbk.v1.Admin']) expect(await healthCheck(t.socket, service)).toBe('SERVING');
    await expect(healthCheck(t.socket, 'no.such.Service')).rejects.toMatchObject({ code: 5 });
  });

  it('refuses a second daemon on the same data dir, with a clear message, while the first keeps serving', async () => {
    const second = spawnDaemon(t);
    daemons.push(second);
    const exit = await second.exited;
    expect(exit.code, second.log()).not.toBe(0);
    expect(exit.code).toBe(1);
    expect(second.log()).toContain(`rbkd: another rbkd (pid ${d.pid}) is already running with data dir ${t.dataDir}`);
    expect(second.log()).toContain('stop it first');

    expect(d.isRunning()).toBe(true);
    expect(fs.existsSync(t.socket)).toBe(true);
    expect((await status(t)).pid).toBe(d.pid);
    expect(await healthCheck(t.socket)).toBe('SERVING');
  });

  it('refuses a second daemon with its own data dir but the same socket, and leaves the socket alone', async () => {
    const other = tempRbk({ socket: t.socket });
    const second = spawnDaemon(other);
    daemons.push(second);
    const exit = await second.exited;
    expect(exit.code).toBe(1);
    expect(second.log()).toContain(`another rbkd is already serving ${t.socket}`);
    expect(fs.existsSync(t.socket)).toBe(true);
    expect((await status(t)).pid).toBe(d.pid);
  });
});

describe('rbkd shutdown and restart', () => {
  it('SIGTERM shuts down cleanly: exit 0, socket and pid file removed, events kept', async () => {
    const t = tempRbk();
    const d = await daemon(t);
    expect((await runHook(t, hookPayload('SessionStart', 'sigterm-session'))).code).toBe(0);

    const exit = await d.stop();
    expect(exit).toEqual({ code: 0, signal: null });
    expect(fs.existsSync(t.socket)).toBe(false);
    expect(fs.existsSync(path.join(t.dataDir, 'rbkd.pid'))).toBe(false);
    expect(d.log()).toMatch(/"msg":"shutting down".*"signal":"SIGTERM"/);
    expect(d.log()).toContain('"msg":"rbkd stopped"');
    expect(d.log()).not.toMatch(/"level":"error"/);
    expect(hookEventRows(t).map((r) => [r.session_id, r.via])).toEqual([['sigterm-session', 'direct']]);

    // And the CLI now says the daemon is gone.
    const r = await runCli(t, ['status']);
    expect(r.code).toBe(3);
  });

  it('after kill -9 the stale socket is detected and replaced on restart; acknowledged events survive', async () => {
    const t = tempRbk();
    const first = await daemon(t);
    expect((await runHook(t, hookPayload('SessionStart', 'crash-session'))).code).toBe(0);
    expect(spoolFiles(t)).toEqual([]); // acknowledged by the daemon, not spooled

    expect(await first.kill9()).toEqual({ code: null, signal: 'SIGKILL' });
    expect(fs.statSync(t.socket).isSocket()).toBe(true); // left behind

    const down = await runCli(t, ['status', '--json']);
    expect(down.code).toBe(3);
    expect(down.stderr).toContain(`nothing answers on ${t.socket}`);

    const second = await daemon(t);
    expect(second.pid).not.toBe(first.pid);
    const s = await status(t);
    expect(s.pid).toBe(second.pid);
    expect(s.counts).toMatchObject({ sessions: 1, hookEvents: 1 });
    expect(mode(t.socket)).toBe(0o600);
    expect(hookEventRows(t).map((r) => r.session_id)).toEqual(['crash-session']);
    expect(await second.stop()).toEqual({ code: 0, signal: null });
  });
});

describe('rbkd and a socket directory it did not create', () => {
  it('tightens a loose pre-existing socket directory to 0700', async () => {
    const t = tempRbk();
    fs.mkdirSync(path.dirname(t.socket), { recursive: true });
    fs.chmodSync(path.dirname(t.socket), 0o777);
    await daemon(t);
    expect(mode(path.dirname(t.socket))).toBe(0o700);
    expect(mode(t.socket)).toBe(0o600);
  });
});

describe('a daemon that answers with an error of its own', () => {
  it('a busy database is reported as busy, with what to do, not as "rbkd is not running"', async () => {
    const t = tempRbk();
    await daemon(t);
    expect((await runHook(t, hookPayload('SessionStart', 'busy-session'))).code).toBe(0);
    // Someone holds the write lock longer than the daemon's 5 s busy timeout (an open
    // `sqlite3 rbk.db` with a write transaction, say).
    const other = new Database(t.db);
    try {
      other.exec('BEGIN IMMEDIATE');
      const r = await runCli(t, ['sessions', 'pin', 'busy-session']);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain('the database is busy');
      expect(r.stderr).toContain('retry in a moment');
      expect(r.stderr).not.toContain('not running');
      other.exec('ROLLBACK');
      expect((await runCli(t, ['sessions', 'pin', 'busy-session'])).code).toBe(0);
    } finally {
      other.close();
    }
  }, 30_000);
});

describe('without a daemon', () => {
  it('every CLI command that needs rbkd exits 3 and says how to start it', async () => {
    const t = tempRbk();
    for (const args of [['status'], ['status', '--json'], ['sessions'], ['sessions', '--json'], ['sessions', 'show', 'abc', '--json']]) {
      const r = await runCli(t, args);
      expect(r.code, args.join(' ')).toBe(3);
      expect(r.stdout, args.join(' ')).toBe('');
      expect(r.stderr).toContain(`rbk: rbkd is not running (no socket at ${t.socket})`);
      expect(r.stderr).toMatch(/Start it with: (rbk|node \S+\/bin\/rbk\.js) start/);
    }
    // Asking must not create anything.
    expect(fs.existsSync(t.dataDir)).toBe(false);
  });
});

describe('rbkd with an invalid config', () => {
  const cases: Array<[string, string, RegExp]> = [
    [
      's3 backend without a bucket',
      'integrations:\n  claude:\n    sessionStorage:\n      backend: s3\n',
      /integrations\.claude\.sessionStorage\.s3\.bucket: is required when backend is "s3"/,
    ],
    ['an unknown key', 'hook:\n  timeoutMs: 500\n  retries: 3\n', /hook\.retries: unknown key/],
    ['invalid YAML', 'log: [unclosed\n', /:\d+:\d+: not valid YAML/],
  ];
  for (const [name, yaml, message] of cases) {
    it(`exits 2 naming the problem (${name}) and touches nothing`, async () => {
      const t = tempRbk({ config: yaml });
      const d = spawnDaemon(t);
      daemons.push(d);
      const exit = await d.exited;
      expect(exit.code, d.log()).toBe(2);
      expect(d.log()).toMatch(message);
      expect(d.log()).toContain(t.config);
      expect(fs.existsSync(t.socket)).toBe(false);
      expect(fs.existsSync(t.dataDir)).toBe(false);
    });
  }
});
