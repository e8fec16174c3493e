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
  rbk sessions [--project S] [--since T] [--until T] [--tool NAME] [--errors] [--host H] [--limit N] [--json]
                                     sessions, newest first
  rbk sessions show <id|prefix> [--json] [--payloads]
                                     one session: metadata and its ordered timeline
  rbk sessions search "<query>" [--tool NAME] [--errors] [--project S] [--since T] [--limit N] [--raw] [--json]
                                     full-text search of prompts, answers, tool inputs and outputs
  rbk sessions export <id|prefix> [--format md|json|jsonl|html] [--out FILE]
  rbk sessions tail [-f] [--session ID] [-n N] [--json]
                                     recent events; -f follows new ones until Ctrl-C
  rbk usage daily|weekly|monthly|session [--since T] [--until T] [--project S] [--breakdown] [--timezone TZ] [--json]
                                     tokens and cost by day, week, month or session
  rbk stats [--json]                 totals, top tools and failure rates, busiest projects, capture health
  rbk sessions pin|unpin <id|prefix> [--json]
                                     keep a session from retention (or let it go again)
  rbk jobs [--job NAME] [--limit N] [--json]
                                     scheduled jobs and their last runs
  rbk jobs run <name> [--json]       run a job now (retention, compact, ...); exits 1 if it fails
  rbk redact --dry-run [--session ID] [--json]
                                     matches per redaction rule in stored rows (without --dry-run: run the redact job)
  rbk retention --dry-run [--json]   which sessions retention would delete now (without --dry-run: delete them)
  rbk pull [--since T] [--host H] [--json]
                                     copy other machines' sessions from the central copy (read-only here)
  rbk import [PATH...] [--json]      backfill transcripts (default ~/.claude/projects, $CLAUDE_CONFIG_DIR)
  rbk sync [--now] [--force] [--json]
                                     upload pending sessions to the central copy (--now: retry failed ones at once)
  rbk sync status [--json]           central copy: backlog, last success, last error, lag, where it goes
  rbk install [--dry-run] [--no-service] [--project DIR [--local]] [--async] [--json]
                                     register the hook in Claude Code's settings and run rbkd as a
                                     user service (systemd/launchd); idempotent
  rbk uninstall [--purge [--yes]] [--dry-run] [--json]
                                     remove exactly what install added (--purge: the data dir too)
  rbk doctor [--json]                check node, daemon, socket, hooks, spool, database, disk, config
  rbk learn <id|prefix> [--incident-id ID] [--query TEXT] [--apply-runbook-updates] [--out DIR] [--synthesizer extractive|anthropic] [--json]
                                     postmortem, runbook update proposals and knowledge docs from a session
  rbk learnings [list|show <id>] [--limit N] [--json]
                                     what rbk has learned, with provenance (sessions, interaction ids)
  rbk incidents [--min-sessions N] [--limit N] [--json]
                                     the same error across sessions: count, first/last seen, how it was fixed

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
      const { sessionsRoute } = await import('./commands/query-routes.js');
      return sessionsRoute(io, rest, parse);
    }
    case 'usage': {
      const { usageRoute } = await import('./commands/query-routes.js');
      return usageRoute(io, rest, parse);
    }
    case 'stats': {
      const { statsRoute } = await import('./commands/query-routes.js');
      return statsRoute(io, rest, parse);
    }
    case 'jobs': {
      const { values, positionals } = parse(rest, { limit: { type: 'string', default: '20' }, job: { type: 'string' }, progress: { type: 'boolean', default: true } });
      const [sub, name, ...extra] = positionals;
      if (sub === undefined || sub === 'list') {
        if (name !== undefined) throw new CliError(`usage: rbk jobs [--job NAME] [--limit N] [--json]`, EXIT.usage);
        const { jobsListCommand } = await import('./commands/jobs.js');
        return jobsListCommand(io, { json: Boolean(values.json), limit: positiveInt(values.limit, '--limit'), job: typeof values.job === 'string' ? values.job : undefined });
      }
      if (sub !== 'run' || !name || extra.length > 0) throw new CliError(`usage: rbk jobs run <name> [--json]   (see the job names with: rbk jobs)`, EXIT.usage);
      const { jobsRunCommand } = await import('./commands/jobs.js');
      return jobsRunCommand(io, { name, json: Boolean(values.json), progress: !values.json && values.progress !== false });
    }
    case 'retention': {
      const { values, positionals } = parse(rest, { 'dry-run': { type: 'boolean', default: false } });
      if (positionals.length > 0) throw new CliError('usage: rbk retention [--dry-run] [--json]', EXIT.usage);
      const { retentionCommand } = await import('./commands/retention.js');
      return retentionCommand(io, { dryRun: Boolean(values['dry-run']), json: Boolean(values.json) });
    }
    case 'redact': {
      const { values, positionals } = parse(rest, { 'dry-run': { type: 'boolean', default: false }, session: { type: 'string' } });
      if (positionals.length > 0) throw new CliError('usage: rbk redact [--dry-run] [--session ID] [--json]', EXIT.usage);
      if (values['dry-run']) {
        const { redactDryRunCommand } = await import('./commands/redact.js');
        return redactDryRunCommand(io, { session: typeof values.session === 'string' ? values.session : undefined, json: Boolean(values.json) });
      }
      if (values.session) throw new CliError('--session goes with --dry-run; the redact job always covers every row', EXIT.usage);
      const { jobsRunCommand } = await import('./commands/jobs.js');
      return jobsRunCommand(io, { name: 'redact', json: Boolean(values.json), progress: !values.json });
    }
    case 'sync': {
      const { values, positionals } = parse(rest, { now: { type: 'boolean', default: false }, force: { type: 'boolean', default: false }, progress: { type: 'boolean', default: true } });
      const [sub, ...extra] = positionals;
      if (sub === 'status' && extra.length === 0) {
        const { syncStatusCommand } = await import('./commands/sync.js');
        return syncStatusCommand(io, { json: Boolean(values.json) });
      }
      if (sub !== undefined) throw new CliError('usage: rbk sync [--now] [--force] [--json]   or   rbk sync status [--json]', EXIT.usage);
      const { syncCommand } = await import('./commands/sync.js');
      return syncCommand(io, { json: Boolean(values.json), now: Boolean(values.now), force: Boolean(values.force), progress: !values.json && values.progress !== false });
    }
    case 'pull': {
      const { values, positionals } = parse(rest, { since: { type: 'string' }, host: { type: 'string' }, progress: { type: 'boolean', default: true } });
      if (positionals.length > 0) throw new CliError('usage: rbk pull [--since T] [--host H] [--json]', EXIT.usage);
      const { pullCommand } = await import('./commands/pull.js');
      return pullCommand(io, {
        since: typeof values.since === 'string' ? values.since : undefined,
        host: typeof values.host === 'string' ? values.host : undefined,
        json: Boolean(values.json),
        progress: !values.json && values.progress !== false,
      });
    }
    case 'import': {
      const { values, positionals } = parse(rest, { progress: { type: 'boolean', default: true } });
      const { importCommand } = await import('./commands/import.js');
      return importCommand(io, { paths: positionals, json: Boolean(values.json), progress: !values.json && values.progress !== false });
    }
    case 'install': {
      const { values } = parse(rest, {
        'dry-run': { type: 'boolean', default: false },
        'no-service': { type: 'boolean', default: false },
        project: { type: 'string' },
        local: { type: 'boolean', default: false },
        async: { type: 'boolean', default: false },
      });
      if (values.local && !values.project) throw new CliError('--local needs --project DIR', EXIT.usage);
      const { installCommand } = await import('./commands/install.js');
      return installCommand(io, {
        dryRun: Boolean(values['dry-run']),
        service: !values['no-service'],
        project: typeof values.project === 'string' ? values.project : undefined,
        local: Boolean(values.local),
        async: Boolean(values.async),
        json: Boolean(values.json),
      });
    }
    case 'uninstall': {
      const { values } = parse(rest, { purge: { type: 'boolean', default: false }, yes: { type: 'boolean', short: 'y', default: false }, 'dry-run': { type: 'boolean', default: false } });
      const { uninstallCommand } = await import('./commands/uninstall.js');
      return uninstallCommand(io, { purge: Boolean(values.purge), yes: Boolean(values.yes), dryRun: Boolean(values['dry-run']), json: Boolean(values.json) });
    }
    case 'doctor': {
      const { values } = parse(rest, {});
      const { doctorCommand } = await import('./commands/doctor.js');
      return doctorCommand(io, { json: Boolean(values.json) });
    }
    case 'learn': {
      const { values, positionals } = parse(rest, {
        'incident-id': { type: 'string' },
        query: { type: 'string' },
        'apply-runbook-updates': { type: 'boolean', default: false },
        out: { type: 'string' },
        synthesizer: { type: 'string' },
        progress: { type: 'boolean', default: true },
      });
      if (positionals.length !== 1) throw new CliError('usage: rbk learn <session-id|prefix> [--incident-id ID] [--query TEXT] [--apply-runbook-updates] [--out DIR] [--synthesizer extractive|anthropic] [--json]', EXIT.usage);
      const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
      const { learnCommand } = await import('./commands/learn.js');
      return learnCommand(io, {
        session: positionals[0]!,
        incidentId: str(values['incident-id']),
        query: str(values.query),
        apply: Boolean(values['apply-runbook-updates']),
        outDir: str(values.out),
        synthesizer: str(values.synthesizer),
        json: Boolean(values.json),
        progress: !values.json && values.progress !== false,
      });
    }
    case 'learnings': {
      const { values, positionals } = parse(rest, { limit: { type: 'string', default: '100' } });
      const [sub, id, ...extra] = positionals;
      const { learningsListCommand, learningsShowCommand } = await import('./commands/learn.js');
      if ((sub === undefined || sub === 'list') && id === undefined) return learningsListCommand(io, { json: Boolean(values.json), limit: positiveInt(values.limit, '--limit') });
      if (sub !== 'show' || !id || extra.length > 0) throw new CliError('usage: rbk learnings [list] [--json]  |  rbk learnings show <id> [--json]', EXIT.usage);
      return learningsShowCommand(io, { id, json: Boolean(values.json) });
    }
    case 'incidents': {
      const { values, positionals } = parse(rest, { 'min-sessions': { type: 'string', default: '1' }, limit: { type: 'string', default: '50' }, progress: { type: 'boolean', default: true } });
      if (positionals.length > 0) throw new CliError('usage: rbk incidents [--min-sessions N] [--limit N] [--json]', EXIT.usage);
      const { incidentsCommand } = await import('./commands/learn.js');
      return incidentsCommand(io, {
        json: Boolean(values.json),
        minSessions: positiveInt(values['min-sessions'], '--min-sessions'),
        limit: positiveInt(values.limit, '--limit'),
        progress: !values.json && values.progress !== false,
      });
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
