// The one place that decides where rbk keeps things. It has no dependencies on purpose: the hook
// imports it on every Claude Code event, so it must cost nothing beyond node:path and node:os.
import os from 'node:os';
import path from 'node:path';

export interface RbkPaths {
  /** YAML config file; it may not exist (embedded defaults apply). */
  config: string;
  /** Directory for the SQLite file, spool, keys and local artifacts. Mode 0700. */
  dataDir: string;
  /** gRPC Unix socket. Its directory is created 0700 by the daemon. */
  socket: string;
  db: string;
  spoolDir: string;
  /**
   * Where the hook spools when spoolDir cannot take the event (the data dir's disk is full,
   * read-only, …): another filesystem when there is one, $XDG_RUNTIME_DIR (a per-user tmpfs)
   * or the temp dir, in a 0700 folder of this user's, one per data dir. The daemon drains both.
   */
  fallbackSpoolDir: string;
  /** Kernel-held lock that makes the daemon single-instance per data dir. */
  lockFile: string;
  pidFile: string;
  /** Where `rbk start` sends a background daemon's output (JSON log lines). */
  logFile: string;
  /** The web console's per-install secret (mode 0600): logins and CSRF tokens are signed with it. */
  uiSecret: string;
  /** The OTLP receiver's bearer token (mode 0600): agents' telemetry exporters send it. */
  otlpToken: string;
}

// sun_path is 104 bytes on macOS and 108 on Linux, including the trailing NUL.
export function maxSocketPathBytes(platform: NodeJS.Platform = process.platform): number {
  return platform === 'darwin' ? 103 : 107;
}
export const MAX_SOCKET_PATH_BYTES = maxSocketPathBytes();

type Env = Record<string, string | undefined>;

export function resolvePaths(env: Env = process.env, platform: NodeJS.Platform = process.platform, home: string = os.homedir()): RbkPaths {
  const nonEmpty = (v: string | undefined): string | undefined => (v && v.length > 0 ? v : undefined);
  let configDefault: string;
  let dataDefault: string;
  let socketDefault: string;

  if (platform === 'darwin') {
    const base = path.join(home, 'Library', 'Application Support', 'rbk');
    configDefault = path.join(base, 'config.yaml');
    dataDefault = base;
    socketDefault = path.join(base, 'run', 'rbk.sock');
    // Long home directories push the socket past macOS's 104-byte limit; the per-user temp dir
    // (a private /var/folders/... path) is short and still owned by this user only.
    if (Buffer.byteLength(socketDefault) > maxSocketPathBytes(platform)) {
      socketDefault = path.join(nonEmpty(env.TMPDIR) ?? os.tmpdir(), `rbk-${uid()}`, 'rbk.sock');
    }
  } else {
    const configHome = nonEmpty(env.XDG_CONFIG_HOME) ?? path.join(home, '.config');
    const dataHome = nonEmpty(env.XDG_DATA_HOME) ?? path.join(home, '.local', 'share');
    configDefault = path.join(configHome, 'rbk', 'config.yaml');
    dataDefault = path.join(dataHome, 'rbk');
    const runtime = nonEmpty(env.XDG_RUNTIME_DIR);
    socketDefault = runtime ? path.join(runtime, 'rbk', 'rbk.sock') : path.join(dataDefault, 'run', 'rbk.sock');
  }

  const dataDir = path.resolve(nonEmpty(env.RBK_DATA_DIR) ?? dataDefault);
  // When only the data dir is overridden, keep the socket beside it so that side-by-side
  // instances (tests, benchmarks) never collide on the shared runtime socket.
  const socket = path.resolve(nonEmpty(env.RBK_SOCKET) ?? (nonEmpty(env.RBK_DATA_DIR) ? path.join(dataDir, 'run', 'rbk.sock') : socketDefault));
  return {
    config: path.resolve(nonEmpty(env.RBK_CONFIG) ?? configDefault),
    dataDir,
    socket,
    db: path.join(dataDir, 'rbk.db'),
    spoolDir: path.join(dataDir, 'spool'),
    fallbackSpoolDir: path.resolve(nonEmpty(env.RBK_FALLBACK_SPOOL_DIR) ?? fallbackSpoolDefault(dataDir, env, platform)),
    lockFile: path.join(dataDir, 'rbkd.lock'),
    pidFile: path.join(dataDir, 'rbkd.pid'),
    logFile: path.join(dataDir, 'rbkd.log'),
    uiSecret: path.join(dataDir, 'ui-secret'),
    otlpToken: path.join(dataDir, 'otlp-token'),
  };
}

/** `<runtime or temp dir>/rbk-<uid>/spool-<hash of the data dir>`: one per instance, so test and side-by-side daemons never drain each other's events. */
function fallbackSpoolDefault(dataDir: string, env: Env, platform: NodeJS.Platform): string {
  const runtime = platform === 'darwin' ? undefined : env.XDG_RUNTIME_DIR || undefined;
  const base = runtime ? path.join(runtime, 'rbk') : path.join((platform === 'darwin' ? env.TMPDIR : undefined) || os.tmpdir(), `rbk-${uid()}`);
  // FNV-1a: no crypto import on the hook's path.
  let h = 0x811c9dc5;
  for (let i = 0; i < dataDir.length; i++) h = Math.imul(h ^ dataDir.charCodeAt(i), 0x01000193) >>> 0;
  return path.join(base, `spool-${h.toString(16).padStart(8, '0')}`);
}

function uid(): string {
  return typeof process.getuid === 'function' ? String(process.getuid()) : os.userInfo().username;
}

/** Throws with the fix when the socket path cannot be bound on this platform. */
export function checkSocketPath(socket: string): void {
  const bytes = Buffer.byteLength(socket);
  if (bytes > MAX_SOCKET_PATH_BYTES) {
    throw new Error(
      `socket path is ${bytes} bytes, over the ${MAX_SOCKET_PATH_BYTES}-byte limit for Unix sockets: ${socket}. ` +
        'Set RBK_SOCKET to a shorter path, for example /tmp/rbk-$UID/rbk.sock.',
    );
  }
}
