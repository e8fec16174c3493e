// `rbk install` / `rbk uninstall` as real CLI processes against a temp HOME: the user's settings
// survive byte for byte, install is idempotent, --dry-run changes nothing, invalid JSON is
// refused, the hook command works through a shell, and the service path runs the right commands
// (against a stand-in systemctl: a container has no user systemd).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HOOK_EVENTS, isRbkHook } from '../../cli/install/hooks.js';
import {
  assertBuilt,
  hookEventRows,
  hookPayload,
  makeDataDir,
  REPO_ROOT,
  runCli,
  startDaemon,
  waitFor,
  type DaemonProcess,
  type TempRbk,
} from '../support/rbk.js';
import { fakeSystemd, snapshotTree, type FakeSystemd } from './support.js';

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

    // Hooks only here: the telemetry env block has its own test below.
    const first = await cli(s, ['install', '--no-service', '--no-telemetry', '--json']);
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
    const second = await cli(s, ['install', '--no-service', '--no-telemetry', '--json']);
    expect(second.code, second.stderr).toBe(0);
    expect((JSON.parse(second.stdout) as { changed: boolean }).changed).toBe(false);
    const after = snapshotTree(s.t.root);
    expect([...after.entries()].filter(([k]) => !k.endsWith('install-manifest.json'))).toEqual(
      [...before.entries()].filter(([k]) => !k.endsWith('install-manifest.json')),
    );

    const un = await cli(s, ['uninstall', '--yes']);
    expect(un.code, un.stderr).toBe(0);
    expect(fs.readFileSync(s.settings, 'utf8')).toBe(USER_SETTINGS);
    expect(fs.existsSync(path.join(s.t.dataDir, 'install-manifest.json'))).toBe(false);
    // Uninstalling again finds nothing to do.
    const again = await cli(s, ['uninstall', '--json', '--yes']);
    expect(again.code, again.stderr).toBe(0);
    expect(fs.readFileSync(s.settings, 'utf8')).toBe(USER_SETTINGS);
  });

  it("points Claude Code's own telemetry at rbk through the env block, keeps the user's collector for metrics, and uninstall restores the file byte for byte", async () => {
    const s = sandbox({ config: 'otel: { listen: "127.0.0.1:19479" }\n' });
    // The user already exports metrics to a collector of theirs and prints events to the console.
    const mine = USER_SETTINGS.replace(
      '"env": { "GREETING": "caf\\u00e9", "RATIO": 1.50e1 }',
      '"env": { "GREETING": "caf\\u00e9", "RATIO": 1.50e1, "OTEL_METRICS_EXPORTER": "otlp", "OTEL_LOGS_EXPORTER": "console", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector.internal:4318" }',
    );
    expect(mine).not.toBe(USER_SETTINGS);
    fs.writeFileSync(s.settings, mine);
    const first = await cli(s, ['install', '--no-service', '--json']);
    expect(first.code, first.stderr).toBe(0);
    const out = JSON.parse(first.stdout) as { settings: { telemetry: { keys: string[]; skipped: string | null } } };
    expect(out.settings.telemetry.skipped).toBeNull();
    const token = fs.readFileSync(path.join(s.t.dataDir, 'otlp-token'), 'utf8').trim();
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    expect(fs.statSync(path.join(s.t.dataDir, 'otlp-token')).mode & 0o777).toBe(0o600);
    const env = (JSON.parse(fs.readFileSync(s.settings, 'utf8')) as { env: Record<string, unknown> }).env;
    expect(env).toEqual({
      GREETING: 'café',
      RATIO: 15,
      OTEL_METRICS_EXPORTER: 'otlp',
      OTEL_LOGS_EXPORTER: 'console,otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector.internal:4318',
      CLAUDE_CODE_ENABLE_TELEMETRY: '1',
      OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'http/protobuf',
      OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'http://127.0.0.1:19479/v1/logs',
      OTEL_EXPORTER_OTLP_LOGS_HEADERS: `Authorization=Bearer ${token}`,
    });
    // The file now holds the receiver's token: this user's only.
    expect(fs.statSync(s.settings).mode & 0o777).toBe(0o600);
    const installed = fs.readFileSync(s.settings, 'utf8');
    const again = await cli(s, ['install', '--no-service', '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect((JSON.parse(again.stdout) as { changed: boolean }).changed).toBe(false);
    expect(fs.readFileSync(s.settings, 'utf8')).toBe(installed);

    const un = await cli(s, ['uninstall', '--yes']);
    expect(un.code, un.stderr).toBe(0);
    expect(fs.readFileSync(s.settings, 'utf8')).toBe(mine);
  });

  it("leaves a user's own collector of Claude Code's events alone, unless the config forwards to it", async () => {
    const s = sandbox({ config: 'otel: { listen: "127.0.0.1:19479" }\n' });
    const theirs = '{\n  "env": {\n    "OTEL_LOGS_EXPORTER": "otlp",\n    "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector.internal:4318"\n  }\n}\n';
    fs.writeFileSync(s.settings, theirs);
    const first = await cli(s, ['install', '--no-service', '--json']);
    expect(first.code, first.stderr).toBe(0);
    const out = JSON.parse(first.stdout) as { settings: { telemetry: { skipped: string | null } }; warnings: string[] };
    expect(out.settings.telemetry.skipped).toContain('otel.forward: [{ url: "http://collector.internal:4318" }]');
    expect(out.warnings.join('\n')).toContain('already sends its events to http://collector.internal:4318');
    const env = (JSON.parse(fs.readFileSync(s.settings, 'utf8')) as { env: Record<string, string> }).env;
    expect(env).toEqual({ OTEL_LOGS_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector.internal:4318' });

    // With forwarding configured, rbk takes the events and passes them on.
    s.t.writeConfig('otel: { listen: "127.0.0.1:19479", forward: [{ url: "http://collector.internal:4318" }] }\n');
    const second = await cli(s, ['install', '--no-service', '--json']);
    expect(second.code, second.stderr).toBe(0);
    const env2 = (JSON.parse(fs.readFileSync(s.settings, 'utf8')) as { env: Record<string, string> }).env;
    expect(env2.OTEL_EXPORTER_OTLP_LOGS_ENDPOINT).toBe('http://127.0.0.1:19479/v1/logs');
    expect(env2.OTEL_EXPORTER_OTLP_ENDPOINT).toBe('http://collector.internal:4318');
    const un = await cli(s, ['uninstall', '--yes']);
    expect(un.code, un.stderr).toBe(0);
    const left = JSON.parse(fs.readFileSync(s.settings, 'utf8')) as Record<string, unknown>;
    expect(left).toEqual({ env: { OTEL_LOGS_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector.internal:4318' } });
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

    expect((await cli(s, ['uninstall', '--yes'])).code).toBe(0);
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
    expect((await cli(s, ['uninstall', '--yes'])).code).toBe(0);
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
    fs.writeFileSync(
      s.settings,
      `${JSON.stringify({ hooks: { Stop: [{ matcher: '*', hooks: [stale] }, { hooks: [{ type: 'command', command: 'say done' }] }] } }, null, 2)}\n`,
    );
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
    expect((await cli(s, ['uninstall', '--yes'])).code).toBe(0);
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
    const t: TempRbk = {
      ...makeDataDir(),
      dataDir,
      socket: path.join(dataDir, 'run', 'rbk.sock'),
      db: path.join(dataDir, 'rbk.db'),
      spoolDir: path.join(dataDir, 'spool'),
    };
    cleanups.push(() => t.cleanup());
    t.env = { ...t.env, RBK_DATA_DIR: dataDir };
    d = await startDaemon(t);
    const home = path.join(root, 'home');
    const r = await runCli(t, ['install', '--no-service'], { env: { HOME: home } });
    expect(r.code, r.stderr).toBe(0);
    const settings = JSON.parse(fs.readFileSync(path.join(home, '.claude', 'settings.json'), 'utf8')) as {
      hooks: Record<string, { hooks: { command: string }[] }[]>;
    };
    const command = settings.hooks.UserPromptSubmit![0]!.hooks[0]!.command;
    expect(command).toContain(`RBK_DATA_DIR='${root}/it'\\''s data'`);
    // As Claude Code runs it: through a shell, with none of rbk's variables in the environment.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('RBK_') && !k.startsWith('XDG_')));
    const out = execFileSync('/bin/sh', ['-c', command], { input: hookPayload('UserPromptSubmit', 'sess-quoted', { prompt: 'hi' }), env, encoding: 'utf8' });
    expect(out).toBe('');
    await waitFor('event stored', () => hookEventRows(t, 'session_id = ?', 'sess-quoted').length === 1);
  });
});

describe('rbk install with the systemd user service (stand-in systemd user manager)', () => {
  /** PATH with the stand-in systemctl first, XDG_CONFIG_HOME inside the sandbox's home. */
  function systemdEnv(s: Sandbox, sd: FakeSystemd) {
    return { PATH: `${sd.bin}${path.delimiter}${process.env.PATH}`, XDG_CONFIG_HOME: path.join(s.home, '.config') };
  }
  const statusOf = async (s: Sandbox, env: Record<string, string>) =>
    JSON.parse((await cli(s, ['status', '--json'], env)).stdout) as { pid: number; startedBy: string };

  it('writes the unit, hands a hand-started daemon over to the service, is idempotent, and uninstall disables and removes it', async () => {
    const s = sandbox();
    const sd = fakeSystemd(s.t.root, { rbkd: path.join(REPO_ROOT, 'bin', 'rbkd.js') });
    cleanups.push(() => sd.cleanup());
    const env = systemdEnv(s, sd);
    // Following the README: the daemon is already running in a terminal (npm start) when install runs.
    const d = await startDaemon(s.t);
    cleanups.push(() => d.stop().then(() => undefined));

    const r = await cli(s, ['install', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const unitFile = path.join(s.home, '.config', 'systemd', 'user', 'rbk.service');
    const unit = fs.readFileSync(unitFile, 'utf8');
    expect(unit).toContain(`ExecStart=${process.execPath} --max-semi-space-size=4 ${path.join(REPO_ROOT, 'bin', 'rbkd.js')}`);
    expect(unit).toMatch(/^Restart=on-failure$/m);
    expect(unit).toMatch(/^NoNewPrivileges=yes$/m);
    expect(unit).toMatch(/^ProtectSystem=strict$/m);
    expect(unit).toMatch(/^ProtectHome=read-only$/m);
    expect(unit).toMatch(/^Environment=RBK_STARTED_BY=systemd$/m);
    expect(unit).toContain(`ReadWritePaths=-${s.t.dataDir}`);
    expect(unit).toContain(`Environment=RBK_DATA_DIR=${s.t.dataDir}`);
    expect(unit).toContain(`Environment=RBK_CONFIG=${s.t.config}`);
    // The temp data dir is under /tmp, which PrivateTmp would hide from the CLI: it is left off.
    expect(unit).toMatch(/^# PrivateTmp=yes is off/m);
    expect(unit).not.toContain('{{');
    // The bus is checked before anything is written; then reload, enable, restart.
    expect(sd.log()).toBe('--user show-environment\n--user daemon-reload\n--user enable rbk.service\n--user restart rbk.service\n');
    const json = JSON.parse(r.stdout) as {
      daemonRunning: boolean;
      service: { kind: string };
      stoppedDaemon: { pid: number; startedBy: string } | null;
      warnings: string[];
    };
    expect(json.service.kind).toBe('systemd');
    // The daemon started by hand was stopped, and the service's own runs now.
    expect(json.stoppedDaemon).toEqual({ pid: d.pid, startedBy: 'foreground' });
    expect((await d.exited).code).toBe(0);
    expect(json.daemonRunning).toBe(true);
    const st = await statusOf(s, env);
    expect(st).toMatchObject({ startedBy: 'systemd', pid: sd.servicePid() });
    const manifest = JSON.parse(fs.readFileSync(path.join(s.t.dataDir, 'install-manifest.json'), 'utf8')) as { service: { file: string }; daemon: string };
    expect(manifest.service.file).toBe(unitFile);
    expect(manifest.daemon).toBe('service');
    // Doctor asks the manager: loaded, enabled, running.
    const doc = JSON.parse((await cli(s, ['doctor', '--json'], env)).stdout) as { checks: { id: string; status: string; details?: Record<string, unknown> }[] };
    expect(doc.checks.find((c) => c.id === 'service')).toMatchObject({ status: 'pass', details: { loaded: true, enabled: true, active: true } });

    // Again: the unit is unchanged, so only `enable --now` (a no-op when running); the daemon stays.
    const unitStat = fs.statSync(unitFile).mtimeMs;
    expect((await cli(s, ['install'], env)).code).toBe(0);
    expect(fs.statSync(unitFile).mtimeMs).toBe(unitStat);
    expect(sd.log().split('\n').at(-2)).toBe('--user enable --now rbk.service');
    expect((await statusOf(s, env)).pid).toBe(st.pid);

    // rbk stop and rbk start go through the manager, so that it does not restart what was stopped.
    sd.clearLog();
    const stop = await cli(s, ['stop'], env);
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.stdout).toContain('as the systemd user service');
    expect(sd.log()).toContain('--user stop rbk.service');
    expect(sd.servicePid()).toBeNull();
    const start = await cli(s, ['start'], env);
    expect(start.code, start.stderr).toBe(0);
    expect(sd.log()).toContain('--user start rbk.service');
    expect((await statusOf(s, env)).startedBy).toBe('systemd');

    sd.clearLog();
    const un = await cli(s, ['uninstall', '--yes'], env);
    expect(un.code, un.stderr).toBe(0);
    expect(sd.log()).toBe('--user disable --now rbk.service\n--user daemon-reload\n');
    expect(sd.servicePid()).toBeNull();
    expect(fs.existsSync(unitFile)).toBe(false);
    // The folders install made for the unit are gone too.
    expect(fs.existsSync(path.join(s.home, '.config', 'systemd'))).toBe(false);
    expect(fs.existsSync(s.settings)).toBe(false);
  });

  it('without a systemd user bus: no unit is written, rbkd runs in the background instead, install says so, and doctor warns', async () => {
    const s = sandbox();
    const sd = fakeSystemd(s.t.root, { rbkd: path.join(REPO_ROOT, 'bin', 'rbkd.js'), noBus: true });
    const env = systemdEnv(s, sd);
    cleanups.push(async () => {
      await cli(s, ['stop'], env);
    });
    const r = await cli(s, ['install'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('service   not installed: the systemd user manager cannot be reached (Failed to connect to bus: No medium found).');
    expect(r.stdout).toMatch(/daemon {4}running in the background instead \(pid \d+/);
    expect(fs.existsSync(path.join(s.home, '.config', 'systemd'))).toBe(false);
    expect(sd.log()).toBe('--user show-environment\n');
    expect((await statusOf(s, env)).startedBy).toBe('background');
    const doc = JSON.parse((await cli(s, ['doctor', '--json'], env)).stdout) as { checks: { id: string; status: string; summary: string }[] };
    expect(doc.checks.find((c) => c.id === 'service')).toMatchObject({ status: 'warn' });
    expect(doc.checks.find((c) => c.id === 'service')!.summary).toContain('nothing starts it after a reboot');
    // Uninstall stops the background daemon too.
    const un = await cli(s, ['uninstall', '--yes', '--json'], env);
    expect(un.code, un.stderr).toBe(0);
    expect((JSON.parse(un.stdout) as { stoppedDaemon: { startedBy: string } }).stoppedDaemon.startedBy).toBe('background');
    expect((await cli(s, ['status'], env)).code).toBe(3);
  });

  it('a unit the manager refuses is taken out again: no half-installed unit, and rbkd runs in the background', async () => {
    const s = sandbox();
    const sd = fakeSystemd(s.t.root, { rbkd: path.join(REPO_ROOT, 'bin', 'rbkd.js'), failOn: 'enable rbk.service' });
    const env = systemdEnv(s, sd);
    cleanups.push(async () => {
      await cli(s, ['stop'], env);
    });
    const r = await cli(s, ['install', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout) as { service: unknown; serviceFallback: string };
    expect(json.service).toBeNull();
    expect(json.serviceFallback).toContain('systemctl --user enable rbk.service failed');
    expect(fs.existsSync(path.join(s.home, '.config', 'systemd', 'user', 'rbk.service'))).toBe(false);
    const manifest = JSON.parse(fs.readFileSync(path.join(s.t.dataDir, 'install-manifest.json'), 'utf8')) as { service?: unknown; daemon: string };
    expect(manifest.service).toBeUndefined();
    expect(manifest.daemon).toBe('background');
    expect((await statusOf(s, env)).startedBy).toBe('background');
  });

  it('--dry-run with the service prints the unit and the commands, runs nothing and writes nothing', async () => {
    const s = sandbox();
    const sd = fakeSystemd(s.t.root, { rbkd: path.join(REPO_ROOT, 'bin', 'rbkd.js') });
    const before = snapshotTree(s.t.root);
    const r = await cli(s, ['install', '--dry-run'], systemdEnv(s, sd));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`would create ${path.join(s.home, '.config', 'systemd', 'user', 'rbk.service')}`);
    expect(r.stdout).toContain('    ExecStart=');
    expect(r.stdout).toContain('would run: systemctl --user daemon-reload');
    expect(r.stdout).toContain('would run: systemctl --user enable rbk.service');
    expect(r.stdout).toContain(`would mkdir -m 0700 ${s.t.dataDir}`);
    expect(r.stdout).toContain(`would create ${path.join(s.home, '.local', 'bin', 'rbk')}`);
    // Only the read-only bus check ran.
    expect(sd.log()).toBe('--user show-environment\n');
    sd.clearLog();
    expect([...snapshotTree(s.t.root).entries()].filter(([k]) => !k.startsWith('fake-systemd'))).toEqual(
      [...before.entries()].filter(([k]) => !k.startsWith('fake-systemd')),
    );
    // Without systemctl at all, the dry run says what happens instead.
    const emptyBin = path.join(s.t.root, 'empty-bin');
    fs.mkdirSync(emptyBin);
    const none = await cli(s, ['install', '--dry-run'], { XDG_CONFIG_HOME: path.join(s.home, '.config'), PATH: emptyBin });
    expect(none.code, none.stderr).toBe(0);
    expect(none.stdout).toContain('no service: systemctl is not on PATH; would run rbkd in the background instead (rbk start)');
  });

  it('uninstall --purge refuses without a terminal or --yes, and deletes the data dir with --yes', async () => {
    const s = sandbox();
    expect((await cli(s, ['install', '--no-service'])).code).toBe(0);
    fs.writeFileSync(path.join(s.t.dataDir, 'rbk.db'), 'pretend');
    const no = await cli(s, ['uninstall', '--purge']);
    expect(no.code).toBe(2);
    expect(no.stderr).toContain('run it again with --yes');
    // What it would have done is shown, and nothing was changed.
    expect(no.stderr).toContain(`DELETE ${s.t.dataDir}`);
    expect(fs.existsSync(s.t.dataDir)).toBe(true);
    expect(rbkCommands(fs.readFileSync(s.settings, 'utf8')).size).toBe(HOOK_EVENTS.length);
    const yes = await cli(s, ['uninstall', '--purge', '--yes']);
    expect(yes.code, yes.stderr).toBe(0);
    expect(fs.existsSync(s.t.dataDir)).toBe(false);
  });
});
