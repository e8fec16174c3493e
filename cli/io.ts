// Where a command's output goes. Commands never touch process.stdout directly for their results,
// so that the width, the TTY checks and the confirmation prompt have one definition.
import readline from 'node:readline';

export interface Io {
  out(text: string): void;
  err(text: string): void;
  json(value: unknown): void;
  /** stdout is a terminal (colors, pager, progress). */
  isTTY: boolean;
  /**
   * Cells per line for tables: $COLUMNS when set, else the terminal's width, else Infinity (output
   * going to a file or a pipe keeps every character).
   */
  columns: number;
  /** A person can answer a question: stdin and stderr are both terminals. */
  canAsk: boolean;
  /** Asks on stderr, reads one line from stdin; true only for "y" or "yes". */
  ask(question: string): Promise<boolean>;
}

function terminalColumns(): number {
  const fromEnv = Number(process.env.COLUMNS);
  if (Number.isInteger(fromEnv) && fromEnv > 0) return fromEnv;
  return process.stdout.isTTY && process.stdout.columns > 0 ? process.stdout.columns : Infinity;
}

async function askOnTerminal(question: string): Promise<boolean> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await new Promise<string>((resolve) => {
      rl.question(question, resolve);
      // Ctrl-D (end of input) is a "no", not a hang.
      rl.once('close', () => resolve(''));
    });
    return /^(y|yes)$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

export const processIo: Io = {
  out: (t) => process.stdout.write(`${t}\n`),
  err: (t) => process.stderr.write(`${t}\n`),
  json: (v) => process.stdout.write(`${JSON.stringify(v, null, 2)}\n`),
  isTTY: Boolean(process.stdout.isTTY),
  get columns() {
    return terminalColumns();
  },
  canAsk: Boolean(process.stdin.isTTY && process.stderr.isTTY),
  ask: askOnTerminal,
};
