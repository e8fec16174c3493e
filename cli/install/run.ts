// Running service-manager commands, and probing the daemon's socket without gRPC.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Command } from './service.js';

export interface CommandResult {
  argv: string[];
  ok: boolean;
  code: number | null;
  output: string;
}

export function runCommand(cmd: Command): CommandResult {
  const r = spawnSync(cmd.argv[0]!, cmd.argv.slice(1), { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? r.error.message : ''}`.trim();
  return { argv: cmd.argv, ok: r.status === 0, code: r.status, output };
}

/** Is `name` an executable on $PATH? */
export function onPath(name: string, env: NodeJS.ProcessEnv = process.env): boolean {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    try {
      fs.accessSync(path.join(dir, name), fs.constants.X_OK);
      return true;
    } catch {
      /* next */
    }
  }
  return false;
}

/** Resolves true when something accepts connections on the Unix socket. */
export function socketAnswers(socket: string, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const conn = net.connect(socket);
    const done = (ok: boolean) => {
      conn.destroy();
      resolve(ok);
    };
    conn.once('connect', () => done(true));
    conn.once('error', () => done(false));
    conn.setTimeout(timeoutMs, () => done(false));
  });
}

export async function waitForSocket(socket: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await socketAnswers(socket)) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 200));
  }
}

export function shellLine(argv: string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9_/.,:@%+=-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
