// The console's JSON API under /api/v1 (docs/api.md). Each route turns its path and query string
// into the same request message the gRPC method takes, and runs that method: the same zod
// validation, the same domain call, the same mapping to the wire shape (proto field names in
// camelCase, int64 as numbers). Errors leave through the one table in rpc/errors.ts.
import fs from 'node:fs';
import { z } from 'zod';
import type { DaemonContext } from '../context.js';
import { UserError } from '../errors.js';
import { activity } from '../query/activity.js';
import { entryDetail } from '../query/entry.js';
import { buildTimeline, type TimelineEntry } from '../query/timeline.js';
import { turnUsage } from '../query/turns.js';
import { adminHandlers } from '../rpc/admin.js';
import type { UnaryHandler } from '../rpc/errors.js';
import { jobsHandlers } from '../rpc/jobs.js';
import { learnHandlers } from '../rpc/learn.js';
import { queryHandlers, timelineEntryToProto } from '../rpc/query.js';
import { syncHandlers } from '../rpc/sync.js';
import { checkTimeZone, localTimeZone } from '../../common/time.js';
import type { ConsoleTimelineEntry, TimelinePage } from '../../common/console-api.js';
import type { LearnResult } from '../../common/wire/rbk/v1/LearnResult.js';

export interface ApiRequest {
  method: string;
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
}

export interface Route {
  method: 'GET' | 'POST';
  /** A path under /api/v1 with :name segments. */
  path: string;
  /** Changes state: needs the CSRF token as well as the login cookie. */
  mutates?: boolean;
  handle(req: ApiRequest): unknown;
}

/** The most timeline entries one page returns. */
export const TIMELINE_PAGE_MAX = 2000;
/** A learn output file is shown up to this size. */
const LEARN_FILE_MAX = 1_000_000;

/** Runs a gRPC method's own validation and domain call. */
function run<Req, Res>(handler: UnaryHandler<Req, Res>, req: unknown): Res | Promise<Res> {
  return handler.method.run(handler.method.schema.parse(req));
}

/** Query-string values: absent = the proto default, like a field the CLI does not set. */
const qs = {
  str: (q: URLSearchParams, k: string) => q.get(k) ?? '',
  int(q: URLSearchParams, k: string): number {
    const v = q.get(k);
    if (v === null || v === '') return 0;
    if (!/^\d{1,16}$/.test(v)) throw new UserError(`${k} must be a whole number, not "${v.slice(0, 40)}"`);
    return Number(v);
  },
  bool(q: URLSearchParams, k: string): boolean {
    const v = q.get(k);
    if (v === null || v === '' || v === '0' || v === 'false') return false;
    if (v === '1' || v === 'true') return true;
    throw new UserError(`${k} must be true or false, not "${v.slice(0, 40)}"`);
  },
  /** Unix milliseconds, or an ISO 8601 date or date-time. */
  time(q: URLSearchParams, k: string): number {
    const v = q.get(k);
    if (v === null || v === '') return 0;
    if (/^\d{1,16}$/.test(v)) return Number(v);
    const t = /^\d{4}-\d{2}-\d{2}/.test(v) ? Date.parse(v) : Number.NaN;
    if (Number.isNaN(t)) throw new UserError(`${k} must be unix milliseconds or an ISO date (2026-12-01), not "${v.slice(0, 40)}"`);
    return t;
  },
};

const sessionId = z.string().min(1).max(128);
const timelinePage = z.object({ offset: z.number().int().min(0), limit: z.number().int().min(1).max(TIMELINE_PAGE_MAX) });
const entryRef = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'an entry ref is letters, digits, ".", "_", ":" and "-"');
const learnBody = z
  .object({
    incidentId: z.string().max(64).default(''),
    query: z.string().max(1000).default(''),
    applyRunbookUpdates: z.boolean().default(false),
    synthesizer: z.enum(['', 'extractive', 'anthropic', 'openai']).default(''),
  })
  .strict();

/**
 * A built timeline per session, reused while the session has not changed: paging through a
 * 5,000-entry session builds it once. Keyed on the session's counters, which every stored row
 * moves; and kept 30 s at most, so that a change that moves no counter (the redact job rewriting
 * text) shows within 30 s.
 */
class TimelineCache {
  private readonly entries = new Map<string, { version: string; builtAt: number; entries: ConsoleTimelineEntry[] }>();
  constructor(
    private readonly size = 8,
    private readonly maxAgeMs = 30_000,
  ) {}
  get(id: string, version: string, build: () => ConsoleTimelineEntry[]): ConsoleTimelineEntry[] {
    const hit = this.entries.get(id);
    if (hit && hit.version === version && Date.now() - hit.builtAt < this.maxAgeMs) {
      this.entries.delete(id);
      this.entries.set(id, hit);
      return hit.entries;
    }
    const entries = build();
    this.entries.delete(id);
    this.entries.set(id, { version, builtAt: Date.now(), entries });
    while (this.entries.size > this.size) this.entries.delete(this.entries.keys().next().value as string);
    return entries;
  }
}

function readLearnFile(file: string): string | null {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const buf = Buffer.alloc(LEARN_FILE_MAX);
      const n = fs.readSync(fd, buf, 0, LEARN_FILE_MAX, 0);
      return buf.subarray(0, n).toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return null;
  }
}

export function apiRoutes(ctx: DaemonContext): Route[] {
  const query = queryHandlers(ctx);
  const learn = learnHandlers(ctx);
  const jobs = jobsHandlers(ctx);
  const sync = syncHandlers(ctx);
  const admin = adminHandlers(ctx);
  const timelines = new TimelineCache();

  const timelineOf = (id: string): ConsoleTimelineEntry[] => {
    const s = ctx.sessions.get(id);
    const version = `${s.interactions}:${s.hook_events}:${s.last_activity_at}:${s.subagents}:${s.t_subagents}`;
    return timelines.get(id, version, () => {
      const usage = turnUsage(ctx.db, id);
      return buildTimeline(ctx.db, id).map((e: TimelineEntry) => {
        const u = e.source === 'transcript' ? usage.get(e.ref) : undefined;
        // As JSON, a message is its __Output shape: the entry's numbers and strings as built.
        const wire = timelineEntryToProto(e) as ConsoleTimelineEntry;
        if (u) {
          wire.usage = u;
          usage.delete(e.ref);
        }
        return wire;
      });
    });
  };

  return [
    { method: 'GET', path: '/status', handle: () => run(admin.Status, {}) },
    {
      method: 'GET',
      path: '/sessions',
      handle: ({ query: q }) =>
        run(query.ListSessions, {
          limit: qs.int(q, 'limit'),
          beforeUnixMs: qs.time(q, 'before'),
          project: qs.str(q, 'project'),
          sinceUnixMs: qs.time(q, 'since'),
          untilUnixMs: qs.time(q, 'until'),
          tool: qs.str(q, 'tool'),
          errorsOnly: qs.bool(q, 'errors'),
          host: qs.str(q, 'host'),
          agent: qs.str(q, 'agent'),
          sort: qs.str(q, 'sort'),
          offset: qs.int(q, 'offset'),
          ascending: qs.bool(q, 'ascending'),
        }),
    },
    { method: 'GET', path: '/sessions/:id', handle: ({ params }) => run(query.GetSession, { id: params.id, includePayloads: false }) },
    {
      method: 'GET',
      path: '/sessions/:id/timeline',
      handle: ({ params, query: q }) => {
        const id = ctx.sessions.resolveId(sessionId.parse(params.id));
        const page = timelinePage.parse({ offset: qs.int(q, 'offset'), limit: qs.int(q, 'limit') || 500 });
        const all = timelineOf(id);
        return { sessionId: id, total: all.length, offset: page.offset, entries: all.slice(page.offset, page.offset + page.limit) } satisfies TimelinePage;
      },
    },
    {
      method: 'GET',
      path: '/sessions/:id/entries/:ref',
      handle: ({ params }) => entryDetail(ctx.db, ctx.sessions.resolveId(sessionId.parse(params.id)), entryRef.parse(params.ref)),
    },
    {
      method: 'POST',
      path: '/sessions/:id/learn',
      mutates: true,
      handle: async ({ params, body }) => {
        const b = learnBody.parse(body ?? {});
        const res = (await run(learn.Learn, { sessionId: params.id, outDir: '', ...b })) as { result: LearnResult };
        // The files learn wrote, for the console to render: it made them, under its output folder.
        const files: Record<string, string> = {};
        for (const f of [...(res.result.postmortems ?? []), ...(res.result.proposals ?? [])]) {
          const text = f.path ? readLearnFile(f.path) : null;
          if (f.path && text !== null) files[f.path] = text;
        }
        return { ...res, files };
      },
    },
    {
      method: 'GET',
      path: '/search',
      handle: ({ query: q }) =>
        run(query.Search, {
          query: qs.str(q, 'q'),
          raw: qs.bool(q, 'raw'),
          tool: qs.str(q, 'tool'),
          errorsOnly: qs.bool(q, 'errors'),
          project: qs.str(q, 'project'),
          sinceUnixMs: qs.time(q, 'since'),
          untilUnixMs: qs.time(q, 'until'),
          limit: qs.int(q, 'limit'),
          sessionId: qs.str(q, 'session'),
          agent: qs.str(q, 'agent'),
        }),
    },
    {
      method: 'GET',
      path: '/usage',
      handle: ({ query: q }) =>
        run(query.Usage, {
          report: qs.str(q, 'report') || 'daily',
          sinceUnixMs: qs.time(q, 'since'),
          untilUnixMs: qs.time(q, 'until'),
          project: qs.str(q, 'project'),
          timeZone: qs.str(q, 'tz'),
          weekStart: qs.str(q, 'weekStart'),
          agent: qs.str(q, 'agent'),
        }),
    },
    {
      method: 'GET',
      path: '/activity',
      handle: ({ query: q }) =>
        activity(ctx.db, {
          sinceMs: qs.time(q, 'since'),
          untilMs: qs.time(q, 'until'),
          project: qs.str(q, 'project') || undefined,
          timeZone: checkTimeZone(qs.str(q, 'tz') || localTimeZone()),
        }),
    },
    { method: 'GET', path: '/stats', handle: ({ query: q }) => run(query.Stats, { top: qs.int(q, 'top') }) },
    { method: 'GET', path: '/incidents', handle: ({ query: q }) => run(learn.Incidents, { minSessions: qs.int(q, 'minSessions'), limit: qs.int(q, 'limit') }) },
    { method: 'GET', path: '/learnings', handle: ({ query: q }) => run(learn.ListLearnings, { limit: qs.int(q, 'limit') }) },
    { method: 'GET', path: '/learnings/:id', handle: ({ params }) => run(learn.GetLearning, { id: params.id }) },
    { method: 'GET', path: '/sync', handle: () => run(sync.Status, {}) },
    { method: 'GET', path: '/jobs', handle: ({ query: q }) => run(jobs.ListRuns, { limit: qs.int(q, 'limit'), job: qs.str(q, 'job') }) },
  ];
}
