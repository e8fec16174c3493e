// `rbk doctor`: one line per check (pass, warn or fail) with the fix for anything that is not a
// pass. Exits 1 when any check fails. Reads the database read-only; never changes anything.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { listSpooled } from '../../common/spool.js';
import { syncFailureCause } from '../../common/sync-failure.js';
import { resolvePaths, type RbkPaths } from '../../common/paths.js';
import { PROTOCOL_VERSION, RBK_VERSION } from '../../common/version.js';
import { loadConfig } from '../../daemon/config/load.js';
import { SessionQueries } from '../../daemon/store/sessions.js';
import { configuredTarget } from '../../daemon/maintenance/backup.js';
import type { RbkConfig } from '../../daemon/config/schema.js';
import { launchdState, rbkCommand, STARTED_BY_TEXT, systemdState, type StartedBy } from '../daemon-control.js';
import { EXIT } from '../errors.js';
import { plural } from '../format.js';
import type { Io } from '../io.js';
import { HOOK_EVENTS, isRbkHook } from '../install/hooks.js';
import { claudeConfigDir, managedSettingsFile, projectSettingsFiles, tildify, userSettingsFile } from '../install/locate.js';
import { readManifest, type InstallManifest } from '../install/manifest.js';
import { socketAnswers } from '../install/run.js';
import { shellWords, splitAssignments } from '../install/shell.js';
import type { WireSyncStatusResponse } from '../wire.js';

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

export interface Check {
  id: string;
  status: CheckStatus;
  summary: string;
  fix?: string;
  details?: Record<string, unknown>;
}

const MiB = 1024 * 1024;
const DAY = 24 * 3600_000;

interface Env {
  paths: RbkPaths;
  config: RbkConfig | null;
  manifest: InstallManifest | null;
  daemon: {
    running: boolean;
    version?: string;
    pid?: number;
    dbBytes?: number;
    spoolBacklog?: number;
    ui?: { enabled: boolean; url?: string; error?: string };
    otel?: { enabled: boolean; url?: string; error?: string };
  };
  cwd: string;
}

function fmtBytes(n: number): string {
  if (n >= 1024 * MiB) return `${(n / 1024 / MiB).toFixed(1)} GiB`;
  if (n >= MiB) return `${(n / MiB).toFixed(1)} MiB`;
  return `${Math.round(n / 1024)} KiB`;
}

function startFix(manifest: InstallManifest | null): string {
  const rbk = rbkCommand();
  if (manifest?.service?.kind === 'systemd') return `${rbk} start (the user service; logs: journalctl --user -u rbk)`;
  if (manifest?.service?.kind === 'launchd') return `${rbk} start (the launchd agent; logs: ~/Library/Logs/rbk/rbkd.log)`;
  return `${rbk} start (in the background), or ${rbk} install (runs rbkd as a user service)`;
}

// --- checks -----------------------------------------------------------------------------------

function checkNode(): Check {
  const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
  // 20.16 is the first 20.x whose argument parser understands --no-<option>.
  const ok = major > 20 || (major === 20 && minor >= 16);
  return ok
    ? { id: 'node', status: 'pass', summary: `Node ${process.versions.node} (needs >= 20.16)` }
    : {
        id: 'node',
        status: 'fail',
        summary: `Node ${process.versions.node} is too old; rbk needs Node 20.16 or newer`,
        fix: 'install Node 20.16+ (e.g. from nodejs.org or your package manager), then rbk install again so the hook uses it',
      };
}

function checkConfig(paths: RbkPaths): { check: Check; config: RbkConfig | null } {
  try {
    const { config, source } = loadConfig(paths.config);
    return {
      check: {
        id: 'config',
        status: 'pass',
        summary: `config valid (${source === 'embedded defaults' ? `no file at ${tildify(paths.config)}; defaults apply` : tildify(source)})`,
      },
      config,
    };
  } catch (err) {
    return {
      check: {
        id: 'config',
        status: 'fail',
        summary: `config is invalid: ${(err as Error).message}`,
        fix: `edit ${paths.config} as the message says; the daemon refuses to start (or restart) with it`,
      },
      config: null,
    };
  }
}

async function checkDaemon(e: Omit<Env, 'daemon'>): Promise<{ check: Check; daemon: Env['daemon'] }> {
  const socket = e.paths.socket;
  if (!fs.existsSync(socket)) {
    return {
      check: { id: 'daemon', status: 'fail', summary: `rbkd is not running (no socket at ${socket})`, fix: startFix(e.manifest) },
      daemon: { running: false },
    };
  }
  if (!(await socketAnswers(socket, 1000))) {
    return {
      check: {
        id: 'daemon',
        status: 'fail',
        summary: `rbkd is not running (nothing answers on ${socket}; a crashed daemon leaves the socket behind)`,
        fix: startFix(e.manifest),
      },
      daemon: { running: false },
    };
  }
  try {
    const { call } = await import('../client.js');
    const s = await call<{
      daemonVersion: string;
      protocolVersion: number;
      pid: number;
      dbBytes: number;
      counts: { spoolBacklog: number };
      startedBy: string;
      ui?: { enabled: boolean; url?: string; error?: string };
      otel?: { enabled: boolean; url?: string; error?: string };
    }>('Admin', 'Status', {}, 3000);
    const daemon = {
      running: true,
      version: s.daemonVersion,
      pid: s.pid,
      dbBytes: Number(s.dbBytes),
      spoolBacklog: Number(s.counts.spoolBacklog),
      ui: s.ui,
      otel: s.otel,
    };
    if (s.protocolVersion !== PROTOCOL_VERSION || s.daemonVersion !== RBK_VERSION) {
      return {
        check: {
          id: 'daemon',
          status: 'warn',
          summary: `rbkd ${s.daemonVersion} (protocol ${s.protocolVersion}) is running, but this rbk is ${RBK_VERSION} (protocol ${PROTOCOL_VERSION})`,
          fix: `restart the daemon so that it runs the installed version: ${rbkCommand()} restart`,
        },
        daemon,
      };
    }
    const how = STARTED_BY_TEXT[(s.startedBy || 'foreground') as StartedBy] ?? s.startedBy;
    return {
      check: {
        id: 'daemon',
        status: 'pass',
        summary: `rbkd ${s.daemonVersion} running (pid ${s.pid}, started ${how}) on ${socket}`,
        details: { startedBy: s.startedBy || 'foreground' },
      },
      daemon,
    };
  } catch (err) {
    return {
      check: {
        id: 'daemon',
        status: 'fail',
        summary: `the socket ${socket} accepts connections but rbkd does not answer: ${(err as Error).message.split('\n')[0]}`,
        fix: `restart rbkd (${startFix(e.manifest)})`,
      },
      daemon: { running: false },
    };
  }
}

function checkPermissions(paths: RbkPaths): Check {
  const uid = typeof process.getuid === 'function' ? process.getuid() : -1;
  const problems: string[] = [];
  const fixes: string[] = [];
  const inspect = (p: string, what: string, want: number): void => {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(p);
    } catch {
      return;
    }
    if (uid >= 0 && st.uid !== uid) {
      problems.push(`${what} ${p} is owned by uid ${st.uid}, not you (${uid})`);
      fixes.push(`chown ${uid} ${p}`);
    }
    const mode = st.mode & 0o777;
    if ((mode & 0o077) !== 0) {
      problems.push(`${what} ${p} is mode ${mode.toString(8).padStart(4, '0')}: other users can ${st.isSocket() ? 'connect to it' : 'reach what is inside'}`);
      fixes.push(`chmod ${want.toString(8)} ${p}`);
    }
  };
  inspect(path.dirname(paths.socket), 'socket dir', 0o700);
  inspect(paths.socket, 'socket', 0o600);
  inspect(paths.dataDir, 'data dir', 0o700);
  inspect(paths.db, 'database', 0o600);
  if (problems.length > 0) return { id: 'permissions', status: 'fail', summary: problems.join('; '), fix: fixes.join(' && ') };
  if (!fs.existsSync(paths.socket) && !fs.existsSync(paths.dataDir)) return { id: 'permissions', status: 'skip', summary: 'no socket or data dir yet' };
  return { id: 'permissions', status: 'pass', summary: `socket, socket dir and data dir are private to you (0600/0700)` };
}

interface SettingsFileInfo {
  file: string;
  scope: 'user' | 'project' | 'local' | 'managed';
  value: Record<string, unknown> | null;
  error?: string;
}

function readSettingsFiles(cwd: string): SettingsFileInfo[] {
  const project = projectSettingsFiles(cwd);
  const files: [string, SettingsFileInfo['scope']][] = [
    [userSettingsFile(), 'user'],
    [project.shared, 'project'],
    [project.local, 'local'],
    [managedSettingsFile(), 'managed'],
  ];
  const out: SettingsFileInfo[] = [];
  const seen = new Set<string>();
  for (const [file, scope] of files) {
    if (seen.has(file)) continue;
    seen.add(file);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    try {
      const v = JSON.parse(text.replace(/^\uFEFF/, '')) as unknown;
      out.push({
        file,
        scope,
        value: typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null,
        error: typeof v === 'object' && v !== null && !Array.isArray(v) ? undefined : 'not a JSON object',
      });
    } catch (err) {
      out.push({ file, scope, value: null, error: (err as Error).message });
    }
  }
  return out;
}

function checkHooks(files: SettingsFileInfo[], paths: RbkPaths, cwd: string): Check {
  const invalid = files.filter((f) => f.error);
  const registered = new Map<string, { file: string; command: string }[]>();
  for (const f of files) {
    const hooks = f.value?.hooks;
    if (typeof hooks !== 'object' || hooks === null) continue;
    for (const [event, groups] of Object.entries(hooks as Record<string, unknown>)) {
      if (!Array.isArray(groups)) continue;
      for (const g of groups) {
        const entries = (g as { hooks?: unknown })?.hooks;
        if (!Array.isArray(entries)) continue;
        for (const h of entries) {
          if (!isRbkHook(h)) continue;
          const list = registered.get(event) ?? [];
          list.push({ file: f.file, command: (h as { command: string }).command });
          registered.set(event, list);
        }
      }
    }
  }
  const broken = invalid.map((f) => `${tildify(f.file)} is not valid JSON (${f.error}); Claude Code ignores it`);
  if (registered.size === 0) {
    return {
      id: 'hooks',
      status: 'fail',
      summary: `rbk's hook is not registered in any Claude Code settings file (looked in ${[userSettingsFile(), projectSettingsFiles(cwd).shared, projectSettingsFiles(cwd).local].map((f) => tildify(f)).join(', ')})${broken.length ? `; ${broken.join('; ')}` : ''}`,
      fix: 'rbk install (or rbk install --project DIR for one project)',
    };
  }
  const problems: string[] = [...broken];
  const fixes = new Set<string>();
  const commands = new Map<string, string>();
  for (const list of registered.values()) for (const r of list) commands.set(r.command, r.file);
  for (const [command, file] of commands) {
    let argv: string[];
    let env: Record<string, string>;
    try {
      ({ env, argv } = splitAssignments(shellWords(command)));
    } catch (err) {
      problems.push(`cannot read the hook command in ${tildify(file)}: ${(err as Error).message}`);
      continue;
    }
    const [node, script] = argv;
    if (node && path.isAbsolute(node) && !fs.existsSync(node)) {
      problems.push(`the hook in ${tildify(file)} runs ${node}, which does not exist (Node moved or upgraded?)`);
      fixes.add('rbk install (re-registers the hook with the current node)');
    }
    const scriptPath = script ?? argv.find((a) => a.endsWith('rbk-hook.cjs'));
    if (scriptPath && !fs.existsSync(scriptPath)) {
      problems.push(`the hook in ${tildify(file)} runs ${scriptPath}, which does not exist`);
      fixes.add(`npm run build in the rbk checkout, or rbk install from where rbk now lives`);
    }
    if (env.RBK_SOCKET && path.resolve(env.RBK_SOCKET) !== paths.socket) {
      problems.push(`the hook in ${tildify(file)} sends to RBK_SOCKET=${env.RBK_SOCKET}, but this shell's rbk uses ${paths.socket}`);
      fixes.add('run rbk install with the same RBK_* environment the daemon uses');
    } else if (env.RBK_DATA_DIR && path.resolve(env.RBK_DATA_DIR) !== paths.dataDir) {
      problems.push(`the hook in ${tildify(file)} uses RBK_DATA_DIR=${env.RBK_DATA_DIR}, but this shell's rbk uses ${paths.dataDir}`);
      fixes.add('run rbk install with the same RBK_* environment the daemon uses');
    }
  }
  const missing = HOOK_EVENTS.filter((e) => !registered.has(e));
  const dupes = [...registered.entries()].filter(([, list]) => list.length > 1).map(([e]) => e);
  if (problems.some((p) => p.includes('does not exist'))) {
    return { id: 'hooks', status: 'fail', summary: problems.join('; '), fix: [...fixes].join('; ') };
  }
  if (missing.length) {
    problems.push(`not registered for ${missing.join(', ')}`);
    fixes.add('rbk install');
  }
  if (dupes.length)
    problems.push(`registered more than once (in several settings files?) for ${dupes.join(', ')}; each event is stored once, but the hook runs twice`);
  const where = [...new Set([...commands.values()].map((f) => tildify(f)))].join(', ');
  if (problems.length)
    return { id: 'hooks', status: 'warn', summary: `rbk's hook is in ${where}, but: ${problems.join('; ')}`, fix: [...fixes].join('; ') || undefined };
  return { id: 'hooks', status: 'pass', summary: `rbk's hook is registered for all ${HOOK_EVENTS.length} events in ${where}` };
}

function checkDisableAllHooks(files: SettingsFileInfo[]): Check {
  const off = files.filter((f) => f.value?.disableAllHooks === true);
  if (off.length === 0) return { id: 'disableAllHooks', status: 'pass', summary: 'hooks are enabled (no disableAllHooks)' };
  return {
    id: 'disableAllHooks',
    status: 'fail',
    summary: `"disableAllHooks": true in ${off.map((f) => tildify(f.file)).join(', ')}: Claude Code runs no hooks, so rbk captures nothing live (transcripts can still be imported)`,
    fix: off.some((f) => f.scope === 'managed')
      ? 'your administrator disabled hooks in managed settings; ask them, and use rbk import meanwhile'
      : `remove "disableAllHooks" from ${off.map((f) => tildify(f.file)).join(', ')}`,
  };
}

function checkSpool(e: Env): Check {
  const ids = listSpooled(e.paths.spoolDir);
  let rejected = 0;
  try {
    rejected = fs.readdirSync(path.join(e.paths.spoolDir, 'rejected')).length;
  } catch {
    /* none */
  }
  const rejectedNote =
    rejected > 0
      ? `; ${plural(rejected, 'unreadable event file')} ${rejected === 1 ? 'was' : 'were'} set aside in ${path.join(e.paths.spoolDir, 'rejected')}`
      : '';
  if (ids.length === 0)
    return {
      id: 'spool',
      status: rejected > 0 ? 'warn' : 'pass',
      summary: `spool empty${rejectedNote}`,
      fix: rejected > 0 ? `look at the files in ${path.join(e.paths.spoolDir, 'rejected')}, then delete them` : undefined,
    };
  let oldest = Date.now();
  for (const id of ids) {
    try {
      oldest = Math.min(oldest, fs.statSync(path.join(e.paths.spoolDir, `${id}.json`)).mtimeMs);
    } catch {
      /* drained meanwhile */
    }
  }
  const ageMin = Math.round((Date.now() - oldest) / 60_000);
  const drainEvery = e.config?.ingest.spoolDrainIntervalMs ?? 5000;
  const stuck = e.daemon.running && Date.now() - oldest > Math.max(5 * 60_000, 3 * drainEvery);
  const summary = `${plural(ids.length, 'hook event')} waiting in the spool, oldest ${ageMin} min old${rejectedNote}`;
  if (stuck)
    return {
      id: 'spool',
      status: 'fail',
      summary: `${summary}; rbkd is running but is not draining them`,
      fix: 'look for "spool drain failed" in the daemon log (journalctl --user -u rbk), fix the cause and restart rbkd',
      details: { backlog: ids.length },
    };
  return {
    id: 'spool',
    status: 'warn',
    summary: `${summary}${e.daemon.running ? '' : '; they are stored when rbkd runs again'}`,
    fix: e.daemon.running ? 'wait a few seconds: the daemon drains the spool every few seconds' : startFix(e.manifest),
    details: { backlog: ids.length },
  };
}

function checkDatabase(e: Env): Check {
  if (!fs.existsSync(e.paths.db))
    return {
      id: 'database',
      status: e.daemon.running ? 'fail' : 'warn',
      summary: `no database at ${e.paths.db} yet`,
      fix: 'start rbkd once; it creates the database',
    };
  const size = (f: string): number => {
    try {
      return fs.statSync(f).size;
    } catch {
      return 0;
    }
  };
  const bytes = size(e.paths.db) + size(`${e.paths.db}-wal`);
  let db: Database.Database | undefined;
  try {
    db = new Database(e.paths.db, { readonly: true, fileMustExist: true, timeout: 5000 });
    const rows = db.pragma('quick_check') as { quick_check: string }[];
    const result = rows.map((r) => r.quick_check);
    if (result.length === 1 && result[0] === 'ok')
      return { id: 'database', status: 'pass', summary: `database ok (PRAGMA quick_check), ${fmtBytes(bytes)}: ${tildify(e.paths.db)}`, details: { bytes } };
    return {
      id: 'database',
      status: 'fail',
      summary: `database ${e.paths.db} is damaged: ${result.slice(0, 3).join('; ')}`,
      fix: `run: ${rbkCommand()} recover (it stops rbkd, keeps the damaged file, rebuilds the database from what SQLite's pages still hold, re-reads the transcripts on disk and drains the spool)`,
      details: { bytes },
    };
  } catch (err) {
    return {
      id: 'database',
      status: 'fail',
      summary: `cannot open ${e.paths.db} read-only: ${(err as Error).message}`,
      fix: 'check its owner and mode (0600, yours), and that the disk is readable',
    };
  } finally {
    db?.close();
  }
}

/** Sessions only the sweep found: hooks were off, missing or bypassed when they ran. */
function checkUnannounced(e: Env, files: SettingsFileInfo[]): Check {
  if (!fs.existsSync(e.paths.db)) return { id: 'sweep', status: 'skip', summary: 'no database yet' };
  let db: Database.Database | undefined;
  try {
    db = new Database(e.paths.db, { readonly: true, fileMustExist: true, timeout: 5000 });
    const { total, recent } = new SessionQueries(db).unannounced(3);
    if (total === 0) return { id: 'sweep', status: 'pass', summary: 'every session the sweep found was also announced by a hook' };
    const reasons = [
      'rbk install had not run yet when they ran',
      files.some((f) => f.value?.disableAllHooks === true) ? 'disableAllHooks is set in a settings file (see above)' : 'a project set "disableAllHooks"',
      'Claude Code ran with other setting sources (--setting-sources, a different CLAUDE_CONFIG_DIR)',
      'an IDE, container or remote run that does not load your user settings',
    ];
    const list = recent.map((r) => `${r.id.slice(0, 8)} (${r.project ?? 'no project'})`).join(', ');
    return {
      id: 'sweep',
      status: 'warn',
      summary: `${plural(total, 'session')} reached rbk only through the sweep, with no hook event (latest: ${list}); they are stored, but live features (tail, notifications, quick sync) missed them`,
      fix: `hooks can miss a session when ${reasons.join('; ')}. Run rbk doctor in that project to see its settings`,
      details: { total, recent },
    };
  } catch (err) {
    return { id: 'sweep', status: 'skip', summary: `could not read the database: ${(err as Error).message}` };
  } finally {
    db?.close();
  }
}

/**
 * Backups: the newest one, how old it is, and whether it sits on the database's own disk (where a
 * dead disk takes both). A backup to the central copy is judged by the backup job's last run.
 */
function checkBackup(e: Env): Check {
  if (!e.config) return { id: 'backup', status: 'skip', summary: 'config invalid; see the config check' };
  if (!fs.existsSync(e.paths.db)) return { id: 'backup', status: 'skip', summary: 'no database yet' };
  const rbk = rbkCommand();
  const target = configuredTarget(e.config, e.paths);
  const staleAfter = 2 * DAY;
  if (target.kind === 'central-copy') {
    let last: { status: string; started_at: number; error: string | null } | undefined;
    let db: Database.Database | undefined;
    try {
      db = new Database(e.paths.db, { readonly: true, fileMustExist: true, timeout: 5000 });
      last = db
        .prepare(`SELECT status, started_at, error FROM job_runs WHERE job = 'backup' AND status != 'running' ORDER BY id DESC LIMIT 1`)
        .get() as typeof last;
    } catch {
      /* unreadable: reported by the database check */
    } finally {
      db?.close();
    }
    if (!last) return { id: 'backup', status: 'warn', summary: 'no backup job has run yet (backup.to: central-copy)', fix: `${rbk} backup` };
    const age = Date.now() - last.started_at;
    if (last.status !== 'ok')
      return {
        id: 'backup',
        status: 'warn',
        summary: `the last backup job ${last.status}: ${last.error ?? 'no error recorded'}`,
        fix: `${rbk} jobs run backup`,
      };
    return {
      id: 'backup',
      status: age > staleAfter ? 'warn' : 'pass',
      summary: `last backup to the central copy ${Math.round(age / 3600_000)} h ago`,
      fix: age > staleAfter ? `${rbk} jobs run backup; is the daemon running at night (jobs.backup)?` : undefined,
    };
  }
  let newest: { file: string; mtimeMs: number } | undefined;
  try {
    for (const n of fs.readdirSync(target.dir)) {
      if (!/^rbk-.+-\d{8}T\d{6}Z\.db\.gz$/.test(n)) continue;
      const st = fs.statSync(path.join(target.dir, n));
      if (!newest || st.mtimeMs > newest.mtimeMs) newest = { file: path.join(target.dir, n), mtimeMs: st.mtimeMs };
    }
  } catch {
    /* no folder yet */
  }
  if (!newest)
    return {
      id: 'backup',
      status: 'warn',
      summary: `no backup in ${tildify(target.dir)} yet; the backup job makes one every night (jobs.backup)`,
      fix: `${rbk} backup`,
    };
  const age = Date.now() - newest.mtimeMs;
  const sameDisk = (() => {
    try {
      return fs.statSync(target.dir).dev === fs.statSync(e.paths.db).dev;
    } catch {
      return false;
    }
  })();
  const summary = `newest backup ${Math.round(age / 3600_000)} h old: ${tildify(newest.file)}`;
  if (age > staleAfter) return { id: 'backup', status: 'warn', summary, fix: `${rbk} backup; is the daemon running at night (jobs.backup)?` };
  if (sameDisk)
    return {
      id: 'backup',
      status: 'warn',
      summary: `${summary}, on the same disk as the database: it survives a damaged file, not a dead disk`,
      fix: 'set backup.dir to another disk, or backup.to: central-copy',
    };
  return { id: 'backup', status: 'pass', summary };
}

function checkDisk(paths: RbkPaths): Check {
  let dir = paths.dataDir;
  while (!fs.existsSync(dir) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  let st: fs.StatsFs;
  try {
    st = fs.statfsSync(dir);
  } catch (err) {
    return { id: 'disk', status: 'warn', summary: `cannot read free space of ${dir}: ${(err as Error).message}` };
  }
  const free = Number(st.bavail) * Number(st.bsize);
  const total = Number(st.blocks) * Number(st.bsize);
  const pct = total > 0 ? (100 * free) / total : 100;
  const summary = `${fmtBytes(free)} free (${pct.toFixed(0)}%) on the filesystem of ${tildify(dir)}`;
  if (free < 100 * MiB)
    return {
      id: 'disk',
      status: 'fail',
      summary: `${summary}: writes will start failing; hooks will spool and may lose events`,
      fix: 'free disk space, or move the data dir (RBK_DATA_DIR) to a larger disk',
      details: { free },
    };
  if (free < 1024 * MiB || pct < 5) return { id: 'disk', status: 'warn', summary: `${summary}: running low`, fix: 'free disk space soon', details: { free } };
  return { id: 'disk', status: 'pass', summary, details: { free } };
}

/** The central copy: asks the running daemon's sync status (backend, backlog, last error). */
async function checkStorage(e: Env): Promise<Check> {
  if (!e.config) return { id: 'storage', status: 'skip', summary: 'config invalid; see the config check' };
  const s = e.config.integrations.claude.sessionStorage;
  const where =
    s.backend === 's3' ? `s3://${s.s3.bucket}/${s.s3.prefix}${s.s3.endpoint ? ` at ${s.s3.endpoint}` : ''}` : `local (${s.localBaseDir} in the data dir)`;
  if (!e.daemon.running) return { id: 'storage', status: 'skip', summary: `central copy: ${where}; rbkd is not running, so its uploads cannot be checked` };
  let st: WireSyncStatusResponse;
  try {
    const { call } = await import('../client.js');
    st = await call('Sync', 'Status', {}, 5000);
  } catch (err) {
    return {
      id: 'storage',
      status: 'warn',
      summary: `central copy: ${where}; rbkd did not report its sync status: ${(err as Error).message.split('\n')[0]}`,
      fix: 'restart rbkd so that it runs this version (it predates sync)',
    };
  }
  const backlog = Number(st.backlogSessions);
  const details = {
    backend: st.backend,
    location: st.location,
    backlogSessions: backlog,
    lagMs: Number(st.lagMs),
    lastError: st.lastError ?? null,
    lastSuccessUnixMs: st.lastSuccessUnixMs ?? null,
  };
  if (st.backendError) {
    return {
      id: 'storage',
      status: 'fail',
      summary: `central copy: nothing is uploaded: ${st.backendError}`,
      fix: `fix integrations.claude.sessionStorage in ${e.paths.config}, then restart rbkd`,
      details,
    };
  }
  if (st.lastError && (Number(st.sessionsInBackoff) > 0 || backlog > 0)) {
    return {
      id: 'storage',
      status: 'warn',
      summary: `central copy ${st.location}: uploads failing, ${plural(backlog, 'session')} waiting; last error: ${st.lastError}`,
      fix: `${syncFailureCause(st.lastError).cause}: ${syncFailureCause(st.lastError).fix}; then run rbk sync --now (rbk sync status shows the backlog). Nothing is lost meanwhile`,
      details,
    };
  }
  if (st.onDemand) {
    return {
      id: 'storage',
      status: 'pass',
      summary: `central copy ${st.location}: written on demand (rbk sync), ${plural(backlog, 'session')} not exported yet`,
      details,
    };
  }
  if (backlog > 0 && Number(st.lagMs) > DAY) {
    return {
      id: 'storage',
      status: 'warn',
      summary: `central copy ${st.location}: ${plural(backlog, 'session')} not uploaded for ${Math.round(Number(st.lagMs) / 3600_000)} h`,
      fix: 'run rbk sync, and check that the sync job runs (rbk jobs)',
      details,
    };
  }
  const last = st.lastSuccessUnixMs !== undefined ? `, last upload ${new Date(st.lastSuccessUnixMs).toISOString()}` : '';
  return {
    id: 'storage',
    status: 'pass',
    summary: `central copy ${st.location}: ${plural(Number(st.sessionsSynced), 'session')} uploaded, ${backlog} pending${last}`,
    details,
  };
}

function cleanupDays(files: SettingsFileInfo[]): { days: number; source: string } {
  // Precedence: managed > local > project > user.
  const order: SettingsFileInfo['scope'][] = ['managed', 'local', 'project', 'user'];
  for (const scope of order) {
    const f = files.find((x) => x.scope === scope);
    const v = f?.value?.cleanupPeriodDays;
    if (typeof v === 'number' && Number.isFinite(v)) return { days: v, source: tildify(f!.file) };
  }
  return { days: 30, source: 'default' };
}

function transcriptRoots(config: RbkConfig | null): string[] {
  const roots = [
    path.join(claudeConfigDir(), 'projects'),
    path.join(os.homedir(), '.claude', 'projects'),
    path.join(os.homedir(), '.config', 'claude', 'projects'),
    ...(config?.ingest.transcriptRoots ?? []),
  ];
  return [...new Set(roots.map((r) => path.resolve(r)))].filter((r) => fs.existsSync(r));
}

function listTranscripts(root: string, limit: number): { path: string; size: number; mtimeMs: number }[] {
  const out: { path: string; size: number; mtimeMs: number }[] = [];
  const walk = (dir: string, depth: number): void => {
    if (depth > 4 || out.length >= limit) return;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const ent of entries) {
      const p = path.join(dir, ent.name);
      if (ent.isDirectory()) walk(p, depth + 1);
      else if (ent.isFile() && ent.name.endsWith('.jsonl')) {
        try {
          const st = fs.statSync(p);
          out.push({ path: p, size: st.size, mtimeMs: st.mtimeMs });
        } catch {
          /* deleted meanwhile */
        }
      }
      if (out.length >= limit) return;
    }
  };
  walk(root, 0);
  return out;
}

function checkRetention(e: Env, files: SettingsFileInfo[]): Check {
  const { days, source } = cleanupDays(files);
  const roots = transcriptRoots(e.config);
  const onDisk = roots.flatMap((r) => listTranscripts(r, 200_000));
  const known = new Map<string, number>();
  let imported = 0;
  if (fs.existsSync(e.paths.db)) {
    let db: Database.Database | undefined;
    try {
      db = new Database(e.paths.db, { readonly: true, fileMustExist: true, timeout: 5000 });
      for (const r of db.prepare('SELECT path, byte_offset FROM transcripts').iterate() as Iterable<{ path: string; byte_offset: number }>)
        known.set(r.path, r.byte_offset);
      imported = known.size;
    } catch {
      /* the database check reports this */
    } finally {
      db?.close();
    }
  }
  const pending = onDisk.filter((t) => (known.get(t.path) ?? -1) < t.size);
  const margin = Math.max(1, Math.min(7, days / 2)) * DAY;
  const atRisk = pending.filter((t) => Date.now() - t.mtimeMs > days * DAY - margin);
  const setting = `cleanupPeriodDays=${days} (${source})`;
  const problems: string[] = [];
  if (days < 7) problems.push(`Claude Code deletes transcripts after only ${plural(days, 'day')}; anything rbk has not imported by then is lost`);
  if (atRisk.length > 0) {
    const oldest = Math.max(...atRisk.map((t) => Date.now() - t.mtimeMs));
    problems.push(
      `${plural(atRisk.length, 'transcript')} on disk ${atRisk.length === 1 ? 'is' : 'are'} not fully imported and Claude Code will delete ${atRisk.length === 1 ? 'it' : 'them'} within ${plural(Math.ceil(margin / DAY), 'day')} (oldest last written ${plural(Math.floor(oldest / DAY), 'day')} ago)`,
    );
  }
  if (onDisk.length > 0 && imported === 0) problems.push(`${plural(onDisk.length, 'transcript')} on disk but rbk has never imported any`);
  const details = { cleanupPeriodDays: days, onDisk: onDisk.length, pending: pending.length, atRisk: atRisk.length };
  if (problems.length > 0) {
    return {
      id: 'transcripts',
      status: 'warn',
      summary: `${setting}: ${problems.join('; ')}`,
      fix: `rbk import${days < 30 ? `; and raise cleanupPeriodDays in ${source === 'default' ? tildify(userSettingsFile()) : source} (e.g. 365)` : ''}`,
      details,
    };
  }
  return {
    id: 'transcripts',
    status: 'pass',
    summary: `${setting}; ${plural(onDisk.length, 'transcript')} on disk${pending.length ? `, ${pending.length} not fully imported yet (none near deletion)` : onDisk.length > 0 ? ', all imported' : ''}`,
    details,
  };
}

async function checkMetrics(e: Env): Promise<Check> {
  if (!e.config) return { id: 'metrics', status: 'skip', summary: 'config invalid; see the config check' };
  if (!e.config.metrics.enabled) return { id: 'metrics', status: 'pass', summary: 'metrics disabled (metrics.enabled: false)' };
  const url = `http://${e.config.metrics.listen}/metrics`;
  if (!e.daemon.running) return { id: 'metrics', status: 'skip', summary: `rbkd is not running; metrics would be served on ${url}` };
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    const body = await res.text();
    if (res.ok && body.includes('rbk_build_info')) return { id: 'metrics', status: 'pass', summary: `Prometheus metrics served on ${url}` };
    return {
      id: 'metrics',
      status: 'warn',
      summary: `${url} answered HTTP ${res.status} without rbk's metrics: another program holds the port`,
      fix: `set metrics.listen in ${e.paths.config} to a free port (not 9464, Claude Code's), then restart rbkd`,
    };
  } catch (err) {
    return {
      id: 'metrics',
      status: 'warn',
      summary: `no metrics on ${url}: ${(err as Error).message}`,
      fix: `look for "metrics" in the daemon log; the port may be taken: set metrics.listen in ${e.paths.config}, then restart rbkd`,
    };
  }
}

/** The OTLP receiver serves as rbk's, and the settings that send Claude Code's events point at it. */
async function checkTelemetry(e: Env, files: SettingsFileInfo[]): Promise<Check> {
  const id = 'telemetry';
  if (!e.config) return { id, status: 'skip', summary: 'config invalid; see the config check' };
  if (!e.config.otel.enabled) return { id, status: 'pass', summary: 'OTLP receiver off (otel.enabled: false)' };
  if (!e.daemon.running) return { id, status: 'skip', summary: `rbkd is not running; the OTLP receiver would listen on ${e.config.otel.listen}` };
  const o = e.daemon.otel;
  if (!o?.url) {
    return {
      id,
      status: 'warn',
      summary: `the OTLP receiver is not serving: ${o?.error ?? 'this rbkd does not report it (an older version?)'}`,
      fix: `set otel.listen in ${e.paths.config} to a free loopback port, restart rbkd, then run rbk install again (it writes the port into Claude Code's settings)`,
    };
  }
  try {
    // Without the token it answers 401 naming otlp-token: that proves the port is rbk's receiver.
    const res = await fetch(`${o.url}/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
      signal: AbortSignal.timeout(2000),
    });
    const body = await res.text();
    if (res.status !== 401 || !body.includes('otlp-token')) {
      return { id, status: 'warn', summary: `${o.url} answered HTTP ${res.status}, not as rbk's OTLP receiver`, fix: 'look for "otlp" in the daemon log' };
    }
  } catch (err) {
    return {
      id,
      status: 'warn',
      summary: `the OTLP receiver on ${o.url} does not answer: ${(err as Error).message}`,
      fix: 'look for "otlp" in the daemon log',
    };
  }
  const endpoints = files
    .map((f) => ({ f, endpoint: (f.value?.env as Record<string, unknown> | undefined)?.OTEL_EXPORTER_OTLP_LOGS_ENDPOINT }))
    .filter(
      (x): x is { f: SettingsFileInfo; endpoint: string } =>
        typeof x.endpoint === 'string' && /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(x.endpoint),
    );
  const stale = endpoints.filter((x) => !x.endpoint.startsWith(`${o.url}/`) && x.endpoint !== o.url);
  if (stale.length > 0) {
    return {
      id,
      status: 'warn',
      summary: `${tildify(stale[0]!.f.file)} sends Claude Code's events to ${stale[0]!.endpoint}, but the receiver listens on ${o.url}`,
      fix: 'run rbk install again: it updates the address (and the token) in the settings it manages',
    };
  }
  if (endpoints.length === 0) {
    return {
      id,
      status: 'pass',
      summary: `OTLP receiver on ${o.url}; Claude Code's own telemetry is not pointed at it (rbk install does that, unless --no-telemetry)`,
    };
  }
  return { id, status: 'pass', summary: `OTLP receiver on ${o.url}; Claude Code sends its events there (${tildify(endpoints[0]!.f.file)})` };
}

async function checkConsole(e: Env): Promise<Check> {
  if (!e.config) return { id: 'console', status: 'skip', summary: 'config invalid; see the config check' };
  if (!e.config.ui.enabled) return { id: 'console', status: 'pass', summary: 'web console off (ui.enabled: false)' };
  if (!e.daemon.running) return { id: 'console', status: 'skip', summary: `rbkd is not running; the web console would listen on ${e.config.ui.listen}` };
  const ui = e.daemon.ui;
  if (!ui?.url) {
    return {
      id: 'console',
      status: 'warn',
      summary: `the web console is not serving: ${ui?.error ?? 'this rbkd does not report it (an older version?)'}`,
      fix: `set ui.listen in ${e.paths.config} to a free loopback port (e.g. 127.0.0.1:9488), then restart rbkd`,
    };
  }
  try {
    // Unauthenticated, /api answers 401 with rbk's JSON: that proves the port is rbk's console.
    const res = await fetch(`${ui.url}api/v1/me`, { signal: AbortSignal.timeout(2000) });
    const body = await res.text();
    if (res.status === 401 ? body.includes('rbk ui') : res.ok && body.includes('version')) {
      return {
        id: 'console',
        status: 'pass',
        summary: `web console on ${ui.url} (open it with: rbk ui)${e.config.ui.auth ? '' : '; ui.auth is off: every local user can read it'}`,
      };
    }
    return {
      id: 'console',
      status: 'warn',
      summary: `${ui.url} answered HTTP ${res.status}, not as rbk's console`,
      fix: 'look for "console" in the daemon log',
    };
  } catch (err) {
    return {
      id: 'console',
      status: 'warn',
      summary: `the web console on ${ui.url} does not answer: ${(err as Error).message}`,
      fix: 'look for "console" in the daemon log; restart rbkd',
    };
  }
}

function checkService(manifest: InstallManifest | null, daemonRunning: boolean): Check {
  const svc = manifest?.service;
  const rbk = rbkCommand();
  if (!svc) {
    if (manifest?.daemon === 'background') {
      return {
        id: 'service',
        status: 'warn',
        summary: `no service: rbk install found no user service manager, so rbkd runs in the background${daemonRunning ? '' : ' (not now)'} and nothing starts it after a reboot or logout`,
        fix: `${rbk} install again where a user service manager runs (systemd over ssh: loginctl enable-linger $USER); until then ${rbk} start after each reboot`,
      };
    }
    return daemonRunning
      ? { id: 'service', status: 'pass', summary: 'no service installed by rbk (the daemon was started another way, so it will not start at login)' }
      : { id: 'service', status: 'warn', summary: 'no service installed: nothing starts rbkd at login', fix: `${rbk} install (or ${rbk} start for now)` };
  }
  const unit = svc.kind === 'systemd' ? 'systemd user unit' : 'launchd agent';
  if (!fs.existsSync(svc.file))
    return { id: 'service', status: 'warn', summary: `the ${unit} file ${svc.file} that rbk install wrote is gone`, fix: `${rbk} install` };
  // The file alone proves nothing: the manager must have loaded (and enabled) it.
  const st = svc.kind === 'systemd' ? systemdState(svc.file) : launchdState(svc.file);
  const details = { kind: svc.kind, file: svc.file, reachable: st.reachable, loaded: st.loaded, enabled: st.enabled, active: st.active };
  if (!st.reachable) {
    return {
      id: 'service',
      status: 'warn',
      summary: `${unit} ${tildify(svc.file)} is written, but its manager cannot be reached (${st.problem ?? 'no answer'}), so it is not loaded`,
      fix: `${rbk} install again in a session with a user service manager, or run the daemon with ${rbk} start`,
      details,
    };
  }
  if (!st.loaded)
    return {
      id: 'service',
      status: 'fail',
      summary: `${unit} ${tildify(svc.file)} exists but ${svc.kind} has not loaded it`,
      fix: `${rbk} install (reloads and enables it)`,
      details,
    };
  if (!st.enabled)
    return {
      id: 'service',
      status: 'warn',
      summary: `${unit} ${tildify(svc.file)} is loaded but not enabled: it will not start at login`,
      fix: `${rbk} install`,
      details,
    };
  return {
    id: 'service',
    status: 'pass',
    summary: `${unit} ${tildify(svc.file)} is loaded and enabled${st.active ? ' and running' : ', not running now'}`,
    details,
  };
}

/** rbk is on PATH (as rbk install's shim or a link to this checkout), so that messages saying "rbk …" work. */
function checkPath(): Check {
  const rbk = rbkCommand();
  if (rbk === 'rbk') return { id: 'path', status: 'pass', summary: 'rbk on PATH is this rbk' };
  return {
    id: 'path',
    status: 'warn',
    summary: `rbk is not on your PATH (or the rbk on it is another program); use ${rbk}`,
    fix: `${rbk} install puts rbk and rbkd in ~/.local/bin; add that folder to PATH if your shell does not have it`,
  };
}

// --- command -----------------------------------------------------------------------------------

export async function runDoctor(cwd = process.cwd()): Promise<Check[]> {
  const paths = resolvePaths();
  const checks: Check[] = [checkNode()];
  const { check: configCheck, config } = checkConfig(paths);
  checks.push(configCheck);
  let manifest: InstallManifest | null = null;
  try {
    manifest = readManifest(paths);
  } catch {
    /* reported as missing */
  }
  const { check: daemonCheck, daemon } = await checkDaemon({ paths, config, manifest, cwd });
  checks.push(daemonCheck);
  const e: Env = { paths, config, manifest, daemon, cwd };
  checks.push(checkPermissions(paths));
  const files = readSettingsFiles(cwd);
  checks.push(checkHooks(files, paths, cwd));
  checks.push(checkDisableAllHooks(files));
  checks.push(checkSpool(e));
  checks.push(checkDatabase(e));
  checks.push(checkUnannounced(e, files));
  checks.push(checkBackup(e));
  checks.push(checkDisk(paths));
  checks.push(await checkStorage(e));
  checks.push(checkRetention(e, files));
  checks.push(await checkMetrics(e));
  checks.push(await checkConsole(e));
  checks.push(await checkTelemetry(e, files));
  checks.push(checkService(manifest, daemon.running));
  checks.push(checkPath());
  return checks;
}

export async function doctorCommand(io: Io, opts: { json: boolean }): Promise<number> {
  const checks = await runDoctor();
  const failed = checks.filter((c) => c.status === 'fail').length;
  const warned = checks.filter((c) => c.status === 'warn').length;
  if (opts.json) {
    io.json({ ok: failed === 0, failed, warnings: warned, checks });
  } else {
    const width = Math.max(...checks.map((c) => c.id.length));
    for (const c of checks) {
      io.out(`${c.status.toUpperCase().padEnd(4)}  ${c.id.padEnd(width)}  ${c.summary}`);
      if (c.fix && c.status !== 'pass') io.out(`${' '.repeat(6 + width)}  fix: ${c.fix}`);
    }
    io.out(
      failed ? `\n${failed} failed, ${plural(warned, 'warning')}` : warned ? `\nall required checks pass; ${plural(warned, 'warning')}` : '\nall checks pass',
    );
  }
  return failed > 0 ? EXIT.failure : EXIT.ok;
}
