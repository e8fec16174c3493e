// Shared bench helpers: a throwaway daemon, timing, and result files.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The node options every start of rbkd uses (cli/install/locate.ts), so that a bench times what users run. */
export const { DAEMON_NODE_FLAGS } = await import(path.join(ROOT, 'dist', 'cli', 'install', 'locate.js'));
export const RESULTS = path.join(ROOT, 'bench', 'results');

export function tempDataDir(tag) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `rbk-bench-${tag}-`));
}

export async function startDaemon(dataDir, extraEnv = {}, nodeArgs = []) {
  // HOME inside the data dir: the daemon sweeps ~/.claude/projects at start, and a benchmark must
  // not read (or time) the developer's own transcripts.
  const env = { ...process.env, RBK_DATA_DIR: dataDir, RBK_CONFIG: path.join(dataDir, 'none.yaml'), HOME: path.join(dataDir, 'home'), ...extraEnv };
  delete env.RBK_SOCKET;
  const child = spawn(process.execPath, [...DAEMON_NODE_FLAGS, ...nodeArgs, path.join(ROOT, 'bin', 'rbkd.js')], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.on('data', (d) => (log += d));
  const socket = path.join(dataDir, 'run', 'rbk.sock');
  for (let i = 0; i < 200; i++) {
    if (log.includes('rbkd started')) break;
    if (child.exitCode !== null) throw new Error(`daemon exited: ${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child,
    env,
    socket,
    pid: child.pid,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', resolve);
        child.kill('SIGTERM');
      }),
  };
}

export function wallMs(cmd, args, opts = {}) {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ['pipe', 'ignore', 'pipe'], ...opts });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

export function percentile(values, p) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

export const median = (v) => percentile(v, 50);

export function writeResult(name, data) {
  fs.mkdirSync(RESULTS, { recursive: true });
  const out = { name, at: new Date().toISOString(), node: process.version, cpus: os.cpus().length, ...data };
  fs.writeFileSync(path.join(RESULTS, `${name}.json`), `${JSON.stringify(out, null, 2)}\n`);
  return out;
}

/** `--name N` from argv as a number, or `dflt` when absent. */
export function numArg(argv, name, dflt) {
  const i = argv.indexOf(`--${name}`);
  return i !== -1 && argv[i + 1] ? Number(argv[i + 1]) : dflt;
}
