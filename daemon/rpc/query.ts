import { z } from 'zod';
import { AGENT_NAME, AGENT_NAME_HELP } from '../../common/agents.js';
import type { DaemonContext } from '../context.js';
import type * as grpc from '@grpc/grpc-js';
import { createLiveEvents, type LiveEvent } from '../query/live.js';
import { search, toFtsQuery } from '../query/search.js';
import { listSessions as listSessionsFiltered, SESSION_ORDERS, type SessionOrder } from '../query/sessions.js';
import { stats } from '../query/stats.js';
import { checkTimeZone, localTimeZone } from '../../common/time.js';
import { buildTimeline, type TimelineEntry } from '../query/timeline.js';
import { usageReport, type Totals } from '../query/usage.js';
import type { HookEventRow, SessionRow } from '../store/sessions.js';
import { toServiceError, unary } from './errors.js';
import { forRequest } from '../../common/wire-schema.js';
import type { GetSessionRequest__Output } from '../../common/wire/rbk/v1/GetSessionRequest.js';
import type { ListInteractionsRequest__Output } from '../../common/wire/rbk/v1/ListInteractionsRequest.js';
import type { ListSessionsRequest__Output } from '../../common/wire/rbk/v1/ListSessionsRequest.js';
import type { SearchRequest__Output } from '../../common/wire/rbk/v1/SearchRequest.js';
import type { StatsRequest__Output } from '../../common/wire/rbk/v1/StatsRequest.js';
import type { TailRequest__Output } from '../../common/wire/rbk/v1/TailRequest.js';
import type { UsageRequest__Output } from '../../common/wire/rbk/v1/UsageRequest.js';
import type { HookEvent as HookEventMessage } from '../../common/wire/rbk/v1/HookEvent.js';
import type { Session as SessionMessage } from '../../common/wire/rbk/v1/Session.js';
import type { Interaction as InteractionMessage } from '../../common/wire/rbk/v1/Interaction.js';
import type { TranscriptLines as TranscriptLinesMessage } from '../../common/wire/rbk/v1/TranscriptLines.js';
import type { JobHealth as JobHealthMessage } from '../../common/wire/rbk/v1/JobHealth.js';
import type { LiveEvent as LiveEventMessage } from '../../common/wire/rbk/v1/LiveEvent.js';
import type { SearchHit as SearchHitMessage } from '../../common/wire/rbk/v1/SearchHit.js';
import type { TimelineEntry as TimelineEntryMessage } from '../../common/wire/rbk/v1/TimelineEntry.js';
import type { TranscriptProblem as TranscriptProblemMessage } from '../../common/wire/rbk/v1/TranscriptProblem.js';
import type { UsageRow as UsageRowMessage } from '../../common/wire/rbk/v1/UsageRow.js';
import { absentIfNull } from '../../common/wire-schema.js';

export function sessionToProto(row: SessionRow): SessionMessage {
  return absentIfNull({
    id: row.id,
    cwd: row.cwd,
    project: row.project,
    transcriptPath: row.transcript_path,
    gitBranch: row.git_branch,
    ccVersion: row.cc_version,
    model: row.model,
    startedUnixMs: row.started_at,
    endedUnixMs: row.ended_at,
    lastActivityUnixMs: row.last_activity_at,
    status: row.status,
    // Hooks and transcripts each see a session from one side, and either may be missing (hooks
    // not installed yet, transcript deleted), so the larger count is the truer one.
    counts: {
      prompts: Math.max(row.prompts, row.t_prompts),
      toolCalls: Math.max(row.tool_calls, row.t_tool_calls),
      toolFailures: Math.max(row.tool_failures, row.t_tool_failures),
      subagents: Math.max(row.subagents, row.t_subagents),
      hookEvents: row.hook_events,
      interactions: row.interactions,
    },
    tokens: { input: row.input_tokens, output: row.output_tokens, cacheCreation: row.cache_creation_tokens, cacheRead: row.cache_read_tokens },
    costUsd: row.cost_complete ? row.cost_usd : null,
    title: row.title,
    host: row.host,
    origin: row.origin,
    agent: row.agent,
    endReason: row.end_reason,
    expiredUnixMs: row.expired_at,
    webSearchRequests: row.web_search_requests,
  });
}

function hookEventToProto(row: HookEventRow, includePayload: boolean): HookEventMessage {
  return absentIfNull({
    eventId: row.event_id,
    eventName: row.event_name,
    receivedUnixMs: row.received_at,
    clientUnixMs: row.hook_started_at,
    toolName: row.tool_name,
    toolUseId: row.tool_use_id,
    promptId: row.prompt_id,
    agentId: row.agent_id,
    via: row.via,
    problem: row.problem,
    payloadJson: includePayload ? row.payload : null,
    payloadBytes: row.payload_bytes,
  });
}

const TIMELINE_PAGE = 1000;
const ms = z.number().int().min(0);
/** Empty = any agent. */
const agent = z.union([z.literal(''), z.string().regex(AGENT_NAME, `agent must be ${AGENT_NAME_HELP}`)]).default('');
const listSessions = forRequest<ListSessionsRequest__Output>()(
  z.object({
    limit: z.number().int().min(0).max(10_000),
    beforeUnixMs: ms,
    project: z.string().max(1024).default(''),
    sinceUnixMs: ms.default(0),
    untilUnixMs: ms.default(0),
    tool: z.string().max(256).default(''),
    errorsOnly: z.boolean().default(false),
    host: z.string().max(256).default(''),
    agent,
    sort: z.union([z.literal(''), z.enum(Object.keys(SESSION_ORDERS) as [SessionOrder, ...SessionOrder[]])], {
      message: `sort must be one of ${Object.keys(SESSION_ORDERS).join(', ')}`,
    }),
    offset: z.number().int().min(0).max(10_000_000),
    ascending: z.boolean(),
  }),
);
const searchRequest = forRequest<SearchRequest__Output>()(
  z.object({
    query: z.string().min(1, 'give something to search for').max(4096),
    raw: z.boolean(),
    tool: z.string().max(256),
    errorsOnly: z.boolean(),
    project: z.string().max(1024),
    sinceUnixMs: ms,
    untilUnixMs: ms,
    limit: z.number().int().min(0).max(1000),
    sessionId: z.string().max(128),
    agent,
  }),
);
const usageRequest = forRequest<UsageRequest__Output>()(
  z.object({
    report: z.enum(['daily', 'weekly', 'monthly', 'session'], { message: 'report must be daily, weekly, monthly or session' }),
    sinceUnixMs: ms,
    untilUnixMs: ms,
    project: z.string().max(1024),
    timeZone: z.string().max(128),
    weekStart: z.enum(['', 'monday', 'sunday'], { message: 'week_start must be monday or sunday' }),
    agent,
  }),
);
const statsRequest = forRequest<StatsRequest__Output>()(z.object({ top: z.number().int().min(0).max(1000) }));
const tailRequest = forRequest<TailRequest__Output>()(
  z.object({ sessionId: z.string().max(128), last: z.number().int().min(0).max(100_000), follow: z.boolean(), includeHidden: z.boolean() }),
);

function totalsToProto(t: Totals) {
  return {
    inputTokens: t.inputTokens,
    outputTokens: t.outputTokens,
    cacheCreationTokens: t.cacheCreationTokens,
    cacheReadTokens: t.cacheReadTokens,
    totalTokens: t.totalTokens,
    ...(t.costUsd !== null ? { costUsd: t.costUsd } : {}),
    messages: t.messages,
    unpricedMessages: t.unpricedMessages,
    webSearchRequests: t.webSearchRequests,
  };
}

export function liveEventToProto(e: LiveEvent): LiveEventMessage {
  const { hidden: _hidden, ...wire } = e;
  return absentIfNull(wire);
}

/**
 * The timeline's entries say "none" with '' (learn compares their strings); on the wire, none is
 * an absent field.
 */
export function timelineEntryToProto(e: TimelineEntry): TimelineEntryMessage {
  return {
    ...e,
    toolName: e.toolName || undefined,
    toolUseId: e.toolUseId || undefined,
    status: e.status || undefined,
    agentId: e.agentId || undefined,
    detail: e.detail || undefined,
    permission: e.permission || undefined,
  };
}

const getSession = forRequest<GetSessionRequest__Output>()(
  z.object({ id: z.string().min(1, 'give a session id or a unique prefix of one').max(128), includePayloads: z.boolean() }),
);

/** Transcript lines per message: one line can be up to 4 MiB, and a page is sent when it passes this. */
const PAGE_BYTES = 1024 * 1024;

const listInteractions = forRequest<ListInteractionsRequest__Output>()(z.object({ sessionId: z.string().min(1).max(128), includeHidden: z.boolean() }));

/** Runs a server-streaming handler: validate, then write each item; errors become a status. */
function streaming<Req>(schema: z.ZodType<Req>, fn: (req: Req, write: (m: unknown) => void) => void) {
  return (call: grpc.ServerWritableStream<unknown, unknown>) => {
    try {
      fn(schema.parse(call.request), (m) => call.write(m));
      call.end();
    } catch (err) {
      call.emit('error', toServiceError(err));
    }
  };
}

export function queryHandlers(ctx: DaemonContext) {
  return {
    ListSessions: unary(listSessions, (req) => ({
      sessions: listSessionsFiltered(ctx.db, {
        limit: req.limit || 50,
        beforeMs: req.beforeUnixMs,
        project: req.project || undefined,
        sinceMs: req.sinceUnixMs,
        untilMs: req.untilUnixMs,
        tool: req.tool || undefined,
        errors: req.errorsOnly,
        host: req.host || undefined,
        agent: req.agent || undefined,
        sort: req.sort || undefined,
        offset: req.offset,
        ascending: req.ascending,
      }).map(sessionToProto),
    })),
    Search: unary(searchRequest, (req) => {
      const sessionId = req.sessionId ? ctx.sessions.resolveId(req.sessionId) : undefined;
      const result = search(ctx.db, {
        query: req.query,
        raw: req.raw,
        tool: req.tool || undefined,
        errors: req.errorsOnly,
        project: req.project || undefined,
        sessionId,
        sinceMs: req.sinceUnixMs,
        untilMs: req.untilUnixMs,
        limit: req.limit || 20,
        agent: req.agent || undefined,
      });
      return {
        hits: result.hits.map((h): SearchHitMessage => absentIfNull(h)),
        rankedWindow: result.rankedWindow,
        ftsQuery: req.raw ? req.query : toFtsQueryOrEmpty(req.query),
      };
    }),
    Usage: unary(usageRequest, (req) => {
      const timeZone = checkTimeZone(req.timeZone || localTimeZone());
      const r = usageReport(ctx.db, {
        report: req.report,
        sinceMs: req.sinceUnixMs,
        untilMs: req.untilUnixMs,
        project: req.project || undefined,
        timeZone,
        weekStart: req.weekStart === 'sunday' ? 0 : 1,
        agent: req.agent || undefined,
      });
      const billed = ctx.telemetry.billed({
        sinceMs: req.sinceUnixMs || undefined,
        untilMs: req.untilUnixMs || undefined,
        project: req.project || undefined,
        agent: req.agent || undefined,
      });
      const models = (list: { model: string; totals: Totals }[]) => list.map((m) => ({ model: m.model, totals: totalsToProto(m.totals) }));
      return {
        report: r.report,
        timeZone: r.timeZone,
        rows: r.rows.map((row): UsageRowMessage => absentIfNull({ ...row, totals: totalsToProto(row.totals), models: models(row.models) })),
        totals: totalsToProto(r.totals),
        models: models(r.models),
        unpricedModels: r.unpricedModels,
        pricingVersion: r.pricingVersion,
        undatedMessages: r.undatedMessages,
        billed: billed.requests > 0 ? { ...billed, costUsd: billed.costUsd ?? undefined } : undefined,
      };
    }),
    Stats: unary(statsRequest, (req) => {
      const s = stats(ctx.db, { top: req.top || 10, spoolBacklog: ctx.spool.backlog() });
      const cost = (c: number | null) => (c !== null ? { costUsd: c } : {});
      return {
        totals: { ...s.totals, costUsd: undefined, ...cost(s.totals.costUsd) },
        tools: s.tools,
        projects: s.projects.map((p) => ({ ...p, costUsd: undefined, ...cost(p.costUsd) })),
        health: {
          ...s.health,
          transcriptErrors: s.health.transcriptErrors.map((e): TranscriptProblemMessage => absentIfNull(e)),
          jobs: s.health.jobs.map((j): JobHealthMessage => absentIfNull(j)),
        },
      };
    }),
    Tail: (call: grpc.ServerWritableStream<unknown, unknown>) => {
      let unsubscribe: (() => void) | undefined;
      try {
        const req = tailRequest.parse(call.request);
        const live = createLiveEvents(ctx);
        const filter = { sessionId: req.sessionId ? ctx.sessions.resolveId(req.sessionId) : undefined, includeHidden: req.includeHidden };
        // Subscribing and reading the backlog happen in one turn of the event loop, and the
        // subscription skips what the backlog covered: nothing is lost or sent twice.
        if (req.follow) {
          unsubscribe = live.subscribe(filter, (e) => {
            call.write(liveEventToProto(e));
          });
          call.on('cancelled', () => unsubscribe?.());
          call.on('close', () => unsubscribe?.());
        }
        for (const e of live.recent(req.last, filter)) call.write(liveEventToProto(e));
        if (!req.follow) call.end();
      } catch (err) {
        unsubscribe?.();
        call.emit('error', toServiceError(err));
      }
    },
    GetSession: unary(getSession, (req) => {
      const id = ctx.sessions.resolveId(req.id);
      return {
        session: sessionToProto(ctx.sessions.get(id)),
        hookEvents: ctx.sessions.hookEvents(id).map((e) => hookEventToProto(e, req.includePayloads)),
      };
    }),
    GetTimelinePages: streaming(getSession, (req, write) => {
      const entries = buildTimeline(ctx.db, ctx.sessions.resolveId(req.id), { payloads: req.includePayloads });
      for (let i = 0; i < entries.length; i += TIMELINE_PAGE) write({ entries: entries.slice(i, i + TIMELINE_PAGE).map(timelineEntryToProto) });
    }),
    ListTranscriptLines: streaming(listInteractions, (req, write) => {
      const lines = ctx.sessions.transcriptLines(ctx.sessions.resolveId(req.sessionId));
      let page: { sourcePath: string; line: string }[] = [];
      let bytes = 0;
      for (;;) {
        const next = lines.next();
        if (next.done) {
          write({ lines: page, missing: next.value.missing } satisfies TranscriptLinesMessage);
          return;
        }
        page.push(next.value);
        bytes += next.value.line.length;
        if (bytes >= PAGE_BYTES) {
          write({ lines: page, missing: 0 } satisfies TranscriptLinesMessage);
          page = [];
          bytes = 0;
        }
      }
    }),
    ListInteractions: streaming(listInteractions, (req, write) => {
      for (const r of ctx.sessions.interactions(ctx.sessions.resolveId(req.sessionId), req.includeHidden)) {
        write(
          absentIfNull({
            uuid: r.uuid,
            sessionId: r.session_id,
            kind: r.kind,
            timestampUnixMs: r.ts,
            text: r.text,
            toolName: r.tool_name,
            toolUseId: r.tool_use_id,
            isError: r.is_error === 1,
            agentId: r.agent_id,
            parentUuid: r.parent_uuid,
            blockIndex: r.block_index,
            subtype: r.subtype,
            toolInput: r.tool_input,
            isSidechain: r.is_sidechain === 1,
            hidden: r.hidden === 1,
            model: r.model,
            messageId: r.message_id,
            requestId: r.request_id,
          }) satisfies InteractionMessage,
        );
      }
    }),
  };
}

function toFtsQueryOrEmpty(q: string): string {
  try {
    return toFtsQuery(q);
  } catch {
    return '';
  }
}
