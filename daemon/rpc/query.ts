import { z } from 'zod';
import type { DaemonContext } from '../context.js';
import type * as grpc from '@grpc/grpc-js';
import { buildTimeline } from '../query/timeline.js';
import type { HookEventRow, SessionRow } from '../store/sessions.js';
import { toServiceError, unary } from './errors.js';

export function sessionToProto(row: SessionRow) {
  return {
    id: row.id,
    cwd: row.cwd ?? '',
    project: row.project ?? '',
    transcriptPath: row.transcript_path ?? '',
    gitBranch: row.git_branch ?? '',
    ccVersion: row.cc_version ?? '',
    model: row.model ?? '',
    startedUnixMs: row.started_at ?? 0,
    endedUnixMs: row.ended_at ?? 0,
    lastActivityUnixMs: row.last_activity_at ?? 0,
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
    ...(row.cost_usd !== null && row.cost_complete ? { costUsd: row.cost_usd } : {}),
    title: row.title ?? '',
    host: row.host,
    origin: row.origin,
    endReason: row.end_reason ?? '',
  };
}

function hookEventToProto(row: HookEventRow, includePayload: boolean) {
  return {
    eventId: row.event_id,
    eventName: row.event_name,
    receivedUnixMs: row.received_at,
    clientUnixMs: row.hook_started_at ?? 0,
    toolName: row.tool_name ?? '',
    toolUseId: row.tool_use_id ?? '',
    promptId: row.prompt_id ?? '',
    agentId: row.agent_id ?? '',
    via: row.via,
    problem: row.problem ?? '',
    payloadJson: includePayload ? row.payload : '',
    payloadBytes: row.payload_bytes,
  };
}

const listSessions = z.object({ limit: z.number().int().min(0).max(10_000), beforeUnixMs: z.number().int().min(0) });
const getSession = z.object({ id: z.string().min(1, 'give a session id or a unique prefix of one').max(128), includePayloads: z.boolean() });

const listInteractions = z.object({ sessionId: z.string().min(1).max(128), includeHidden: z.boolean() });

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
      sessions: ctx.sessions.list({ limit: req.limit || 50, beforeMs: req.beforeUnixMs }).map(sessionToProto),
    })),
    GetSession: unary(getSession, (req) => {
      const id = ctx.sessions.resolveId(req.id);
      return {
        session: sessionToProto(ctx.sessions.get(id)),
        hookEvents: ctx.sessions.hookEvents(id).map((e) => hookEventToProto(e, req.includePayloads)),
      };
    }),
    GetTimeline: streaming(getSession, (req, write) => {
      for (const e of buildTimeline(ctx.db, ctx.sessions.resolveId(req.id))) write(e);
    }),
    ListInteractions: streaming(listInteractions, (req, write) => {
      for (const r of ctx.sessions.interactions(ctx.sessions.resolveId(req.sessionId), req.includeHidden)) {
        write({
          uuid: r.uuid,
          sessionId: r.session_id,
          kind: r.kind,
          timestampUnixMs: r.ts ?? 0,
          text: r.text,
          toolName: r.tool_name ?? '',
          toolUseId: r.tool_use_id ?? '',
          isError: r.is_error === 1,
          agentId: r.agent_id ?? '',
          parentUuid: r.parent_uuid ?? '',
          blockIndex: r.block_index,
          subtype: r.subtype ?? '',
          toolInput: r.tool_input ?? '',
          isSidechain: r.is_sidechain === 1,
          hidden: r.hidden === 1,
          model: r.model ?? '',
          messageId: r.message_id ?? '',
          requestId: r.request_id ?? '',
        });
      }
    }),
  };
}
