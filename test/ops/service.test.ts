// The service-manager files: the systemd user unit `rbk install` writes passes
// `systemd-analyze --user verify` (Debian's systemd), and the launchd agent is a valid XML
// property list with the keys launchd needs (checked by a small plist parser here, and by
// `plutil -lint` when it exists, i.e. on macOS).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { resolvePaths } from '../../common/paths.js';
import { renderLaunchdPlist, renderSystemdUnit, readTemplate } from '../../cli/install/service.js';
import { assertBuilt, makeDataDir, REPO_ROOT, runCli, type TempRbk } from '../support/rbk.js';
import { fakeSystemd, parsePlist } from './support.js';

beforeAll(() => assertBuilt());

const dirs: TempRbk[] = [];
afterEach(() => {
  for (const t of dirs.splice(0)) t.cleanup();
});

function onPath(bin: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;
}

/** Runs `systemd-analyze --user verify` on `unit` saved as rbk.service; returns its output. */
function verifyUnit(root: string, unit: string): { status: number | null; output: string } {
  if (!onPath('systemd-analyze')) throw new Error('systemd-analyze is missing: apt-get install -y systemd (this test needs it)');
  const dir = path.join(root, 'units');
  const runtime = path.join(root, 'runtime');
  fs.mkdirSync(dir, { recursive: true });
  fs.mkdirSync(runtime, { recursive: true, mode: 0o700 });
  const file = path.join(dir, 'rbk.service');
  fs.writeFileSync(file, unit);
  const r = spawnSync('systemd-analyze', ['--user', 'verify', file], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: path.join(root, 'home'), XDG_RUNTIME_DIR: runtime, SYSTEMD_LOG_LEVEL: 'notice' },
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}${r.error?.message ?? ''}` };
}

describe('systemd user unit', () => {
  it('the unit from `rbk install --dry-run` passes systemd-analyze --user verify without a warning', async () => {
    const t = makeDataDir();
    dirs.push(t);
    const home = path.join(t.root, 'home');
    // A user manager to install into (a container has none): the stand-in answers the bus check.
    const sd = fakeSystemd(t.root, { rbkd: path.join(REPO_ROOT, 'bin', 'rbkd.js') });
    const r = await runCli(t, ['install', '--dry-run', '--json'], {
      env: { HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), PATH: `${sd.bin}${path.delimiter}${process.env.PATH}` },
      cwd: t.root,
    });
    expect(r.code, r.stderr).toBe(0);
    const plan = JSON.parse(r.stdout) as { service: { kind: string; content: string; file: string } };
    expect(plan.service.kind).toBe('systemd');
    expect(plan.service.file).toBe(path.join(home, '.config', 'systemd', 'user', 'rbk.service'));
    const v = verifyUnit(t.root, plan.service.content);
    expect(v.output.trim()).toBe('');
    expect(v.status).toBe(0);
  });

  it('a typical home (PrivateTmp on, RBK_SOCKET elsewhere, paths with spaces and %) renders a unit that verifies', () => {
    const t = makeDataDir();
    dirs.push(t);
    const home = '/home/al ice';
    const env = { HOME: home, RBK_SOCKET: '/run/user/1000/rbk 100%/rbk.sock' };
    const paths = resolvePaths(env, 'linux', home);
    const unit = renderSystemdUnit(readTemplate(REPO_ROOT, 'systemd'), {
      nodePath: process.execPath,
      rbkdPath: path.join(REPO_ROOT, 'bin', 'rbkd.js'),
      paths,
      env: { RBK_SOCKET: env.RBK_SOCKET },
      docsPath: path.join(REPO_ROOT, 'docs', 'operations.md'),
    });
    expect(unit).toMatch(/^PrivateTmp=yes$/m);
    expect(unit).toContain('ReadWritePaths=-"/home/al ice/.local/share/rbk" -"/run/user/1000/rbk 100%%"');
    expect(unit).toContain('Environment="RBK_SOCKET=/run/user/1000/rbk 100%%/rbk.sock"');
    expect(unit).toContain('EnvironmentFile=-/home/al ice/.config/rbk/env\n');
    const v = verifyUnit(t.root, unit);
    expect(v.output.trim()).toBe('');
    expect(v.status).toBe(0);
  });

  it('systemd-analyze verify does catch a broken unit (the check is not vacuous)', () => {
    const t = makeDataDir();
    dirs.push(t);
    const v = verifyUnit(t.root, '[Service]\nExecStart=/nonexistent/node x\nRestart=on-falure\n');
    expect(v.status).not.toBe(0);
    expect(v.output).toContain('on-falure');
  });
});

describe('launchd agent plist', () => {
  const inputs = (root: string) => ({
    nodePath: '/Users/a&b/.nvm/versions/node/v20.20.2/bin/node',
    rbkdPath: '/Users/a&b/src/<rbk>/bin/rbkd.js',
    paths: resolvePaths({ RBK_DATA_DIR: '/Users/a&b/rbk "data"' }, 'darwin', '/Users/a&b'),
    env: { RBK_DATA_DIR: '/Users/a&b/rbk "data"' },
    docsPath: path.join(REPO_ROOT, 'docs', 'operations.md'),
    logFile: '/Users/a&b/Library/Logs/rbk/rbkd.log',
    home: root,
  });

  it('is a well-formed XML property list with Label, ProgramArguments, RunAtLoad, KeepAlive and log paths', () => {
    const t = makeDataDir();
    dirs.push(t);
    const text = renderLaunchdPlist(readTemplate(REPO_ROOT, 'launchd'), inputs(t.root));
    const plist = parsePlist(text) as Record<string, unknown>;
    expect(plist).toEqual({
      Label: 'dev.rbk.rbkd',
      ProgramArguments: ['/Users/a&b/.nvm/versions/node/v20.20.2/bin/node', '--max-semi-space-size=4', '/Users/a&b/src/<rbk>/bin/rbkd.js'],
      EnvironmentVariables: { RBK_STARTED_BY: 'launchd', RBK_DATA_DIR: '/Users/a&b/rbk "data"' },
      RunAtLoad: true,
      KeepAlive: { SuccessfulExit: false },
      ThrottleInterval: 10,
      Umask: 0o077,
      StandardOutPath: '/Users/a&b/Library/Logs/rbk/rbkd.log',
      StandardErrorPath: '/Users/a&b/Library/Logs/rbk/rbkd.log',
    });
    if (onPath('plutil')) {
      const file = path.join(t.root, 'dev.rbk.rbkd.plist');
      fs.writeFileSync(file, text);
      const r = spawnSync('plutil', ['-lint', file], { encoding: 'utf8' });
      expect(r.status, r.stdout + r.stderr).toBe(0);
    }
  });

  it('the checker rejects malformed plists (unescaped &, mismatched tags, odd dict, wrong DOCTYPE)', () => {
    const t = makeDataDir();
    dirs.push(t);
    const good = renderLaunchdPlist(readTemplate(REPO_ROOT, 'launchd'), inputs(t.root));
    expect(() => parsePlist(good.replace('&amp;', '&'))).toThrow(/entity/);
    expect(() => parsePlist(good.replace('</array>', '</dict>'))).toThrow(/closes/);
    expect(() => parsePlist(good.replace('<key>RunAtLoad</key>', ''))).toThrow(/key/);
    expect(() => parsePlist(good.replace('PropertyList-1.0.dtd', 'x.dtd'))).toThrow(/DOCTYPE/);
  });
});
