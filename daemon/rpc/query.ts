import { z } from 'zod';
import type { DaemonContext } from '../context.js';
import type { HookEventRow, SessionRow } from '../store/sessions.js';
import { unary } from './errors.js';

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
    counts: {
      prompts: row.prompts,
      toolCalls: row.tool_calls,
      toolFailures: row.tool_failures,
      subagents: row.subagents,
      hookEvents: row.hook_events,
      interactions: row.interactions,
    },
    // Filled from transcript usage once ingestion has read the session's transcript.
    tokens: { input: 0, output: 0, cacheCreation: 0, cacheRead: 0 },
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
  };
}
