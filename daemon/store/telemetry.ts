// The owner of telemetry_events (migration 0014): what agents exported over OTLP. Other modules
// call this; none writes SQL against the table.
//
// Merge rules:
// - **A record is stored once.** event_key is unique; an exporter's retry of a batch that was
//   stored (its acknowledgement lost) is counted as a duplicate and changes nothing.
// - **Telemetry may create a session, never overwrite one.** A session that only telemetry has
//   seen so far gets a row (agent, host, first and last activity, the agent's version), so it
//   shows in `rbk sessions` at once. When its hooks and transcript arrive they own every column,
//   as for any session; telemetry only widens started_at / last_activity_at, the same MIN/MAX rule
//   the other sources use.
// - **An OpenTelemetry agent's session (otel:<service>) has no other source**: its token and
//   tool-call counts add up from its GenAI spans, once per span stored (a retried span adds
//   nothing). Claude Code's and Codex's counts come from their transcripts, never from here.
// - **Pulled sessions are read-only**: telemetry never adds to a session pulled from the central
//   copy (pulled_from set); such events are stored without touching the session row.
//
// Reads:
// - billed(): the agent's own cost for its API requests (Claude Code's api_request cost_usd), with
//   the share that is not in any transcript (auxiliary: titles, summaries, permission checks, …).
//   A request is "in the transcript" when the session has a transcript response with the same
//   four token counts: telemetry carries no request id to join on. Two requests of one session
//   with identical counts would both match one response; with four counts that agree to the
//   token, that is rare, and it errs towards calling a request conversational.
// - telemetryToolFacts(): per tool_use_id, how long the tool ran and what the permission decision was.
import { SessionStore } from './session-store.js';
import { SESSION_PROJECT_MATCH } from './sessions.js';
import type { TelemetryEvent } from '../ingest/otlp/events.js';
import type { Db } from './db.js';

export interface TelemetryInsertResult {
  stored: number;
  duplicates: number;
}

export interface BilledFilter {
  sinceMs?: number;
  untilMs?: number;
  project?: string;
  agent?: string;
  sessionId?: string;
}

export interface BilledUsage {
  requests: number;
  /** Sum of the agent's own cost_usd; null when no request carried one. */
  costUsd: number | null;
  sessions: number;
  auxiliaryRequests: number;
  auxiliaryCostUsd: number;
  /** Auxiliary requests by query_source, largest cost first. */
  auxiliaryBySource: { source: string; requests: number; costUsd: number }[];
}

export interface ToolFact {
  durationMs: number | null;
  success: boolean | null;
  decision: string | null;
  decisionSource: string | null;
}

export class TelemetryStore {
  private readonly insertEvent;
  private readonly sessions: SessionStore;

  constructor(private readonly db: Db) {
    this.insertEvent = db.prepare(`
      INSERT OR IGNORE INTO telemetry_events
        (event_key, signal, agent, service, name, session_id, prompt_id, tool_use_id, tool_name, ts, seq, model, query_source,
         input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens, cost_usd, duration_ms, success, decision,
         decision_source, error, detail, received_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.sessions = new SessionStore(db);
  }

  /**
   * Stores a batch in one transaction: when this returns, every event is on disk (or was already),
   * so the receiver may acknowledge the export. `redact` runs on each event's detail first. Each
   * session the batch touches is created or widened once, not once per event.
   */
  insert(events: readonly TelemetryEvent[], opts: { host: string; now?: number; redact: (value: unknown) => unknown }): TelemetryInsertResult {
    const now = opts.now ?? Date.now();
    const result: TelemetryInsertResult = { stored: 0, duplicates: 0 };
    const touched = new Map<
      string,
      { first: number; last: number; agent: string; version: string | null; input: number; output: number; tools: number; failures: number }
    >();
    this.db.transaction(() => {
      for (const e of events) {
        const detailText = JSON.stringify(opts.redact(e.detail));
        // Positional, in the column order above: spreading each event into a named-parameter
        // object cost more than the insert itself.
        const r = this.insertEvent.run(
          e.eventKey,
          e.signal,
          e.agent,
          e.service,
          e.name,
          e.sessionId,
          e.promptId,
          e.toolUseId,
          e.toolName,
          e.ts,
          e.seq,
          e.model,
          e.querySource,
          e.inputTokens,
          e.outputTokens,
          e.cacheReadTokens,
          e.cacheCreationTokens,
          e.costUsd,
          e.durationMs,
          e.success,
          e.decision,
          e.decisionSource,
          e.error,
          detailText,
          now,
        );
        if (r.changes === 0) {
          result.duplicates++;
          continue;
        }
        result.stored++;
        if (!e.sessionId) continue;
        const at = e.ts ?? now;
        let t = touched.get(e.sessionId);
        if (t) {
          t.first = Math.min(t.first, at);
          t.last = Math.max(t.last, at);
        } else {
          t = { first: at, last: at, agent: e.agent, version: e.agentVersion, input: 0, output: 0, tools: 0, failures: 0 };
          touched.set(e.sessionId, t);
        }
        if (e.signal === 'span') {
          t.input += e.inputTokens ?? 0;
          t.output += e.outputTokens ?? 0;
          if (e.toolName) {
            t.tools++;
            if (e.success === 0) t.failures++;
          }
        }
      }
      for (const [id, t] of touched) {
        if (!this.sessions.exists(id)) {
          this.sessions.createFromTelemetry({ id, host: opts.host, agent: t.agent, version: t.version, first: t.first, last: t.last, now });
        } else {
          this.sessions.widen({ id, first: t.first, last: t.last, now });
        }
        if (t.input + t.output + t.tools > 0) this.sessions.addSpanCounts({ id, input: t.input, output: t.output, tools: t.tools, failures: t.failures });
      }
    })();
    return result;
  }

  billed(f: BilledFilter): BilledUsage {
    const where = [`t.name = 'api_request'`];
    const params: Record<string, unknown> = {};
    if (f.sinceMs) {
      where.push('t.ts >= @since');
      params.since = f.sinceMs;
    }
    if (f.untilMs) {
      where.push('t.ts < @until');
      params.until = f.untilMs;
    }
    if (f.sessionId) {
      where.push('t.session_id = @session');
      params.session = f.sessionId;
    }
    if (f.agent) {
      where.push('t.agent = @agent');
      params.agent = f.agent;
    }
    const joinSessions = Boolean(f.project);
    if (f.project) {
      where.push(SESSION_PROJECT_MATCH);
      params.project = f.project.toLowerCase();
    }
    const rows = this.db
      .prepare(
        `SELECT COALESCE(t.query_source, 'unknown') AS source, t.session_id AS sessionId, t.cost_usd AS cost,
           EXISTS (SELECT 1 FROM message_usage m
                   WHERE m.session_id = t.session_id AND m.input_tokens = t.input_tokens AND m.output_tokens = t.output_tokens
                     AND m.cache_read_tokens = t.cache_read_tokens AND m.cache_creation_tokens = t.cache_creation_tokens) AS inTranscript
         FROM telemetry_events t ${joinSessions ? 'JOIN sessions s ON s.id = t.session_id' : ''}
         WHERE ${where.join(' AND ')}`,
      )
      .all(params) as { source: string; sessionId: string | null; cost: number | null; inTranscript: number }[];
    const out: BilledUsage = { requests: rows.length, costUsd: null, sessions: 0, auxiliaryRequests: 0, auxiliaryCostUsd: 0, auxiliaryBySource: [] };
    const sessions = new Set<string>();
    const bySource = new Map<string, { source: string; requests: number; costUsd: number }>();
    for (const r of rows) {
      if (r.sessionId) sessions.add(r.sessionId);
      if (r.cost !== null) out.costUsd = (out.costUsd ?? 0) + r.cost;
      if (r.inTranscript) continue;
      out.auxiliaryRequests++;
      out.auxiliaryCostUsd += r.cost ?? 0;
      const s = bySource.get(r.source) ?? { source: r.source, requests: 0, costUsd: 0 };
      s.requests++;
      s.costUsd += r.cost ?? 0;
      bySource.set(r.source, s);
    }
    out.sessions = sessions.size;
    out.auxiliaryBySource = [...bySource.values()].sort((a, b) => b.costUsd - a.costUsd || b.requests - a.requests);
    return out;
  }

  /** Events stored, for status and metrics. */
  count(): number {
    return (this.db.prepare('SELECT COUNT(*) FROM telemetry_events').pluck().get() as number) ?? 0;
  }
}

/**
 * Retention's access to telemetry_events (its owner's rule: a session's telemetry goes with the
 * session's history). `count` for the dry-run plan, `remove` inside retention's per-session
 * transaction; `removeOrphans` deletes, a batch at a time, events of no session (application
 * events without a session id) older than the cutoff.
 */
export function telemetryRetention(db: Db) {
  const count = db.prepare('SELECT count(*) FROM telemetry_events WHERE session_id = ?').pluck();
  const remove = db.prepare('DELETE FROM telemetry_events WHERE session_id = ?');
  const orphans = db.prepare(
    'DELETE FROM telemetry_events WHERE id IN (SELECT id FROM telemetry_events WHERE session_id IS NULL AND COALESCE(ts, received_at) < ? LIMIT ?)',
  );
  return {
    count: (sessionId: string): number => count.get(sessionId) as number,
    remove: (sessionId: string): number => remove.run(sessionId).changes,
    removeOrphans: (cutoff: number, limit: number): number => orphans.run(cutoff, limit).changes,
  };
}

/** Tool durations and permission decisions of one session, by tool_use_id. */
export function telemetryToolFacts(db: Db, sessionId: string): Map<string, ToolFact> {
  const rows = db
    .prepare(
      `SELECT tool_use_id AS id, name, duration_ms AS durationMs, success, decision, decision_source AS decisionSource
       FROM telemetry_events WHERE session_id = ? AND tool_use_id IS NOT NULL AND name IN ('tool_result', 'tool_decision')
       ORDER BY id`,
    )
    .all(sessionId) as {
    id: string;
    name: string;
    durationMs: number | null;
    success: number | null;
    decision: string | null;
    decisionSource: string | null;
  }[];
  const facts = new Map<string, ToolFact>();
  for (const r of rows) {
    const f = facts.get(r.id) ?? { durationMs: null, success: null, decision: null, decisionSource: null };
    if (r.name === 'tool_result') {
      f.durationMs = r.durationMs;
      f.success = r.success === null ? null : r.success === 1;
    } else {
      f.decision = r.decision;
      f.decisionSource = r.decisionSource;
    }
    facts.set(r.id, f);
  }
  return facts;
}

export interface TelemetryTimelineEntry {
  ts: number;
  kind: 'prompt' | 'tool' | 'error';
  text: string;
  toolName: string;
  toolUseId: string;
  status: '' | 'ok' | 'error';
  durationMs: number;
  ref: string;
  detail: string;
}

/**
 * The story of a session that only telemetry has seen (no transcript or hook yet): its prompts
 * (the text when the agent logs prompts, else their length), tool calls with outcome and duration,
 * and API errors. GenAI spans show as the chat and tool steps they are.
 */
export function telemetryTimeline(db: Db, sessionId: string): TelemetryTimelineEntry[] {
  const rows = db
    .prepare(
      `SELECT id, signal, name, ts, tool_name AS toolName, tool_use_id AS toolUseId, duration_ms AS durationMs, success, error, model,
              input_tokens AS inputTokens, output_tokens AS outputTokens,
              json_extract(detail, '$.attributes.prompt') AS prompt, json_extract(detail, '$.attributes.prompt_length') AS promptLength
       FROM telemetry_events WHERE session_id = ? AND (signal = 'span' OR name IN ('user_prompt', 'tool_result', 'api_error'))
       ORDER BY ts, id`,
    )
    .all(sessionId) as {
    id: number;
    signal: string;
    name: string;
    ts: number | null;
    toolName: string | null;
    toolUseId: string | null;
    durationMs: number | null;
    success: number | null;
    error: string | null;
    model: string | null;
    inputTokens: number | null;
    outputTokens: number | null;
    prompt: unknown;
    promptLength: unknown;
  }[];
  return rows.map((r) => {
    const base = {
      ts: r.ts ?? 0,
      toolName: r.toolName ?? '',
      toolUseId: r.toolUseId ?? '',
      durationMs: Math.round(r.durationMs ?? 0),
      ref: `telemetry:${r.id}`,
      detail: '',
    };
    if (r.name === 'user_prompt') {
      const text =
        typeof r.prompt === 'string' && r.prompt !== '<REDACTED>'
          ? r.prompt
          : `(a prompt of ${String(r.promptLength ?? '?')} characters; the agent does not log prompt text)`;
      return { ...base, kind: 'prompt' as const, text, status: '' as const };
    }
    if (r.name === 'api_error') return { ...base, kind: 'error' as const, text: r.error ?? 'API error', status: '' as const };
    if (r.signal === 'span' && !r.toolName) {
      const tokens = r.inputTokens !== null || r.outputTokens !== null ? ` (${r.inputTokens ?? 0} in, ${r.outputTokens ?? 0} out)` : '';
      return {
        ...base,
        kind: r.success === 0 ? ('error' as const) : ('prompt' as const),
        text: `${r.name}${r.model ? ` · ${r.model}` : ''}${tokens}`,
        status: '' as const,
      };
    }
    const failed = r.success === 0;
    return {
      ...base,
      kind: 'tool' as const,
      text: r.toolName ?? r.name,
      status: failed ? ('error' as const) : ('ok' as const),
      detail: failed ? (r.error ?? '') : '',
    };
  });
}
