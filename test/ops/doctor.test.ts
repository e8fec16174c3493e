// `rbk doctor` as a real CLI process against real daemons: a healthy setup passes (exit 0), and
// each broken condition is reported as fail (exit 1) or warn with a fix.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { desiredHooks, planInstall } from '../../cli/install/hooks.js';
import {
  assertBuilt,
  HOOK_BUNDLE,
  hookPayload,
  makeDataDir,
  runCli,
  runHook,
  spoolFiles,
  startDaemon,
  type DaemonProcess,
  type TempRbk,
} from '../support/rbk.js';
import { freePort } from './support.js';

beforeAll(() => assertBuilt());

interface Check {
  id: string;
  status: 'pass' | 'warn' | 'fail' | 'skip';
  summary: string;
  fix?: string;
}
interface Report {
  ok: boolean;
  checks: Check[];
}

interface Setup {
  t: TempRbk;
  home: string;
  project: string;
  settings: string;
  d?: DaemonProcess;
  doctor(): Promise<{ code: number | null; report: Report; check: (id: string) => Check }>;
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(opts: { daemon?: boolean; install?: boolean; config?: string } = {}): Promise<Setup> {
  const port = await freePort();
  const t = makeDataDir({ config: opts.config ?? `metrics:\n  listen: 127.0.0.1:${port}\ningest:\n  spoolDrainIntervalMs: 600000\n` });
  cleanups.push(() => t.cleanup());
  const home = path.join(t.root, 'home');
  const project = path.join(t.root, 'project');
  fs.mkdirSync(path.join(home, '.claude'), { recursive: true });
  fs.mkdirSync(project, { recursive: true });
  const s: Setup = {
    t,
    home,
    project,
    settings: path.join(home, '.claude', 'settings.json'),
    doctor: async () => {
      const r = await runCli(t, ['doctor', '--json'], { env: { HOME: home }, cwd: project });
      let report: Report;
      try {
        report = JSON.parse(r.stdout) as Report;
      } catch {
        throw new Error(`doctor printed no JSON (exit ${r.code}): ${r.stdout}\n${r.stderr}`);
      }
      return { code: r.code, report, check: (id) => report.checks.find((c) => c.id === id) ?? ({ id, status: 'skip', summary: 'missing' } as Check) };
    },
  };
  if (opts.install !== false) {
    // What `rbk install --no-service` writes (tested in install.test.ts), without the extra process.
    const desired = desiredHooks({ nodePath: process.execPath, hookScript: HOOK_BUNDLE, env: { RBK_DATA_DIR: t.dataDir }, async: true });
    fs.writeFileSync(path.join(home, '.claude', 'settings.json'), planInstall(null, 'settings.json', desired).after!);
  }
  if (opts.daemon !== false) {
    s.d = await startDaemon(t);
    cleanups.push(() => s.d!.stop());
  }
  return s;
}

function editSettings(s: Setup, fn: (v: Record<string, any>) => void): void {
  const v = JSON.parse(fs.readFileSync(s.settings, 'utf8')) as Record<string, any>;
  fn(v);
  fs.writeFileSync(s.settings, JSON.stringify(v, null, 2));
}

describe('rbk doctor', () => {
  it('passes every check on a healthy install and exits 0', async () => {
    const s = await setup();
    const { code, report, check } = await s.doctor();
    expect(report.checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(code).toBe(0);
    expect(report.ok).toBe(true);
    for (const id of [
      'node',
      'config',
      'daemon',
      'permissions',
      'hooks',
      'disableAllHooks',
      'spool',
      'database',
      'storage',
      'transcripts',
      'metrics',
      'service',
    ]) {
      expect(check(id).status, `${id}: ${check(id).summary}`).toBe('pass');
    }
    expect(['pass', 'warn']).toContain(check('disk').status);
    expect(check('hooks').summary).toContain('all 15 events');
    expect(check('database').summary).toContain('quick_check');
    // The human form: one line per check.
    const human = await runCli(s.t, ['doctor'], { env: { HOME: s.home }, cwd: s.project });
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^PASS {2}daemon +rbkd .* running \(pid \d+, started in a terminal/m);
  });

  it("backups: none yet is a warning; one on the database's own disk is a warning that says why; elsewhere it passes", async () => {
    const port = await freePort();
    const s = await setup();
    let { check } = await s.doctor();
    expect(check('backup').status).toBe('warn');
    expect(check('backup').summary).toContain('no backup');
    expect(check('backup').fix).toContain('backup');
    const b = await runCli(s.t, ['backup', '--json']);
    expect(b.code, b.stderr).toBe(0);
    ({ check } = await s.doctor());
    expect(check('backup').status).toBe('warn');
    expect(check('backup').summary).toContain('same disk as the database');
    expect(check('backup').fix).toContain('backup.to: central-copy');
    // Another filesystem (/dev/shm, a tmpfs, where there is one): the backup would survive the disk.
    const shm = '/dev/shm';
    if (fs.existsSync(shm) && fs.statSync(shm).dev !== fs.statSync(s.t.dataDir).dev) {
      const elsewhere = fs.mkdtempSync(path.join(shm, 'rbk-doctor-'));
      cleanups.push(() => fs.rmSync(elsewhere, { recursive: true, force: true }));
      expect((await runCli(s.t, ['backup', '--to', elsewhere])).code).toBe(0);
      s.t.writeConfig(`metrics:\n  listen: 127.0.0.1:${port}\nbackup:\n  dir: ${JSON.stringify(elsewhere)}\n`);
      ({ check } = await s.doctor());
      expect(check('backup').status, check('backup').summary).toBe('pass');
      expect(check('backup').summary).toContain(elsewhere);
    }
  });

  it('daemon down: fail with how to start it; spooled events are a warning', async () => {
    const s = await setup({ daemon: false });
    await runHook(s.t, hookPayload('UserPromptSubmit', 'doctor-spool', { prompt: 'x' }));
    expect(spoolFiles(s.t)).toHaveLength(1);
    const { code, check } = await s.doctor();
    expect(code).toBe(1);
    expect(check('daemon')).toMatchObject({ status: 'fail', summary: expect.stringContaining('not running') });
    expect(check('daemon').fix).toMatch(/rbk(\.js)? start \(in the background\)/);
    expect(check('spool')).toMatchObject({ status: 'warn', summary: expect.stringContaining('1 hook event waiting') });
  });

  it('socket dir readable by others: fail with the chmod that fixes it', async () => {
    const s = await setup();
    const dir = path.dirname(s.t.socket);
    fs.chmodSync(dir, 0o755);
    const { code, check } = await s.doctor();
    expect(code).toBe(1);
    expect(check('permissions').status).toBe('fail');
    expect(check('permissions').summary).toContain(`socket dir ${dir} is mode 0755`);
    expect(check('permissions').fix).toContain(`chmod 700 ${dir}`);
    fs.chmodSync(s.t.socket, 0o666);
    expect((await s.doctor()).check('permissions').fix).toContain(`chmod 600 ${s.t.socket}`);
  });

  it('hooks not installed: fail, fix is rbk install', async () => {
    const s = await setup({ install: false });
    const { code, check } = await s.doctor();
    expect(code).toBe(1);
    expect(check('hooks')).toMatchObject({ status: 'fail', fix: expect.stringContaining('rbk install') });
  });

  it('hook command pointing at a file that does not exist: fail', async () => {
    const s = await setup();
    editSettings(s, (v) => {
      for (const groups of Object.values(v.hooks as Record<string, { hooks: { command: string }[] }[]>)) {
        for (const g of groups) for (const h of g.hooks) h.command = h.command.replace(/\S*rbk-hook\.cjs/, '/nonexistent/rbk/dist/hook/rbk-hook.cjs');
      }
    });
    const { code, check } = await s.doctor();
    expect(code).toBe(1);
    expect(check('hooks').status).toBe('fail');
    expect(check('hooks').summary).toContain('/nonexistent/rbk/dist/hook/rbk-hook.cjs, which does not exist');
  });

  it('some events not registered: warn', async () => {
    const s = await setup();
    editSettings(s, (v) => {
      delete v.hooks.SessionEnd;
    });
    const { code, check } = await s.doctor();
    expect(code).toBe(0);
    expect(check('hooks')).toMatchObject({ status: 'warn', summary: expect.stringContaining('not registered for SessionEnd') });
  });

  it('disableAllHooks: fail', async () => {
    const s = await setup();
    fs.mkdirSync(path.join(s.project, '.claude'));
    fs.writeFileSync(path.join(s.project, '.claude', 'settings.local.json'), '{ "disableAllHooks": true }\n');
    const { code, check } = await s.doctor();
    expect(code).toBe(1);
    expect(check('disableAllHooks').status).toBe('fail');
    expect(check('disableAllHooks').summary).toContain('settings.local.json');
    expect(check('disableAllHooks').fix).toContain('remove "disableAllHooks"');
  });

  it('spool not draining while the daemon runs: fail', async () => {
    const s = await setup();
    // The daemon drains at start and then every 10 minutes (config); this file arrives after the
    // first drain and is back-dated, as if drains had been failing for a while.
    await runHook(s.t, hookPayload('Stop', 'doctor-stale'), { env: { RBK_SOCKET: path.join(s.t.root, 'nothing-here.sock') } });
    const [id] = spoolFiles(s.t);
    expect(id).toBeDefined();
    const old = new Date(Date.now() - 2 * 3600_000);
    fs.utimesSync(path.join(s.t.spoolDir, id!), old, old);
    const { code, check } = await s.doctor();
    expect(code).toBe(1);
    expect(check('spool')).toMatchObject({ status: 'fail', summary: expect.stringContaining('not draining') });
  });

  it('invalid config: fail with the key and what to write', async () => {
    const s = await setup();
    fs.writeFileSync(s.t.config, 'metrics:\n  listen: 127.0.0.1:9464\nnotify:\n  webhooks:\n    - url: https://example.com/h\n      secret: hunter2\n');
    const { code, check } = await s.doctor();
    expect(code).toBe(1);
    expect(check('config').status).toBe('fail');
    expect(check('config').summary).toContain('metrics.listen: port 9464');
    expect(check('config').summary).toContain('notify.webhooks.0.secret: do not put the secret in the config');
    expect(check('config').summary).not.toContain('hunter2');
  });

  it('S3 configured but the daemon down: the central copy cannot be checked, and says where it goes', async () => {
    const s = await setup({
      daemon: false,
      install: true,
      config: 'integrations:\n  claude:\n    sessionStorage:\n      backend: s3\n      s3:\n        bucket: my-bucket\n',
    });
    const { check } = await s.doctor();
    expect(check('storage')).toMatchObject({ status: 'skip', summary: expect.stringContaining('s3://my-bucket/rbk') });
  });

  it('low cleanupPeriodDays with transcripts rbk has not imported: warn, fix is rbk import', async () => {
    const s = await setup();
    editSettings(s, (v) => {
      v.cleanupPeriodDays = 3;
    });
    const dir = path.join(s.home, '.claude', 'projects', '-work-app');
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, '0b5c54a2-0000-4000-8000-000000000001.jsonl');
    fs.writeFileSync(file, '{"type":"user"}\n');
    const old = new Date(Date.now() - 2.5 * 24 * 3600_000);
    fs.utimesSync(file, old, old);
    const { code, check } = await s.doctor();
    expect(code).toBe(0);
    const c = check('transcripts');
    expect(c.status).toBe('warn');
    expect(c.summary).toContain('cleanupPeriodDays=3');
    expect(c.summary).toContain('only 3 days');
    expect(c.summary).toContain('1 transcript on disk is not fully imported and Claude Code will delete it');
    expect(c.fix).toContain('rbk import');
    expect(c.fix).toContain('raise cleanupPeriodDays');

    // After an import, nothing is at risk any more (the low setting itself is still a warning).
    const imp = await runCli(s.t, ['import', path.join(s.home, '.claude', 'projects'), '--json'], { env: { HOME: s.home } });
    expect(imp.code, imp.stderr).toBe(0);
    const after = (await s.doctor()).check('transcripts');
    expect(after.summary).not.toContain('not fully imported');
  });

  it('damaged database: fail', async () => {
    const s = await setup({ daemon: false });
    fs.mkdirSync(s.t.dataDir, { recursive: true });
    fs.writeFileSync(s.t.db, 'this is not an SQLite database, just text long enough to look like a header......'.repeat(20));
    const { code, check } = await s.doctor();
    expect(code).toBe(1);
    expect(check('database').status).toBe('fail');
  });
});
