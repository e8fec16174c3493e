// The one writer of `sessions`. Hooks, transcripts, OpenTelemetry, rbk pull, retention, pinning
// and re-derivation learn things about a session; each calls a method here, and the rule that
// merges what it learned with what the row holds is written once, below, for every column.
//
// Merge rules, by column:
// - launch directory (cwd, project, cwd_at): the cwd seen at the earliest moment any source reports
//   wins (ties: the smaller string), so a session lands in the same project whether its hooks or
//   its transcript arrived first, and a CwdChanged later in the session does not move it.
// - transcript_path: the first one known; a session's main transcript does not move.
// - model, git_branch, cc_version, permission_mode, title, agent: the latest reported (a session
//   switches model with /model, branch with git checkout).
// - started_at: the earliest moment any source saw; last_activity_at: the latest.
// - status, ended_at, end_reason: hooks only (SessionEnd ends; SessionStart or a prompt reopens).
// - prompts, tool_calls, tool_failures, subagents, hook_events: counted from hook events.
// - t_* counts and interactions: counted from transcript lines; token totals, cost and web
//   searches: summed from message_usage (store/usage-store.ts), so they stay exact. OpenTelemetry
//   sessions add their spans' counts (they have no transcript).
// - pinned: the user (rbk pin); expired_at and the zeroed counts: retention.
// - A session pulled from another host (pulled_from set) is read-only to every local source:
//   writes from hooks, transcripts and telemetry are refused here (`pulledFrom`), and only rbk pull
//   sets its columns, from the manifest, and its counts, from the pulled rows.
import type { Db } from './db.js';

export interface HookSessionFacts {
  id: string;
  cwd: string | null;
  project: string | null;
  transcriptPath: string | null;
  model: string | null;
  permissionMode: string | null;
  /** When the hook fired. */
  at: number;
  now: number;
  host: string;
  ended: boolean;
  /** A resumed session starts again after it ended. */
  restarted: boolean;
  endReason: string | null;
}

export interface HookCounts {
  id: string;
  prompt: number;
  toolCall: number;
  toolFailure: number;
  subagent: number;
}

export interface TranscriptSessionFacts {
  id: string;
  cwd: string | null;
  project: string | null;
  /** The timestamp of the line that carried `cwd` (the earliest such line of the batch). */
  cwdAt: number | null;
  gitBranch: string | null;
  version: string | null;
  model: string | null;
  agent: string | null;
  transcriptPath: string | null;
  title: string | null;
  first: number | null;
  last: number | null;
  now: number;
}

export interface TranscriptCounts {
  id: string;
  prompts: number;
  toolCalls: number;
  toolFailures: number;
  interactions: number;
}

export interface CountDrop {
  id: string;
  interactions: number;
  prompts: number;
  toolCalls: number;
  toolFailures: number;
  now: number;
}

/** The launch-directory rule, for one column: @cwd and @cwdAt are the observation. */
const launchDir = (column: string, value: string): string => `CASE
  WHEN @cwd IS NULL THEN ${column}
  WHEN cwd IS NULL OR (@cwdAt IS NOT NULL AND (cwd_at IS NULL OR @cwdAt < cwd_at OR (@cwdAt = cwd_at AND @cwd < cwd))) THEN ${value}
  ELSE ${column} END`;

/** Token totals, cost and web searches, summed again from the session's usage rows. */
const USAGE_SUMS = `(SELECT COALESCE(SUM(input_tokens), 0) AS i, COALESCE(SUM(output_tokens), 0) AS o,
                     COALESCE(SUM(web_search_requests), 0) AS ws,
                     COALESCE(SUM(cache_creation_tokens), 0) AS cc, COALESCE(SUM(cache_read_tokens), 0) AS cr,
                     CASE WHEN count(*) = count(cost_usd) THEN COALESCE(SUM(cost_usd), 0) ELSE NULL END AS cost,
                     count(*) = count(cost_usd) AS complete
              FROM message_usage WHERE session_id = @id) AS u`;

export class SessionStore {
  private readonly stmts;

  constructor(private readonly db: Db) {
    this.stmts = {
      exists: db.prepare('SELECT 1 FROM sessions WHERE id = ?').pluck(),
      pulledFrom: db.prepare('SELECT pulled_from FROM sessions WHERE id = ? AND pulled_from IS NOT NULL').pluck(),
      createFromHook: db.prepare(`
        INSERT INTO sessions (id, cwd, cwd_at, project, transcript_path, model, permission_mode, started_at, last_activity_at, host, created_at, updated_at)
        VALUES (@id, @cwd, CASE WHEN @cwd IS NULL THEN NULL ELSE @at END, @project, @transcriptPath, @model, @permissionMode, @at, @at, @host, @now, @now)`),
      // COALESCE keeps what we already know when an event does not carry a field.
      mergeHook: db.prepare(`
        UPDATE sessions SET
          cwd = ${launchDir('cwd', '@cwd')},
          project = ${launchDir('project', 'COALESCE(@project, project)')},
          cwd_at = ${launchDir('cwd_at', '@cwdAt')},
          transcript_path = COALESCE(transcript_path, @transcriptPath),
          model = COALESCE(@model, model),
          permission_mode = COALESCE(@permissionMode, permission_mode),
          started_at = MIN(COALESCE(started_at, @at), @at),
          last_activity_at = MAX(COALESCE(last_activity_at, @at), @at),
          status = CASE WHEN @ended THEN 'ended' WHEN @restarted THEN 'active' ELSE status END,
          ended_at = CASE WHEN @ended THEN @at WHEN @restarted THEN NULL ELSE ended_at END,
          end_reason = CASE WHEN @ended THEN @endReason WHEN @restarted THEN NULL ELSE end_reason END,
          updated_at = @now
        WHERE id = @id AND pulled_from IS NULL`),
      countHook: db.prepare(`
        UPDATE sessions SET
          hook_events = hook_events + 1,
          prompts = prompts + @prompt,
          tool_calls = tool_calls + @toolCall,
          tool_failures = tool_failures + @toolFailure,
          subagents = subagents + @subagent
        WHERE id = @id AND pulled_from IS NULL`),
      createFromTranscript: db.prepare(`INSERT INTO sessions (id, host, status, created_at, updated_at) VALUES (?, ?, 'ended', ?, ?)`),
      mergeTranscript: db.prepare(`
        UPDATE sessions SET
          cwd = ${launchDir('cwd', '@cwd')},
          project = ${launchDir('project', 'COALESCE(@project, project)')},
          cwd_at = ${launchDir('cwd_at', '@cwdAt')},
          git_branch = COALESCE(@gitBranch, git_branch),
          cc_version = COALESCE(@version, cc_version),
          model = COALESCE(@model, model),
          agent = COALESCE(@agent, agent),
          transcript_path = COALESCE(transcript_path, @transcriptPath),
          title = COALESCE(@title, title),
          started_at = CASE WHEN @first IS NULL THEN started_at ELSE MIN(COALESCE(started_at, @first), @first) END,
          last_activity_at = CASE WHEN @last IS NULL THEN last_activity_at ELSE MAX(COALESCE(last_activity_at, @last), @last) END,
          updated_at = @now
        WHERE id = @id AND pulled_from IS NULL`),
      countTranscript: db.prepare(`
        UPDATE sessions SET
          t_prompts = t_prompts + @prompts,
          t_tool_calls = t_tool_calls + @toolCalls,
          t_tool_failures = t_tool_failures + @toolFailures,
          interactions = interactions + @interactions,
          t_subagents = (SELECT count(*) FROM subagents WHERE session_id = @id AND kind = 'conversation'),
          input_tokens = u.i, output_tokens = u.o, cache_creation_tokens = u.cc, cache_read_tokens = u.cr,
          cost_usd = u.cost, cost_complete = u.complete, web_search_requests = u.ws
        FROM ${USAGE_SUMS}
        WHERE sessions.id = @id AND sessions.pulled_from IS NULL`),
      recountSubagents: db.prepare(
        `UPDATE sessions SET t_subagents = (SELECT count(*) FROM subagents WHERE session_id = @id AND kind = 'conversation'), updated_at = @now WHERE id = @id`,
      ),
      resumWebSearches: db.prepare(`
        UPDATE sessions SET web_search_requests = u.ws, cost_usd = u.cost, updated_at = @now
        FROM ${USAGE_SUMS}
        WHERE sessions.id = @id`),
      setProject: db.prepare('UPDATE sessions SET project = ?, updated_at = ? WHERE id = ?'),
      fewerPrompts: db.prepare('UPDATE sessions SET t_prompts = MAX(0, t_prompts - ?), updated_at = ? WHERE id = ?'),
      dropCounts: db.prepare(
        `UPDATE sessions SET interactions = MAX(0, interactions - @interactions), t_prompts = MAX(0, t_prompts - @prompts),
           t_tool_calls = MAX(0, t_tool_calls - @toolCalls), t_tool_failures = MAX(0, t_tool_failures - @toolFailures), updated_at = @now
         WHERE id = @id`,
      ),
      createFromTelemetry: db.prepare(`
        INSERT INTO sessions (id, host, agent, cc_version, status, started_at, last_activity_at, created_at, updated_at)
        VALUES (@id, @host, @agent, @version, 'ended', @first, @last, @now, @now)`),
      addSpanCounts: db.prepare(`
        UPDATE sessions SET
          input_tokens = input_tokens + @input, output_tokens = output_tokens + @output,
          t_tool_calls = t_tool_calls + @tools, t_tool_failures = t_tool_failures + @failures
        WHERE id = @id AND agent LIKE 'otel:%' AND pulled_from IS NULL`),
      widen: db.prepare(`
        UPDATE sessions SET
          started_at = MIN(COALESCE(started_at, @first), @first),
          last_activity_at = MAX(COALESCE(last_activity_at, @last), @last),
          updated_at = @now
        WHERE id = @id AND pulled_from IS NULL`),
      createPulled: db.prepare(`
        INSERT INTO sessions (id, host, origin, pulled_from, status, created_at, updated_at)
        VALUES (@id, @host, 'pull', @host, 'ended', @now, @now)`),
      // rbk restore --from-central-copy: once all of it is back, this machine's session is its own again.
      becomeOwn: db.prepare(`UPDATE sessions SET pulled_from = NULL, origin = 'restore' WHERE id = @id AND pulled_from IS NOT NULL`),
      recountPulled: db.prepare(`
        UPDATE sessions SET
          interactions = (SELECT count(*) FROM interactions WHERE session_id = @id AND hidden = 0),
          hook_events = (SELECT count(*) FROM hook_events WHERE session_id = @id),
          web_search_requests = (SELECT COALESCE(SUM(web_search_requests), 0) FROM message_usage WHERE session_id = @id),
          cost_usd = @cost, cost_complete = @complete, updated_at = @now
        WHERE id = @id AND pulled_from IS NOT NULL AND (
          interactions IS NOT (SELECT count(*) FROM interactions WHERE session_id = @id AND hidden = 0)
          OR hook_events IS NOT (SELECT count(*) FROM hook_events WHERE session_id = @id)
          OR cost_usd IS NOT @cost OR cost_complete IS NOT @complete
          OR web_search_requests IS NOT (SELECT COALESCE(SUM(web_search_requests), 0) FROM message_usage WHERE session_id = @id))`),
      setPinned: db.prepare('UPDATE sessions SET pinned = @pinned, updated_at = @now WHERE id = @id AND pinned <> @pinned'),
      tombstone: db.prepare(`
        UPDATE sessions SET
          expired_at = @now, updated_at = @now,
          prompts = 0, tool_calls = 0, tool_failures = 0, subagents = 0, hook_events = 0, interactions = 0,
          t_prompts = 0, t_tool_calls = 0, t_tool_failures = 0, t_subagents = 0,
          input_tokens = 0, output_tokens = 0, cache_creation_tokens = 0, cache_read_tokens = 0,
          cost_usd = 0, cost_complete = 1
        WHERE id = @id`),
    };
  }

  exists(id: string): boolean {
    return this.stmts.exists.get(id) === 1;
  }

  /** The read-only rule: the host a session was pulled from (rbk pull), or undefined when it is this machine's. */
  pulledFrom(id: string): string | undefined {
    return (this.stmts.pulledFrom.get(id) as string | null | undefined) ?? undefined;
  }

  // --- hooks ---

  /** What one hook event says of its session; creates the row on the session's first event. */
  mergeHook(f: HookSessionFacts): void {
    const row = { ...f, cwdAt: f.cwd === null ? null : f.at, ended: f.ended ? 1 : 0, restarted: f.restarted && !f.ended ? 1 : 0 };
    if (!this.exists(f.id)) this.stmts.createFromHook.run(row);
    this.stmts.mergeHook.run(row);
  }

  countHookEvent(c: HookCounts): void {
    this.stmts.countHook.run(c);
  }

  // --- transcripts ---

  /** A transcript line names a session no hook has: the row exists (ended until a hook says otherwise). */
  ensureFromTranscript(id: string, host: string, now: number): void {
    if (!this.exists(id)) this.stmts.createFromTranscript.run(id, host, now, now);
  }

  mergeTranscript(f: TranscriptSessionFacts): void {
    this.stmts.mergeTranscript.run(f);
  }

  /** Adds a batch's line counts; token totals, cost and web searches are summed again from usage. */
  countTranscript(c: TranscriptCounts): void {
    this.stmts.countTranscript.run(c);
  }

  recountSubagents(id: string, now: number): void {
    this.stmts.recountSubagents.run({ id, now });
  }

  /** Web searches and cost summed again from usage (after web searches were linked to their responses). */
  resumWebSearches(id: string, now: number): void {
    this.stmts.resumWebSearches.run({ id, now });
  }

  // --- re-derivation (ingest/rederive.ts) ---

  setProject(id: string, project: string, now: number): number {
    return this.stmts.setProject.run(project, now, id).changes;
  }

  fewerPrompts(id: string, n: number, now: number): void {
    this.stmts.fewerPrompts.run(n, now, id);
  }

  /** Replayed rows removed: the counts they had added come off. */
  dropCounts(drop: CountDrop): void {
    this.stmts.dropCounts.run(drop);
  }

  // --- OpenTelemetry (store/telemetry.ts) ---

  createFromTelemetry(f: { id: string; host: string; agent: string; version: string | null; first: number; last: number; now: number }): void {
    this.stmts.createFromTelemetry.run(f);
  }

  addSpanCounts(c: { id: string; input: number; output: number; tools: number; failures: number }): void {
    this.stmts.addSpanCounts.run(c);
  }

  /** Widens the session's time span to take in [first, last]. */
  widen(f: { id: string; first: number; last: number; now: number }): void {
    this.stmts.widen.run(f);
  }

  // --- rbk pull (sync/pull/store.ts) ---

  createPulled(f: { id: string; host: string; now: number }): void {
    this.stmts.createPulled.run(f);
  }

  /**
   * Sets a pulled session's columns from its manifest; false when nothing changed. `columns` names
   * the settable columns (a constant of the caller's, never the manifest's keys).
   */
  updatePulled(id: string, host: string, fields: Record<string, unknown>, columns: ReadonlySet<string>, now: number): boolean {
    const cols = Object.keys(fields).filter((c) => columns.has(c));
    if (cols.length === 0) return false;
    const changed = cols.map((c) => `${c} IS NOT @${c}`).join(' OR ');
    const sql = `UPDATE sessions SET ${cols.map((c) => `${c} = @${c}`).join(', ')}, updated_at = @now
                 WHERE id = @id AND pulled_from = @host AND (${changed})`;
    return this.db.prepare(sql).run({ ...fields, id, host, now }).changes > 0;
  }

  /** Counts of a pulled session from the rows pulled so far; false when they were right already. */
  recountPulled(f: { id: string; cost: number | null; complete: number; now: number }): boolean {
    return this.stmts.recountPulled.run(f).changes > 0;
  }

  becomeOwn(id: string): boolean {
    return this.stmts.becomeOwn.run({ id }).changes > 0;
  }

  // --- the user and retention ---

  setPinned(id: string, pinned: boolean, now: number): boolean {
    return this.stmts.setPinned.run({ id, pinned: pinned ? 1 : 0, now }).changes > 0;
  }

  /** The row stays (so that a hook or a re-import does not bring the session back as new); its counts go. */
  tombstone(id: string, now: number): void {
    this.stmts.tombstone.run({ id, now });
  }
}
