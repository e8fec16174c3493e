// The documented --json shapes (docs/cli-json.md). Change them only additively.
import { duration, iso } from './format.js';
import type {
  WireHookEvent,
  WireLiveEvent,
  WireModelUsage,
  WireSearchHit,
  WireSession,
  WireStatsResponse,
  WireTimelineEntry,
  WireUsageResponse,
  WireUsageRow,
  WireUsageTotals,
} from './wire.js';

export function sessionView(s: WireSession) {
  return {
    id: s.id,
    cwd: s.cwd ?? null,
    project: s.project ?? null,
    transcriptPath: s.transcriptPath ?? null,
    gitBranch: s.gitBranch ?? null,
    ccVersion: s.ccVersion ?? null,
    model: s.model ?? null,
    host: s.host,
    origin: s.origin,
    agent: s.agent,
    status: s.status,
    endReason: s.endReason ?? null,
    title: s.title ?? null,
    startedAt: iso(s.startedUnixMs),
    endedAt: iso(s.endedUnixMs),
    lastActivityAt: iso(s.lastActivityUnixMs),
    counts: { ...s.counts },
    tokens: { ...s.tokens },
    costUsd: s.costUsd ?? null,
    webSearchRequests: s.webSearchRequests,
    expiredAt: iso(s.expiredUnixMs),
  };
}

export function hookEventView(e: WireHookEvent, withPayload: boolean) {
  let payload: unknown = null;
  if (withPayload && e.payloadJson !== undefined) {
    try {
      payload = JSON.parse(e.payloadJson);
    } catch {
      payload = e.payloadJson;
    }
  }
  return {
    eventId: e.eventId,
    eventName: e.eventName,
    at: iso(e.clientUnixMs ?? e.receivedUnixMs),
    receivedAt: iso(e.receivedUnixMs),
    toolName: e.toolName ?? null,
    toolUseId: e.toolUseId ?? null,
    promptId: e.promptId ?? null,
    agentId: e.agentId ?? null,
    via: e.via,
    problem: e.problem ?? null,
    payloadBytes: e.payloadBytes,
    ...(withPayload ? { payload } : {}),
  };
}

export function timelineView(e: WireTimelineEntry) {
  return {
    at: iso(e.unixMs),
    kind: e.kind,
    text: e.text,
    toolName: e.toolName ?? null,
    toolUseId: e.toolUseId ?? null,
    status: e.status ?? null,
    durationMs: e.durationMs || null,
    agentId: e.agentId ?? null,
    ref: e.ref,
    source: e.source,
    detail: e.detail ?? null,
    permission: e.permission ?? null,
    ...(e.input || e.output ? { input: e.input, output: e.output } : {}),
  };
}

const RED = '\x1b[31m';
const DIM = '\x1b[2m';
const RESET = '\x1b[0m';

/**
 * Captured text made safe for a terminal: escape sequences and other control characters in
 * tool output (colors, cursor moves, OSC titles) are shown as visible placeholders, never run.
 */
export function terminalSafe(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '').replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '\ufffd');
}

/** Each line of `text` made terminal-safe and indented by `pad`. */
function block(text: string, pad: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((l) => `${pad}${terminalSafe(l)}`.trimEnd())
    .join('\n');
}

/** A tool's JSON input shown as readable text: pretty-printed when it parses. */
function prettyInput(json: string): string {
  try {
    return JSON.stringify(JSON.parse(json), null, 2);
  } catch {
    return json;
  }
}

/**
 * One line per entry; failures stand out (red on a TTY, a "!" marker always) and show their
 * error lines (the head and tail of the output, where errors are). With payloads, every tool
 * call shows its whole input and output under it.
 */
export function renderTimeline(entries: WireTimelineEntry[], color: boolean, opts: { payloads?: boolean } = {}): string {
  if (entries.length === 0) return '(no timeline yet: the transcript has not been read and no hook events arrived)';
  const paint = (code: string, s: string) => (color ? `${code}${s}${RESET}` : s);
  const indent = '             ';
  return entries
    .map((e) => {
      const time = e.unixMs ? new Date(e.unixMs).toISOString().slice(11, 19) : '--:--:--';
      const agent = e.agentId ? ` [${e.agentId}]` : '';
      const oneLine = (s: string, n: number) => terminalSafe(s.replace(/\s+/g, ' ').trim()).slice(0, n);
      switch (e.kind) {
        case 'tool': {
          const failed = e.status === 'error';
          // A permission the config granted is the usual case; a person's answer or a refusal is worth a word.
          const permission = e.permission && !e.permission.endsWith('(config)') ? `  [${terminalSafe(e.permission)}]` : '';
          const head = `${time}${agent} ${failed ? '!' : ' '} ${(e.toolName ?? '').padEnd(6)} ${oneLine(e.text, opts.payloads ? 400 : 100)}  ${e.status}${e.durationMs ? ` ${duration(e.durationMs)}` : ''}${permission}`;
          const parts = [failed ? paint(RED, head) : head];
          if (opts.payloads && (e.input || e.output)) {
            if (e.input) parts.push(paint(DIM, `${indent}input:`), block(prettyInput(e.input), `${indent}  `));
            if (e.output !== undefined) parts.push(paint(DIM, `${indent}output:`), e.output ? block(e.output, `${indent}  `) : `${indent}  (empty)`);
          } else if (failed && e.detail) parts.push(paint(RED, block(e.detail, indent)));
          return parts.join('\n');
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
        case 'context':
          return paint(DIM, `${time}${agent}   (context) ${oneLine(e.text, 120)}`);
        default:
          return `${time}${agent}   ${oneLine(e.text, 160)}`;
      }
    })
    .join('\n');
}

// ---------------------------------------------------------------------------------------------
// Search, usage, stats, tail (issue 6). Shapes documented in docs/cli-json.md and docs/usage.md.
// ---------------------------------------------------------------------------------------------

/** Splits a daemon snippet (matches wrapped in U+0002 … U+0003) into plain text and [start, end) ranges. */
export function splitHighlights(marked: string): { text: string; highlights: [number, number][] } {
  let text = '';
  const highlights: [number, number][] = [];
  let start = -1;
  for (const ch of marked) {
    if (ch === '\u0002') start = text.length;
    else if (ch === '\u0003') {
      if (start >= 0 && text.length > start) highlights.push([start, text.length]);
      start = -1;
    } else text += ch;
  }
  return { text, highlights };
}

export function searchHitView(h: WireSearchHit, rank: number) {
  const { text, highlights } = splitHighlights(h.snippet);
  return {
    rank,
    sessionId: h.sessionId,
    interactionUuid: h.uuid,
    blockIndex: h.blockIndex,
    kind: h.kind,
    toolName: h.toolName ?? null,
    toolUseId: h.toolUseId ?? null,
    isError: h.isError,
    at: iso(h.unixMs),
    agentId: h.agentId ?? null,
    project: h.project ?? null,
    sessionTitle: h.sessionTitle ?? null,
    snippet: text,
    highlights,
    score: h.score,
  };
}

/** Token columns named as ccusage names them, so that scripts written for it keep working. */
function tokenFields(t: WireUsageTotals) {
  return {
    inputTokens: t.inputTokens,
    outputTokens: t.outputTokens,
    cacheCreationTokens: t.cacheCreationTokens,
    cacheReadTokens: t.cacheReadTokens,
    totalTokens: t.totalTokens,
  };
}

export function usageTotalsView(t: WireUsageTotals) {
  return {
    ...tokenFields(t),
    totalCost: t.costUsd ?? null,
    costComplete: t.unpricedMessages === 0,
    messages: t.messages,
    unpricedMessages: t.unpricedMessages,
    webSearchRequests: t.webSearchRequests,
  };
}

export function modelBreakdownView(m: WireModelUsage) {
  return {
    modelName: m.model,
    ...tokenFields(m.totals),
    cost: m.totals.costUsd ?? null,
    messages: m.totals.messages,
    unpricedMessages: m.totals.unpricedMessages,
    webSearchRequests: m.totals.webSearchRequests,
  };
}

const REPORT_KEY = { daily: 'date', weekly: 'week', monthly: 'month', session: 'sessionId' } as const;
const REPORT_LIST = { daily: 'daily', weekly: 'weekly', monthly: 'monthly', session: 'sessions' } as const;
type Report = keyof typeof REPORT_KEY;

/** The usage report kind the daemon answered with (a string on the wire). */
function reportOf(report: string): Report {
  if (report in REPORT_KEY) return report as Report;
  throw new Error(`the daemon answered with an unknown usage report "${report}"; are rbk and rbkd the same version? (rbk doctor)`);
}

export function usageRowView(wireReport: string, r: WireUsageRow) {
  const report = reportOf(wireReport);
  const base = {
    period: r.period,
    [REPORT_KEY[report]]: r.period,
    ...(report === 'session' ? { project: r.project ?? null, firstActivity: iso(r.firstUnixMs), lastActivity: iso(r.lastUnixMs) } : { sessions: r.sessions }),
    ...usageTotalsView(r.totals),
    modelsUsed: r.models.map((m) => m.model),
    modelBreakdowns: r.models.map(modelBreakdownView),
  };
  return base;
}

export function usageView(res: WireUsageResponse, query: { since: number; until: number; project: string | null; agent?: string | null; weekStart: string }) {
  return {
    report: res.report,
    timezone: res.timeZone,
    since: iso(query.since),
    until: iso(query.until),
    project: query.project,
    agent: query.agent ?? null,
    ...(res.report === 'weekly' ? { weekStart: query.weekStart } : {}),
    pricingVersion: res.pricingVersion,
    [REPORT_LIST[reportOf(res.report)]]: res.rows.map((r) => usageRowView(res.report, r)),
    totals: usageTotalsView(res.totals),
    modelBreakdowns: res.models.map(modelBreakdownView),
    unpricedModels: res.unpricedModels,
    undatedMessages: res.undatedMessages,
    // What the agent billed by its own telemetry (null: no telemetry in this range).
    billed: res.billed
      ? {
          requests: res.billed.requests,
          costUsd: res.billed.costUsd ?? null,
          sessions: res.billed.sessions,
          auxiliaryRequests: res.billed.auxiliaryRequests,
          auxiliaryCostUsd: res.billed.auxiliaryCostUsd,
          auxiliaryShare: res.billed.costUsd ? Math.round((res.billed.auxiliaryCostUsd / res.billed.costUsd) * 10_000) / 10_000 : 0,
          auxiliaryBySource: res.billed.auxiliaryBySource,
        }
      : null,
  };
}

const rate = (part: number, whole: number) => (whole > 0 ? Math.round((part / whole) * 10_000) / 10_000 : 0);

export function statsView(s: WireStatsResponse) {
  const t = s.totals;
  return {
    totals: {
      sessions: t.sessions,
      activeSessions: t.activeSessions,
      prompts: t.prompts,
      toolCalls: t.toolCalls,
      toolFailures: t.toolFailures,
      toolFailureRate: rate(t.toolFailures, t.toolCalls),
      subagents: t.subagents,
      interactions: t.interactions,
      hookEvents: t.hookEvents,
      tokens: { ...t.tokens, total: t.tokens.input + t.tokens.output + t.tokens.cacheCreation + t.tokens.cacheRead },
      costUsd: t.costUsd ?? null,
      unpricedSessions: t.unpricedSessions,
      firstActivityAt: iso(t.firstUnixMs),
      lastActivityAt: iso(t.lastUnixMs),
    },
    tools: s.tools.map((x) => ({ toolName: x.toolName, calls: x.calls, failures: x.failures, failureRate: rate(x.failures, x.calls), sessions: x.sessions })),
    projects: s.projects.map((p) => ({
      project: p.project === '' ? null : p.project,
      sessions: p.sessions,
      prompts: p.prompts,
      toolCalls: p.toolCalls,
      toolFailures: p.toolFailures,
      tokens: p.tokens,
      costUsd: p.costUsd ?? null,
      lastActivityAt: iso(p.lastActivityUnixMs),
    })),
    health: {
      spoolBacklog: s.health.spoolBacklog,
      transcripts: s.health.transcripts,
      transcriptsWithErrors: s.health.transcriptsWithErrors,
      transcriptErrors: s.health.transcriptErrors.map((e) => ({
        path: e.path,
        sessionId: e.sessionId ?? null,
        error: e.error,
        lastReadAt: iso(e.lastReadUnixMs),
      })),
      hookEventsWithProblems: s.health.hookEventsWithProblems,
      lastHookAt: iso(s.health.lastHookUnixMs),
      lastTranscriptReadAt: iso(s.health.lastTranscriptReadUnixMs),
      skippedLines: s.health.skippedLines,
      unattributedSidechainLines: s.health.unattributedSidechainLines,
      jobs: (s.health.jobs ?? []).map((j) => ({
        job: j.job,
        lastStatus: j.lastStatus,
        lastStartedAt: iso(j.lastStartedUnixMs),
        lastEndedAt: iso(j.lastEndedUnixMs),
        lastError: j.lastError ?? null,
        runs: j.runs,
        failedRuns: j.failedRuns,
      })),
    },
  };
}

export function liveEventView(e: WireLiveEvent) {
  return {
    source: e.source,
    seq: e.seq,
    at: iso(e.unixMs),
    sessionId: e.sessionId ?? null,
    kind: e.kind,
    toolName: e.toolName ?? null,
    toolUseId: e.toolUseId ?? null,
    text: e.text,
    isError: e.isError,
    agentId: e.agentId ?? null,
    ref: e.ref,
    blockIndex: e.blockIndex,
  };
}
