// `rbk` and `rbkd` on the user's PATH: two small shell scripts in ~/.local/bin (the XDG user bin
// folder, on PATH by default in most Linux distributions' shell profiles; on macOS a common choice
// that the user may need to add). They run this checkout's bin/rbk.js and bin/rbkd.js with the node
// install used.
//
// Why shims and not `npm link`: npm link writes into npm's global prefix (often root-owned,
// /usr/local), points at whatever node runs npm, and is not recorded anywhere rbk uninstall could
// undo. A shim is one user-owned file each, names the node it needs, and uninstall removes it
// only while it is still rbk's (it carries a marker line).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DAEMON_NODE_FLAGS } from './locate.js';
import { shellQuote } from './shell.js';

export const SHIM_MARKER = '# written by `rbk install`; `rbk uninstall` removes it';

export interface ShimPlan {
  name: 'rbk' | 'rbkd';
  file: string;
  content: string;
  /** What is there now: nothing, our shim (same or older), or a file of someone else's (left alone). */
  state: 'absent' | 'current' | 'outdated' | 'foreign';
}

/** $XDG_BIN_HOME, else ~/.local/bin. */
export function shimDir(env: NodeJS.ProcessEnv = process.env, home = os.homedir()): string {
  const x = env.XDG_BIN_HOME;
  return x && path.isAbsolute(x) ? x : path.join(home, '.local', 'bin');
}

export function shimContent(nodePath: string, script: string, nodeFlags: readonly string[] = []): string {
  return `#!/bin/sh\n${SHIM_MARKER}\nexec ${[nodePath, ...nodeFlags, script].map(shellQuote).join(' ')} "$@"\n`;
}

export function isOurShim(file: string): boolean {
  try {
    return fs.readFileSync(file, 'utf8').includes(SHIM_MARKER);
  } catch {
    return false;
  }
}

export function planShims(opts: { dir: string; nodePath: string; rbkScript: string; rbkdScript: string }): ShimPlan[] {
  return (
    [
      ['rbk', opts.rbkScript, []],
      ['rbkd', opts.rbkdScript, DAEMON_NODE_FLAGS],
    ] as const
  ).map(([name, script, flags]) => {
    const file = path.join(opts.dir, name);
    const content = shimContent(opts.nodePath, script, flags);
    let state: ShimPlan['state'] = 'absent';
    let current: string | null = null;
    try {
      current = fs.readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') current = '';
    }
    if (current !== null) state = current === content ? 'current' : current.includes(SHIM_MARKER) ? 'outdated' : 'foreign';
    return { name, file, content, state };
  });
}

/** Is `dir` one of the folders of $PATH? */
export function onPathDirs(dir: string, env: NodeJS.ProcessEnv = process.env): boolean {
  return (env.PATH ?? '').split(path.delimiter).some((d) => d && path.resolve(d) === path.resolve(dir));
}

/** The line to add to a shell profile so that `dir` is on PATH. */
export function pathHint(dir: string, home = os.homedir()): string {
  const shown = dir.startsWith(home + path.sep) ? `$HOME${dir.slice(home.length)}` : dir;
  return `export PATH="${shown}:$PATH"`;
}
