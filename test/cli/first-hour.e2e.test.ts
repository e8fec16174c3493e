// The README's first hour, as a new user lives it, in a temp HOME with no systemd user bus (as in
// a container or an ssh session): `npm start` in a terminal, then `rbk install` (rbk on PATH, the
// hooks, the daemon handed over to the background), `rbk doctor`, `rbk stop`, `rbk start`, a real
// Claude Code session captured through the hooks install wrote, and `rbk uninstall --purge --yes`,
// after which HOME holds nothing rbk made: its file listing equals the one from before install
// (Claude Code's own files aside).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findClaudeBinary, runClaude } from '../e2e/support/claude.js';
import { freePort, fakeSystemd } from '../ops/support.js';
import { assertBuilt, REPO_ROOT, sleep, waitFor } from '../support/rbk.js';
import { openTerminal, tmuxAvailable, type Terminal } from '../support/tty.js';

let root: string;
let home: string;
let terminal: Terminal | undefined;

/** Every path under HOME, with its kind; directories end in "/". */
function listing(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const rel = path.relative(dir, p);
      if (e.isDirectory()) {
        out.push(`${rel}/`);
        walk(p);
      } else out.push(rel);
    }
  };
  walk(dir);
  return out.sort();
}

/** Files Claude Code itself writes into HOME while it runs (and the harness's TMPDIR): not rbk's. */
const claudeCodesOwn = (rel: string) =>
  (rel.startsWith('.claude/') && !rel.startsWith('.claude/settings.json')) ||
  rel === '.claude/' ||
  rel.startsWith('.claude.json') ||
  rel.startsWith('.tmp/') ||
  rel === '.tmp/';

/** The environment of the user's shell: HOME, a PATH with ~/.local/bin in it (as most distributions' profiles have), no RBK_* or XDG_*. */
function shellEnv(extraPath: string[] = []): Record<string, string> {
  return {
    HOME: home,
    PATH: [...extraPath, path.join(home, '.local', 'bin'), path.dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'].join(path.delimiter),
    LANG: 'C.UTF-8',
    // npm keeps its cache and logs outside this HOME, as they would be in a real one already.
    npm_config_cache: path.join(root, 'npm-cache'),
    npm_config_logs_dir: path.join(root, 'npm-logs'),
    npm_config_update_notifier: 'false',
  };
}

function sh(argv: string[], env: Record<string, string>, cwd = home) {
  const r = spawnSync(argv[0]!, argv.slice(1), { env, cwd, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

beforeAll(async () => {
  assertBuilt();
  if (!tmuxAvailable())
    throw new Error('tmux is missing: this test runs npm start in a real terminal. The test command installs it (apt-get install -y tmux).');
  await findClaudeBinary();
  root = fs.mkdtempSync(path.join('/tmp', 'rbk-first-hour-'));
  home = path.join(root, 'home');
  fs.mkdirSync(home);
}, 600_000);

afterAll(() => {
  terminal?.kill();
  // Whatever the test left running is stopped (it should have left nothing).
  spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'rbk.js'), 'stop'], { env: shellEnv(), encoding: 'utf8' });
  fs.rmSync(root, { recursive: true, force: true });
});

describe('the first hour, following the README', () => {
  it('npm start, rbk install, doctor, stop, start, a Claude Code session, uninstall --purge: HOME is left as it was', async () => {
    // The user's own config, written before anything else (a free port for metrics, since tests run side by side).
    const port = await freePort();
    fs.mkdirSync(path.join(home, '.config', 'rbk'), { recursive: true });
    fs.writeFileSync(path.join(home, '.config', 'rbk', 'config.yaml'), `metrics:\n  listen: 127.0.0.1:${port}\n`);
    const before = listing(home);
    // A systemctl with no user bus first on PATH: the container case, and the same on every machine.
    const sd = fakeSystemd(root, { rbkd: path.join(REPO_ROOT, 'bin', 'rbkd.js'), noBus: true });
    const env = shellEnv([sd.bin]);

    // 1. npm start in a terminal: the daemon runs there and says how to stop it and what next.
    terminal = openTerminal(root, ['npm', 'start'], { cols: 120, rows: 30, env, cwd: REPO_ROOT });
    const started = await terminal.waitFor('the foreground hint', (s) => s.some((l) => l.includes('Ctrl-C stops it')), 30_000);
    const hint = started.join('\n');
    expect(hint).toMatch(/rbkd is running in this terminal \(pid \d+/);
    expect(hint).toContain(`node ${path.join(REPO_ROOT, 'bin', 'rbk.js')} install`);
    expect(hint).not.toContain('npx rbk');

    // 2. rbk install, by the path the hint gave (rbk is not on PATH yet).
    const install = sh([process.execPath, path.join(REPO_ROOT, 'bin', 'rbk.js'), 'install'], env);
    expect(install.code, install.stderr + install.stdout).toBe(0);
    expect(install.stdout).toContain("hooks     ~/.claude/settings.json: rbk's hook registered");
    expect(install.stdout).toContain('path      ~/.local/bin/rbk, ~/.local/bin/rbkd: written');
    expect(install.stdout).toMatch(/daemon {4}stopped the rbkd started in a terminal \(npm start, rbk daemon or rbkd\) \(pid \d+\)/);
    expect(install.stdout).toContain('service   not installed: the systemd user manager cannot be reached');
    expect(install.stdout).toMatch(/daemon {4}running in the background instead \(pid \d+/);
    // The terminal's daemon ended cleanly.
    await terminal.waitFor('npm start to end', (s) => s.some((l) => l.includes('rbkd stopped')), 30_000);
    // From now on, `rbk` is on PATH (the shim install wrote).
    const which = sh(['sh', '-c', 'command -v rbk'], env);
    expect(which.stdout.trim()).toBe(path.join(home, '.local', 'bin', 'rbk'));

    // 3. rbk doctor: no failure; the missing service is a warning with the fix.
    const doctor = sh(['rbk', 'doctor', '--json'], env);
    const checks = (JSON.parse(doctor.stdout) as { checks: { id: string; status: string }[] }).checks;
    expect(doctor.code, doctor.stdout).toBe(0);
    expect(checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(checks.find((c) => c.id === 'service')?.status).toBe('warn');
    expect(checks.find((c) => c.id === 'path')?.status).toBe('pass');
    expect(checks.find((c) => c.id === 'hooks')?.status).toBe('pass');

    // 4. rbk stop, rbk start.
    const stop = sh(['rbk', 'stop'], env);
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.stdout).toContain('rbkd stopped');
    expect(sh(['rbk', 'status'], env).code).toBe(3);
    const start = sh(['rbk', 'start'], env);
    expect(start.code, start.stderr).toBe(0);
    expect(start.stdout).toContain('rbkd started in the background by rbk start');
    const status = JSON.parse(sh(['rbk', 'status', '--json'], env).stdout) as { startedBy: string; logFile: string };
    expect(status.startedBy).toBe('background');
    expect(status.logFile).toBe(path.join(home, '.local', 'share', 'rbk', 'rbkd.log'));

    // 5. A real Claude Code session, which knows of rbk only what install wrote into its settings.
    const run = await runClaude({ scenario: 'failing-build', home, project: path.join(root, 'project') });
    expect(run.exitCode, run.stderr).toBe(0);
    const id = run.sessionId!;
    const shown = await waitFor(
      'the session captured',
      () => {
        const r = sh(['rbk', 'sessions', 'show', id, '--json'], env);
        if (r.code !== 0) return null;
        const v = JSON.parse(r.stdout) as { session: { status: string; counts: { toolCalls: number; hookEvents: number } } };
        return v.session.status === 'ended' && v.session.counts.toolCalls === 2 ? v : null;
      },
      30_000,
    );
    expect(shown.session.counts.hookEvents).toBeGreaterThan(5);

    // 6. rbk uninstall --purge --yes: stops the daemon, removes what install and the daemon made.
    const un = sh(['rbk', 'uninstall', '--purge', '--yes'], env);
    expect(un.code, un.stderr + un.stdout).toBe(0);
    expect(un.stdout).toMatch(/daemon {4}stopped rbkd \(pid \d+\)/);
    expect(un.stdout).toContain(`data      deleted ${path.join(home, '.local', 'share', 'rbk')}`);
    await sleep(200);
    const after = listing(home).filter((p) => !claudeCodesOwn(p));
    expect(after).toEqual(before);
    // Claude Code's settings file went too (rbk created it), and no backup of it was left.
    expect(listing(home).filter((p) => p.startsWith('.claude/settings.json'))).toEqual([]);
    // And no rbkd is left running for this HOME.
    expect(sh([process.execPath, path.join(REPO_ROOT, 'bin', 'rbk.js'), 'status'], env).code).toBe(3);
  }, 600_000);
});
