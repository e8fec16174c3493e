// `rbk uninstall`: takes away exactly what `rbk install` added, as recorded in
// install-manifest.json: its hook entries, the rbk/rbkd shims, the service and its registration,
// the folders it created (when empty again). It stops a running daemon, however it was started.
// --purge also deletes the data dir (every captured session); it lists, and keeps, the .runbook/
// folders learn wrote into projects. The command table asks before it runs (or needs --yes).
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { CREATED_PARENTS_FILE } from '../../common/data-dir.js';
import { resolvePaths, type RbkPaths } from '../../common/paths.js';
import { runningDaemon, silentDaemonPid, STARTED_BY_TEXT, stopDaemon, type RunningDaemon } from '../daemon-control.js';
import { CliError, EXIT } from '../errors.js';
import { plural } from '../format.js';
import type { Io } from '../io.js';
import { backup, readIfExists, removeEmptyDirs, writeAtomic } from '../install/files.js';
import { planUninstall, SettingsError } from '../install/hooks.js';
import { planTelemetryUninstall } from '../install/telemetry.js';
import { launchdPlistPath, manifestPath, systemdUnitPath, tildify, userSettingsFile } from '../install/locate.js';
import { readManifest, removeManifest, type InstallManifest } from '../install/manifest.js';
import { runCommand, shellLine, type CommandResult } from '../install/run.js';
import { afterUnloadCommands, unloadCommands, type ServiceKind } from '../install/service.js';
import { isOurShim } from '../install/shims.js';
import type { Confirmation } from '../parse.js';

export interface UninstallOptions {
  purge: boolean;
  dryRun: boolean;
  json: boolean;
}

interface SettingsChange {
  file: string;
  action: 'write' | 'delete' | 'unchanged' | 'missing';
  after: string | null;
  /** rbk made this file: no backup is kept of it, and its install-time backups go too. */
  createdByRbk: boolean;
  backups: string[];
  backup?: string;
}

interface UninstallPlan {
  paths: RbkPaths;
  manifest: InstallManifest;
  notes: string[];
  settings: SettingsChange[];
  shims: string[];
  daemon: RunningDaemon | { pid: number; startedBy: null } | null;
  runbookDirs: string[];
  dataDirBytes: number;
}

function readManifestOrFallback(paths: RbkPaths, notes: string[]): InstallManifest {
  let manifest: InstallManifest | null;
  try {
    manifest = readManifest(paths);
  } catch (err) {
    throw new CliError(
      `cannot read ${manifestPath(paths)}: ${(err as Error).message}. Remove rbk's hook entries by hand (commands running rbk-hook.cjs) or fix the file.`,
      EXIT.failure,
    );
  }
  if (manifest) return manifest;
  // No record (installed by an older rbk, or the data dir was removed): fall back to what can be
  // recognised for certain, rbk's own hook command, its service files and its shims.
  notes.push(
    `no install manifest at ${manifestPath(paths)}; removing what is recognisably rbk's (commands running rbk-hook.cjs, rbk's service file and shims)`,
  );
  manifest = {
    version: 1,
    rbkVersion: '',
    updatedAt: '',
    settings: { [userSettingsFile()]: { createdFile: false, createdHooksKey: false, createdEventKeys: [], commands: [], backups: [], installedAt: '' } },
  };
  const kind: ServiceKind | null = process.platform === 'linux' ? 'systemd' : process.platform === 'darwin' ? 'launchd' : null;
  const file = kind === 'systemd' ? systemdUnitPath() : kind === 'launchd' ? launchdPlistPath() : null;
  if (kind && file && fs.existsSync(file) && /rbkd/.test(fs.readFileSync(file, 'utf8'))) manifest.service = { kind, file, installedAt: '' };
  return manifest;
}

function dirBytes(dir: string): number {
  let total = 0;
  const walk = (d: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        try {
          total += fs.lstatSync(p).size;
        } catch {
          /* gone */
        }
      }
    }
  };
  walk(dir);
  return total;
}

/** The .runbook/ (or other) folders rbk learn wrote documents into, that still exist. */
function learnOutputDirs(paths: RbkPaths): string[] {
  if (!fs.existsSync(paths.db)) return [];
  let db: Database.Database | undefined;
  try {
    db = new Database(paths.db, { readonly: true, fileMustExist: true, timeout: 5000 });
    const dirs = db.prepare('SELECT DISTINCT output_dir FROM learn_runs').pluck().all() as string[];
    return dirs.filter((d) => !d.startsWith(paths.dataDir + path.sep) && fs.existsSync(d)).sort();
  } catch {
    return [];
  } finally {
    db?.close();
  }
}

async function buildPlan(opts: { purge: boolean }): Promise<UninstallPlan> {
  const paths = resolvePaths();
  const notes: string[] = [];
  const manifest = readManifestOrFallback(paths, notes);
  const settings: SettingsChange[] = [];
  for (const [file, record] of Object.entries(manifest.settings)) {
    const text = readIfExists(file);
    const createdByRbk = record.createdFile === true;
    const backups = (record.backups ?? []).filter((b) => fs.existsSync(b));
    if (text === null) {
      settings.push({ file, action: 'missing', after: null, createdByRbk, backups });
      continue;
    }
    let after: string | null;
    try {
      after = planUninstall(planTelemetryUninstall(text, record.telemetry), file, record).after;
    } catch (err) {
      if (err instanceof SettingsError) throw new CliError(`${err.message.replace('rbk install', 'rbk uninstall')}`, EXIT.failure);
      throw err;
    }
    settings.push({ file, action: after === text ? 'unchanged' : after === null ? 'delete' : 'write', after, createdByRbk, backups });
  }
  const shims = (manifest.shims ?? []).filter((f) => isOurShim(f));
  let daemon: UninstallPlan['daemon'] = null;
  try {
    daemon = await runningDaemon(paths);
  } catch {
    daemon = null;
  }
  if (!daemon) {
    const pid = silentDaemonPid(paths);
    if (pid) daemon = { pid, startedBy: null };
  }
  return {
    paths,
    manifest,
    notes,
    settings,
    shims,
    daemon,
    runbookDirs: opts.purge ? learnOutputDirs(paths) : [],
    dataDirBytes: opts.purge && fs.existsSync(paths.dataDir) ? dirBytes(paths.dataDir) : 0,
  };
}

function mb(n: number): string {
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

function planLines(plan: UninstallPlan, purge: boolean): string[] {
  const out: string[] = [];
  for (const n of plan.notes) out.push(n);
  if (plan.daemon) out.push(`stop      rbkd (pid ${plan.daemon.pid}${plan.daemon.startedBy ? `, started ${STARTED_BY_TEXT[plan.daemon.startedBy]}` : ''})`);
  for (const c of plan.settings) {
    if (c.action === 'write') out.push(`hooks     remove rbk's hooks from ${tildify(c.file)}`);
    if (c.action === 'delete') out.push(`hooks     delete ${tildify(c.file)} (rbk created it)`);
  }
  for (const f of plan.shims) out.push(`path      delete ${tildify(f)}`);
  if (plan.manifest.service) out.push(`service   disable and delete ${tildify(plan.manifest.service.file)}`);
  if (purge) {
    out.push(`data      DELETE ${plan.paths.dataDir} (${mb(plan.dataDirBytes)}): every captured session, irreversibly`);
    if (plan.runbookDirs.length > 0)
      out.push(
        `kept      ${plural(plan.runbookDirs.length, 'folder')} rbk learn wrote into your projects (rbk does not delete files in projects):`,
        ...plan.runbookDirs.map((d) => `            ${tildify(d)}`),
      );
  } else out.push(`data      keep ${tildify(plan.paths.dataDir)} (--purge deletes it)`);
  return out;
}

/** What `rbk uninstall` is about to do, shown before it asks. */
export async function uninstallPreview(_io: Io, opts: { purge: boolean }): Promise<Confirmation> {
  const plan = await buildPlan(opts);
  return {
    text: ['rbk uninstall will:', ...planLines(plan, opts.purge).map((l) => `  ${l}`)].join('\n'),
    question: opts.purge ? `Uninstall rbk and delete ${plan.paths.dataDir} with every captured session?` : 'Uninstall rbk?',
  };
}

export async function uninstallCommand(io: Io, opts: UninstallOptions): Promise<number> {
  const plan = await buildPlan({ purge: opts.purge });
  const { paths, manifest } = plan;
  if (opts.dryRun) {
    const lines = planLines(plan, opts.purge);
    if (opts.json) {
      io.json({
        dryRun: true,
        settings: plan.settings.map((c) => ({ file: c.file, action: c.action })),
        shims: plan.shims,
        service: manifest.service ? { kind: manifest.service.kind, file: manifest.service.file } : null,
        stopsDaemon: plan.daemon ? { pid: plan.daemon.pid, startedBy: plan.daemon.startedBy } : null,
        purge: opts.purge,
        dataDir: paths.dataDir,
        keptRunbookDirs: plan.runbookDirs,
        notes: plan.notes,
      });
    } else io.out(['rbk uninstall --dry-run: nothing is changed. It would:', ...lines.map((l) => `  ${l}`)].join('\n'));
    return EXIT.ok;
  }

  // 1. The daemon: the service's goes with the service below; any other is stopped here.
  let stopped: { pid: number; startedBy: string | null } | null = null;
  const results: CommandResult[] = [];
  const svc = manifest.service;
  if (svc) for (const c of unloadCommands(svc.kind)) results.push(runCommand(c));
  const still = silentDaemonPid(paths) !== null || (await runningDaemon(paths).catch(() => null)) !== null;
  if (still) {
    const r = await stopDaemon(paths, 30_000);
    if (r.wasRunning) stopped = { pid: r.pid!, startedBy: r.startedBy };
  } else if (plan.daemon) stopped = { pid: plan.daemon.pid, startedBy: plan.daemon.startedBy };

  // 2. Claude Code settings.
  const changes: { file: string; action: SettingsChange['action']; backup?: string; removedBackups: string[] }[] = [];
  for (const c of plan.settings) {
    const removedBackups: string[] = [];
    if (c.action === 'write' || c.action === 'delete') {
      // A file the user had before install is backed up before rbk's hooks come out; one rbk made is not.
      const saved = c.createdByRbk ? undefined : backup(c.file);
      if (c.after === null) fs.rmSync(c.file);
      else writeAtomic(c.file, c.after);
      changes.push({ file: c.file, action: c.action, backup: saved, removedBackups });
    } else changes.push({ file: c.file, action: c.action, removedBackups });
    if (c.createdByRbk) {
      for (const b of c.backups) {
        fs.rmSync(b, { force: true });
        removedBackups.push(b);
      }
    }
  }

  // 3. Shims, the service file, the folders install made.
  for (const f of plan.shims) fs.rmSync(f, { force: true });
  if (svc) {
    fs.rmSync(svc.file, { force: true });
    for (const c of afterUnloadCommands(svc.kind)) results.push(runCommand(c));
  }
  removeManifest(paths);
  const removedDirs = removeEmptyDirs(manifest.createdDirs ?? []);

  // 4. The data dir, with --purge (the command table asked first, or --yes was given).
  let purged = false;
  if (opts.purge && fs.existsSync(paths.dataDir)) {
    const created = readCreatedParents(paths);
    fs.rmSync(paths.dataDir, { recursive: true, force: true });
    fs.rmSync(paths.socket, { force: true });
    removedDirs.push(...removeEmptyDirs([path.dirname(paths.socket), paths.fallbackSpoolDir, path.dirname(paths.fallbackSpoolDir), ...created]));
    purged = true;
  }

  if (opts.json) {
    io.json({
      dryRun: false,
      settings: changes.map((c) => ({ file: c.file, action: c.action, backup: c.backup ?? null, removedBackups: c.removedBackups })),
      shims: plan.shims,
      service: svc ? { kind: svc.kind, file: svc.file } : null,
      stoppedDaemon: stopped,
      commands: results.map((r) => ({ argv: r.argv, ok: r.ok, code: r.code, output: r.output })),
      removedDirs,
      purged,
      keptRunbookDirs: plan.runbookDirs,
      notes: plan.notes,
    });
    return EXIT.ok;
  }
  for (const n of plan.notes) io.out(n);
  if (stopped) io.out(`daemon    stopped rbkd (pid ${stopped.pid})`);
  for (const c of changes) {
    const verb = { write: 'removed rbk hooks from', delete: 'deleted (rbk created it)', unchanged: 'no rbk hooks in', missing: 'already gone:' }[c.action];
    io.out(`hooks     ${verb} ${tildify(c.file)}${c.backup ? ` (backup: ${tildify(c.backup)})` : ''}`);
  }
  for (const f of plan.shims) io.out(`path      deleted ${tildify(f)}`);
  if (svc) io.out(`service   removed ${tildify(svc.file)}`);
  for (const r of results) io.out(`${r.ok ? 'ran' : 'failed (ignored)'}  ${shellLine(r.argv)}`);
  if (purged) io.out(`data      deleted ${paths.dataDir}`);
  else io.out(`data      kept in ${tildify(paths.dataDir)} (rbk uninstall --purge deletes it)`);
  if (plan.runbookDirs.length > 0) {
    io.out(`kept      ${plural(plan.runbookDirs.length, 'folder')} rbk learn wrote into your projects; delete them yourself if you do not want them:`);
    for (const d of plan.runbookDirs) io.out(`            ${tildify(d)}`);
  }
  return EXIT.ok;
}

/** Folders above the data dir that the daemon created (recorded at its first start). */
function readCreatedParents(paths: RbkPaths): string[] {
  try {
    const v = JSON.parse(fs.readFileSync(path.join(paths.dataDir, CREATED_PARENTS_FILE), 'utf8')) as unknown;
    return Array.isArray(v) ? v.filter((d): d is string => typeof d === 'string' && path.isAbsolute(d) && paths.dataDir.startsWith(d + path.sep)) : [];
  } catch {
    return [];
  }
}
