// Every rbk command, in one table: its words, arguments, options, help and handler. The parser,
// each command's --help and the main usage are all produced from it (cli/parse.ts), and the
// --help safety test walks it. Handlers load their module only once the arguments are known to
// be valid, so `rbk --help` loads no gRPC at all.
import { AGENT_NAME, AGENT_NAME_HELP } from '../common/agents.js';
import { checkTimeZone, localTimeZone, parseTimeArg, TimeArgError } from '../common/time.js';
import { CliError, EXIT } from './errors.js';
import type { Io } from './io.js';
import type { CommandSpec, OptionSpec, Parsed } from './parse.js';

// --- value checks, run before any command ------------------------------------------------------

function positiveInt(value: string, flag: string): void {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new CliError(`${flag} must be a positive whole number, got "${value}"`, EXIT.usage);
}

function nonNegativeInt(value: string, flag: string): void {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new CliError(`${flag} must be a whole number, got "${value}"`, EXIT.usage);
}

function timeArg(value: string, flag: string): void {
  try {
    parseTimeArg(value, { tz: localTimeZone(), bound: 'since' });
  } catch (err) {
    if (err instanceof TimeArgError) throw new CliError(`${flag}: ${err.message}`, EXIT.usage);
    throw err;
  }
}

function timeZoneArg(value: string): void {
  try {
    checkTimeZone(value);
  } catch (err) {
    throw new CliError((err as Error).message, EXIT.usage);
  }
}

/** claude-code, codex, or otel:<service.name> (the agents daemon/query filters on). */
function agentArg(value: string, flag: string): void {
  if (!AGENT_NAME.test(value)) throw new CliError(`${flag} must be ${AGENT_NAME_HELP}, got "${value.slice(0, 80)}"`, EXIT.usage);
}

function oneOf(...allowed: string[]) {
  return (value: string, flag: string): void => {
    if (!allowed.includes(value)) throw new CliError(`${flag} must be ${allowed.join(' or ')}, got "${value}"`, EXIT.usage);
  };
}

const INCIDENT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
function incidentId(value: string, flag: string): void {
  if (!INCIDENT_ID.test(value)) {
    throw new CliError(
      `${flag} must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit (e.g. INC-2041); got "${value.slice(0, 80)}"`,
      EXIT.usage,
    );
  }
}

// --- reading parsed values ----------------------------------------------------------------------

const str = (p: Parsed, k: string): string | undefined => {
  const v = p.values[k];
  return typeof v === 'string' && v.length > 0 ? v : undefined;
};
const flag = (p: Parsed, k: string): boolean => p.values[k] === true;
const int = (p: Parsed, k: string): number => Number(p.values[k]);
const json = (p: Parsed) => flag(p, 'json');
/** Progress bars: on a terminal, not with --json, not with --no-progress. */
const progress = (p: Parsed) => !json(p) && p.values.progress !== false;

function times(p: Parsed, tz: string): { sinceMs?: number; untilMs?: number } {
  const since = str(p, 'since');
  const until = str(p, 'until');
  // Before 1970 is as good as "from the start" (0 means unset on the wire).
  const out = {
    sinceMs: since !== undefined ? Math.max(0, parseTimeArg(since, { tz, bound: 'since' })) : undefined,
    untilMs: until !== undefined ? Math.max(1, parseTimeArg(until, { tz, bound: 'until' })) : undefined,
  };
  if (out.sinceMs !== undefined && out.untilMs !== undefined && out.untilMs <= out.sinceMs) {
    throw new CliError(`--until (${new Date(out.untilMs).toISOString()}) must be after --since (${new Date(out.sinceMs).toISOString()})`, EXIT.usage);
  }
  return out;
}

// --- shared option sets -------------------------------------------------------------------------

const TIME_HELP = 'T: 2026-05-01, 2026-05-01T14:30, an ISO time with Z/offset, today, yesterday, or 30m, 12h, 7d, 2w ago';
const since: OptionSpec = { type: 'string', value: 'T', help: `only from this time on (${TIME_HELP})`, check: timeArg };
const until: OptionSpec = { type: 'string', value: 'T', help: 'only before this time', check: timeArg };
const progressOption: OptionSpec = { type: 'boolean', default: true, negatable: true, help: 'show a progress bar on a terminal (--no-progress: never)' };
const limit = (dflt: number, what: string): OptionSpec => ({
  type: 'string',
  value: 'N',
  default: String(dflt),
  help: `at most N ${what}`,
  check: positiveInt,
});

/** Jobs that delete or rewrite stored data when run. */
const DESTRUCTIVE_JOBS = new Set(['retention', 'redact']);

export const COMMANDS: CommandSpec[] = [
  // --- the daemon and its lifecycle ----------------------------------------------------------
  {
    path: ['daemon'],
    summary: 'run the daemon in the foreground (the same as rbkd and npm start); Ctrl-C stops it',
    description: 'For the background, use rbk start (or rbk install, which runs it as a user service).',
    run: async () => (await import('./daemon-control.js')).runForeground(),
  },
  {
    path: ['start'],
    summary: 'start the daemon in the background (logs to the data dir); the user service when installed',
    options: { wait: { type: 'string', value: 'SECONDS', default: '15', help: 'how long to wait for it to answer', check: positiveInt } },
    run: async (io, p) => (await import('./commands/lifecycle.js')).startCommand(io, { json: json(p), waitMs: int(p, 'wait') * 1000 }),
  },
  {
    path: ['stop'],
    summary: 'stop the daemon, however it was started (hooks spool meanwhile; nothing is lost)',
    options: { wait: { type: 'string', value: 'SECONDS', default: '30', help: 'how long to wait for it to exit', check: positiveInt } },
    run: async (io, p) => (await import('./commands/lifecycle.js')).stopCommand(io, { json: json(p), waitMs: int(p, 'wait') * 1000 }),
  },
  {
    path: ['restart'],
    summary: 'stop, then start the daemon the same way it ran',
    options: { wait: { type: 'string', value: 'SECONDS', default: '30', help: 'how long to wait for each step', check: positiveInt } },
    run: async (io, p) => (await import('./commands/lifecycle.js')).restartCommand(io, { json: json(p), waitMs: int(p, 'wait') * 1000 }),
  },
  {
    path: ['status'],
    summary: 'daemon version, how it was started, paths, counts and spool backlog',
    run: async (io, p) => (await import('./commands/status.js')).statusCommand(io, { json: json(p) }),
  },
  {
    path: ['ui'],
    summary: 'open the web console (sessions, timelines, search, usage charts, live view) logged in',
    description:
      'Asks rbkd for a one-time login URL and opens it in your browser; without a display (ssh), or with --print, prints it instead. The console listens on ui.listen (loopback).',
    args: [{ name: 'path' }],
    options: { print: { type: 'boolean', help: 'print the login URL instead of opening a browser' } },
    run: async (io, p) => (await import('./commands/ui.js')).uiCommand(io, { json: json(p), print: p.values.print === true, path: p.positionals[0] }),
  },
  {
    path: ['otel', 'env'],
    summary: "the environment that sends an OpenTelemetry-instrumented agent's telemetry to rbk (eval it)",
    description:
      'Prints export lines for the OTLP endpoint, protocol and the receiver\'s token, for any agent built on an OpenTelemetry SDK: eval "$(rbk otel env --service-name my-agent)". Claude Code needs none of this: rbk install sets it up.',
    options: { 'service-name': { type: 'string', value: 'NAME', help: 'also set OTEL_SERVICE_NAME (the agent shows as otel:NAME)' } },
    run: async (io, p) => (await import('./commands/otel.js')).otelEnvCommand(io, { json: json(p), serviceName: str(p, 'service-name') }),
  },
  {
    path: ['hook'],
    summary: 'forward one Claude Code hook event read from stdin to the daemon; always exits 0',
    description: 'Claude Code runs this (rbk install registers the faster `node …/rbk-hook.cjs` form). It prints nothing and never fails.',
    hidden: true,
    args: [{ name: 'event' }],
    run: async (_io, p) => {
      const { runHook } = await import('../hook/main.js');
      await runHook(p.positionals);
      return EXIT.ok;
    },
  },

  // --- sessions -------------------------------------------------------------------------------
  {
    path: ['sessions'],
    aliases: [['sessions', 'list']],
    summary: 'sessions, newest first: project, start, duration, prompts, tools, failures, tokens, cost',
    options: {
      project: { type: 'string', value: 'S', help: 'project or cwd contains S (case-insensitive)' },
      since,
      until,
      tool: { type: 'string', value: 'NAME', help: 'sessions that called this tool' },
      errors: { type: 'boolean', default: false, help: 'sessions with failed tool calls' },
      host: { type: 'string', value: 'H', help: 'sessions captured on host H' },
      agent: { type: 'string', value: 'A', help: 'only sessions of agent A: claude-code, codex, otel:<service.name>', check: agentArg },
      limit: limit(50, 'sessions'),
    },
    examples: ['rbk sessions --since 7d --errors', 'rbk sessions show 3f1c'],
    run: async (io, p) => {
      const { sessionsListCommand } = await import('./commands/sessions.js');
      return sessionsListCommand(io, {
        json: json(p),
        limit: int(p, 'limit'),
        project: str(p, 'project'),
        tool: str(p, 'tool'),
        errors: flag(p, 'errors'),
        host: str(p, 'host'),
        agent: str(p, 'agent'),
        ...times(p, localTimeZone()),
      });
    },
  },
  {
    path: ['sessions', 'show'],
    summary: 'one session: metadata, counts, tokens, cost and its ordered timeline',
    args: [{ name: 'id|prefix', required: true }],
    options: {
      payloads: { type: 'boolean', default: false, help: 'full tool inputs and outputs (and hook payloads in --json)' },
      pager: { type: 'boolean', default: true, negatable: true, help: 'page through $PAGER on a terminal (--no-pager: print)' },
    },
    examples: ['rbk sessions show 3f1c', 'rbk sessions show 3f1c --payloads --no-pager'],
    run: async (io, p) =>
      (await import('./commands/sessions.js')).sessionsShowCommand(io, {
        id: p.args['id|prefix']!,
        json: json(p),
        payloads: flag(p, 'payloads'),
        pager: p.values.pager !== false,
      }),
  },
  {
    path: ['sessions', 'search'],
    summary: 'full-text search of prompts, answers, tool inputs and outputs (bm25-ranked, highlighted)',
    args: [{ name: 'query', required: true, variadic: true }],
    options: {
      tool: { type: 'string', value: 'NAME', help: 'only calls of this tool' },
      errors: { type: 'boolean', default: false, help: 'only failed tool calls' },
      project: { type: 'string', value: 'S', help: 'only sessions whose project or cwd contains S' },
      session: { type: 'string', value: 'ID', help: 'only this session (id or unique prefix)' },
      agent: { type: 'string', value: 'A', help: 'only sessions of agent A: claude-code, codex, otel:<service.name>', check: agentArg },
      since,
      until,
      limit: limit(20, 'hits'),
      raw: { type: 'boolean', default: false, help: 'the query is FTS5 syntax (AND, OR, NEAR, prefix*)' },
    },
    examples: ['rbk sessions search "connection refused" --errors', 'rbk sessions search timeout_ms --since 7d'],
    run: async (io, p) => {
      const { searchCommand } = await import('./commands/search.js');
      return searchCommand(io, {
        query: p.args.query!.trim(),
        json: json(p),
        raw: flag(p, 'raw'),
        tool: str(p, 'tool'),
        errors: flag(p, 'errors'),
        project: str(p, 'project'),
        session: str(p, 'session'),
        agent: str(p, 'agent'),
        limit: int(p, 'limit'),
        ...times(p, localTimeZone()),
      });
    },
  },
  {
    path: ['sessions', 'export'],
    summary: 'a self-contained file to paste into a ticket (Markdown, JSON, JSONL, HTML), or the transcript lines as stored',
    args: [{ name: 'id|prefix', required: true }],
    options: {
      format: {
        type: 'string',
        value: 'md|json|jsonl|html|transcript',
        default: 'md',
        help: 'output format; transcript: the lines as stored (redacted at ingest), byte for byte',
        check: oneOf('md', 'json', 'jsonl', 'html', 'transcript'),
      },
      out: { type: 'string', short: 'o', value: 'FILE', help: 'write to FILE instead of stdout' },
    },
    run: async (io, p) =>
      (await import('./commands/export.js')).exportCommand(io, { id: p.args['id|prefix']!, format: String(p.values.format), out: str(p, 'out') }),
  },
  {
    path: ['sessions', 'tail'],
    summary: 'the latest events; -f follows new ones as they arrive until Ctrl-C',
    options: {
      follow: { type: 'boolean', short: 'f', default: false, help: 'keep printing new events (reconnects when the daemon restarts)' },
      session: { type: 'string', value: 'ID', help: 'only this session' },
      last: { type: 'string', short: 'n', value: 'N', default: '20', help: 'start with the last N events', check: nonNegativeInt },
      all: { type: 'boolean', default: false, help: 'also thinking and other hidden entries' },
    },
    run: async (io, p) =>
      (await import('./commands/tail.js')).tailCommand(io, {
        follow: flag(p, 'follow'),
        session: str(p, 'session'),
        last: int(p, 'last'),
        json: json(p),
        all: flag(p, 'all'),
      }),
  },
  {
    path: ['sessions', 'pin'],
    summary: 'keep a session from retention',
    args: [{ name: 'id|prefix', required: true }],
    run: async (io, p) => (await import('./commands/pin.js')).pinCommand(io, { id: p.args['id|prefix']!, pinned: true, json: json(p) }),
  },
  {
    path: ['sessions', 'unpin'],
    summary: 'let retention expire a pinned session again',
    args: [{ name: 'id|prefix', required: true }],
    run: async (io, p) => (await import('./commands/pin.js')).pinCommand(io, { id: p.args['id|prefix']!, pinned: false, json: json(p) }),
  },

  // --- reports --------------------------------------------------------------------------------
  {
    path: ['usage'],
    summary: 'exact tokens and cost by day, week, month or session, with a per-model breakdown',
    args: [{ name: 'report', choices: ['daily', 'weekly', 'monthly', 'session'] }],
    options: {
      since: { ...since, help: 'from this day on, in the report time zone' },
      until: { ...until, help: 'up to this day' },
      project: { type: 'string', value: 'S', help: 'only projects containing S' },
      agent: { type: 'string', value: 'A', help: 'only sessions of agent A: claude-code, codex, otel:<service.name>', check: agentArg },
      breakdown: { type: 'boolean', default: false, help: 'a row per model under each period' },
      timezone: { type: 'string', short: 'z', value: 'TZ', help: "IANA time zone for day boundaries (default: this machine's)", check: timeZoneArg },
      'week-start': { type: 'string', value: 'monday|sunday', default: 'monday', help: 'first day of a week', check: oneOf('monday', 'sunday') },
    },
    examples: ['rbk usage daily --since 7d', 'rbk usage session --breakdown --json'],
    run: async (io, p) => {
      const timeZone = checkTimeZone(str(p, 'timezone') ?? localTimeZone());
      const { usageCommand } = await import('./commands/usage.js');
      return usageCommand(io, {
        report: (p.args.report ?? 'daily') as 'daily' | 'weekly' | 'monthly' | 'session',
        project: str(p, 'project'),
        agent: str(p, 'agent'),
        breakdown: flag(p, 'breakdown'),
        json: json(p),
        timeZone,
        weekStart: String(p.values['week-start']) as 'monday' | 'sunday',
        ...times(p, timeZone),
      });
    },
  },
  {
    path: ['stats'],
    summary: 'totals, top tools and failure rates, busiest projects, capture health',
    options: { top: limit(10, 'tools and projects') },
    run: async (io, p) => (await import('./commands/stats.js')).statsCommand(io, { json: json(p), top: int(p, 'top') }),
  },

  // --- capture: import, the central copy ------------------------------------------------------
  {
    path: ['import'],
    summary: 'backfill transcripts (default ~/.claude/projects and $CLAUDE_CONFIG_DIR); idempotent',
    args: [{ name: 'path', variadic: true }],
    options: { progress: progressOption },
    run: async (io, p) => (await import('./commands/import.js')).importCommand(io, { paths: p.positionals, json: json(p), progress: progress(p) }),
  },
  {
    path: ['sync'],
    summary: 'upload pending sessions to the central copy now',
    options: {
      now: { type: 'boolean', default: false, help: 'retry sessions waiting out a backoff at once' },
      force: { type: 'boolean', default: false, help: 'upload even sessions that look up to date' },
      progress: progressOption,
    },
    run: async (io, p) =>
      (await import('./commands/sync.js')).syncCommand(io, { json: json(p), now: flag(p, 'now'), force: flag(p, 'force'), progress: progress(p) }),
  },
  {
    path: ['sync', 'status'],
    summary: 'central copy: backlog, last success, last error, lag, where it goes',
    run: async (io, p) => (await import('./commands/sync.js')).syncStatusCommand(io, { json: json(p) }),
  },
  {
    path: ['pull'],
    summary: "copy other machines' sessions from the central copy into this index (read-only here)",
    options: {
      since: { ...since, help: 'only sessions active since T' },
      host: { type: 'string', value: 'H', help: 'only sessions of host H' },
      progress: progressOption,
    },
    run: async (io, p) =>
      (await import('./commands/pull.js')).pullCommand(io, { since: str(p, 'since'), host: str(p, 'host'), json: json(p), progress: progress(p) }),
  },

  // --- jobs and the data they change ------------------------------------------------------------
  {
    path: ['jobs'],
    aliases: [['jobs', 'list']],
    summary: 'scheduled jobs (redact, retention, compact, sync) and their last runs',
    options: { job: { type: 'string', value: 'NAME', help: 'only runs of this job' }, limit: limit(20, 'runs') },
    run: async (io, p) => (await import('./commands/jobs.js')).jobsListCommand(io, { json: json(p), limit: int(p, 'limit'), job: str(p, 'job') }),
  },
  {
    path: ['jobs', 'run'],
    summary: 'run a job now, with progress; exits 1 if it fails',
    args: [{ name: 'name', required: true }],
    options: { progress: progressOption },
    destructive: (p) => DESTRUCTIVE_JOBS.has(p.args.name ?? ''),
    preview: async (io, p) => {
      const name = p.args.name!;
      if (name === 'retention') return (await import('./commands/retention.js')).retentionPreview(io);
      return (await import('./commands/redact.js')).redactPreview(io);
    },
    run: async (io, p) => (await import('./commands/jobs.js')).jobsRunCommand(io, { name: p.args.name!, json: json(p), progress: progress(p) }),
  },
  {
    path: ['migrate'],
    summary: 'pack rows stored before storage v2 now, with progress (the daemon also does it in the background)',
    description:
      'Runs the pack job: raw transcript lines and tool results stored as plain text by an earlier rbk are compressed in place, a window of rows per transaction. Safe to interrupt (Ctrl-C detaches; a killed daemon resumes where it stopped); nothing is changed but how the bytes are stored.',
    options: { progress: progressOption },
    run: async (io, p) => (await import('./commands/migrate.js')).migrateCommand(io, { json: json(p), progress: progress(p) }),
  },
  {
    path: ['retention'],
    summary: 'which sessions retention expires now (--dry-run), or expire them now',
    description: 'Without --dry-run this deletes the history of sessions idle for longer than retention.local.days (pinned sessions stay).',
    options: { 'dry-run': { type: 'boolean', default: false, help: 'only show what would be deleted' } },
    destructive: (p) => !flag(p, 'dry-run'),
    preview: async (io) => (await import('./commands/retention.js')).retentionPreview(io),
    run: async (io, p) => (await import('./commands/retention.js')).retentionCommand(io, { dryRun: flag(p, 'dry-run'), json: json(p) }),
  },
  {
    path: ['redact'],
    summary: 'matches per redaction rule in stored rows (--dry-run), or re-redact them now',
    description: 'Without --dry-run this runs the redact job, which rewrites stored rows with the current rules; what it replaces cannot be brought back.',
    options: {
      'dry-run': { type: 'boolean', default: false, help: 'only count what the current rules would change' },
      session: { type: 'string', value: 'ID', help: 'with --dry-run: only this session' },
      progress: progressOption,
    },
    destructive: (p) => !flag(p, 'dry-run'),
    preview: async (io) => (await import('./commands/redact.js')).redactPreview(io),
    run: async (io, p) => {
      if (flag(p, 'dry-run')) return (await import('./commands/redact.js')).redactDryRunCommand(io, { session: str(p, 'session'), json: json(p) });
      if (str(p, 'session')) throw new CliError('--session goes with --dry-run; the redact job always covers every row', EXIT.usage);
      return (await import('./commands/jobs.js')).jobsRunCommand(io, { name: 'redact', json: json(p), progress: progress(p) });
    },
  },

  // --- setup ------------------------------------------------------------------------------------
  {
    path: ['install'],
    summary: "register the hook in Claude Code's settings, put rbk on PATH, run rbkd as a user service",
    description:
      'Idempotent. Without a systemd user session (or launchd) it runs rbkd in the background instead (rbk start) and says so. ' +
      'What it adds is recorded, so that rbk uninstall removes exactly that.',
    options: {
      'dry-run': { type: 'boolean', default: false, help: 'print every file it would write and every command it would run' },
      service: { type: 'boolean', default: true, negatable: true, help: 'run rbkd as a user service (--no-service: hooks and PATH only)' },
      project: { type: 'string', value: 'DIR', help: "register in DIR/.claude/settings.json instead of the user's settings" },
      local: { type: 'boolean', default: false, help: 'with --project: .claude/settings.local.json (not committed)' },
      async: { type: 'boolean', default: false, help: 'per-tool hooks do not block Claude Code (events can be lost at exit)' },
      path: { type: 'boolean', default: true, negatable: true, help: 'put rbk and rbkd shims in ~/.local/bin (--no-path: leave PATH alone)' },
      telemetry: {
        type: 'boolean',
        default: true,
        negatable: true,
        help: "send Claude Code's own telemetry events to rbk (settings env block; --no-telemetry: leave it off)",
      },
    },
    run: async (io, p) => {
      if (flag(p, 'local') && !str(p, 'project')) throw new CliError('--local needs --project DIR', EXIT.usage);
      return (await import('./commands/install.js')).installCommand(io, {
        dryRun: flag(p, 'dry-run'),
        service: p.values.service !== false,
        project: str(p, 'project'),
        local: flag(p, 'local'),
        async: flag(p, 'async'),
        shims: p.values.path !== false,
        telemetry: p.values.telemetry !== false,
        json: json(p),
      });
    },
  },
  {
    path: ['uninstall'],
    summary: 'remove exactly what install added and stop the daemon (--purge: delete the data dir too)',
    options: {
      purge: { type: 'boolean', default: false, help: 'also delete the data dir: every captured session' },
      'dry-run': { type: 'boolean', default: false, help: 'show what it would remove; change nothing' },
    },
    destructive: (p) => !flag(p, 'dry-run'),
    preview: async (io, p) => (await import('./commands/uninstall.js')).uninstallPreview(io, { purge: flag(p, 'purge') }),
    run: async (io, p) =>
      (await import('./commands/uninstall.js')).uninstallCommand(io, { purge: flag(p, 'purge'), dryRun: flag(p, 'dry-run'), json: json(p) }),
  },
  {
    path: ['backup'],
    summary: 'a consistent, compressed copy of the database, taken while rbkd runs (keeps backup.keep of them)',
    description:
      'Without --to, the backup goes where config backup.to says: backup.dir (default <data dir>/backups) or the central copy. Put backups on another disk, or in the central copy, so that a dead disk does not take them along. The backup job (jobs.backup) takes one every night.',
    options: {
      to: { type: 'string', value: 'DIR|central-copy', help: 'write it into DIR, or into the central copy (backups/host=<host>/, encrypted as the sync is)' },
      progress: progressOption,
    },
    run: async (io, p) => (await import('./commands/backup.js')).backupCommand(io, { to: str(p, 'to'), json: json(p), progress: progress(p) }),
  },
  {
    path: ['restore'],
    summary: "put a backup in place of the database, or rebuild this machine's sessions from the central copy",
    args: [{ name: 'backup', required: false }],
    options: {
      'from-central-copy': { type: 'boolean', default: false, help: "rebuild this machine's sessions from the central copy (as its own, not read-only)" },
      host: { type: 'string', value: 'HOST', help: "with --from-central-copy: restore that host's sessions (this machine's old name)" },
      progress: progressOption,
    },
    description:
      'BACKUP is a file rbk backup wrote, or central-copy:latest, or central-copy:<name> for one in the central copy. rbkd is stopped, the current database is kept as rbk.db.before-restore-<time>, and rbkd starts on the backup: it drains the hook events spooled meanwhile and reads what the transcripts on disk hold beyond the backup. With --from-central-copy instead (rbkd running), the sessions this machine synced come back from the central copy as its own: idempotent and resumable, it adds only what is missing. docs/reliability.md lists what a restore from the central copy cannot bring back.',
    destructive: (p) => !flag(p, 'from-central-copy'),
    preview: async (io, p) => (await import('./commands/backup.js')).restorePreview(io, { source: p.args.backup ?? '' }),
    run: async (io, p) => {
      if (flag(p, 'from-central-copy')) {
        if (p.args.backup) throw new CliError('give a backup, or --from-central-copy, not both', EXIT.usage);
        return (await import('./commands/pull.js')).pullCommand(io, { host: str(p, 'host'), json: json(p), progress: progress(p), restoreOwn: true });
      }
      if (str(p, 'host')) throw new CliError('--host goes with --from-central-copy', EXIT.usage);
      if (!p.args.backup) throw new CliError('name the backup to restore (a file, or central-copy:latest), or use --from-central-copy', EXIT.usage);
      return (await import('./commands/backup.js')).restoreCommand(io, { source: p.args.backup, json: json(p) });
    },
  },
  {
    path: ['recover'],
    summary: 'rebuild a damaged database: keep the damaged file, save every row its pages hold, re-read transcripts, drain the spool',
    description:
      'Run it when rbk status or rbk doctor says the database is damaged. rbkd stops, the damaged file is moved aside (and kept), a new database is written from every row that can still be read, and rbkd starts on it: it drains the hook events spooled meanwhile and re-reads every transcript still on disk, which brings back what the damaged pages held for sessions Claude Code still keeps. The report says what was saved, what was lost, and what the transcripts brought back.',
    options: {
      force: { type: 'boolean', default: false, help: 'rebuild even when quick_check finds no damage' },
      progress: progressOption,
    },
    destructive: () => true,
    preview: async (io, p) => (await import('./commands/recover.js')).recoverPreview(io, { force: flag(p, 'force') }),
    run: async (io, p) => (await import('./commands/recover.js')).recoverCommand(io, { json: json(p), force: flag(p, 'force'), progress: progress(p) }),
  },
  {
    path: ['doctor'],
    summary: 'check node, daemon, service, socket, hooks, spool, database, disk, config and the central copy',
    run: async (io, p) => (await import('./commands/doctor.js')).doctorCommand(io, { json: json(p) }),
  },

  // --- learn ------------------------------------------------------------------------------------
  {
    path: ['learn'],
    summary: 'postmortem, runbook update proposals and knowledge docs from a session',
    args: [{ name: 'id|prefix', required: true }],
    options: {
      'incident-id': {
        type: 'string',
        value: 'ID',
        help: "N or inc-N (as rbk lists them): learn only the session's incident N; any other id, such as a tracker's INC-2041, names the files",
        check: incidentId,
      },
      query: { type: 'string', value: 'TEXT', help: 'focus on the incident that matches TEXT' },
      'apply-runbook-updates': { type: 'boolean', default: false, help: 'write the proposed runbook changes into the runbook dir' },
      out: { type: 'string', value: 'DIR', help: 'write the documents under DIR' },
      synthesizer: {
        type: 'string',
        value: 'NAME',
        help: 'extractive (offline), anthropic, or openai (any OpenAI-compatible endpoint, learning.openai)',
        check: oneOf('extractive', 'anthropic', 'openai'),
      },
      progress: progressOption,
    },
    run: async (io, p) =>
      (await import('./commands/learn.js')).learnCommand(io, {
        session: p.args['id|prefix']!,
        incidentId: str(p, 'incident-id'),
        query: str(p, 'query'),
        apply: flag(p, 'apply-runbook-updates'),
        outDir: str(p, 'out'),
        synthesizer: str(p, 'synthesizer'),
        json: json(p),
        progress: progress(p),
      }),
  },
  {
    path: ['learnings'],
    aliases: [['learnings', 'list']],
    summary: 'what rbk has learned, with provenance (sessions, interaction ids)',
    options: { limit: limit(100, 'learnings') },
    run: async (io, p) => (await import('./commands/learn.js')).learningsListCommand(io, { json: json(p), limit: int(p, 'limit') }),
  },
  {
    path: ['learnings', 'show'],
    summary: 'one learning and where it came from',
    args: [{ name: 'id', required: true }],
    run: async (io, p) => (await import('./commands/learn.js')).learningsShowCommand(io, { id: p.args.id!, json: json(p) }),
  },
  {
    path: ['incidents'],
    summary: 'the same failure across sessions: count, first/last seen, how it was fixed',
    options: {
      'min-sessions': { type: 'string', value: 'N', default: '2', help: 'only failures seen in at least N sessions (1: every failure)', check: positiveInt },
      limit: limit(50, 'incidents'),
      progress: progressOption,
    },
    run: async (io, p) =>
      (await import('./commands/learn.js')).incidentsCommand(io, {
        json: json(p),
        minSessions: int(p, 'min-sessions'),
        limit: int(p, 'limit'),
        progress: progress(p),
      }),
  },
];

export type { Io };
