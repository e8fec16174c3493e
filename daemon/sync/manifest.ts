// session.json: a session's metadata, its token and cost totals (overall and per model, from the
// deduplicated message_usage rows, so they equal `rbk usage session`), and every part object with
// its sha256. Written after the parts it lists.
import type { RedactionService } from '../redact/service.js';
import type { Db } from '../store/db.js';
import { DATASETS, LAYOUT_VERSION, type Dataset, type ManifestPart, type ModelUsage, type SessionManifest, type SessionPartition } from './layout.js';

interface SessionRow {
  id: string;
  cwd: string | null;
  project: string | null;
  title: string | null;
  git_branch: string | null;
  cc_version: string | null;
  model: string | null;
  permission_mode: string | null;
  agent: string;
  started_at: number | null;
  ended_at: number | null;
  last_activity_at: number | null;
  status: string;
  end_reason: string | null;
  host: string;
  prompts: number;
  tool_calls: number;
  tool_failures: number;
  subagents: number;
  t_prompts: number;
  t_tool_calls: number;
  t_tool_failures: number;
  t_subagents: number;
}

interface UsageRow {
  model: string;
  messages: number;
  priced: number;
  input_tokens: number;
  output_tokens: number;
  cache_creation_tokens: number;
  cache_creation_5m_tokens: number;
  cache_creation_1h_tokens: number;
  cache_read_tokens: number;
  cost_usd: number | null;
  web_search_requests: number;
}

export interface PartRecord extends ManifestPart {
  dataset: Dataset;
}

const iso = (ms: number | null): string | null => (typeof ms === 'number' ? new Date(ms).toISOString() : null);

export class ManifestBuilder {
  private readonly stmts;

  constructor(db: Db) {
    this.stmts = {
      session: db.prepare(`
        SELECT id, cwd, project, title, git_branch, cc_version, model, permission_mode, agent, started_at, ended_at, last_activity_at,
               status, end_reason, host, prompts, tool_calls, tool_failures, subagents, t_prompts, t_tool_calls, t_tool_failures, t_subagents
        FROM sessions WHERE id = ?`),
      usage: db.prepare(`
        SELECT model, count(*) AS messages, count(cost_usd) AS priced, SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens,
               SUM(cache_creation_tokens) AS cache_creation_tokens, SUM(cache_creation_5m_tokens) AS cache_creation_5m_tokens,
               SUM(cache_creation_1h_tokens) AS cache_creation_1h_tokens, SUM(cache_read_tokens) AS cache_read_tokens, SUM(cost_usd) AS cost_usd,
               SUM(web_search_requests) AS web_search_requests
        FROM message_usage WHERE session_id = ? GROUP BY model ORDER BY model`),
    };
  }

  /** null when the session row is gone. */
  build(p: SessionPartition, parts: PartRecord[], redaction: RedactionService, now: number): SessionManifest | null {
    const s = this.stmts.session.get(p.sessionId) as SessionRow | undefined;
    if (!s) return null;
    const usage = (this.stmts.usage.all(p.sessionId) as UsageRow[]).map(
      (u): ModelUsage => ({
        model: u.model,
        messages: u.messages,
        input_tokens: u.input_tokens,
        output_tokens: u.output_tokens,
        cache_creation_tokens: u.cache_creation_tokens,
        cache_creation_5m_tokens: u.cache_creation_5m_tokens,
        cache_creation_1h_tokens: u.cache_creation_1h_tokens,
        cache_read_tokens: u.cache_read_tokens,
        // Unknown cost is never 0: null when any response of the model has no known price.
        cost_usd: u.priced === u.messages ? (u.cost_usd ?? 0) : null,
        // Billed per request; their cost is in cost_usd (docs/usage.md). Only when there are any,
        // so that the manifests of sessions without searches keep their bytes (and are not re-uploaded).
        ...(u.web_search_requests > 0 ? { web_search_requests: u.web_search_requests } : {}),
      }),
    );
    const sum = (f: keyof ModelUsage) => usage.reduce((a, u) => a + (u[f] as number), 0);
    const byDataset = Object.fromEntries(DATASETS.map((d) => [d, [] as ManifestPart[]])) as Record<Dataset, ManifestPart[]>;
    for (const part of [...parts].sort((a, b) => a.first - b.first)) {
      byDataset[part.dataset].push({ key: part.key, first: part.first, last: part.last, rows: part.rows, bytes: part.bytes, sha256: part.sha256 });
    }
    const rows = (d: Dataset) => byDataset[d].reduce((a, x) => a + x.rows, 0);
    // Metadata strings (cwd, title, branch) can hold secrets too; in cron mode they were never redacted.
    const session = redaction.redactValue({
      id: s.id,
      project: s.project,
      cwd: s.cwd,
      title: s.title,
      git_branch: s.git_branch,
      cc_version: s.cc_version,
      model: s.model,
      permission_mode: s.permission_mode,
      agent: s.agent,
      started_at: iso(s.started_at),
      ended_at: iso(s.ended_at),
      last_activity_at: iso(s.last_activity_at),
      status: s.status,
      end_reason: s.end_reason,
      hostname: s.host,
      prompts: Math.max(s.prompts, s.t_prompts),
      tool_calls: Math.max(s.tool_calls, s.t_tool_calls),
      tool_failures: Math.max(s.tool_failures, s.t_tool_failures),
      subagents: Math.max(s.subagents, s.t_subagents),
    }).value;
    return {
      layout: LAYOUT_VERSION,
      sessionId: p.sessionId,
      host: p.host,
      date: p.date,
      updatedAt: new Date(now).toISOString(),
      session,
      totals: {
        messages: sum('messages'),
        input_tokens: sum('input_tokens'),
        output_tokens: sum('output_tokens'),
        cache_creation_tokens: sum('cache_creation_tokens'),
        cache_read_tokens: sum('cache_read_tokens'),
        total_tokens: sum('input_tokens') + sum('output_tokens') + sum('cache_creation_tokens') + sum('cache_read_tokens'),
        cost_usd: usage.some((u) => u.cost_usd === null) ? null : usage.reduce((a, u) => a + (u.cost_usd ?? 0), 0),
        ...(usage.some((u) => (u.web_search_requests ?? 0) > 0) ? { web_search_requests: sum('web_search_requests') } : {}),
        interactions: rows('interactions'),
        hook_events: rows('hook_events'),
      },
      usage,
      parts: byDataset,
    };
  }
}

/** One line of JSON: line-oriented readers (Athena's JSON SerDe) take each manifest as one row. */
export function encodeManifest(m: SessionManifest): Buffer {
  return Buffer.from(`${JSON.stringify(m)}\n`, 'utf8');
}

/** The manifest without updatedAt, hashed to decide whether it changed since the last upload. */
export function manifestContent(m: SessionManifest): string {
  return JSON.stringify({ ...m, updatedAt: undefined });
}
