// Where install's inputs and outputs live: the rbk checkout (templates, built hook), Claude Code's
// settings files, the service files, and the install manifest.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RbkPaths } from '../../common/paths.js';

/** The rbk checkout/package root: the nearest directory above this module with rbk's package.json. */
export function packageRoot(from = path.dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (;;) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'rbk') return dir;
    } catch {
      /* keep looking */
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find rbk's package.json above ${from}`);
    dir = up;
  }
}

export function hookScriptPath(root = packageRoot()): string {
  return path.join(root, 'dist', 'hook', 'rbk-hook.cjs');
}

/**
 * Node options every start of rbkd uses (the systemd unit, the launchd plist, the shim, `rbk start`,
 * `npm start`, the tests and the benchmarks). The daemon's main thread receives every parsed batch
 * of an import from the parse worker and lets it go once written: with V8's default 16 MB
 * semi-spaces that garbage sat in a young generation of up to 48 MB and spilled into old space,
 * and a 4 MB cap took 36 MB off the peak RSS of an import (docs/benchmarks.md#daemon-memory).
 * It must be a process flag: v8.setFlagsFromString after start-up does not resize the heap.
 */
export const DAEMON_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4'];

export function daemonScriptPath(root = packageRoot()): string {
  return path.join(root, 'bin', 'rbkd.js');
}

/** Claude Code's user config dir: $CLAUDE_CONFIG_DIR, else ~/.claude. */
export function claudeConfigDir(env: NodeJS.ProcessEnv = process.env, home = os.homedir()): string {
  const dir = env.CLAUDE_CONFIG_DIR;
  return dir && dir.length > 0 ? path.resolve(dir) : path.join(home, '.claude');
}

export function userSettingsFile(env: NodeJS.ProcessEnv = process.env, home = os.homedir()): string {
  return path.join(claudeConfigDir(env, home), 'settings.json');
}

export function projectSettingsFiles(project: string): { shared: string; local: string } {
  const dir = path.join(path.resolve(project), '.claude');
  return { shared: path.join(dir, 'settings.json'), local: path.join(dir, 'settings.local.json') };
}

/** Managed (policy) settings, which override everything; doctor reads them for disableAllHooks. */
export function managedSettingsFile(platform: NodeJS.Platform = process.platform): string {
  return platform === 'darwin' ? '/Library/Application Support/ClaudeCode/managed-settings.json' : '/etc/claude-code/managed-settings.json';
}

export function manifestPath(paths: RbkPaths): string {
  return path.join(paths.dataDir, 'install-manifest.json');
}

export const SYSTEMD_UNIT_NAME = 'rbk.service';
export const LAUNCHD_LABEL = 'dev.rbk.rbkd';

export function systemdUnitPath(env: NodeJS.ProcessEnv = process.env, home = os.homedir()): string {
  const configHome = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.length > 0 ? env.XDG_CONFIG_HOME : path.join(home, '.config');
  return path.join(configHome, 'systemd', 'user', SYSTEMD_UNIT_NAME);
}

export function launchdPlistPath(home = os.homedir()): string {
  return path.join(home, 'Library', 'LaunchAgents', `${LAUNCHD_LABEL}.plist`);
}

export function launchdLogDir(home = os.homedir()): string {
  return path.join(home, 'Library', 'Logs', 'rbk');
}

/** `~/x` for display when under home. */
export function tildify(p: string, home = os.homedir()): string {
  return p === home ? '~' : p.startsWith(home + path.sep) ? `~${p.slice(home.length)}` : p;
}
