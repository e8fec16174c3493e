// `rbk install` / `rbk uninstall` as real CLI processes against a temp HOME: the user's settings
// survive byte for byte, install is idempotent, --dry-run changes nothing, invalid JSON is
// refused, the hook command works through a shell, and the service path runs the right commands
// (against a stand-in systemctl: a container has no user systemd).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HOOK_EVENTS, isRbkHook } from '../../cli/install/hooks.js';
import { assertBuilt, hookEventRows, hookPayload, makeDataDir, REPO_ROOT, runCli, startDaemon, waitFor, type DaemonProcess, type TempRbk } from '../support/rbk.js';
import { snapshotTree } from './support.js';

beforeAll(() => assertBuilt());

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Sandbox {
  t: TempRbk;
  home: string;
  settings: string;
  env: Record<string, string>;
}

function sandbox(dataDirOpts: Parameters<typeof makeDataDir>[0] = {}): Sandbox {
  const t = makeDataDir(dataDirOpts);
  cleanups.push(() => t.cleanup());
  const home = path.join(t.root, 'home');
  fs.mkdirSync(path.join(home, '.claude'), { recursive: true });
  return { t, home, settings: path.join(home, '.claude', 'settings.json'), env: { HOME: home } };
}

const cli = (s: Sandbox, args: string[], env: Record<string, string> = {}) => runCli(s.t, args, { env: { ...s.env, ...env }, cwd: s.home });

// A settings file the way people write them: 4-space indent, key order of their own, inline
// arrays, numbers in odd spellings, unicode escapes, their own hooks on events rbk also uses.
const USER_SETTINGS = `{
    "$schema": "https://json.schemastore.org/claude-code-settings.json",
    "model": "claude-opus-4-8",
    "permissions": { "allow": ["Bash(npm test:*)", "Read(~/.zshrc)"], "deny": [] },
    "hooks": {
        "PreToolUse": [
            {
                "matcher": "Bash",
                "hooks": [ { "type": "command", "command": "~/bin/audit-bash.sh", "timeout": 30 } ]
            }
        ],
        "Stop": [ { "hooks": [ { "type": "command", "command": "say done" } ] } ],
        "Notification": []
    },
    "env": { "GREETING": "caf\\u00e9", "RATIO": 1.50e1 },
    "cleanupPeriodDays": 90
}
`;

function rbkCommands(settingsText: string): Map<string, unknown[]> {
  const v = JSON.parse(settingsText) as { hooks?: Record<string, { hooks: unknown[] }[]> };
  const out = new Map<string, unknown[]>();
  for (const [event, groups] of Object.entries(v.hooks ?? {})) {
    const ours = groups.flatMap((g) => g.hooks.filter((h) => isRbkHook(h)));
    if (ours.length) out.set(event, ours);
  }
  return out;
}

describe('rbk install --no-service / rbk uninstall on ~/.claude/settings.json', () => {
  it('round-trips a settings file with the user’s own hooks byte for byte, and a second install changes nothing', async () => {
    const s = sandbox();
    fs.writeFileSync(s.settings, USER_SETTINGS);

    const first = await cli(s, ['install', '--no-service', '--json']);
    expect(first.code, first.stderr).toBe(0);
    const out = JSON.parse(first.stdout) as { changed: boolean; settings: { backup: string } };
    expect(out.changed).toBe(true);
    // The backup holds the original, byte for byte, written before the change.
    expect(fs.readFileSync(out.settings.backup, 'utf8')).toBe(USER_SETTINGS);

    const installed = fs.readFileSync(s.settings, 'utf8');
    const v = JSON.parse(installed) as Record<string, any>;
    // Every event rbk uses is registered once, with a short timeout, blocking (async only with --async).
    const ours = rbkCommands(installed);
    expect([...ours.keys()].sort()).toEqual([...HOOK_EVENTS].sort());
    for (const [event, entries] of ours) {
      expect(entries).toHaveLength(1);
      const e = entries[0] as { command: string; timeout: number; async?: boolean };
      expect(e.timeout).toBe(5);
      expect(e.async, `${event} blocks by default`).toBeUndefined();
      expect(e.command).toContain(`${process.execPath} ${path.join(REPO_ROOT, 'dist', 'hook', 'rbk-hook.cjs')}`);
      expect(e.command).toContain(`RBK_DATA_DIR=${s.t.dataDir}`);
    }
    // The user's own hooks are still there, first, untouched; everything else is identical.
    expect(v.hooks.PreToolUse[0]).toEqual({ matcher: 'Bash', hooks: [{ type: 'command', command: '~/bin/audit-bash.sh', timeout: 30 }] });
    expect(v.hooks.Stop[0]).toEqual({ hooks: [{ type: 'command', command: 'say done' }] });
    expect(installed.startsWith(USER_SETTINGS.slice(0, USER_SETTINGS.indexOf('"hooks"')))).toBe(true);
    expect(installed.endsWith(USER_SETTINGS.slice(USER_SETTINGS.indexOf('    "env"')))).toBe(true);
    // Formatting detected from the file: 4-space indentation for what rbk added.
    expect(installed).toMatch(/\n {8}"SessionStart": \[\n {12}\{\n {16}"matcher": "\*",/);

    // Second install: nothing to do, the file is not even rewritten, no new backup.
    const before = snapshotTree(s.t.root);
    const second = await cli(s, ['install', '--no-service', '--json']);
    expect(second.code, second.stderr).toBe(0);
    expect((JSON.parse(second.stdout) as { changed: boolean }).changed).toBe(false);
    const after = snapshotTree(s.t.root);
    expect([...after.entries()].filter(([k]) => !k.endsWith('install-manifest.json'))).toEqual([...before.entries()].filter(([k]) => !k.endsWith('install-manifest.json')));

    const un = await cli(s, ['uninstall']);
    expect(un.code, un.stderr).toBe(0);
    expect(fs.readFileSync(s.settings, 'utf8')).toBe(USER_SETTINGS);
    expect(fs.existsSync(path.join(s.t.dataDir, 'install-manifest.json'))).toBe(false);
    // Uninstalling again finds nothing to do.
    const again = await cli(s, ['uninstall', '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(fs.readFileSync(s.settings, 'utf8')).toBe(USER_SETTINGS);
  });

  it('keeps edits the user made after install (other keys and their own hooks on rbk’s events) when uninstalling', async () => {
    const s = sandbox();
    const original = '{\n\t"model": "sonnet",\n\t"hooks": {}\n}';
    fs.writeFileSync(s.settings, original);
    expect((await cli(s, ['install', '--no-service'])).code).toBe(0);
    const installed = fs.readFileSync(s.settings, 'utf8');
    expect(installed).toMatch(/\n\t\t"SessionStart": \[\n\t\t\t\{/); // tabs, as the file uses
    // The user edits the file: a new key, and their own hook appended to an event rbk created.
    const v = JSON.parse(installed) as Record<string, any>;
    v.hooks.SessionEnd.push({ hooks: [{ type: 'command', command: 'notify-send bye' }] });
    v.theme = 'dark';
    fs.writeFileSync(s.settings, JSON.stringify(v, null, '\t'));

    expect((await cli(s, ['uninstall'])).code).toBe(0);
    const after = JSON.parse(fs.readFileSync(s.settings, 'utf8')) as Record<string, any>;
    expect(rbkCommands(fs.readFileSync(s.settings, 'utf8')).size).toBe(0);
    expect(after).toEqual({ model: 'sonnet', hooks: { SessionEnd: [{ hooks: [{ type: 'command', command: 'notify-send bye' }] }] }, theme: 'dark' });
  });

  it('--async puts exactly the tool-level events in the background; the rest keep blocking', async () => {
    const s = sandbox();
    const r = await cli(s, ['install', '--no-service', '--async']);
    expect(r.code, r.stderr).toBe(0);
    const ours = rbkCommands(fs.readFileSync(s.settings, 'utf8'));
    const background = [...ours].filter(([, entries]) => (entries[0] as { async?: boolean }).async === true).map(([event]) => event);
    expect(background.sort()).toEqual(['PermissionDenied', 'PermissionRequest', 'PostToolUse', 'PostToolUseFailure', 'PreToolUse']);
    expect(ours.get('SessionEnd')).toHaveLength(1);
    expect((ours.get('SessionEnd')![0] as { async?: boolean }).async).toBeUndefined();
  });

  it('creates settings.json when there is none, and uninstall removes the file it created', async () => {
    const s = sandbox();
    fs.rmSync(path.join(s.home, '.claude'), { recursive: true });
    const r = await cli(s, ['install', '--no-service']);
    expect(r.code, r.stderr).toBe(0);
    expect(rbkCommands(fs.readFileSync(s.settings, 'utf8')).size).toBe(HOOK_EVENTS.length);
    expect((await cli(s, ['uninstall'])).code).toBe(0);
    expect(fs.existsSync(s.settings)).toBe(false);
  });

  it('--dry-run prints the diff and changes nothing', async () => {
    const s = sandbox();
    fs.writeFileSync(s.settings, USER_SETTINGS);
    const before = snapshotTree(s.t.root);
    const r = await cli(s, ['install', '--no-service', '--dry-run']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('nothing is changed');
    expect(r.stdout).toContain(`would write ${s.settings}`);
    expect(r.stdout).toMatch(/^ {4}\+ {8}"SessionStart": \[$/m);
    expect(r.stdout).toContain('install-manifest.json');
    expect(snapshotTree(s.t.root)).toEqual(before);
  });

  it('refuses a settings.json that is not valid JSON, says where, and leaves it alone', async () => {
    const s = sandbox();
    const broken = '{\n  "model": "opus",\n  "hooks": { "Stop": [] },\n}\n';
    fs.writeFileSync(s.settings, broken);
    const before = snapshotTree(s.t.root);
    const r = await cli(s, ['install', '--no-service']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/settings\.json is not valid JSON: .*line 4, column 1/);
    expect(r.stderr).toContain('nothing was changed');
    expect(snapshotTree(s.t.root)).toEqual(before);
  });

  it('re-install after rbk moved replaces its stale entries instead of adding a second set', async () => {
    const s = sandbox();
    const stale = { type: 'command', command: '/old/node /old/place/dist/hook/rbk-hook.cjs', timeout: 5 };
    fs.writeFileSync(s.settings, `${JSON.stringify({ hooks: { Stop: [{ matcher: '*', hooks: [stale] }, { hooks: [{ type: 'command', command: 'say done' }] }] } }, null, 2)}\n`);
    expect((await cli(s, ['install', '--no-service'])).code).toBe(0);
    const ours = rbkCommands(fs.readFileSync(s.settings, 'utf8'));
    expect(ours.get('Stop')).toHaveLength(1);
    expect(JSON.stringify(ours.get('Stop'))).not.toContain('/old/place');
    expect(JSON.stringify(JSON.parse(fs.readFileSync(s.settings, 'utf8')).hooks.Stop)).toContain('say done');
  });

  it('--project DIR --local writes the project’s settings.local.json', async () => {
    const s = sandbox();
    const project = path.join(s.t.root, 'proj');
    fs.mkdirSync(project);
    const r = await cli(s, ['install', '--no-service', '--project', project, '--local']);
    expect(r.code, r.stderr).toBe(0);
    expect(rbkCommands(fs.readFileSync(path.join(project, '.claude', 'settings.local.json'), 'utf8')).size).toBe(HOOK_EVENTS.length);
    expect(fs.existsSync(s.settings)).toBe(false);
    expect((await cli(s, ['uninstall'])).code).toBe(0);
    expect(fs.existsSync(path.join(project, '.claude', 'settings.local.json'))).toBe(false);
  });
});

describe('the installed hook command', () => {
  let d: DaemonProcess | undefined;
  afterAll(async () => {
    await d?.stop();
  });

  it('runs through a shell with a data dir whose path has spaces and quotes, and the event is stored', async () => {
    // Under a short root so that the socket path stays within the Unix limit.
    const root = fs.mkdtempSync(path.join('/tmp', 'rbk q-'));
    cleanups.push(() => fs.rmSync(root, { recursive: true, force: true }));
    const dataDir = path.join(root, "it's data");
    const t: TempRbk = { ...makeDataDir(), dataDir, socket: path.join(dataDir, 'run', 'rbk.sock'), db: path.join(dataDir, 'rbk.db'), spoolDir: path.join(dataDir, 'spool') };
    cleanups.push(() => t.cleanup());
    t.env = { ...t.env, RBK_DATA_DIR: dataDir };
    d = await startDaemon(t);
    const home = path.join(root, 'home');
    const r = await runCli(t, ['install', '--no-service'], { env: { HOME: home } });
    expect(r.code, r.stderr).toBe(0);
    const settings = JSON.parse(fs.readFileSync(path.join(home, '.claude', 'settings.json'), 'utf8')) as { hooks: Record<string, { hooks: { command: string }[] }[]> };
    const command = settings.hooks.UserPromptSubmit![0]!.hooks[0]!.command;
    expect(command).toContain(`RBK_DATA_DIR='${root}/it'\\''s data'`);
    // As Claude Code runs it: through a shell, with none of rbk's variables in the environment.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('RBK_') && !k.startsWith('XDG_')));
    const out = execFileSync('/bin/sh', ['-c', command], { input: hookPayload('UserPromptSubmit', 'sess-quoted', { prompt: 'hi' }), env, encoding: 'utf8' });
    expect(out).toBe('');
    await waitFor('event stored', () => hookEventRows(t, 'session_id = ?', 'sess-quoted').length === 1);
  });
});

describe('rbk install with the systemd user service (stand-in systemctl)', () => {
  it('writes the unit, runs daemon-reload/enable/restart, is idempotent, and uninstall disables and removes it', async () => {
    const s = sandbox();
    const bin = path.join(s.t.root, 'bin');
    const log = path.join(s.t.root, 'systemctl.log');
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, 'systemctl'), `#!/bin/sh\necho "$*" >> '${log}'\n`, { mode: 0o755 });
    const xdgConfig = path.join(s.home, '.config');
    const env = { PATH: `${bin}${path.delimiter}${process.env.PATH}`, XDG_CONFIG_HOME: xdgConfig };
    // A daemon is already up, so install's wait for the socket succeeds at once.
    const d = await startDaemon(s.t);
    cleanups.push(() => d.stop().then(() => undefined));

    const r = await cli(s, ['install', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const unitFile = path.join(xdgConfig, 'systemd', 'user', 'rbk.service');
    const unit = fs.readFileSync(unitFile, 'utf8');
    expect(unit).toContain(`ExecStart=${process.execPath} ${path.join(REPO_ROOT, 'bin', 'rbkd.js')}`);
    expect(unit).toMatch(/^Restart=on-failure$/m);
    expect(unit).toMatch(/^NoNewPrivileges=yes$/m);
    expect(unit).toMatch(/^ProtectSystem=strict$/m);
    expect(unit).toMatch(/^ProtectHome=read-only$/m);
    expect(unit).toContain(`ReadWritePaths=-${s.t.dataDir}`);
    expect(unit).toContain(`Environment=RBK_DATA_DIR=${s.t.dataDir}`);
    expect(unit).toContain(`Environment=RBK_CONFIG=${s.t.config}`);
    // The temp data dir is under /tmp, which PrivateTmp would hide from the CLI: it is left off.
    expect(unit).toMatch(/^# PrivateTmp=yes is off/m);
    expect(unit).not.toContain('{{');
    expect(fs.readFileSync(log, 'utf8')).toBe('--user daemon-reload\n--user enable rbk.service\n--user restart rbk.service\n');
    const json = JSON.parse(r.stdout) as { daemonRunning: boolean; service: { kind: string }; warnings: string[] };
    expect(json.service.kind).toBe('systemd');
    // The test's daemon is not the service's: install says the service's own cannot start beside it.
    expect(json.warnings.join('\n')).toContain('already running');
    expect(json.daemonRunning).toBe(true);
    const manifest = JSON.parse(fs.readFileSync(path.join(s.t.dataDir, 'install-manifest.json'), 'utf8')) as { service: { file: string } };
    expect(manifest.service.file).toBe(unitFile);

    // Again: the unit is unchanged, so only `enable --now` (a no-op when running).
    const unitStat = fs.statSync(unitFile).mtimeMs;
    expect((await cli(s, ['install'], env)).code).toBe(0);
    expect(fs.statSync(unitFile).mtimeMs).toBe(unitStat);
    expect(fs.readFileSync(log, 'utf8').split('\n').at(-2)).toBe('--user enable --now rbk.service');

    fs.writeFileSync(log, '');
    const un = await cli(s, ['uninstall'], env);
    expect(un.code, un.stderr).toBe(0);
    expect(fs.readFileSync(log, 'utf8')).toBe('--user disable --now rbk.service\n--user daemon-reload\n');
    expect(fs.existsSync(unitFile)).toBe(false);
    expect(fs.existsSync(s.settings)).toBe(false);
  });

  it('--dry-run with the service prints the unit and the commands, runs nothing and writes nothing', async () => {
    const s = sandbox();
    const before = snapshotTree(s.t.root);
    const r = await cli(s, ['install', '--dry-run'], { XDG_CONFIG_HOME: path.join(s.home, '.config'), PATH: '/nonexistent' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`would create ${path.join(s.home, '.config', 'systemd', 'user', 'rbk.service')}`);
    expect(r.stdout).toContain('    ExecStart=');
    expect(r.stdout).toContain('would run: systemctl --user daemon-reload');
    expect(r.stdout).toContain('would run: systemctl --user enable rbk.service');
    expect(r.stdout).toContain(`would mkdir -m 0700 ${s.t.dataDir}`);
    expect(snapshotTree(s.t.root)).toEqual(before);
  });

  it('uninstall --purge refuses without a terminal or --yes, and deletes the data dir with --yes', async () => {
    const s = sandbox();
    expect((await cli(s, ['install', '--no-service'])).code).toBe(0);
    fs.writeFileSync(path.join(s.t.dataDir, 'rbk.db'), 'pretend');
    const no = await cli(s, ['uninstall', '--purge']);
    expect(no.code).toBe(1);
    expect(no.stderr).toContain('pass --yes');
    expect(fs.existsSync(s.t.dataDir)).toBe(true);
    const yes = await cli(s, ['uninstall', '--purge', '--yes']);
    expect(yes.code, yes.stderr).toBe(0);
    expect(fs.existsSync(s.t.dataDir)).toBe(false);
  });
});

