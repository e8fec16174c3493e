// `rbk stats`: what has been captured, which tools run and fail, where the work happens, and
// whether capture is healthy. Every number here is read from what is stored; nothing is estimated.
import type { Db } from '../store/db.js';

export interface ToolStat {
  toolName: string;
  calls: number;
  failures: number;
  sessions: number;
}

export interface ProjectStat {
  project: string;
  sessions: number;
  prompts: number;
  toolCalls: number;
  toolFailures: number;
  tokens: number;
  /** null when a session of the project has usage of a model without a known price. */
  costUsd: number | null;
  lastActivityUnixMs: number;
}

export interface TranscriptProblem {
  path: string;
  sessionId: string | null;
  error: string;
  lastReadUnixMs: number;
}

export interface JobHealth {
  job: string;
  /** The latest run. */
  lastStatus: string;
  lastStartedUnixMs: number;
  lastEndedUnixMs: number | null;
  lastError: string | null;
  /** Runs kept in job_runs, and how many of them failed or were interrupted. */
  runs: number;
  failedRuns: number;
}

export interface StatsResult {
  totals: {
    sessions: number;
    activeSessions: number;
    prompts: number;
    toolCalls: number;
    toolFailures: number;
    subagents: number;
    interactions: number;
    hookEvents: number;
    tokens: { input: number; output: number; cacheCreation: number; cacheRead: number };
    costUsd: number | null;
    /** Sessions whose cost is unknown (a model without a price). */
    unpricedSessions: number;
    firstUnixMs: number;
    lastUnixMs: number;
  };
  tools: ToolStat[];
  projects: ProjectStat[];
  health: {
    spoolBacklog: number;
    transcripts: number;
    transcriptsWithErrors: number;
    transcriptErrors: TranscriptProblem[];
    hookEventsWithProblems: number;
    lastHookUnixMs: number;
    lastTranscriptReadUnixMs: number;
    /** Lines skipped by ingestion (unknown types, invalid JSON, …), summed over transcripts. */
    skippedLines: number;
    /**
     * Inline sidechain lines (Claude Code ≤ 2.0.27) that could not be attached to the Task call
     * that spawned them with confidence (ingest/legacy-sidechains.ts): counted, never guessed.
     */
    unattributedSidechainLines: number;
    /** Background jobs (job_runs): the latest run of each job that has run. */
    jobs: JobHealth[];
  };
}

export function stats(db: Db, opts: { top: number; spoolBacklog: number }): StatsResult {
  const top = Math.min(Math.max(opts.top || 10, 1), 1000);
  const t = db
    .prepare(
      `SELECT count(*) AS sessions,
              COALESCE(SUM(status = 'active'), 0) AS active,
              COALESCE(SUM(MAX(prompts, t_prompts)), 0) AS prompts,
              COALESCE(SUM(MAX(tool_calls, t_tool_calls)), 0) AS toolCalls,
              COALESCE(SUM(MAX(tool_failures, t_tool_failures)), 0) AS toolFailures,
              COALESCE(SUM(MAX(subagents, t_subagents)), 0) AS subagents,
              COALESCE(SUM(interactions), 0) AS interactions,
              COALESCE(SUM(hook_events), 0) AS hookEvents,
              COALESCE(SUM(input_tokens), 0) AS input, COALESCE(SUM(output_tokens), 0) AS output,
              COALESCE(SUM(cache_creation_tokens), 0) AS cacheCreation, COALESCE(SUM(cache_read_tokens), 0) AS cacheRead,
              COALESCE(SUM(cost_usd), 0) AS cost,
              COALESCE(SUM(cost_complete = 0 OR cost_usd IS NULL AND input_tokens + output_tokens + cache_creation_tokens + cache_read_tokens > 0), 0) AS unpriced,
              COALESCE(MIN(started_at), 0) AS first, COALESCE(MAX(last_activity_at), 0) AS last
       FROM sessions WHERE expired_at IS NULL`,
    )
    .get() as Record<string, number>;

  // Transcript tool calls; plus hook-only sessions (no transcript read) from their hook events,
  // the same either-side rule as the session counts.
  const transcriptTools = db
    .prepare(
      `SELECT tool_name AS toolName, count(*) AS calls, count(DISTINCT session_id) AS sessions
       FROM interactions WHERE kind = 'tool_use' AND hidden = 0 AND tool_name IS NOT NULL GROUP BY tool_name`,
    )
    .all() as { toolName: string; calls: number; sessions: number }[];
  // CROSS JOIN keeps the failed results (a partial index) as the outer loop: SQLite would
  // otherwise walk every tool call looking for its failure.
  const transcriptFailures = db
    .prepare(
      `SELECT u.tool_name AS toolName, count(*) AS failures
       FROM interactions r CROSS JOIN interactions u ON u.tool_use_id = r.tool_use_id AND u.kind = 'tool_use'
       WHERE r.kind = 'tool_result' AND r.is_error = 1 AND r.hidden = 0 AND r.tool_use_id IS NOT NULL GROUP BY u.tool_name`,
    )
    .all() as { toolName: string; failures: number }[];
  const hookTools = db
    .prepare(
      `SELECT h.tool_name AS toolName, SUM(h.event_name = 'PreToolUse') AS calls, SUM(h.event_name = 'PostToolUseFailure') AS failures,
              count(DISTINCT h.session_id) AS sessions
       FROM hook_events h JOIN sessions s ON s.id = h.session_id
       WHERE h.tool_name IS NOT NULL AND s.interactions = 0 AND h.event_name IN ('PreToolUse', 'PostToolUseFailure')
       GROUP BY h.tool_name`,
    )
    .all() as { toolName: string; calls: number; failures: number; sessions: number }[];
  const tools = new Map<string, ToolStat>();
  const tool = (name: string) => {
    let s = tools.get(name);
    if (!s) {
      s = { toolName: name, calls: 0, failures: 0, sessions: 0 };
      tools.set(name, s);
    }
    return s;
  };
  for (const r of transcriptTools) Object.assign(tool(r.toolName), { calls: r.calls, sessions: r.sessions });
  for (const r of transcriptFailures) tool(r.toolName).failures += r.failures;
  for (const r of hookTools) {
    const s = tool(r.toolName);
    s.calls += r.calls;
    s.failures += r.failures;
    s.sessions += r.sessions;
  }
  const toolList = [...tools.values()].sort((a, b) => b.calls - a.calls || a.toolName.localeCompare(b.toolName)).slice(0, top);

  const projects = db
    .prepare(
      `SELECT COALESCE(project, '') AS project, count(*) AS sessions,
              SUM(MAX(prompts, t_prompts)) AS prompts, SUM(MAX(tool_calls, t_tool_calls)) AS toolCalls,
              SUM(MAX(tool_failures, t_tool_failures)) AS toolFailures,
              SUM(input_tokens + output_tokens + cache_creation_tokens + cache_read_tokens) AS tokens,
              CASE WHEN SUM(cost_complete = 0 OR cost_usd IS NULL AND input_tokens + output_tokens + cache_creation_tokens + cache_read_tokens > 0) > 0 THEN NULL ELSE COALESCE(SUM(cost_usd), 0) END AS costUsd,
              COALESCE(MAX(last_activity_at), 0) AS lastActivityUnixMs
       FROM sessions WHERE expired_at IS NULL GROUP BY COALESCE(project, '')
       ORDER BY sessions DESC, tokens DESC, project LIMIT ?`,
    )
    .all(top) as ProjectStat[];

  const tr = db
    .prepare(
      `SELECT count(*) AS n, COALESCE(SUM(last_error IS NOT NULL), 0) AS errors, COALESCE(MAX(last_read_at), 0) AS lastRead,
              COALESCE(SUM(skipped), 0) AS skipped FROM transcripts`,
    )
    .get() as { n: number; errors: number; lastRead: number; skipped: number };
  const transcriptErrors = db
    .prepare(
      `SELECT path, session_id AS sessionId, last_error AS error, COALESCE(last_read_at, 0) AS lastReadUnixMs
       FROM transcripts WHERE last_error IS NOT NULL ORDER BY last_read_at DESC LIMIT 20`,
    )
    .all() as TranscriptProblem[];
  // hook_events can be large; the newest row is the last by seq, and problems are rare.
  const lastHook = (db.prepare('SELECT received_at FROM hook_events ORDER BY seq DESC LIMIT 1').pluck().get() as number | undefined) ?? 0;
  const hookProblems = db.prepare('SELECT count(*) FROM hook_events WHERE problem IS NOT NULL').pluck().get() as number;

  const jobs = db
    .prepare(
      `SELECT r.job, r.status AS lastStatus, r.started_at AS lastStartedUnixMs, r.ended_at AS lastEndedUnixMs,
              r.error AS lastError, a.runs, a.failedRuns
       FROM (SELECT job, MAX(id) AS last, count(*) AS runs, SUM(status IN ('failed', 'interrupted')) AS failedRuns FROM job_runs GROUP BY job) a
       JOIN job_runs r ON r.id = a.last ORDER BY r.job`,
    )
    .all() as JobHealth[];

  const round = (x: number) => Math.round(x * 1e8) / 1e8;
  return {
    totals: {
      sessions: t.sessions!,
      activeSessions: t.active!,
      prompts: t.prompts!,
      toolCalls: t.toolCalls!,
      toolFailures: t.toolFailures!,
      subagents: t.subagents!,
      interactions: t.interactions!,
      hookEvents: t.hookEvents!,
      tokens: { input: t.input!, output: t.output!, cacheCreation: t.cacheCreation!, cacheRead: t.cacheRead! },
      costUsd: t.unpriced! > 0 ? null : round(t.cost!),
      unpricedSessions: t.unpriced!,
      firstUnixMs: t.first!,
      lastUnixMs: t.last!,
    },
    tools: toolList,
    projects: projects.map((p) => ({ ...p, costUsd: p.costUsd === null ? null : round(p.costUsd) })),
    health: {
      spoolBacklog: opts.spoolBacklog,
      transcripts: tr.n,
      transcriptsWithErrors: tr.errors,
      transcriptErrors,
      hookEventsWithProblems: hookProblems,
      lastHookUnixMs: lastHook,
      lastTranscriptReadUnixMs: tr.lastRead,
      skippedLines: tr.skipped,
      unattributedSidechainLines: db
        .prepare(`SELECT count(*) FROM interactions INDEXED BY interactions_legacy_sidechain WHERE is_sidechain = 1 AND agent_id IS NULL AND hidden = 0`)
        .pluck()
        .get() as number,
      jobs,
    },
  };
}
