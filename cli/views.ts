// The documented --json shapes (docs/cli-json.md). Change them only additively.
import { duration, iso } from './format.js';

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
  title: string;
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
    title: orNull(s.title),
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

export interface ProtoTimelineEntry {
  unixMs: number;
  kind: string;
  text: string;
  toolName: string;
  toolUseId: string;
  status: string;
  durationMs: number;
  agentId: string;
  ref: string;
  source: string;
  detail: string;
}

export function timelineView(e: ProtoTimelineEntry) {
  return {
    at: iso(e.unixMs),
    kind: e.kind,
    text: e.text,
    toolName: orNull(e.toolName),
    toolUseId: orNull(e.toolUseId),
    status: orNull(e.status),
    durationMs: e.durationMs || null,
    agentId: orNull(e.agentId),
    ref: e.ref,
    source: e.source,
    detail: orNull(e.detail),
  };
}

const RED = '\x1b[31m';
const DIM = '\x1b[2m';
const RESET = '\x1b[0m';

/** One line per entry; failures stand out (red on a TTY, a "!" marker always). */
export function renderTimeline(entries: ProtoTimelineEntry[], color: boolean): string {
  if (entries.length === 0) return '(no timeline yet: the transcript has not been read and no hook events arrived)';
  const paint = (code: string, s: string) => (color ? `${code}${s}${RESET}` : s);
  return entries
    .map((e) => {
      const time = e.unixMs ? new Date(e.unixMs).toISOString().slice(11, 19) : '--:--:--';
      const agent = e.agentId ? ` [${e.agentId}]` : '';
      const oneLine = (s: string, n: number) => s.replace(/\s+/g, ' ').trim().slice(0, n);
      switch (e.kind) {
        case 'tool': {
          const failed = e.status === 'error';
          const head = `${time}${agent} ${failed ? '!' : ' '} ${e.toolName.padEnd(6)} ${oneLine(e.text, 100)}  ${e.status}${e.durationMs ? ` ${duration(e.durationMs)}` : ''}`;
          return failed ? paint(RED, `${head}\n             ${oneLine(e.detail, 160)}`) : head;
        }
        case 'prompt':
          return `${time}${agent} > ${oneLine(e.text, 160)}`;
        case 'assistant':
          return `${time}${agent}   ${oneLine(e.text, 160)}`;
        case 'thinking':
          return paint(DIM, `${time}${agent}   (thinking) ${oneLine(e.text, 120)}`);
        case 'error':
          return paint(RED, `${time}${agent} ! ${oneLine(e.text, 160)}`);
        case 'subagent':
          return `${time} ⎇ subagent ${e.agentId}: ${oneLine(e.text, 120)}${e.durationMs ? ` (${duration(e.durationMs)})` : ''}`;
        case 'compaction':
          return paint(DIM, `${time} ── ${oneLine(e.text, 140)}`);
        default:
          return `${time}${agent}   ${oneLine(e.text, 160)}`;
      }
    })
    .join('\n');
}
