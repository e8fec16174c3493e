// The session summary a webhook carries: who/where/how long, counts, tools, tokens, cost and
// failures. Built from the stored session; no prompt or tool content is included.
import type { Db } from '../store/db.js';
import type { SessionRow } from '../store/sessions.js';

export interface SessionSummary {
  id: string;
  project: string | null;
  cwd: string | null;
  gitBranch: string | null;
  host: string;
  model: string | null;
  claudeCodeVersion: string | null;
  status: string;
  endReason: string | null;
  startedAt: string | null;
  endedAt: string | null;
  durationMs: number | null;
  counts: { prompts: number; toolCalls: number; toolFailures: number; subagents: number; interactions: number; hookEvents: number };
  toolsUsed: { name: string; calls: number; failures: number }[];
  tokens: { input: number; output: number; cacheCreation: number; cacheRead: number; total: number };
  /** null when some usage has no known price (an unknown cost is never reported as 0). */
  costUsd: number | null;
  failures: { toolFailures: number; stopFailures: { error: string; count: number }[] };
  /** How to look at the whole session. */
  command: string;
}

const iso = (ms: number | null): string | null => (typeof ms === 'number' && ms > 0 ? new Date(ms).toISOString() : null);

export function buildSessionSummary(db: Db, sessionId: string): SessionSummary | null {
  const s = db.prepare('SELECT * FROM sessions WHERE id = ?').get(sessionId) as SessionRow | undefined;
  if (!s) return null;
  // Transcript-derived per-tool counts; hook events as the fallback when there is no transcript.
  const tools = new Map<string, { calls: number; failures: number }>();
  const fromTranscript = db
    .prepare(
      `SELECT u.tool_name AS name, count(*) AS calls,
              SUM(EXISTS (SELECT 1 FROM interactions r WHERE r.tool_use_id = u.tool_use_id AND r.kind = 'tool_result' AND r.is_error = 1)) AS failures
       FROM interactions u WHERE u.session_id = ? AND u.kind = 'tool_use' AND u.hidden = 0 GROUP BY u.tool_name`,
    )
    .all(sessionId) as { name: string | null; calls: number; failures: number }[];
  for (const t of fromTranscript) tools.set(t.name ?? 'unknown', { calls: t.calls, failures: t.failures });
  if (tools.size === 0) {
    const fromHooks = db
      .prepare(
        `SELECT tool_name AS name, SUM(event_name = 'PreToolUse') AS calls, SUM(event_name = 'PostToolUseFailure') AS failures
         FROM hook_events WHERE session_id = ? AND tool_name IS NOT NULL GROUP BY tool_name`,
      )
      .all(sessionId) as { name: string; calls: number; failures: number }[];
    for (const t of fromHooks) tools.set(t.name, { calls: t.calls, failures: t.failures });
  }
  const stopFailures = db
    .prepare(
      `SELECT COALESCE(json_extract(payload, '$.error'), 'unknown') AS error, count(*) AS count
       FROM hook_events WHERE session_id = ? AND event_name = 'StopFailure' AND json_valid(payload) GROUP BY 1 ORDER BY 2 DESC`,
    )
    .all(sessionId) as { error: unknown; count: number }[];
  const started = s.started_at;
  const ended = s.ended_at ?? s.last_activity_at;
  const toolFailures = Math.max(s.tool_failures, s.t_tool_failures);
  return {
    id: s.id,
    project: s.project,
    cwd: s.cwd,
    gitBranch: s.git_branch,
    host: s.host,
    model: s.model,
    claudeCodeVersion: s.cc_version,
    status: s.status,
    endReason: s.end_reason,
    startedAt: iso(started),
    endedAt: iso(ended),
    durationMs: started && ended ? Math.max(0, ended - started) : null,
    counts: {
      prompts: Math.max(s.prompts, s.t_prompts),
      toolCalls: Math.max(s.tool_calls, s.t_tool_calls),
      toolFailures,
      subagents: Math.max(s.subagents, s.t_subagents),
      interactions: s.interactions,
      hookEvents: s.hook_events,
    },
    toolsUsed: [...tools.entries()]
      .map(([name, v]) => ({ name, calls: v.calls, failures: v.failures }))
      .sort((a, b) => b.calls - a.calls || a.name.localeCompare(b.name))
      .slice(0, 50),
    tokens: {
      input: s.input_tokens,
      output: s.output_tokens,
      cacheCreation: s.cache_creation_tokens,
      cacheRead: s.cache_read_tokens,
      total: s.input_tokens + s.output_tokens + s.cache_creation_tokens + s.cache_read_tokens,
    },
    costUsd: s.cost_complete ? (s.cost_usd ?? 0) : null,
    failures: { toolFailures, stopFailures: stopFailures.map((f) => ({ error: String(f.error).slice(0, 200), count: f.count })) },
    command: `rbk sessions show ${s.id}`,
  };
}

function humanDuration(ms: number | null): string {
  if (ms === null) return 'unknown duration';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.round(s / 60);
  return m < 60 ? `${m}m` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

function compact(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : String(n);
}

/** One or two lines for chat formats. */
export function summaryText(s: SessionSummary): string {
  const where = s.project ?? s.cwd ?? 'unknown project';
  const tools = s.toolsUsed
    .slice(0, 5)
    .map((t) => `${t.name}×${t.calls}`)
    .join(', ');
  const cost = s.costUsd === null ? 'cost unknown' : `$${s.costUsd.toFixed(2)}`;
  const failures = s.counts.toolFailures + s.failures.stopFailures.reduce((a, f) => a + f.count, 0);
  return [
    `Claude Code session ${s.id.slice(0, 8)} ended in ${where} after ${humanDuration(s.durationMs)}${s.endReason ? ` (${s.endReason})` : ''}: ` +
      `${s.counts.prompts} prompt(s), ${s.counts.toolCalls} tool call(s)${failures ? `, ${failures} failure(s)` : ''}, ${compact(s.tokens.total)} tokens, ${cost}.`,
    `${tools ? `Tools: ${tools}. ` : ''}Details: ${s.command}`,
  ].join('\n');
}
