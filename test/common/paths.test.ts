import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_SOCKET_PATH_BYTES, checkSocketPath, maxSocketPathBytes, resolvePaths } from '../../common/paths.js';

const HOME = '/home/alice';
const uid = typeof process.getuid === 'function' ? String(process.getuid()) : os.userInfo().username;

describe('resolvePaths on Linux', () => {
  it('defaults to the XDG base directories under $HOME', () => {
    const p = resolvePaths({}, 'linux', HOME);
    expect(p).toEqual({
      config: '/home/alice/.config/rbk/config.yaml',
      dataDir: '/home/alice/.local/share/rbk',
      socket: '/home/alice/.local/share/rbk/run/rbk.sock',
      db: '/home/alice/.local/share/rbk/rbk.db',
      spoolDir: '/home/alice/.local/share/rbk/spool',
      fallbackSpoolDir: expect.stringMatching(new RegExp(`^${path.join(os.tmpdir(), `rbk-${uid}`)}/spool-[0-9a-f]{8}$`)),
      lockFile: '/home/alice/.local/share/rbk/rbkd.lock',
      pidFile: '/home/alice/.local/share/rbk/rbkd.pid',
      logFile: '/home/alice/.local/share/rbk/rbkd.log',
      uiSecret: '/home/alice/.local/share/rbk/ui-secret',
      otlpToken: '/home/alice/.local/share/rbk/otlp-token',
    });
  });

  it('puts the fallback spool in XDG_RUNTIME_DIR, one folder per data dir, unless RBK_FALLBACK_SPOOL_DIR says where', () => {
    const a = resolvePaths({ XDG_RUNTIME_DIR: '/run/user/1000' }, 'linux', HOME);
    expect(a.fallbackSpoolDir).toMatch(/^\/run\/user\/1000\/rbk\/spool-[0-9a-f]{8}$/);
    const b = resolvePaths({ XDG_RUNTIME_DIR: '/run/user/1000', RBK_DATA_DIR: '/srv/other' }, 'linux', HOME);
    expect(b.fallbackSpoolDir).toMatch(/^\/run\/user\/1000\/rbk\/spool-[0-9a-f]{8}$/);
    expect(b.fallbackSpoolDir).not.toBe(a.fallbackSpoolDir);
    expect(resolvePaths({ RBK_FALLBACK_SPOOL_DIR: '/mnt/elsewhere/spool' }, 'linux', HOME).fallbackSpoolDir).toBe('/mnt/elsewhere/spool');
  });

  it('follows XDG_CONFIG_HOME and XDG_DATA_HOME', () => {
    const p = resolvePaths({ XDG_CONFIG_HOME: '/cfg', XDG_DATA_HOME: '/data' }, 'linux', HOME);
    expect(p.config).toBe('/cfg/rbk/config.yaml');
    expect(p.dataDir).toBe('/data/rbk');
    expect(p.db).toBe('/data/rbk/rbk.db');
    expect(p.spoolDir).toBe('/data/rbk/spool');
    expect(p.socket).toBe('/data/rbk/run/rbk.sock');
  });

  it('puts the socket in XDG_RUNTIME_DIR when it is set', () => {
    const p = resolvePaths({ XDG_RUNTIME_DIR: '/run/user/1000' }, 'linux', HOME);
    expect(p.socket).toBe('/run/user/1000/rbk/rbk.sock');
    expect(p.dataDir).toBe('/home/alice/.local/share/rbk');
  });

  it('treats empty XDG variables as unset', () => {
    const p = resolvePaths({ XDG_CONFIG_HOME: '', XDG_DATA_HOME: '', XDG_RUNTIME_DIR: '' }, 'linux', HOME);
    expect(p).toEqual(resolvePaths({}, 'linux', HOME));
  });
});

describe('resolvePaths on macOS', () => {
  it('uses ~/Library/Application Support/rbk for config, data and socket', () => {
    const p = resolvePaths({ XDG_CONFIG_HOME: '/ignored', XDG_RUNTIME_DIR: '/ignored' }, 'darwin', '/Users/alice');
    const base = '/Users/alice/Library/Application Support/rbk';
    expect(p.config).toBe(`${base}/config.yaml`);
    expect(p.dataDir).toBe(base);
    expect(p.socket).toBe(`${base}/run/rbk.sock`);
    expect(p.db).toBe(`${base}/rbk.db`);
  });

  // "/Library/Application Support/rbk/run/rbk.sock" is 45 bytes: a home of n bytes gives n + 45.
  const homeOfLength = (n: number): string => `/Users/${'a'.repeat(n - '/Users/'.length)}`;

  it('keeps the socket in the data dir at exactly 103 bytes (the macOS limit without the NUL)', () => {
    const home = homeOfLength(103 - 45);
    const p = resolvePaths({ TMPDIR: '/var/folders/xy/T/' }, 'darwin', home);
    expect(Buffer.byteLength(p.socket)).toBe(103);
    expect(p.socket).toBe(path.join(home, 'Library', 'Application Support', 'rbk', 'run', 'rbk.sock'));
  });

  it('falls back to $TMPDIR/rbk-<uid>/rbk.sock at 104 bytes, even though Linux would allow 107', () => {
    const home = homeOfLength(104 - 45);
    const p = resolvePaths({ TMPDIR: '/var/folders/xy/T/' }, 'darwin', home);
    expect(p.socket).toBe(`/var/folders/xy/T/rbk-${uid}/rbk.sock`);
    // Data and config stay in the home directory.
    expect(p.dataDir).toBe(path.join(home, 'Library', 'Application Support', 'rbk'));
  });

  it('uses os.tmpdir() for the fallback when TMPDIR is unset', () => {
    const p = resolvePaths({}, 'darwin', homeOfLength(200));
    expect(p.socket).toBe(path.join(os.tmpdir(), `rbk-${uid}`, 'rbk.sock'));
  });

  it('does not apply the fallback on Linux', () => {
    const home = `/home/${'a'.repeat(120)}`;
    expect(resolvePaths({}, 'linux', home).socket).toBe(path.join(home, '.local', 'share', 'rbk', 'run', 'rbk.sock'));
  });
});

describe('resolvePaths overrides', () => {
  it('RBK_DATA_DIR alone moves the socket beside it, even with XDG_RUNTIME_DIR set', () => {
    const p = resolvePaths({ RBK_DATA_DIR: '/srv/rbk-test', XDG_RUNTIME_DIR: '/run/user/1000' }, 'linux', HOME);
    expect(p.dataDir).toBe('/srv/rbk-test');
    expect(p.socket).toBe('/srv/rbk-test/run/rbk.sock');
    expect(p.db).toBe('/srv/rbk-test/rbk.db');
    expect(p.spoolDir).toBe('/srv/rbk-test/spool');
    expect(p.lockFile).toBe('/srv/rbk-test/rbkd.lock');
    expect(p.pidFile).toBe('/srv/rbk-test/rbkd.pid');
    // The config is not part of the data dir.
    expect(p.config).toBe('/home/alice/.config/rbk/config.yaml');
  });

  it('RBK_DATA_DIR moves the socket on macOS as well', () => {
    expect(resolvePaths({ RBK_DATA_DIR: '/tmp/d' }, 'darwin', '/Users/alice').socket).toBe('/tmp/d/run/rbk.sock');
  });

  it('RBK_SOCKET and RBK_CONFIG win over everything', () => {
    const p = resolvePaths({ RBK_DATA_DIR: '/d', RBK_SOCKET: '/s/x.sock', RBK_CONFIG: '/c/rbk.yaml', XDG_RUNTIME_DIR: '/run/user/1' }, 'linux', HOME);
    expect(p.socket).toBe('/s/x.sock');
    expect(p.config).toBe('/c/rbk.yaml');
    expect(p.dataDir).toBe('/d');
  });

  it('resolves relative overrides against the cwd and ignores empty ones', () => {
    const p = resolvePaths({ RBK_DATA_DIR: 'rel/data', RBK_CONFIG: 'rel/c.yaml', RBK_SOCKET: '' }, 'linux', HOME);
    expect(p.dataDir).toBe(path.resolve('rel/data'));
    expect(p.config).toBe(path.resolve('rel/c.yaml'));
    expect(p.socket).toBe(path.resolve('rel/data/run/rbk.sock'));
    expect(resolvePaths({ RBK_DATA_DIR: '', RBK_CONFIG: '' }, 'linux', HOME)).toEqual(resolvePaths({}, 'linux', HOME));
  });
});

describe('socket path limits', () => {
  it('knows sun_path: 104 bytes on macOS, 108 on Linux, minus the NUL', () => {
    expect(maxSocketPathBytes('darwin')).toBe(103);
    expect(maxSocketPathBytes('linux')).toBe(107);
    expect(MAX_SOCKET_PATH_BYTES).toBe(maxSocketPathBytes(process.platform));
  });

  it('checkSocketPath accepts the limit and refuses one byte more, saying how to fix it', () => {
    const ok = `/${'s'.repeat(MAX_SOCKET_PATH_BYTES - 1)}`;
    expect(() => checkSocketPath(ok)).not.toThrow();
    const long = `${ok}x`;
    expect(() => checkSocketPath(long)).toThrow(new RegExp(`${MAX_SOCKET_PATH_BYTES + 1} bytes, over the ${MAX_SOCKET_PATH_BYTES}-byte limit`));
    expect(() => checkSocketPath(long)).toThrow(/RBK_SOCKET/);
  });

  it('counts bytes, not characters', () => {
    const chars = Math.floor((MAX_SOCKET_PATH_BYTES - 1) / 2);
    expect(() => checkSocketPath(`/${'é'.repeat(chars)}`)).not.toThrow();
    expect(() => checkSocketPath(`/${'é'.repeat(chars + 1)}`)).toThrow(/over the/);
  });
});
