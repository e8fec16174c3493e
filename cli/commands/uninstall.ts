// `rbk uninstall`: takes away exactly what `rbk install` added (its hook entries, the service
// file and its registration), as recorded in install-manifest.json. --purge also deletes the data
// dir, after a confirmation (or --yes).
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { resolvePaths } from '../../common/paths.js';
import { CliError, EXIT } from '../errors.js';
import type { Io } from '../io.js';
import { backup, readIfExists, writeAtomic } from '../install/files.js';
import { planUninstall, SettingsError } from '../install/hooks.js';
import { launchdPlistPath, manifestPath, systemdUnitPath, tildify, userSettingsFile } from '../install/locate.js';
import { readManifest, removeManifest, type InstallManifest } from '../install/manifest.js';
import { runCommand, shellLine, socketAnswers, type CommandResult } from '../install/run.js';
import { afterUnloadCommands, unloadCommands, type ServiceKind } from '../install/service.js';

export interface UninstallOptions {
  purge: boolean;
  yes: boolean;
  dryRun: boolean;
  json: boolean;
}

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await new Promise<string>((resolve) => rl.question(question, resolve));
    return answer.trim().toLowerCase() === 'yes';
  } finally {
    rl.close();
  }
}

export async function uninstallCommand(io: Io, opts: UninstallOptions): Promise<number> {
  const paths = resolvePaths();
  const notes: string[] = [];
  let manifest: InstallManifest | null;
  try {
    manifest = readManifest(paths);
  } catch (err) {
    throw new CliError(`cannot read ${manifestPath(paths)}: ${(err as Error).message}. Remove rbk's hook entries by hand (commands running rbk-hook.cjs) or fix the file.`, EXIT.failure);
  }
  if (!manifest) {
    // No record (installed by an older rbk, or the data dir was removed): fall back to what can
    // be recognised for certain, rbk's own hook command and its service files.
    notes.push(`no install manifest at ${manifestPath(paths)}; removing entries recognised as rbk's (commands running rbk-hook.cjs)`);
    manifest = { version: 1, rbkVersion: '', updatedAt: '', settings: { [userSettingsFile()]: { createdFile: false, createdHooksKey: false, createdEventKeys: [], commands: [], backups: [], installedAt: '' } } };
    const kind: ServiceKind | null = process.platform === 'linux' ? 'systemd' : process.platform === 'darwin' ? 'launchd' : null;
    const file = kind === 'systemd' ? systemdUnitPath() : kind === 'launchd' ? launchdPlistPath() : null;
    if (kind && file && fs.existsSync(file) && /rbkd/.test(fs.readFileSync(file, 'utf8'))) manifest.service = { kind, file, installedAt: '' };
  }

  const changes: { file: string; action: 'write' | 'delete' | 'unchanged' | 'missing'; backup?: string }[] = [];
  for (const [file, record] of Object.entries(manifest.settings)) {
    const text = readIfExists(file);
    if (text === null) {
      changes.push({ file, action: 'missing' });
      continue;
    }
    let after: string | null;
    try {
      after = planUninstall(text, file, record).after;
    } catch (err) {
      if (err instanceof SettingsError) throw new CliError(`${err.message.replace('rbk install', 'rbk uninstall')}`, EXIT.failure);
      throw err;
    }
    if (after === text) {
      changes.push({ file, action: 'unchanged' });
      continue;
    }
    if (opts.dryRun) {
      changes.push({ file, action: after === null ? 'delete' : 'write' });
      continue;
    }
    const saved = backup(file);
    if (after === null) fs.rmSync(file);
    else writeAtomic(file, after);
    changes.push({ file, action: after === null ? 'delete' : 'write', backup: saved });
  }

  const results: CommandResult[] = [];
  const svc = manifest.service;
  if (svc) {
    if (opts.dryRun) {
      for (const c of unloadCommands(svc.kind)) notes.push(`would run: ${shellLine(c.argv)}`);
      notes.push(`would remove ${svc.file}`);
      for (const c of afterUnloadCommands(svc.kind)) notes.push(`would run: ${shellLine(c.argv)}`);
    } else {
      for (const c of unloadCommands(svc.kind)) results.push(runCommand(c));
      fs.rmSync(svc.file, { force: true });
      for (const c of afterUnloadCommands(svc.kind)) results.push(runCommand(c));
    }
  }
  if (!opts.dryRun) removeManifest(paths);

  let purged = false;
  if (opts.purge) {
    if (opts.dryRun) notes.push(`would delete ${paths.dataDir} (all captured sessions)`);
    else if (fs.existsSync(paths.dataDir)) {
      if (await socketAnswers(paths.socket)) {
        throw new CliError(`rbkd is still running (${paths.socket} answers); stop it first (systemctl --user stop rbk, or Ctrl-C the foreground daemon), then run rbk uninstall --purge again. The hooks and service were already removed.`, EXIT.failure);
      }
      const ok = opts.yes || (await confirm(`Delete ${paths.dataDir} and everything rbk captured in it? This cannot be undone. Type "yes" to confirm: `));
      if (!ok) {
        throw new CliError(`not deleting ${paths.dataDir}: ${process.stdin.isTTY ? 'not confirmed' : 'no terminal to confirm on; pass --yes'}. The hooks and service were already removed.`, EXIT.failure);
      }
      fs.rmSync(paths.dataDir, { recursive: true, force: true });
      const socketDir = path.dirname(paths.socket);
      fs.rmSync(paths.socket, { force: true });
      try {
        fs.rmdirSync(socketDir);
      } catch {
        /* not empty or already gone */
      }
      purged = true;
    }
  }

  if (opts.json) {
    io.json({ dryRun: opts.dryRun, settings: changes, service: svc ? { kind: svc.kind, file: svc.file } : null, commands: results.map((r) => ({ argv: r.argv, ok: r.ok, code: r.code, output: r.output })), purged, notes });
    return EXIT.ok;
  }
  for (const n of notes) io.out(n);
  for (const c of changes) {
    const verb = opts.dryRun ? { write: 'would remove rbk hooks from', delete: 'would delete (rbk created it)', unchanged: 'no rbk hooks in', missing: 'already gone:' }[c.action] : { write: 'removed rbk hooks from', delete: 'deleted (rbk created it)', unchanged: 'no rbk hooks in', missing: 'already gone:' }[c.action];
    io.out(`hooks     ${verb} ${tildify(c.file)}${c.backup ? ` (backup: ${tildify(c.backup)})` : ''}`);
  }
  if (svc && !opts.dryRun) io.out(`service   removed ${tildify(svc.file)}`);
  for (const r of results) io.out(`${r.ok ? 'ran' : 'failed (ignored)'}  ${shellLine(r.argv)}`);
  if (purged) io.out(`data      deleted ${paths.dataDir}`);
  else if (!opts.dryRun) io.out(`data      kept in ${tildify(paths.dataDir)} (rbk uninstall --purge deletes it)`);
  return EXIT.ok;
}
