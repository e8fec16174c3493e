// The service-manager files (systemd user unit, launchd agent) rendered from the templates in
// systemd/ and launchd/, and the commands that load and unload them.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { RbkPaths } from '../../common/paths.js';
import { DAEMON_NODE_FLAGS, LAUNCHD_LABEL, SYSTEMD_UNIT_NAME } from './locate.js';

export type ServiceKind = 'systemd' | 'launchd';

/** Environment install passes on to the daemon: rbk's overrides and the XDG bases they derive from. */
export const FORWARDED_ENV = ['RBK_CONFIG', 'RBK_DATA_DIR', 'RBK_SOCKET', 'XDG_CONFIG_HOME', 'XDG_DATA_HOME'] as const;

export function forwardedEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of FORWARDED_ENV) {
    const v = env[k];
    if (v && v.length > 0) out[k] = k.startsWith('RBK_') ? path.resolve(v) : v;
  }
  return out;
}

function fill(template: string, values: Record<string, string>): string {
  const lines: string[] = [];
  for (const line of template.split('\n')) {
    const m = /^\s*\{\{([A-Z_]+)\}\}\s*$/.exec(line);
    if (m) {
      // A placeholder alone on its line may expand to several lines, or to none.
      const v = values[m[1]!];
      if (v === undefined) throw new Error(`template placeholder {{${m[1]}}} has no value`);
      if (v.length > 0) lines.push(v);
      continue;
    }
    lines.push(
      line.replace(/\{\{([A-Z_]+)\}\}/g, (_all, key: string) => {
        const v = values[key];
        if (v === undefined) throw new Error(`template placeholder {{${key}}} has no value`);
        return v;
      }),
    );
  }
  return lines.join('\n');
}

// --- systemd ---------------------------------------------------------------------------------

/** One systemd word: % specifiers escaped, quoted when it holds spaces, quotes or backslashes. */
function sdWord(s: string, opts: { dollar?: boolean } = {}): string {
  let v = s.replace(/%/g, '%%');
  if (opts.dollar) v = v.replace(/\$/g, '$$$$');
  if (/[\s"'\\;]/.test(v) || v.length === 0) v = `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  return v;
}

const SHARED_TMP = ['/tmp', '/var/tmp'];
function underSharedTmp(p: string): boolean {
  return SHARED_TMP.some((t) => p === t || p.startsWith(`${t}/`));
}

export interface ServiceInputs {
  nodePath: string;
  rbkdPath: string;
  paths: RbkPaths;
  env: Record<string, string>;
  /** Extra directories the daemon must be able to write (e.g. an absolute artifacts dir). */
  extraWritable?: string[];
  docsPath: string;
  home?: string;
}

export function renderSystemdUnit(template: string, inp: ServiceInputs): string {
  const socketDir = path.dirname(inp.paths.socket);
  const writable = [inp.paths.dataDir, ...(socketDir.startsWith(inp.paths.dataDir + path.sep) ? [] : [socketDir]), ...(inp.extraWritable ?? [])];
  const sharesTmp = [inp.paths.dataDir, socketDir].find(underSharedTmp);
  return fill(template, {
    DOCS: pathToFileURL(inp.docsPath).href.replace(/%/g, '%%'),
    EXEC_START: [inp.nodePath, ...DAEMON_NODE_FLAGS, inp.rbkdPath].map((w) => sdWord(w, { dollar: true })).join(' '),
    ENVIRONMENT: Object.entries(inp.env)
      .map(([k, v]) => `Environment=${sdWord(`${k}=${v}`)}`)
      .join('\n'),
    // EnvironmentFile= takes the rest of the line as the path: no quoting, only % escaped.
    ENV_FILE: path.join(path.dirname(inp.paths.config), 'env').replace(/%/g, '%%'),
    PRIVATE_TMP: sharesTmp
      ? `# PrivateTmp=yes is off: ${sharesTmp.replace(/%/g, '%%')} is under a shared temp dir that the rbk CLI and hook must see.`
      : 'PrivateTmp=yes',
    // "-": a path that does not exist (yet) is skipped instead of failing the start.
    READ_WRITE_PATHS: [...new Set(writable)].map((p) => `-${sdWord(p)}`).join(' '),
  });
}

// --- launchd ---------------------------------------------------------------------------------

function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function renderLaunchdPlist(template: string, inp: ServiceInputs & { logFile: string }): string {
  return fill(template, {
    LABEL: LAUNCHD_LABEL,
    NODE: xml(inp.nodePath),
    NODE_FLAGS: DAEMON_NODE_FLAGS.map((f) => `\t\t<string>${xml(f)}</string>`).join('\n'),
    RBKD: xml(inp.rbkdPath),
    ENVIRONMENT: Object.entries(inp.env)
      .map(([k, v]) => `\t\t<key>${xml(k)}</key>\n\t\t<string>${xml(v)}</string>`)
      .join('\n'),
    LOG: xml(inp.logFile),
  });
}

// --- commands ---------------------------------------------------------------------------------

export interface Command {
  argv: string[];
  /** A failure is reported but does not stop the rest (e.g. unloading something not loaded). */
  mayFail?: boolean;
}

export function uid(): number {
  return typeof process.getuid === 'function' ? process.getuid() : os.userInfo().uid;
}

export function loadCommands(kind: ServiceKind, file: string, changed: boolean): Command[] {
  if (kind === 'systemd') {
    return changed
      ? [
          { argv: ['systemctl', '--user', 'daemon-reload'] },
          { argv: ['systemctl', '--user', 'enable', SYSTEMD_UNIT_NAME] },
          // restart, not start: a running daemon must pick up the new unit.
          { argv: ['systemctl', '--user', 'restart', SYSTEMD_UNIT_NAME] },
        ]
      : [{ argv: ['systemctl', '--user', 'enable', '--now', SYSTEMD_UNIT_NAME] }];
  }
  const domain = `gui/${uid()}`;
  return [
    ...(changed ? [{ argv: ['launchctl', 'bootout', `${domain}/${LAUNCHD_LABEL}`], mayFail: true }] : []),
    { argv: ['launchctl', 'enable', `${domain}/${LAUNCHD_LABEL}`], mayFail: true },
    // Fails harmlessly ("service already loaded") when an unchanged agent is already running.
    { argv: ['launchctl', 'bootstrap', domain, file], mayFail: !changed },
  ];
}

export function unloadCommands(kind: ServiceKind): Command[] {
  if (kind === 'systemd') return [{ argv: ['systemctl', '--user', 'disable', '--now', SYSTEMD_UNIT_NAME], mayFail: true }];
  return [{ argv: ['launchctl', 'bootout', `gui/${uid()}/${LAUNCHD_LABEL}`], mayFail: true }];
}

export function afterUnloadCommands(kind: ServiceKind): Command[] {
  return kind === 'systemd' ? [{ argv: ['systemctl', '--user', 'daemon-reload'], mayFail: true }] : [];
}

export function readTemplate(root: string, kind: ServiceKind): string {
  return fs.readFileSync(kind === 'systemd' ? path.join(root, 'systemd', 'rbk.service') : path.join(root, 'launchd', `${LAUNCHD_LABEL}.plist`), 'utf8');
}
