// `rbk sessions` with filters. One statement, built from the filters that are set, so that SQLite
// plans each combination on its own (the newest-first walk of sessions_last_activity when there
// is nothing else to narrow by; the tool-call indexes for --tool).
import { SESSION_PROJECT_MATCH } from '../store/sessions.js';
import type { Db } from '../store/db.js';
import type { SessionRow } from '../store/sessions.js';

export interface SessionFilter {
  limit: number;
  /** Paging cursor: only sessions whose last activity is before this (0 = newest). */
  beforeMs?: number;
  /** Case-insensitive substring of the project name or the cwd. */
  project?: string;
  /** Sessions active at or after this instant (last activity >= since). */
  sinceMs?: number;
  /** Sessions that started before this instant. */
  untilMs?: number;
  /** Sessions that called this tool (transcript tool_use or hook PreToolUse). */
  tool?: string;
  /** Sessions with at least one failed tool call. */
  errors?: boolean;
  host?: string;
  /** claude-code, codex, otel:<service.name>. */
  agent?: string;
  /** Order (SESSION_ORDERS); recent pages with beforeMs, the others with offset. */
  sort?: SessionOrder;
  offset?: number;
  ascending?: boolean;
}

/**
 * The orders the console's columns sort by. Each is one SQL expression over the sessions row (the
 * counts are the larger of the hook and transcript sides, as sessions show reports them); ties
 * fall back to recency so that pages are stable.
 */
export const SESSION_ORDERS = {
  recent: 's.last_activity_at',
  started: 'COALESCE(s.started_at, s.last_activity_at)',
  cost: 'CASE WHEN s.cost_complete THEN s.cost_usd END',
  tokens: 's.input_tokens + s.output_tokens + s.cache_creation_tokens + s.cache_read_tokens',
  errors: 'MAX(s.tool_failures, s.t_tool_failures)',
  tools: 'MAX(s.tool_calls, s.t_tool_calls)',
  prompts: 'MAX(s.prompts, s.t_prompts)',
  project: "lower(COALESCE(s.project, s.cwd, ''))",
} as const;
export type SessionOrder = keyof typeof SESSION_ORDERS;

/** Tool names as given, and capitalized ("bash" finds Bash): built-in tools are capitalized. */
export function toolNameCandidates(tool: string): string[] {
  const cap = tool.charAt(0).toUpperCase() + tool.slice(1);
  return cap === tool ? [tool] : [tool, cap];
}

export function listSessions(db: Db, f: SessionFilter): SessionRow[] {
  // Sessions expired by retention keep a tombstone row (so their transcripts are not re-imported);
  // their data is gone, so they are not listed.
  const where: string[] = ['s.expired_at IS NULL'];
  const params: Record<string, unknown> = { limit: Math.min(Math.max(f.limit || 50, 1), 10_000) };
  if (f.beforeMs && f.beforeMs > 0) {
    where.push('s.last_activity_at < @before');
    params.before = f.beforeMs;
  }
  if (f.project) {
    where.push(SESSION_PROJECT_MATCH);
    params.project = f.project.toLowerCase();
  }
  if (f.sinceMs && f.sinceMs > 0) {
    where.push('COALESCE(s.last_activity_at, s.started_at) >= @since');
    params.since = f.sinceMs;
  }
  if (f.untilMs && f.untilMs > 0) {
    where.push('COALESCE(s.started_at, s.last_activity_at) < @until');
    params.until = f.untilMs;
  }
  if (f.agent) {
    where.push('s.agent = @agent');
    params.agent = f.agent;
  }
  if (f.host) {
    where.push('s.host = @host');
    params.host = f.host;
  }
  if (f.errors) where.push('MAX(s.tool_failures, s.t_tool_failures) > 0');
  if (f.tool) {
    const names = toolNameCandidates(f.tool);
    const ph = names.map((n, i) => {
      params[`tool${i}`] = n;
      return `@tool${i}`;
    });
    const list = ph.join(', ');
    // Correlated EXISTS probes (tool_name, session_id) per session in newest-first order, so a
    // common tool stops after `limit` sessions and a rare one costs one index probe per session.
    where.push(
      `(EXISTS (SELECT 1 FROM interactions WHERE kind = 'tool_use' AND hidden = 0 AND tool_name IN (${list}) AND session_id = s.id)` +
        ` OR EXISTS (SELECT 1 FROM hook_events WHERE tool_name IN (${list}) AND session_id = s.id AND event_name = 'PreToolUse'))`,
    );
  }
  const order = f.sort ?? 'recent';
  // A-Z is the natural way to read names; numbers and times read largest / newest first.
  const descending = (order !== 'project') !== (f.ascending === true);
  const dir = descending ? 'DESC' : 'ASC';
  // NULLs (an unknown cost) go last in either direction: they are not "cheapest".
  const orderBy =
    order === 'recent' ? `s.last_activity_at ${dir}, s.id` : `${SESSION_ORDERS[order]} IS NULL, ${SESSION_ORDERS[order]} ${dir}, s.last_activity_at DESC, s.id`;
  params.offset = order === 'recent' ? 0 : Math.max(0, f.offset ?? 0);
  const sql = `SELECT s.* FROM sessions s ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${orderBy} LIMIT @limit OFFSET @offset`;
  return db.prepare(sql).all(params) as SessionRow[];
}
