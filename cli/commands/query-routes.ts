// Argument handling for the read-side commands (`rbk sessions …`, `rbk usage …`, `rbk stats`).
// Each subcommand loads only its own module, after its arguments are known to be valid.
import type { ParseArgsConfig } from 'node:util';
import { localTimeZone, parseTimeArg, checkTimeZone, TimeArgError } from '../../daemon/query/time.js';
import { CliError, EXIT } from '../errors.js';
import type { Io } from '../io.js';

type Options = NonNullable<ParseArgsConfig['options']>;
export type Parse = (args: string[], options: Options) => { values: Record<string, string | boolean | undefined>; positionals: string[] };

export const SESSIONS_USAGE = `Usage:
  rbk sessions [--project S] [--since T] [--until T] [--tool NAME] [--errors] [--host H] [--limit N] [--json]
  rbk sessions show <id|prefix> [--json] [--payloads] [--no-pager]
  rbk sessions search "<words or \\"phrases\\">" [--tool NAME] [--errors] [--project S] [--session ID]
                      [--since T] [--until T] [--limit N] [--raw] [--json]
  rbk sessions export <id|prefix> [--format md|json|jsonl|html] [--out FILE]
  rbk sessions tail [-f] [--session ID] [-n N] [--all] [--json]
  rbk sessions pin|unpin <id|prefix> [--json]
Times (T): 2026-05-01, 20260501, 2026-05-01T14:30, an ISO time with Z/offset, today, yesterday, or 30m, 12h, 7d, 2w ago.`;

export const USAGE_USAGE = `Usage:
  rbk usage daily|weekly|monthly|session [--since T] [--until T] [--project S] [--breakdown]
            [--timezone TZ] [--week-start monday|sunday] [--json]`;

function positiveInt(value: unknown, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new CliError(`${flag} must be a positive whole number, got "${String(value)}"`, EXIT.usage);
  return n;
}

function nonNegativeInt(value: unknown, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new CliError(`${flag} must be a whole number, got "${String(value)}"`, EXIT.usage);
  return n;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

function times(values: Record<string, unknown>, tz: string): { sinceMs?: number; untilMs?: number } {
  try {
    const since = str(values.since);
    const until = str(values.until);
    const out = {
      // Before 1970 is as good as "from the start" (0 means unset on the wire).
      sinceMs: since !== undefined ? Math.max(0, parseTimeArg(since, { tz, bound: 'since' })) : undefined,
      untilMs: until !== undefined ? Math.max(1, parseTimeArg(until, { tz, bound: 'until' })) : undefined,
    };
    if (out.sinceMs !== undefined && out.untilMs !== undefined && out.untilMs <= out.sinceMs) {
      throw new CliError(`--until (${new Date(out.untilMs).toISOString()}) must be after --since (${new Date(out.sinceMs).toISOString()})`, EXIT.usage);
    }
    return out;
  } catch (err) {
    if (err instanceof TimeArgError) throw new CliError(`${err.message}`, EXIT.usage);
    throw err;
  }
}

const timeOptions: Options = { since: { type: 'string' }, until: { type: 'string' } };
const SUBCOMMANDS = new Set(['list', 'show', 'search', 'export', 'tail', 'pin', 'unpin']);

export async function sessionsRoute(io: Io, rest: string[], parse: Parse): Promise<number> {
  const first = rest[0];
  const sub = first !== undefined && SUBCOMMANDS.has(first) ? first : 'list';
  const args = first === sub ? rest.slice(1) : rest;
  switch (sub) {
    case 'list': {
      const { values, positionals } = parse(args, {
        limit: { type: 'string', default: '50' },
        project: { type: 'string' },
        tool: { type: 'string' },
        errors: { type: 'boolean', default: false },
        host: { type: 'string' },
        ...timeOptions,
      });
      if (positionals.length > 0) throw new CliError(`unknown sessions subcommand "${positionals[0]}"\n\n${SESSIONS_USAGE}`, EXIT.usage);
      const { sessionsListCommand } = await import('./sessions.js');
      return sessionsListCommand(io, {
        json: Boolean(values.json),
        limit: positiveInt(values.limit, '--limit'),
        project: str(values.project),
        tool: str(values.tool),
        errors: Boolean(values.errors),
        host: str(values.host),
        ...times(values, localTimeZone()),
      });
    }
    case 'show': {
      const { values, positionals } = parse(args, { payloads: { type: 'boolean', default: false }, 'no-pager': { type: 'boolean', default: false } });
      const [id, ...extra] = positionals;
      if (!id || extra.length > 0) throw new CliError('usage: rbk sessions show <session-id|unique-prefix> [--json] [--payloads] [--no-pager]', EXIT.usage);
      const { sessionsShowCommand } = await import('./sessions.js');
      return sessionsShowCommand(io, { id, json: Boolean(values.json), payloads: Boolean(values.payloads), pager: !values['no-pager'] });
    }
    case 'search': {
      const { values, positionals } = parse(args, {
        tool: { type: 'string' },
        errors: { type: 'boolean', default: false },
        project: { type: 'string' },
        session: { type: 'string' },
        limit: { type: 'string', default: '20' },
        raw: { type: 'boolean', default: false },
        ...timeOptions,
      });
      const query = positionals.join(' ').trim();
      if (!query) throw new CliError(`usage: rbk sessions search "<query>" [options]\n\n${SESSIONS_USAGE}`, EXIT.usage);
      const { searchCommand } = await import('./search.js');
      return searchCommand(io, {
        query,
        json: Boolean(values.json),
        raw: Boolean(values.raw),
        tool: str(values.tool),
        errors: Boolean(values.errors),
        project: str(values.project),
        session: str(values.session),
        limit: positiveInt(values.limit, '--limit'),
        ...times(values, localTimeZone()),
      });
    }
    case 'export': {
      const { values, positionals } = parse(args, { format: { type: 'string', default: 'md' }, out: { type: 'string', short: 'o' } });
      const [id, ...extra] = positionals;
      if (!id || extra.length > 0) throw new CliError('usage: rbk sessions export <session-id|unique-prefix> [--format md|json|jsonl|html] [--out FILE]', EXIT.usage);
      const { exportCommand } = await import('./export.js');
      return exportCommand(io, { id, format: String(values.format), out: str(values.out) });
    }
    case 'tail': {
      const { values, positionals } = parse(args, {
        follow: { type: 'boolean', short: 'f', default: false },
        session: { type: 'string' },
        last: { type: 'string', short: 'n', default: '20' },
        all: { type: 'boolean', default: false },
      });
      if (positionals.length > 0) throw new CliError(`usage: rbk sessions tail [-f] [--session ID] [-n N] [--all] [--json]`, EXIT.usage);
      const { tailCommand } = await import('./tail.js');
      return tailCommand(io, { follow: Boolean(values.follow), session: str(values.session), last: nonNegativeInt(values.last, '--last'), json: Boolean(values.json), all: Boolean(values.all) });
    }
    case 'pin':
    case 'unpin': {
      const { values, positionals } = parse(args, {});
      const [id, ...extra] = positionals;
      if (!id || extra.length > 0) throw new CliError(`usage: rbk sessions ${sub} <session-id|unique-prefix> [--json]`, EXIT.usage);
      const { pinCommand } = await import('./pin.js');
      return pinCommand(io, { id, pinned: sub === 'pin', json: Boolean(values.json) });
    }
    default:
      throw new CliError(`unknown sessions subcommand "${sub}"\n\n${SESSIONS_USAGE}`, EXIT.usage);
  }
}

export async function usageRoute(io: Io, rest: string[], parse: Parse): Promise<number> {
  const { values, positionals } = parse(rest, {
    project: { type: 'string' },
    breakdown: { type: 'boolean', default: false },
    timezone: { type: 'string', short: 'z' },
    'week-start': { type: 'string', default: 'monday' },
    ...timeOptions,
  });
  const [report = 'daily', ...extra] = positionals;
  if (!['daily', 'weekly', 'monthly', 'session'].includes(report) || extra.length > 0) {
    throw new CliError(`unknown usage report "${[report, ...extra].join(' ')}"\n\n${USAGE_USAGE}`, EXIT.usage);
  }
  const weekStart = String(values['week-start']);
  if (weekStart !== 'monday' && weekStart !== 'sunday') throw new CliError(`--week-start must be monday or sunday, got "${weekStart}"`, EXIT.usage);
  let timeZone: string;
  try {
    timeZone = checkTimeZone(str(values.timezone) ?? localTimeZone());
  } catch (err) {
    throw new CliError((err as Error).message, EXIT.usage);
  }
  const { usageCommand } = await import('./usage.js');
  return usageCommand(io, {
    report: report as 'daily' | 'weekly' | 'monthly' | 'session',
    project: str(values.project),
    breakdown: Boolean(values.breakdown),
    json: Boolean(values.json),
    timeZone,
    weekStart,
    ...times(values, timeZone),
  });
}

export async function statsRoute(io: Io, rest: string[], parse: Parse): Promise<number> {
  const { values, positionals } = parse(rest, { top: { type: 'string', default: '10' } });
  if (positionals.length > 0) throw new CliError('usage: rbk stats [--top N] [--json]', EXIT.usage);
  const { statsCommand } = await import('./stats.js');
  return statsCommand(io, { json: Boolean(values.json), top: positiveInt(values.top, '--top') });
}
