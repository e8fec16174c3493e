// `rbk`: a thin client of rbkd. The commands, their options and their help are one table
// (cli/command-table.ts); cli/parse.ts answers --help and checks every argument before a command
// runs, so asking for help never changes anything.
import { COMMANDS } from './command-table.js';
import { CliError, EXIT } from './errors.js';
import { processIo, type Io } from './io.js';
import { dispatch } from './parse.js';

export async function run(argv: string[], io: Io = processIo): Promise<number> {
  return dispatch(argv, COMMANDS, io);
}

/**
 * A reader that goes away (`rbk usage | head -1`) is not an error: stop quietly, as other
 * command-line tools do, instead of printing a stack trace for EPIPE.
 */
function exitQuietlyOnClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

export async function main(argv = process.argv.slice(2)): Promise<void> {
  exitQuietlyOnClosedPipe(process.stdout);
  exitQuietlyOnClosedPipe(process.stderr);
  let code: number;
  try {
    code = await run(argv);
  } catch (err) {
    if (argv[0] === 'hook') process.exit(0);
    if (err instanceof CliError) {
      process.stderr.write(`rbk: ${err.message}\n`);
      code = err.exitCode;
    } else {
      process.stderr.write(`rbk: unexpected error: ${(err as Error).stack ?? String(err)}\n`);
      code = EXIT.failure;
    }
  }
  if (code >= 0) {
    const { closeClients } = await import('./client.js').catch(() => ({ closeClients: () => {} }));
    closeClients();
    process.exitCode = code;
  }
}
