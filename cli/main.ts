// `rbk`: a thin client of rbkd. Each command loads only what it needs, so that `rbk hook` pays for
// nothing but the hook and `rbk --help` loads no gRPC at all.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { RBK_VERSION } from '../common/version.js';
import { CliError, EXIT } from './errors.js';
import { processIo, type Io } from './io.js';

const USAGE = `rbk ${RBK_VERSION}: keep and learn from Claude Code sessions

Usage:
  rbk daemon                         run the daemon in the foreground (same as rbkd)
  rbk hook                           forward one Claude Code hook event (reads stdin; always exits 0)
  rbk status [--json]                daemon version, paths and counts
  rbk sessions [--limit N] [--json]  sessions, newest first
  rbk sessions show <id|prefix> [--json] [--payloads]
                                     one session: metadata and its ordered timeline
  rbk import [PATH...] [--json]      backfill transcripts (default ~/.claude/projects, $CLAUDE_CONFIG_DIR)

Environment: RBK_CONFIG, RBK_DATA_DIR, RBK_SOCKET override where rbk keeps its config, data and socket.
Exit codes: 0 ok, 1 failure, 2 usage, 3 daemon not running, 4 not found.`;

type Options = NonNullable<ParseArgsConfig['options']>;

function parse(args: string[], options: Options): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    return parseArgs({ args, options: { json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' }, ...options }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new CliError(`${(err as Error).message}\n\n${USAGE}`, EXIT.usage);
  }
}

function positiveInt(value: unknown, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new CliError(`${flag} must be a positive whole number, got "${String(value)}"`, EXIT.usage);
  return n;
}

export async function run(argv: string[], io: Io = processIo): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      io.out(USAGE);
      return EXIT.ok;
    case '--version':
    case 'version':
      io.out(RBK_VERSION);
      return EXIT.ok;
    case 'hook': {
      const { runHook } = await import('../hook/main.js');
      await runHook(rest);
      return EXIT.ok;
    }
    case 'daemon': {
      const { main } = await import('../daemon/main.js');
      await main();
      return -1; // keeps running until a signal
    }
    case 'status': {
      const { values } = parse(rest, {});
      const { statusCommand } = await import('./commands/status.js');
      return statusCommand(io, { json: Boolean(values.json) });
    }
    case 'sessions': {
      const { values, positionals } = parse(rest, { limit: { type: 'string', default: '50' }, payloads: { type: 'boolean', default: false } });
      const { sessionsListCommand, sessionsShowCommand } = await import('./commands/sessions.js');
      const [sub, id, ...extra] = positionals;
      if (sub === undefined || sub === 'list') return sessionsListCommand(io, { json: Boolean(values.json), limit: positiveInt(values.limit, '--limit') });
      if (sub === 'show') {
        if (!id || extra.length > 0) throw new CliError('usage: rbk sessions show <session-id|unique-prefix> [--json] [--payloads]', EXIT.usage);
        return sessionsShowCommand(io, { id, json: Boolean(values.json), payloads: Boolean(values.payloads) });
      }
      throw new CliError(`unknown sessions subcommand "${sub}"; try: rbk sessions, rbk sessions show <id>`, EXIT.usage);
    }
    case 'import': {
      const { values, positionals } = parse(rest, { progress: { type: 'boolean', default: true } });
      const { importCommand } = await import('./commands/import.js');
      return importCommand(io, { paths: positionals, json: Boolean(values.json), progress: !values.json && values.progress !== false });
    }
    default:
      throw new CliError(`unknown command "${command}"\n\n${USAGE}`, EXIT.usage);
  }
}

export async function main(argv = process.argv.slice(2)): Promise<void> {
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
