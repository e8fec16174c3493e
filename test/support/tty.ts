// A real terminal for CLI tests: tmux runs the command in a pane of a given size, the test reads
// the screen (capture-pane), everything written to it (pipe-pane, with the \r redraws of progress
// bars), and types into it (send-keys). tmux comes with Debian; the test command installs it.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export function tmuxAvailable(): boolean {
  return spawnSync('sh', ['-c', 'command -v tmux']).status === 0;
}

function tmux(args: string[]): string {
  const r = spawnSync('tmux', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tmux ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

export interface Terminal {
  /** What the pane shows now, one string per line, trailing blanks trimmed. */
  screen(): string[];
  /** Everything the program wrote (escape sequences and carriage returns included). */
  raw(): string;
  type(keys: string, opts?: { enter?: boolean }): void;
  /** Resolves when `test` holds for the screen (or throws after timeoutMs with the screen). */
  waitFor(what: string, test: (screen: string[]) => boolean, timeoutMs?: number): Promise<string[]>;
  /** Resolves with the exit code once the program has ended. */
  exited(timeoutMs?: number): Promise<number>;
  kill(): void;
}

let counter = 0;

/**
 * Runs `argv` in a fresh tmux session of `cols` × `rows` cells with `env`. The command's exit code
 * is written to a file when it ends, and the pane stays open so the last screen can be read.
 */
export function openTerminal(
  dir: string,
  argv: string[],
  opts: { cols: number; rows: number; env: Record<string, string | undefined>; cwd?: string },
): Terminal {
  const name = `rbk-test-${process.pid}-${++counter}`;
  const socketName = `${name}-sock`;
  const rawFile = path.join(dir, `${name}.raw`);
  const codeFile = path.join(dir, `${name}.code`);
  const envFile = path.join(dir, `${name}.env`);
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  // The pane's shell starts with a clean environment: only what the test gives (and a terminal type).
  const vars = Object.entries({ TERM: 'xterm-256color', LANG: 'C.UTF-8', ...opts.env }).filter(([, v]) => v !== undefined) as [string, string][];
  fs.writeFileSync(envFile, `${vars.map(([k, v]) => `export ${k}=${q(v)}`).join('\n')}\n`);
  const script = `. ${q(envFile)}; cd ${q(opts.cwd ?? dir)}; ${argv.map(q).join(' ')}; echo $? > ${q(codeFile)}; sleep 3600`;
  const t = (args: string[]) => tmux(['-L', socketName, ...args]);
  t(['-f', '/dev/null', 'new-session', '-d', '-s', name, '-x', String(opts.cols), '-y', String(opts.rows), 'env', '-i', 'sh', '-c', `sleep 0.3; ${script}`]);
  t(['set-option', '-t', name, 'remain-on-exit', 'on']);
  t(['pipe-pane', '-t', name, '-o', `cat >> ${q(rawFile)}`]);
  const screen = () => {
    const lines = t(['capture-pane', '-p', '-J', '-t', name])
      .split('\n')
      .map((l) => l.replace(/\s+$/, ''));
    while (lines.length > 0 && lines.at(-1) === '') lines.pop();
    return lines;
  };
  const term: Terminal = {
    screen,
    raw: () => (fs.existsSync(rawFile) ? fs.readFileSync(rawFile, 'utf8') : ''),
    type: (keys, o = {}) => {
      t(['send-keys', '-t', name, '-l', keys]);
      if (o.enter) t(['send-keys', '-t', name, 'Enter']);
    },
    waitFor: async (what, test, timeoutMs = 20_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const s = screen();
        if (test(s)) return s;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; the screen:\n${s.join('\n')}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    exited: async (timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!fs.existsSync(codeFile) || fs.readFileSync(codeFile, 'utf8').trim() === '') {
        if (Date.now() > deadline) throw new Error(`the program did not end within ${timeoutMs} ms; the screen:\n${screen().join('\n')}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      return Number(fs.readFileSync(codeFile, 'utf8').trim());
    },
    kill: () => {
      spawnSync('tmux', ['-L', socketName, 'kill-server']);
    },
  };
  return term;
}
