// Starting and stopping rbkd from the CLI, however it runs: as a systemd user service or a
// launchd agent (rbk install), in the background (rbk start), or in a terminal (npm start, rbk
// daemon). `rbk start|stop|restart`, install and uninstall all go through here, so that each of
// them stops a daemon the same way and never leaves one running that the user does not know of.
import type { WireJobRun } from './wire.js';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureDataDir } from '../common/data-dir.js';
import type { RbkPaths } from '../common/paths.js';
import { CliError, EXIT } from './errors.js';
import { DAEMON_NODE_FLAGS, daemonScriptPath, LAUNCHD_LABEL, launchdPlistPath, SYSTEMD_UNIT_NAME } from './install/locate.js';
import { readManifest } from './install/manifest.js';
import { runCommand, socketAnswers, type CommandResult } from './install/run.js';
import { uid, type ServiceKind } from './install/service.js';

/** How a running daemon was started; it says so itself in `rbk status` (RBK_STARTED_BY). */
export type StartedBy = 'systemd' | 'launchd' | 'background' | 'foreground';

export const STARTED_BY_TEXT: Record<StartedBy, string> = {
  systemd: 'as the systemd user service rbk.service',
  launchd: `as the launchd agent ${LAUNCHD_LABEL}`,
  background: 'in the background by rbk start',
  foreground: 'in a terminal (npm start, rbk daemon or rbkd)',
};

export interface RunningDaemon {
  pid: number;
  startedBy: StartedBy;
  version: string;
  logFile: string;
}

/** The running daemon as it describes itself, or null when nothing answers on the socket. */
export async function runningDaemon(paths: RbkPaths): Promise<RunningDaemon | null> {
  if (!(await socketAnswers(paths.socket))) return null;
  const { call } = await import('./client.js');
  const s = await call<{ pid: number; startedBy: string; daemonVersion: string; logFile: string }>('Admin', 'Status', {}, 10_000);
  const startedBy = (['systemd', 'launchd', 'background', 'foreground'] as const).find((k) => k === s.startedBy) ?? 'foreground';
  return { pid: s.pid, startedBy, version: s.daemonVersion, logFile: s.logFile };
}

/** Is `pid` a live process? (Signal 0 checks without sending anything.) */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The pid in the pid file when that process is an rbkd that does not answer on its socket
 * (still starting, or stuck). Checked against its command line, so that a pid reused by another
 * program is never signalled.
 */
export function silentDaemonPid(paths: RbkPaths): number | null {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(paths.pidFile, 'utf8').trim());
  } catch {
    return null;
  }
  if (!Number.isInteger(pid) || pid <= 1 || !alive(pid)) return null;
  let cmdline = '';
  try {
    cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    const ps = spawnSync('ps', ['-p', String(pid), '-o', 'command='], { encoding: 'utf8' });
    cmdline = ps.stdout ?? '';
  }
  return /rbkd(\.js)?\b|\brbk(\.js)? daemon\b/.test(cmdline) ? pid : null;
}

// --- the service manager ------------------------------------------------------------------------

export interface ServiceState {
  kind: ServiceKind;
  /** The unit or agent file install wrote. */
  file: string;
  /** The manager answers (a systemd user bus exists; launchctl runs). */
  reachable: boolean;
  /** The manager has it loaded (systemd LoadState=loaded; launchd: printed by launchctl). */
  loaded: boolean;
  enabled: boolean;
  active: boolean;
  /** Why the manager could not be asked, in its own words. */
  problem?: string;
}

/** Asks systemd about the unit; `reachable: false` when there is no user bus (containers, ssh without lingering). */
export function systemdState(file: string): ServiceState {
  const r = runCommand({ argv: ['systemctl', '--user', 'show', SYSTEMD_UNIT_NAME, '-p', 'LoadState', '-p', 'UnitFileState', '-p', 'ActiveState'] });
  if (!r.ok)
    return { kind: 'systemd', file, reachable: false, loaded: false, enabled: false, active: false, problem: r.output || `systemctl exited ${r.code}` };
  const prop = (k: string) => new RegExp(`^${k}=(.*)$`, 'm').exec(r.output)?.[1] ?? '';
  return {
    kind: 'systemd',
    file,
    reachable: true,
    loaded: prop('LoadState') === 'loaded',
    enabled: prop('UnitFileState') === 'enabled',
    active: prop('ActiveState') === 'active' || prop('ActiveState') === 'activating',
  };
}

export function launchdState(file: string): ServiceState {
  const r = runCommand({ argv: ['launchctl', 'print', `gui/${uid()}/${LAUNCHD_LABEL}`] });
  if (r.code === null) return { kind: 'launchd', file, reachable: false, loaded: false, enabled: false, active: false, problem: r.output };
  return { kind: 'launchd', file, reachable: true, loaded: r.ok, enabled: r.ok, active: r.ok && /state = running/.test(r.output) };
}

/** Whether systemd's user manager can be reached at all (install checks this before writing a unit). */
export function systemdUserBus(): { ok: boolean; problem: string } {
  const r = runCommand({ argv: ['systemctl', '--user', 'show-environment'] });
  return { ok: r.ok, problem: r.ok ? '' : r.output.split('\n')[0] || `systemctl exited ${r.code}` };
}

/** The service install recorded, with what its manager says now; null when none was installed. */
export function installedService(paths: RbkPaths): ServiceState | null {
  let svc: ReturnType<typeof readManifest> extends infer M ? (M extends { service?: infer S } ? S : undefined) : undefined;
  try {
    svc = readManifest(paths)?.service;
  } catch {
    return null;
  }
  if (!svc) return null;
  return svc.kind === 'systemd' ? systemdState(svc.file) : launchdState(svc.file);
}

function serviceStart(kind: ServiceKind): CommandResult {
  if (kind === 'systemd') return runCommand({ argv: ['systemctl', '--user', 'start', SYSTEMD_UNIT_NAME] });
  const loaded = runCommand({ argv: ['launchctl', 'print', `gui/${uid()}/${LAUNCHD_LABEL}`] });
  if (!loaded.ok) return runCommand({ argv: ['launchctl', 'bootstrap', `gui/${uid()}`, launchdPlistPath()] });
  return runCommand({ argv: ['launchctl', 'kickstart', `gui/${uid()}/${LAUNCHD_LABEL}`] });
}

function serviceStop(kind: ServiceKind): CommandResult {
  // launchd restarts a killed agent (KeepAlive): only bootout stops it for good; rbk start bootstraps it again.
  if (kind === 'systemd') return runCommand({ argv: ['systemctl', '--user', 'stop', SYSTEMD_UNIT_NAME] });
  return runCommand({ argv: ['launchctl', 'bootout', `gui/${uid()}/${LAUNCHD_LABEL}`] });
}

// --- start --------------------------------------------------------------------------------------

/** A background daemon's log is rotated at start past this size (one old generation is kept). */
const LOG_ROTATE_BYTES = 10 * 1024 * 1024;

function lastLines(file: string, n: number): string {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.trimEnd().split('\n').slice(-n).join('\n');
  } catch {
    return '';
  }
}

export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (alive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

/**
 * `rbk daemon`: rbkd in this terminal, started as every other start of it is (DAEMON_NODE_FLAGS
 * are node options, which only a new process takes). The child leads its own process group, so a
 * Ctrl-C reaches it once, passed on by this process (the daemon's second SIGINT would not wait for
 * its shutdown); SIGTERM and SIGHUP are passed on the same way. Resolves to its exit status.
 */
export function runForeground(): Promise<number> {
  const child = spawn(process.execPath, [...DAEMON_NODE_FLAGS, daemonScriptPath()], { stdio: 'inherit', detached: true });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    });
  }
  return new Promise((resolve) => {
    child.once('error', () => resolve(1));
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1)));
  });
}

/**
 * Starts `node bin/rbkd.js` detached from this terminal, its output appended to the data dir's
 * rbkd.log (0600). Resolves once the socket answers; throws with the log's last lines when the
 * daemon exits first (an invalid config, say) or does not answer in time.
 */
export async function startInBackground(paths: RbkPaths, waitMs: number): Promise<{ pid: number; logFile: string }> {
  ensureDataDir(paths.dataDir);
  try {
    if (fs.statSync(paths.logFile).size > LOG_ROTATE_BYTES) fs.renameSync(paths.logFile, `${paths.logFile}.1`);
  } catch {
    /* no log yet */
  }
  const fd = fs.openSync(paths.logFile, 'a', 0o600);
  fs.fchmodSync(fd, 0o600);
  const startOffset = fs.fstatSync(fd).size;
  const child = spawn(process.execPath, [...DAEMON_NODE_FLAGS, daemonScriptPath()], {
    detached: true,
    stdio: ['ignore', fd, fd],
    // Not the caller's folder: a daemon must not keep a checkout or a mount busy.
    cwd: paths.dataDir,
    env: { ...process.env, RBK_STARTED_BY: 'background' },
  });
  fs.closeSync(fd);
  let exited: number | null = null;
  child.once('exit', (code) => (exited = code ?? 1));
  child.unref();
  const pid = child.pid ?? 0;
  const deadline = Date.now() + waitMs;
  for (;;) {
    if (exited !== null) {
      const log = fs.readFileSync(paths.logFile, 'utf8').slice(startOffset).trim().split('\n').slice(-8).join('\n');
      throw new CliError(`rbkd exited at once (code ${exited}). Its last words, from ${paths.logFile}:\n${log || '(nothing)'}`, EXIT.failure);
    }
    if (await socketAnswers(paths.socket)) return { pid, logFile: paths.logFile };
    if (Date.now() > deadline) {
      throw new CliError(
        `rbkd (pid ${pid}) did not answer on ${paths.socket} within ${Math.round(waitMs / 1000)} s; it is still starting or stuck. See ${paths.logFile}:\n${lastLines(paths.logFile, 5)}`,
        EXIT.failure,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface StartResult {
  already: boolean;
  pid: number;
  startedBy: StartedBy;
  logFile: string | null;
}

/** Starts the daemon: through its service when one is installed and reachable, else in the background. */
export async function startDaemon(paths: RbkPaths, waitMs: number): Promise<StartResult> {
  const running = await runningDaemon(paths);
  if (running) return { already: true, pid: running.pid, startedBy: running.startedBy, logFile: running.logFile || null };
  const silent = silentDaemonPid(paths);
  if (silent)
    throw new CliError(`an rbkd (pid ${silent}) is running but does not answer on ${paths.socket} yet; wait a moment, or stop it with rbk stop`, EXIT.failure);
  const svc = installedService(paths);
  if (svc?.reachable && svc.loaded) {
    const r = serviceStart(svc.kind);
    if (!r.ok) throw new CliError(`could not start the ${svc.kind} service: ${r.output}`, EXIT.failure);
    const { waitForSocket } = await import('./install/run.js');
    if (!(await waitForSocket(paths.socket, waitMs))) {
      throw new CliError(
        svc.kind === 'systemd'
          ? `the service started but did not open ${paths.socket} within ${Math.round(waitMs / 1000)} s; see: journalctl --user -u rbk`
          : `the agent started but did not open ${paths.socket} within ${Math.round(waitMs / 1000)} s; see: launchctl print gui/$(id -u)/${LAUNCHD_LABEL}`,
        EXIT.failure,
      );
    }
    const now = await runningDaemon(paths);
    return { already: false, pid: now?.pid ?? 0, startedBy: svc.kind, logFile: null };
  }
  const { pid, logFile } = await startInBackground(paths, waitMs);
  return { already: false, pid, startedBy: 'background', logFile };
}

// --- stop ---------------------------------------------------------------------------------------

export interface StopResult {
  /** Nothing was running. */
  wasRunning: boolean;
  pid: number | null;
  startedBy: StartedBy | null;
  how: 'service' | 'signal' | null;
}

/**
 * Stops whatever rbkd runs on this data dir: through its service manager when it runs under one
 * (so that the manager does not start it again), else with SIGTERM, after which it drains and
 * exits cleanly. Hooks spool meanwhile; nothing acknowledged is lost.
 */
export async function stopDaemon(paths: RbkPaths, waitMs: number): Promise<StopResult> {
  let running: RunningDaemon | null = null;
  try {
    running = await runningDaemon(paths);
  } catch {
    running = null;
  }
  const pid = running?.pid ?? silentDaemonPid(paths);
  if (!pid) return { wasRunning: false, pid: null, startedBy: null, how: null };
  const startedBy = running?.startedBy ?? 'foreground';
  let how: StopResult['how'] = 'signal';
  if (startedBy === 'systemd' || startedBy === 'launchd') {
    const r = serviceStop(startedBy);
    if (r.ok) how = 'service';
    else process.kill(pid, 'SIGTERM');
  } else {
    process.kill(pid, 'SIGTERM');
  }
  if (!(await waitForExit(pid, waitMs))) {
    throw new CliError(
      `rbkd (pid ${pid}) is still running ${Math.round(waitMs / 1000)} s after it was asked to stop; it may be finishing a long write (an import). ` +
        `Wait, or end it with: kill -9 ${pid}. That is safe: nothing it acknowledged is lost, and the next start resumes.`,
      EXIT.failure,
    );
  }
  return { wasRunning: true, pid, startedBy, how };
}

/**
 * How to write "rbk" in a message: `rbk` when the rbk on PATH is this one (the shim rbk install
 * writes, or a link to bin/rbk.js), else the full command, which works from any folder. Never
 * `npx rbk`: outside the checkout npx would fetch whatever package is called rbk.
 */
export function rbkCommand(env: NodeJS.ProcessEnv = process.env): string {
  const ours = path.join(path.dirname(daemonScriptPath()), 'rbk.js');
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, 'rbk');
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
    } catch {
      continue;
    }
    try {
      if (fs.realpathSync(candidate) === fs.realpathSync(ours) || fs.readFileSync(candidate, 'utf8').includes(ours)) return 'rbk';
    } catch {
      /* unreadable: not ours */
    }
    break; // the first rbk on PATH is someone else's: spell ours out
  }
  return `node ${ours}`;
}

/**
 * The sweep rbkd runs at start, once it is done. With ingest.sweepAtStart off there is none:
 * `runIfOff` runs one now (rbk recover must re-read the transcripts); otherwise this returns null.
 */
export async function waitForStartSweep(paths: RbkPaths, since: number, opts: { runIfOff: boolean }): Promise<WireJobRun | null> {
  const { call, stream } = await import('./client.js');
  const { loadConfig } = await import('../daemon/config/load.js');
  if (!loadConfig(paths.config).config.ingest.sweepAtStart) {
    if (!opts.runIfOff) return null;
    let final: WireJobRun | null = null;
    const h = stream<WireJobRun & { final: boolean; runId: number }>('Jobs', 'Run', { name: 'sweep' }, (p) => {
      if (p.final) final = { ...p, id: p.runId };
    });
    await h.done;
    return final;
  }
  const deadline = Date.now() + 30 * 60_000;
  while (Date.now() < deadline) {
    const { runs } = await call<{ runs: WireJobRun[] }>('Jobs', 'ListRuns', { job: 'sweep', limit: 5 });
    const run = runs.find((r) => Number(r.startedUnixMs) >= since);
    if (run && run.status !== 'running') return run;
    await new Promise((r) => setTimeout(r, 300));
  }
  return null;
}
