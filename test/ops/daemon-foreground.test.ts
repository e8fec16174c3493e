// `rbk daemon` runs rbkd in the terminal as every other start of it does: a node process with the
// daemon's node options (cli/install/locate.ts DAEMON_NODE_FLAGS), which Ctrl-C stops cleanly.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DAEMON_NODE_FLAGS } from '../../cli/install/locate.js';
import { assertBuilt, canConnect, cleanEnv, makeDataDir, REPO_ROOT, type TempRbk, waitFor } from '../support/rbk.js';

let t: TempRbk | undefined;
afterEach(() => t?.cleanup());

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('rbk daemon', () => {
  it('starts rbkd with the daemon node options, and a Ctrl-C (SIGINT) stops both processes', async () => {
    assertBuilt();
    t = makeDataDir();
    const cli = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'rbk.js'), 'daemon'], { env: cleanEnv(t.env), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    cli.stdout.on('data', (d) => (output += d));
    cli.stderr.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => cli.once('exit', (code) => resolve(code)));
    await waitFor('the daemon to answer', () => canConnect(t!.socket), 20_000);
    const pid = Number(fs.readFileSync(path.join(t.dataDir, 'rbkd.pid'), 'utf8').trim());
    expect(pid).toBeGreaterThan(0);
    expect(pid).not.toBe(cli.pid);
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    for (const flag of DAEMON_NODE_FLAGS) expect(argv).toContain(flag);
    expect(argv).toContain(path.join(REPO_ROOT, 'bin', 'rbkd.js'));

    cli.kill('SIGINT');
    expect(await exited, output).toBe(0);
    await waitFor('rbkd to exit', () => !alive(pid), 15_000);
    expect(output).toContain('rbkd started');
  }, 60_000);

  it('npm start passes the same node options (package.json cannot import the constant)', () => {
    const start = (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.start!;
    expect(start.split(/\s+/)).toEqual(['node', ...DAEMON_NODE_FLAGS, 'bin/rbkd.js']);
  });
});
