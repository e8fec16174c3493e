// install-manifest.json in the data dir: what `rbk install` added, so that `rbk uninstall`
// removes exactly that and nothing else.
import fs from 'node:fs';
import { ensureDataDir } from '../../common/data-dir.js';
import type { RbkPaths } from '../../common/paths.js';
import { RBK_VERSION } from '../../common/version.js';
import type { SettingsFootprint } from './hooks.js';
import type { TelemetryFootprint } from './telemetry.js';
import { manifestPath } from './locate.js';
import type { ServiceKind } from './service.js';
import { writeAtomic } from './files.js';

export interface SettingsRecord extends SettingsFootprint {
  /** The env keys install set for Claude Code's telemetry, with what they replaced. */
  telemetry?: TelemetryFootprint;
  /** Backups written before each change, oldest first. */
  backups: string[];
  installedAt: string;
}

export interface ServiceRecord {
  kind: ServiceKind;
  file: string;
  installedAt: string;
}

export interface InstallManifest {
  version: 1;
  rbkVersion: string;
  updatedAt: string;
  settings: Record<string, SettingsRecord>;
  service?: ServiceRecord;
  /** The rbk and rbkd shims put on PATH (removed by uninstall while they are still rbk's). */
  shims?: string[];
  /** Folders install created, parents first; uninstall removes the ones left empty. */
  createdDirs?: string[];
  /** How install left the daemon running: under the service, in the background (no service manager reachable), or not at all. */
  daemon?: 'service' | 'background' | 'none';
}

export function emptyManifest(): InstallManifest {
  return { version: 1, rbkVersion: RBK_VERSION, updatedAt: new Date().toISOString(), settings: {} };
}

export function readManifest(paths: RbkPaths): InstallManifest | null {
  let text: string;
  try {
    text = fs.readFileSync(manifestPath(paths), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const m = JSON.parse(text) as InstallManifest;
  if (m.version !== 1 || typeof m.settings !== 'object') throw new Error(`${manifestPath(paths)}: unknown manifest format`);
  return m;
}

export function writeManifest(paths: RbkPaths, m: InstallManifest): void {
  ensureDataDir(paths.dataDir);
  m.updatedAt = new Date().toISOString();
  m.rbkVersion = RBK_VERSION;
  writeAtomic(manifestPath(paths), `${JSON.stringify(m, null, 2)}\n`, 0o600);
}

export function removeManifest(paths: RbkPaths): void {
  fs.rmSync(manifestPath(paths), { force: true });
}
