// `rbk install`: registers rbk's hook in Claude Code's settings, puts `rbk` and `rbkd` on PATH
// (shims in ~/.local/bin) and, unless --no-service, runs rbkd under the user's service manager.
// Without a reachable manager (no systemd user bus in a container or an ssh session) it writes no
// unit and runs rbkd in the background instead, and says so. A daemon already started by hand is
// stopped and handed over to the service. Idempotent; --dry-run shows everything and changes
// nothing; what it adds is recorded in the data dir's install-manifest.json for `rbk uninstall`.
import fs from 'node:fs';
import path from 'node:path';
import { ensureDataDir } from '../../common/data-dir.js';
import { resolvePaths, type RbkPaths } from '../../common/paths.js';
import { loadConfig } from '../../daemon/config/load.js';
import { loadOrCreateSecret } from '../../common/secret-file.js';
import { CliError, EXIT } from '../errors.js';
import type { Io } from '../io.js';
import { backup, mkdirRecorded, readIfExists, unifiedDiff, writeAtomic } from '../install/files.js';
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
import { onPath, runCommand, shellLine, waitForSocket, type CommandResult } from '../install/run.js';
import {
  afterUnloadCommands,
  forwardedEnv,
  loadCommands,
  readTemplate,
  renderLaunchdPlist,
  renderSystemdUnit,
  unloadCommands,
  type Command,
  type ServiceKind,
} from '../install/service.js';
import { onPathDirs, pathHint, planShims, shimDir, type ShimPlan } from '../install/shims.js';
import { planTelemetryInstall, planTelemetryUninstall, type TelemetryPlan } from '../install/telemetry.js';
import { parseListen } from '../../daemon/listen.js';
import { rbkCommand, runningDaemon, startInBackground, STARTED_BY_TEXT, stopDaemon, systemdUserBus, type StartedBy } from '../daemon-control.js';

export interface InstallOptions {
  dryRun: boolean;
  service: boolean;
  project?: string;
  /** With --project: write .claude/settings.local.json (not committed) instead of settings.json. */
  local: boolean;
  /** false: every hook blocks Claude Code (no "async": true on tool events). */
  async: boolean;
  /** Put rbk and rbkd shims in ~/.local/bin. */
  shims: boolean;
  /** Point Claude Code's own telemetry (its events) at rbk's OTLP receiver (the settings' env block). */
  telemetry: boolean;
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
  settings: FileAction & { plan: SettingsPlan; telemetry: TelemetryPlan | null };
  service?: FileAction & { serviceKind: ServiceKind; commands: Command[] };
  /**
   * Set when a service was asked for but cannot be installed here (no systemd user bus, no
   * systemctl): why. rbkd then runs in the background instead.
   */
  serviceFallback?: string;
  shims: ShimPlan[];
  shimDir: string;
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

/** Why no service can be installed on this machine now, or undefined when one can. */
function serviceUnavailable(kind: ServiceKind | null, env: NodeJS.ProcessEnv): string | undefined {
  if (!kind) return `rbk has no service manager support on ${process.platform}`;
  if (kind === 'systemd') {
    if (!onPath('systemctl', env)) return 'systemctl is not on PATH';
    const bus = systemdUserBus();
    if (!bus.ok) return `the systemd user manager cannot be reached (${bus.problem})`;
  }
  return undefined;
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
    warnings.push(
      `${settingsFile} is usually committed, but rbk's hook command holds absolute paths of this machine; consider --local (.claude/settings.local.json).`,
    );
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
  // Claude Code's own telemetry: on top of the hooks, in the same file.
  let telemetry: TelemetryPlan | null = null;
  let config: ReturnType<typeof loadConfig>['config'] | null = null;
  try {
    config = loadConfig(paths.config).config;
  } catch (err) {
    warnings.push(
      `config ${paths.config} is invalid (${(err as Error).message.split('\n')[0]}); the daemon will refuse to start until it is fixed (rbk doctor).`,
    );
  }
  const previousTelemetry = manifest?.settings[settingsFile]?.telemetry;
  if (opts.telemetry && config?.otel.enabled && config.otel.claudeCode) {
    const { host, port } = parseListen(config.otel.listen);
    const token = opts.dryRun && !fs.existsSync(paths.otlpToken) ? '<made at install>' : loadOrCreateSecret(paths.otlpToken, 'OTLP token');
    try {
      telemetry = planTelemetryInstall(
        plan.after ?? '{}',
        { baseUrl: `http://${host.includes(':') ? `[${host}]` : host}:${port}`, token, forwards: config.otel.forward.map((f) => f.url) },
        previousTelemetry,
      );
    } catch (err) {
      throw new CliError(`${settingsFile}: ${(err as Error).message}; nothing was changed.`, EXIT.failure);
    }
    if (telemetry.skipped) warnings.push(telemetry.skipped);
  } else if (previousTelemetry && plan.after !== null) {
    // Turned off since the last install (--no-telemetry, otel.claudeCode: false): take it out.
    telemetry = { after: planTelemetryUninstall(plan.after, previousTelemetry), changed: true, footprint: { createdEnvKey: false, changes: [] } };
  }
  const after = telemetry ? telemetry.after : plan.after;
  if (before !== null) {
    try {
      const parsed = JSON.parse(before.replace(/^\uFEFF/, '')) as { disableAllHooks?: unknown };
      if (parsed.disableAllHooks === true)
        warnings.push(
          `${settingsFile} sets "disableAllHooks": true, so Claude Code runs no hooks at all and rbk captures nothing from hooks; remove it to enable capture.`,
        );
    } catch {
      /* planInstall already refused invalid JSON */
    }
  }
  const settings = {
    file: settingsFile,
    kind: 'settings' as const,
    changed: (after ?? null) !== before,
    created: before === null,
    before,
    after: after ?? '',
    // The file carries the OTLP token once telemetry is on: readable by this user only.
    mode: telemetry && telemetry.footprint.changes.length > 0 ? 0o600 : 0o644,
    plan,
    telemetry,
  };

  const dir = shimDir(env);
  const shims = opts.shims
    ? planShims({ dir, nodePath: process.execPath, rbkScript: path.join(root, 'bin', 'rbk.js'), rbkdScript: daemonScriptPath(root) })
    : [];
  for (const sh of shims) {
    if (sh.state === 'foreign') warnings.push(`${sh.file} exists and is not rbk's; left alone, so \`${sh.name}\` may not run this rbk`);
  }

  const dirs: string[] = [];
  let service: InstallPlan['service'];
  let serviceFallback: string | undefined;
  if (opts.service) {
    const kind: ServiceKind | null = process.platform === 'linux' ? 'systemd' : process.platform === 'darwin' ? 'launchd' : null;
    serviceFallback = serviceUnavailable(kind, env);
    if (kind && !serviceFallback) {
      let extraWritable: string[] = [];
      if (config) {
        const base = config.integrations.claude.sessionStorage.localBaseDir;
        if (path.isAbsolute(base) && !base.startsWith(paths.dataDir + path.sep)) extraWritable = [base];
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
      service = {
        file,
        kind: 'service',
        serviceKind: kind,
        changed,
        created: prev === null,
        before: prev,
        after,
        mode: 0o644,
        commands: loadCommands(kind, file, changed),
      };
      // The sandbox's ReadWritePaths must exist before the unit starts (the daemon cannot create
      // them under a read-only home); the default socket dir is systemd's RuntimeDirectory.
      dirs.push(paths.dataDir);
      if (kind === 'systemd' && env.RBK_SOCKET) dirs.push(path.dirname(paths.socket));
      if (kind === 'launchd') dirs.push(launchdLogDir());
    }
  }
  return { paths, desired, settings, service, serviceFallback, shims, shimDir: dir, dirs: [...new Set(dirs)].filter((d) => !fs.existsSync(d)), warnings };
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

/**
 * A daemon started by hand that must make way: for the service, any (a terminal's or rbk start's);
 * without a service, only one in a terminal, which would end with that terminal (a background one
 * is already what the fallback would start).
 */
async function handStarted(paths: RbkPaths, forService: boolean): Promise<{ pid: number; startedBy: StartedBy } | null> {
  try {
    const d = await runningDaemon(paths);
    if (!d) return null;
    if (d.startedBy === 'foreground' || (forService && d.startedBy === 'background')) return { pid: d.pid, startedBy: d.startedBy };
    return null;
  } catch {
    return null;
  }
}

/** Takes a service back out after its manager refused it: no half-installed unit stays behind. */
function rollBackService(svc: NonNullable<InstallPlan['service']>, manifest: InstallManifest): CommandResult[] {
  const results = unloadCommands(svc.serviceKind).map((c) => runCommand({ ...c, mayFail: true }));
  if (svc.before !== null) writeAtomic(svc.file, svc.before, svc.mode);
  else fs.rmSync(svc.file, { force: true });
  results.push(...afterUnloadCommands(svc.serviceKind).map((c) => runCommand(c)));
  delete manifest.service;
  return results;
}

export async function installCommand(io: Io, opts: InstallOptions): Promise<number> {
  const plan = buildInstallPlan(opts);
  const { paths, settings, service } = plan;
  const commands = service?.commands ?? [];
  const shimWrites = plan.shims.filter((s) => s.state === 'absent' || s.state === 'outdated');
  const shimDirOnPath = onPathDirs(plan.shimDir);
  const handover = service || plan.serviceFallback ? await handStarted(paths, service !== undefined) : null;

  if (opts.dryRun) {
    if (opts.json) {
      io.json({
        dryRun: true,
        changed: settings.changed || Boolean(service?.changed) || shimWrites.length > 0,
        settings: {
          file: settings.file,
          changed: settings.changed,
          create: settings.before === null,
          after: settings.after,
          diff: settings.before !== null && settings.changed ? unifiedDiff(settings.before, settings.after, settings.file) : null,
        },
        service: service ? { kind: service.serviceKind, file: service.file, changed: service.changed, content: service.after } : null,
        serviceFallback: plan.serviceFallback ?? null,
        shims: plan.shims.map((s) => ({ file: s.file, state: s.state, write: s.state === 'absent' || s.state === 'outdated' })),
        shimDirOnPath,
        stopsDaemon: handover,
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
    for (const s of shimWrites) io.out(`would ${s.state === 'absent' ? 'create' : 'update'} ${s.file} (runs ${s.name} from this checkout)`);
    if (plan.shims.length > 0 && !shimDirOnPath) io.out(`note: ${plan.shimDir} is not on your PATH; add it with: ${pathHint(plan.shimDir)}`);
    if (service) describeWrite(service, io);
    for (const d of plan.dirs) io.out(`would mkdir -m 0700 ${d}`);
    if (handover)
      io.out(
        `would stop the rbkd started ${STARTED_BY_TEXT[handover.startedBy]} (pid ${handover.pid}) so that ${service ? 'the service runs it' : 'it runs in the background'}`,
      );
    if (settings.changed || service?.changed || shimWrites.length > 0) io.out(`would record what was added in ${manifestPath(paths)}`);
    for (const c of commands) io.out(`would run: ${shellLine(c.argv)}`);
    if (plan.serviceFallback) io.out(`no service: ${plan.serviceFallback}; would run rbkd in the background instead (rbk start)`);
    return EXIT.ok;
  }

  let manifest: InstallManifest;
  try {
    manifest = readManifest(paths) ?? emptyManifest();
  } catch {
    manifest = emptyManifest();
  }
  const created = manifest.createdDirs ?? [];
  manifest.createdDirs = created;
  // The data dir records its own new parents (for uninstall --purge); the others go in the manifest.
  for (const d of plan.dirs) {
    if (d === paths.dataDir) ensureDataDir(d);
    else mkdirRecorded(d, created, 0o700);
  }
  const now = new Date();

  // 1. Claude Code settings: backup, atomic write, read back and check.
  if (settings.changed) {
    // A file rbk created itself (and changes again) needs no backup: uninstall deletes it.
    const ours = manifest.settings[settings.file]?.createdFile === true;
    if (settings.before !== null && !ours) settings.backup = backup(settings.file, now);
    else if (settings.before === null) mkdirRecorded(path.dirname(settings.file), created);
    writeAtomic(settings.file, settings.after, settings.mode, { private: settings.mode === 0o600 });
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
      throw new CliError(
        `writing ${settings.file} did not produce the expected JSON; it was restored${settings.backup ? ` from ${settings.backup}` : ' (removed)'}.`,
        EXIT.failure,
      );
    }
  }
  const prevRecord = manifest.settings[settings.file];
  if (settings.changed || !prevRecord) {
    manifest.settings[settings.file] = {
      ...settings.plan.footprint,
      createdFile: settings.plan.footprint.createdFile || prevRecord?.createdFile === true,
      backups: [...(prevRecord?.backups ?? []), ...(settings.backup ? [settings.backup] : [])],
      installedAt: now.toISOString(),
      ...(settings.telemetry ? { telemetry: settings.telemetry.footprint } : prevRecord?.telemetry ? { telemetry: prevRecord.telemetry } : {}),
    };
  } else {
    manifest.settings[settings.file] = { ...prevRecord, commands: settings.plan.footprint.commands };
  }

  // 2. rbk and rbkd on PATH.
  if (plan.shims.length > 0) {
    if (shimWrites.length > 0) mkdirRecorded(plan.shimDir, created);
    for (const s of shimWrites) writeAtomic(s.file, s.content, 0o755);
    manifest.shims = [...new Set([...(manifest.shims ?? []), ...plan.shims.filter((s) => s.state !== 'foreign').map((s) => s.file)])];
  }

  // 3. The daemon: a hand-started one makes way for the service (or the background one).
  let stopped: { pid: number; startedBy: StartedBy } | null = null;
  if (handover) {
    const r = await stopDaemon(paths, 30_000);
    if (r.wasRunning) stopped = handover;
  }
  const results: CommandResult[] = [];
  let fallback = plan.serviceFallback;
  let rolledBack: CommandResult | undefined;
  if (service) {
    // Recorded before it is loaded, so that uninstall can undo a half-done start.
    if (service.changed) {
      if (service.before !== null) service.backup = backup(service.file, now);
      mkdirRecorded(path.dirname(service.file), created);
      writeAtomic(service.file, service.after, service.mode);
    }
    manifest.service = { kind: service.serviceKind, file: service.file, installedAt: manifest.service?.installedAt ?? now.toISOString() };
    writeManifest(paths, manifest);
    for (const c of commands) {
      const r = runCommand(c);
      results.push(r);
      if (!r.ok && !c.mayFail) break;
    }
    rolledBack = results.find((r, i) => !r.ok && !commands[i]!.mayFail);
    if (rolledBack) {
      results.push(...rollBackService(service, manifest));
      if (service.backup) fs.rmSync(service.backup, { force: true });
      fallback = `${shellLine(rolledBack.argv)} failed (${rolledBack.output.split('\n')[0] || `exit ${rolledBack.code}`}); the unit was taken out again`;
    }
  }
  let running: boolean | undefined;
  let background: { pid: number; logFile: string } | undefined;
  let backgroundError: string | undefined;
  if (service && !rolledBack) {
    running = await waitForSocket(paths.socket, 10_000);
    manifest.daemon = 'service';
  } else if (fallback) {
    const already = await runningDaemon(paths).catch(() => null);
    if (already) running = true;
    else {
      try {
        background = await startInBackground(paths, 15_000);
        running = true;
      } catch (err) {
        backgroundError = (err as Error).message;
        running = false;
      }
    }
    manifest.daemon = 'background';
  } else {
    manifest.daemon = manifest.daemon === 'service' ? 'service' : 'none';
  }
  writeManifest(paths, manifest);

  if (opts.json) {
    io.json({
      dryRun: false,
      changed: settings.changed || Boolean(service?.changed) || shimWrites.length > 0,
      settings: {
        file: settings.file,
        changed: settings.changed,
        backup: settings.backup ?? null,
        events: HOOK_EVENTS,
        telemetry: settings.telemetry ? { keys: settings.telemetry.footprint.changes.map((c) => c.key), skipped: settings.telemetry.skipped ?? null } : null,
      },
      service: service && !rolledBack ? { kind: service.serviceKind, file: service.file, changed: service.changed, backup: service.backup ?? null } : null,
      serviceFallback: fallback ?? null,
      shims: plan.shims.map((s) => ({ file: s.file, state: s.state })),
      shimDirOnPath,
      stoppedDaemon: stopped,
      background: background ?? null,
      manifest: manifestPath(paths),
      commands: results.map((r) => ({ argv: r.argv, ok: r.ok, code: r.code, output: r.output })),
      daemonRunning: running ?? null,
      warnings: [...plan.warnings, ...(backgroundError ? [backgroundError] : [])],
    });
  } else {
    for (const w of plan.warnings) io.err(`warning: ${w}`);
    io.out(
      settings.changed
        ? `hooks     ${tildify(settings.file)}: rbk's hook registered for ${HOOK_EVENTS.length} events${settings.backup ? ` (backup: ${tildify(settings.backup)})` : ''}`
        : `hooks     ${tildify(settings.file)}: already up to date`,
    );
    const t = settings.telemetry;
    if (t && !t.skipped) {
      io.out(
        t.footprint.changes.length > 0 || t.changed
          ? `telemetry ${tildify(settings.file)}: Claude Code's events go to rbk's OTLP receiver (${t.footprint.changes.length} env keys; file mode 0600, it holds the receiver's token)`
          : `telemetry ${tildify(settings.file)}: already up to date`,
      );
    }
    if (plan.shims.length > 0) {
      const ours = plan.shims.filter((s) => s.state !== 'foreign');
      io.out(`path      ${ours.map((s) => tildify(s.file)).join(', ')}: ${shimWrites.length > 0 ? 'written' : 'already up to date'}`);
      if (!shimDirOnPath)
        io.out(
          `          ${tildify(plan.shimDir)} is not on your PATH yet; add this line to your shell profile (~/.bashrc, ~/.zshrc):\n            ${pathHint(plan.shimDir)}`,
        );
    }
    if (stopped)
      io.out(
        `daemon    stopped the rbkd started ${STARTED_BY_TEXT[stopped.startedBy]} (pid ${stopped.pid}); ${service && !rolledBack ? 'the service runs it from now on' : 'it runs in the background now'}`,
      );
    if (service) io.out(`service   ${tildify(service.file)}: ${service.changed ? (service.created ? 'written' : 'updated') : 'already up to date'}`);
    for (const r of results)
      io.out(`${r.ok ? 'ran' : 'FAILED'}       ${shellLine(r.argv)}${r.ok || !r.output ? '' : `\n          ${r.output.replace(/\n/g, '\n          ')}`}`);
    if (fallback) {
      io.out(`service   not installed: ${fallback}.`);
      io.out(
        running
          ? `daemon    running in the background instead${background ? ` (pid ${background.pid}, log ${tildify(background.logFile)})` : ''}; it will not start by itself after a reboot or logout. Run rbk install again where a user service manager runs (for systemd over ssh: loginctl enable-linger).`
          : `daemon    could not be started in the background: ${backgroundError ?? 'unknown error'}`,
      );
    } else if (service && running) io.out(`daemon    running (socket ${paths.socket}); check with: rbk status`);
    if (service && !rolledBack && running === false) {
      io.err(
        service.serviceKind === 'systemd'
          ? 'warning: the service did not open its socket within 10 s; see: systemctl --user status rbk; journalctl --user -u rbk'
          : `warning: the agent did not open its socket within 10 s; see: launchctl print gui/$(id -u)/${LAUNCHD_LABEL}; ${path.join(launchdLogDir(), 'rbkd.log')}`,
      );
    }
    const rbk = rbkCommand();
    if (!opts.service)
      io.out(`service   not installed (--no-service)${(await runningDaemon(paths).catch(() => null)) ? '' : `; start the daemon with: ${rbk} start`}`);
    io.out(`next      ${rbk} doctor`);
  }
  // The install itself is done either way; a daemon that could not be started is a failure to report.
  return backgroundError ? EXIT.failure : EXIT.ok;
}
