// `rbk install`: registers rbk's hook in Claude Code's settings and (unless --no-service) runs
// rbkd under the user's service manager. Idempotent; --dry-run shows everything and changes
// nothing; what it adds is recorded in the data dir's install-manifest.json for `rbk uninstall`.
import fs from 'node:fs';
import path from 'node:path';
import { resolvePaths, type RbkPaths } from '../../common/paths.js';
import { loadConfig } from '../../daemon/config/load.js';
import { CliError, EXIT } from '../errors.js';
import type { Io } from '../io.js';
import { backup, readIfExists, unifiedDiff, writeAtomic } from '../install/files.js';
import { desiredHooks, HOOK_EVENTS, isInstalled, planInstall, SettingsError, type DesiredHooks, type SettingsPlan } from '../install/hooks.js';
import {
  daemonScriptPath,
  hookScriptPath,
  launchdLogDir,
  launchdPlistPath,
  LAUNCHD_LABEL,
  manifestPath,
  packageRoot,
  projectSettingsFiles,
  systemdUnitPath,
  tildify,
  userSettingsFile,
} from '../install/locate.js';
import { emptyManifest, readManifest, writeManifest, type InstallManifest } from '../install/manifest.js';
import { onPath, runCommand, shellLine, socketAnswers, waitForSocket, type CommandResult } from '../install/run.js';
import { forwardedEnv, loadCommands, readTemplate, renderLaunchdPlist, renderSystemdUnit, type Command, type ServiceKind } from '../install/service.js';

export interface InstallOptions {
  dryRun: boolean;
  service: boolean;
  project?: string;
  /** With --project: write .claude/settings.local.json (not committed) instead of settings.json. */
  local: boolean;
  /** false: every hook blocks Claude Code (no "async": true on tool events). */
  async: boolean;
  json: boolean;
}

interface FileAction {
  file: string;
  kind: 'settings' | 'service';
  changed: boolean;
  created: boolean;
  before: string | null;
  after: string;
  mode: number;
  backup?: string;
}

export interface InstallPlan {
  paths: RbkPaths;
  desired: DesiredHooks;
  settings: FileAction & { plan: SettingsPlan };
  service?: FileAction & { serviceKind: ServiceKind; commands: Command[] };
  dirs: string[];
  warnings: string[];
}

/** Absolute paths the hook needs when rbk's locations are overridden at install time. */
function hookEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of ['RBK_DATA_DIR', 'RBK_SOCKET'] as const) {
    const v = env[k];
    if (v && v.length > 0) out[k] = path.resolve(v);
  }
  return out;
}

export function buildInstallPlan(opts: InstallOptions, env: NodeJS.ProcessEnv = process.env): InstallPlan {
  const paths = resolvePaths(env);
  const root = packageRoot();
  const hookScript = hookScriptPath(root);
  if (!fs.existsSync(hookScript)) {
    throw new CliError(`the hook is not built: ${hookScript} is missing. Run \`npm run build\` in ${root}, then rbk install again.`, EXIT.failure);
  }
  const warnings: string[] = [];
  const settingsFile = opts.project
    ? opts.local
      ? projectSettingsFiles(opts.project).local
      : projectSettingsFiles(opts.project).shared
    : userSettingsFile(env);
  if (opts.project && !opts.local) {
    warnings.push(`${settingsFile} is usually committed, but rbk's hook command holds absolute paths of this machine; consider --local (.claude/settings.local.json).`);
  }
  let manifest: InstallManifest | null = null;
  try {
    manifest = readManifest(paths);
  } catch (err) {
    warnings.push(`ignoring unreadable ${manifestPath(paths)}: ${(err as Error).message}`);
  }
  const desired = desiredHooks({ nodePath: process.execPath, hookScript, env: hookEnv(env), async: opts.async });
  const before = readIfExists(settingsFile);
  let plan: SettingsPlan;
  try {
    plan = planInstall(before, settingsFile, desired, manifest?.settings[settingsFile]);
  } catch (err) {
    if (err instanceof SettingsError) throw new CliError(err.message, EXIT.failure);
    throw err;
  }
  if (before !== null) {
    try {
      const parsed = JSON.parse(before.replace(/^\uFEFF/, '')) as { disableAllHooks?: unknown };
      if (parsed.disableAllHooks === true) warnings.push(`${settingsFile} sets "disableAllHooks": true, so Claude Code runs no hooks at all and rbk captures nothing from hooks; remove it to enable capture.`);
    } catch {
      /* planInstall already refused invalid JSON */
    }
  }
  const settings = {
    file: settingsFile,
    kind: 'settings' as const,
    changed: plan.changed,
    created: before === null,
    before,
    after: plan.after ?? '',
    mode: 0o644,
    plan,
  };

  const dirs: string[] = [];
  let service: InstallPlan['service'];
  if (opts.service) {
    const kind: ServiceKind | null = process.platform === 'linux' ? 'systemd' : process.platform === 'darwin' ? 'launchd' : null;
    if (!kind) throw new CliError(`no service manager support on ${process.platform}; run rbk install --no-service and start rbkd yourself (rbk daemon).`, EXIT.usage);
    let extraWritable: string[] = [];
    try {
      const { config } = loadConfig(paths.config);
      const base = config.integrations.claude.sessionStorage.localBaseDir;
      if (path.isAbsolute(base) && !base.startsWith(paths.dataDir + path.sep)) extraWritable = [base];
    } catch (err) {
      warnings.push(`config ${paths.config} is invalid (${(err as Error).message.split('\n')[0]}); the daemon will refuse to start until it is fixed (rbk doctor).`);
    }
    const inputs = {
      nodePath: process.execPath,
      rbkdPath: daemonScriptPath(root),
      paths,
      env: forwardedEnv(env),
      extraWritable,
      docsPath: path.join(root, 'docs', 'operations.md'),
    };
    const file = kind === 'systemd' ? systemdUnitPath(env) : launchdPlistPath();
    const after =
      kind === 'systemd'
        ? renderSystemdUnit(readTemplate(root, kind), inputs)
        : renderLaunchdPlist(readTemplate(root, kind), { ...inputs, logFile: path.join(launchdLogDir(), 'rbkd.log') });
    const prev = readIfExists(file);
    const changed = prev !== after;
    service = { file, kind: 'service', serviceKind: kind, changed, created: prev === null, before: prev, after, mode: 0o644, commands: loadCommands(kind, file, changed) };
    // The sandbox's ReadWritePaths must exist before the unit starts (the daemon cannot create
    // them under a read-only home); the default socket dir is systemd's RuntimeDirectory.
    dirs.push(paths.dataDir);
    if (kind === 'systemd' && env.RBK_SOCKET) dirs.push(path.dirname(paths.socket));
    if (kind === 'launchd') dirs.push(launchdLogDir());
    if (kind === 'systemd' && !opts.dryRun && !onPath('systemctl', env)) {
      throw new CliError('systemctl is not on PATH, so the user service cannot be installed. Run rbk install --no-service and start rbkd another way (rbk daemon).', EXIT.failure);
    }
  }
  return { paths, desired, settings, service, dirs: [...new Set(dirs)].filter((d) => !fs.existsSync(d)), warnings };
}

function describeWrite(a: FileAction, io: Io): void {
  if (!a.changed) {
    io.out(`unchanged ${a.file}`);
    return;
  }
  if (a.before === null) {
    io.out(`would create ${a.file}:`);
    io.out(a.after.replace(/\n$/, '').replace(/^/gm, '    '));
  } else {
    io.out(`would write ${a.file} (after a backup to ${a.file}.rbk-backup-<timestamp>):`);
    io.out(unifiedDiff(a.before, a.after, a.file).replace(/^/gm, '    '));
  }
}

export async function installCommand(io: Io, opts: InstallOptions): Promise<number> {
  const plan = buildInstallPlan(opts);
  const { paths, settings, service } = plan;
  const commands = service?.commands ?? [];

  if (opts.dryRun) {
    if (opts.json) {
      io.json({
        dryRun: true,
        changed: settings.changed || Boolean(service?.changed),
        settings: { file: settings.file, changed: settings.changed, create: settings.before === null, after: settings.after, diff: settings.before !== null && settings.changed ? unifiedDiff(settings.before, settings.after, settings.file) : null },
        service: service ? { kind: service.serviceKind, file: service.file, changed: service.changed, content: service.after } : null,
        mkdirs: plan.dirs,
        manifest: manifestPath(paths),
        commands: commands.map((c) => c.argv),
        warnings: plan.warnings,
      });
      return EXIT.ok;
    }
    io.out('rbk install --dry-run: showing what would happen; nothing is changed.');
    for (const w of plan.warnings) io.out(`warning: ${w}`);
    describeWrite(settings, io);
    if (service) describeWrite(service, io);
    for (const d of plan.dirs) io.out(`would mkdir -m 0700 ${d}`);
    if (settings.changed || service?.changed) io.out(`would record what was added in ${manifestPath(paths)}`);
    for (const c of commands) io.out(`would run: ${shellLine(c.argv)}`);
    return EXIT.ok;
  }

  if (service?.created && (await socketAnswers(paths.socket))) {
    plan.warnings.push(
      `an rbkd is already running on ${paths.socket} outside the service manager; the service's own rbkd cannot start until it stops (stop the foreground one, then: ${service.serviceKind === 'systemd' ? 'systemctl --user restart rbk' : `launchctl kickstart -k gui/$(id -u)/${LAUNCHD_LABEL}`})`,
    );
  }
  for (const d of plan.dirs) fs.mkdirSync(d, { recursive: true, mode: 0o700 });
  let manifest: InstallManifest;
  try {
    manifest = readManifest(paths) ?? emptyManifest();
  } catch {
    manifest = emptyManifest();
  }
  const now = new Date();

  // 1. Claude Code settings: backup, atomic write, read back and check.
  if (settings.changed) {
    if (settings.before !== null) settings.backup = backup(settings.file, now);
    else fs.mkdirSync(path.dirname(settings.file), { recursive: true });
    writeAtomic(settings.file, settings.after, settings.mode);
    const written = fs.readFileSync(settings.file, 'utf8');
    let ok = written === settings.after;
    try {
      ok &&= isInstalled(JSON.parse(written.replace(/^\uFEFF/, '')) as Record<string, unknown>, plan.desired, new Set());
    } catch {
      ok = false;
    }
    if (!ok) {
      if (settings.backup) fs.copyFileSync(settings.backup, fs.realpathSync(settings.file));
      else fs.rmSync(settings.file, { force: true });
      throw new CliError(`writing ${settings.file} did not produce the expected JSON; it was restored${settings.backup ? ` from ${settings.backup}` : ' (removed)'}.`, EXIT.failure);
    }
  }
  const prevRecord = manifest.settings[settings.file];
  if (settings.changed || !prevRecord) {
    manifest.settings[settings.file] = {
      ...settings.plan.footprint,
      backups: [...(prevRecord?.backups ?? []), ...(settings.backup ? [settings.backup] : [])],
      installedAt: now.toISOString(),
    };
  } else {
    manifest.settings[settings.file] = { ...prevRecord, commands: settings.plan.footprint.commands };
  }

  // 2. The service file, recorded before it is loaded so that uninstall can undo a half-done start.
  const results: CommandResult[] = [];
  if (service) {
    if (service.changed) {
      if (service.before !== null) service.backup = backup(service.file, now);
      writeAtomic(service.file, service.after, service.mode);
    }
    manifest.service = { kind: service.serviceKind, file: service.file, installedAt: manifest.service?.installedAt ?? now.toISOString() };
  }
  writeManifest(paths, manifest);
  for (const c of commands) {
    const r = runCommand(c);
    results.push(r);
    if (!r.ok && !c.mayFail) break;
  }
  const failed = results.find((r, i) => !r.ok && !commands[i]!.mayFail);
  const running = service && !failed ? await waitForSocket(paths.socket, 10_000) : undefined;

  if (opts.json) {
    io.json({
      dryRun: false,
      changed: settings.changed || Boolean(service?.changed),
      settings: { file: settings.file, changed: settings.changed, backup: settings.backup ?? null, events: HOOK_EVENTS },
      service: service ? { kind: service.serviceKind, file: service.file, changed: service.changed, backup: service.backup ?? null } : null,
      manifest: manifestPath(paths),
      commands: results.map((r) => ({ argv: r.argv, ok: r.ok, code: r.code, output: r.output })),
      daemonRunning: running ?? null,
      warnings: plan.warnings,
    });
  } else {
    for (const w of plan.warnings) io.err(`warning: ${w}`);
    io.out(
      settings.changed
        ? `hooks     ${tildify(settings.file)}: rbk's hook registered for ${HOOK_EVENTS.length} events${settings.backup ? ` (backup: ${tildify(settings.backup)})` : ''}`
        : `hooks     ${tildify(settings.file)}: already up to date`,
    );
    if (service) io.out(`service   ${tildify(service.file)}: ${service.changed ? (service.created ? 'written' : 'updated') : 'already up to date'}`);
    for (const r of results) io.out(`${r.ok ? 'ran' : 'FAILED'}       ${shellLine(r.argv)}${r.ok || !r.output ? '' : `\n          ${r.output.replace(/\n/g, '\n          ')}`}`);
    if (service && running) io.out(`daemon    running (socket ${paths.socket}); check with: rbk status`);
    if (service && running === false) {
      io.err(
        service.serviceKind === 'systemd'
          ? 'warning: the service did not open its socket within 10 s; see: systemctl --user status rbk; journalctl --user -u rbk'
          : `warning: the agent did not open its socket within 10 s; see: launchctl print gui/$(id -u)/${LAUNCHD_LABEL}; ${path.join(launchdLogDir(), 'rbkd.log')}`,
      );
    }
    if (!service) io.out('service   not installed (--no-service): start the daemon yourself with `rbk daemon`');
    io.out('next      rbk doctor');
  }
  if (failed) {
    if (!opts.json) io.err(`rbk: ${shellLine(failed.argv)} failed (exit ${failed.code}). The files above were written; fix the cause and run rbk install again, or rbk uninstall.`);
    return EXIT.failure;
  }
  return EXIT.ok;
}
