// The documented --json shapes (docs/cli-json.md). Change them only additively.
import { iso } from './format.js';

export interface ProtoSession {
  id: string;
  cwd: string;
  project: string;
  transcriptPath: string;
  gitBranch: string;
  ccVersion: string;
  model: string;
  startedUnixMs: number;
  endedUnixMs: number;
  lastActivityUnixMs: number;
  status: string;
  counts: { prompts: number; toolCalls: number; toolFailures: number; subagents: number; hookEvents: number; interactions: number };
  tokens: { input: number; output: number; cacheCreation: number; cacheRead: number };
  costUsd?: number;
  host: string;
  origin: string;
  endReason: string;
}

export interface ProtoHookEvent {
  eventId: string;
  eventName: string;
  receivedUnixMs: number;
  clientUnixMs: number;
  toolName: string;
  toolUseId: string;
  promptId: string;
  agentId: string;
  via: string;
  problem: string;
  payloadJson: string;
  payloadBytes: number;
}

const orNull = (s: string) => (s === '' ? null : s);

export function sessionView(s: ProtoSession) {
  return {
    id: s.id,
    cwd: orNull(s.cwd),
    project: orNull(s.project),
    transcriptPath: orNull(s.transcriptPath),
    gitBranch: orNull(s.gitBranch),
    ccVersion: orNull(s.ccVersion),
    model: orNull(s.model),
    host: s.host,
    origin: s.origin,
    status: s.status,
    endReason: orNull(s.endReason),
    startedAt: iso(s.startedUnixMs),
    endedAt: iso(s.endedUnixMs),
    lastActivityAt: iso(s.lastActivityUnixMs),
    counts: { ...s.counts },
    tokens: { ...s.tokens },
    costUsd: s.costUsd ?? null,
  };
}

export function hookEventView(e: ProtoHookEvent, withPayload: boolean) {
  let payload: unknown;
  if (withPayload) {
    try {
      payload = JSON.parse(e.payloadJson);
    } catch {
      payload = e.payloadJson;
    }
  }
  return {
    eventId: e.eventId,
    eventName: e.eventName,
    at: iso(e.clientUnixMs || e.receivedUnixMs),
    receivedAt: iso(e.receivedUnixMs),
    toolName: orNull(e.toolName),
    toolUseId: orNull(e.toolUseId),
    promptId: orNull(e.promptId),
    agentId: orNull(e.agentId),
    via: e.via,
    problem: orNull(e.problem),
    payloadBytes: e.payloadBytes,
    ...(withPayload ? { payload } : {}),
  };
}
