// Read-side queries over sessions and hook events. Writers live in ingest/.
import type { Db } from './db.js';
import { type StoredBody, unpackInteraction } from './line-codec.js';
import { UserError } from '../errors.js';
import type { StoredHookEvent, StoredInteraction } from './rows.js';

/**
 * `--project S`, the same everywhere (sessions, search, usage, activity, billed usage): the session
 * row aliased `s` whose project or cwd contains S case-insensitively. Bind `@project` to S lowercased.
 */
export const SESSION_PROJECT_MATCH = `(instr(lower(COALESCE(s.project, '')), @project) > 0 OR instr(lower(COALESCE(s.cwd, '')), @project) > 0)`;

export interface SessionRow {
  id: string;
  cwd: string | null;
  project: string | null;
  transcript_path: string | null;
  git_branch: string | null;
  cc_version: string | null;
  model: string | null;
  started_at: number | null;
  ended_at: number | null;
  last_activity_at: number | null;
  status: 'active' | 'ended';
  end_reason: string | null;
  host: string;
  origin: string;
  /** claude-code, codex, or otel:<service.name>. */
  agent: string;
  prompts: number;
  tool_calls: number;
  tool_failures: number;
  subagents: number;
  hook_events: number;
  interactions: number;
  t_prompts: number;
  t_tool_calls: number;
  t_tool_failures: number;
  t_subagents: number;
  input_tokens: number;
  output_tokens: number;
  cache_creation_tokens: number;
  cache_read_tokens: number;
  cost_usd: number | null;
  cost_complete: number;
  /** Server-side web searches (their cost is in cost_usd). */
  web_search_requests: number;
  title: string | null;
  /** Set when retention deleted the session's history; the row stays so the id still resolves. */
  expired_at: number | null;
}

export type HookEventRow = Pick<
  StoredHookEvent,
  | 'seq'
  | 'event_id'
  | 'event_name'
  | 'tool_name'
  | 'tool_use_id'
  | 'prompt_id'
  | 'agent_id'
  | 'hook_started_at'
  | 'received_at'
  | 'via'
  | 'problem'
  | 'payload'
  | 'payload_bytes'
>;

export class AmbiguousIdError extends UserError {
  constructor(
    readonly prefix: string,
    readonly candidates: string[],
  ) {
    super(
      `session id prefix "${prefix}" matches ${candidates.length} sessions (${candidates.slice(0, 5).join(', ')}${candidates.length > 5 ? ', …' : ''}); type more characters`,
    );
  }
}

export class NotFoundError extends UserError {
  constructor(message: string) {
    super(message, 'not-found');
  }
}

const PREFIX = /^[A-Za-z0-9_-]{1,128}$/;

export class SessionQueries {
  constructor(private readonly db: Db) {}

  /** Accepts a full id or any unique prefix of one. */
  resolveId(idOrPrefix: string): string {
    if (!PREFIX.test(idOrPrefix)) throw new NotFoundError(`"${idOrPrefix.slice(0, 80)}" is not a session id: ids are letters, digits, '-' and '_'`);
    const exact = this.db.prepare('SELECT id FROM sessions WHERE id = ?').get(idOrPrefix) as { id: string } | undefined;
    if (exact) return exact.id;
    // Range scan on the primary key instead of LIKE, which would treat '_' as a wildcard.
    const rows = this.db.prepare('SELECT id FROM sessions WHERE id >= ? AND id < ? ORDER BY id LIMIT 11').all(idOrPrefix, `${idOrPrefix}\uffff`) as {
      id: string;
    }[];
    if (rows.length === 0) throw new NotFoundError(`no session matches "${idOrPrefix}"; list them with: rbk sessions`);
    if (rows.length > 1)
      throw new AmbiguousIdError(
        idOrPrefix,
        rows.map((r) => r.id),
      );
    return rows[0]!.id;
  }

  get(id: string): SessionRow {
    const row = this.db.prepare('SELECT * FROM sessions WHERE id = ?').get(id) as SessionRow | undefined;
    if (!row) throw new NotFoundError(`no session ${id}`);
    return row;
  }

  hookEvents(sessionId: string): HookEventRow[] {
    return this.db
      .prepare(
        `SELECT seq, event_id, event_name, tool_name, tool_use_id, prompt_id, agent_id, hook_started_at, received_at, via, problem, payload, payload_bytes
         FROM hook_events WHERE session_id = ? ORDER BY COALESCE(hook_started_at, received_at), seq`,
      )
      .all(sessionId) as HookEventRow[];
  }

  /**
   * Of these sessions, the ones no hook event names: found only by reading transcripts. Claude
   * Code's only: other agents (Codex) have no hooks, so missing ones say nothing about rbk's.
   */
  withoutHookEvents(ids: readonly string[]): string[] {
    const stmt = this.db
      .prepare(
        `SELECT NOT EXISTS (SELECT 1 FROM hook_events WHERE session_id = @id) AND EXISTS (SELECT 1 FROM sessions WHERE id = @id AND agent = 'claude-code')`,
      )
      .pluck();
    return ids.filter((id) => stmt.get({ id }) === 1);
  }

  /**
   * Sessions the sweep found (their transcript was first read by it) that no hook announced,
   * newest first: for `rbk doctor`, `rbk status` and the rbk_sessions_unannounced metric.
   */
  unannounced(limit = 5): { total: number; recent: { id: string; project: string | null; lastActivityAt: number | null }[] } {
    const where = `FROM sessions s WHERE s.pulled_from IS NULL AND s.expired_at IS NULL AND s.agent = 'claude-code'
      AND EXISTS (SELECT 1 FROM transcripts t WHERE t.session_id = s.id AND t.source = 'sweep')
      AND NOT EXISTS (SELECT 1 FROM hook_events h WHERE h.session_id = s.id)`;
    const total = this.db.prepare(`SELECT count(*) ${where}`).pluck().get() as number;
    const recent = this.db
      .prepare(`SELECT s.id, s.project, s.last_activity_at AS lastActivityAt ${where} ORDER BY s.last_activity_at DESC LIMIT ?`)
      .all(limit) as { id: string; project: string | null; lastActivityAt: number | null }[];
    return { total, recent };
  }

  counts(): { sessions: number; hookEvents: number; transcripts: number; interactions: number } {
    const one = (sql: string): number => (this.db.prepare(sql).get() as { n: number }).n;
    return {
      sessions: one('SELECT count(*) AS n FROM sessions'),
      hookEvents: one('SELECT count(*) AS n FROM hook_events'),
      transcripts: one('SELECT count(*) AS n FROM transcripts'),
      interactions: one('SELECT count(*) AS n FROM interactions'),
    };
  }

  /**
   * The session's transcript lines as stored (redacted at ingest), unpacked, in the order they
   * were first read; `missing` counts lines whose text is not kept (see TranscriptLines in
   * proto/rbk/v1/query.proto). rbk's own markers (a replayed history) were never lines.
   */
  *transcriptLines(sessionId: string): Generator<{ sourcePath: string; line: string }, { missing: number }> {
    const stmt = this.db.prepare(
      `SELECT source_path, rbk_text(text) AS text, tool_input, tool_use_result, raw FROM interactions
       WHERE session_id = ? AND raw IS NOT NULL ORDER BY id`,
    );
    for (const r of stmt.iterate(sessionId) as Iterable<{
      source_path: string;
      text: string;
      tool_input: string | null;
      tool_use_result: StoredBody;
      raw: StoredBody;
    }>) {
      yield { sourcePath: r.source_path, line: unpackInteraction(r).raw ?? '' };
    }
    const missing = this.db
      .prepare(`SELECT count(*) FROM interactions WHERE session_id = ? AND block_index = 0 AND raw IS NULL AND uuid NOT LIKE 'replay-%'`)
      .pluck()
      .get(sessionId) as number;
    return { missing };
  }

  *interactions(sessionId: string, includeHidden: boolean): Generator<InteractionRow> {
    const stmt = this.db.prepare(
      `SELECT uuid, block_index, session_id, kind, subtype, ts, rbk_text(text) AS text, tool_name, tool_use_id, tool_input, is_error, agent_id,
              parent_uuid, is_sidechain, hidden, model, message_id, request_id
       FROM interactions WHERE session_id = ? ${includeHidden ? '' : 'AND hidden = 0'} ORDER BY ts, id`,
    );
    yield* stmt.iterate(sessionId) as Iterable<InteractionRow>;
  }
}

export type InteractionRow = Pick<
  StoredInteraction,
  | 'uuid'
  | 'block_index'
  | 'kind'
  | 'subtype'
  | 'ts'
  | 'text'
  | 'tool_name'
  | 'tool_use_id'
  | 'tool_input'
  | 'is_error'
  | 'agent_id'
  | 'parent_uuid'
  | 'is_sidechain'
  | 'hidden'
  | 'model'
  | 'message_id'
  | 'request_id'
> & { session_id: string };
