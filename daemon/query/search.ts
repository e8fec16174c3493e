// Full-text search over the conversation (migrations/0003_search.sql): bm25-ranked hits with
// highlighted snippets, narrowed by tool, failure, project, session and time.
import type { Db } from '../store/db.js';
import { toolNameCandidates } from './sessions.js';
import { SESSION_PROJECT_MATCH } from '../store/sessions.js';
import { UserError } from '../errors.js';

export class SearchSyntaxError extends UserError {}

/** Snippet highlight markers: STX/ETX never occur in stored text, so clients can split on them. */
export const HL_START = '\u0002';
export const HL_END = '\u0003';

export interface SearchFilter {
  query: string;
  /** Pass the query to FTS5 as written (its own syntax: AND/OR/NOT, NEAR, column filters, ^). */
  raw?: boolean;
  tool?: string;
  /** Only failed tool calls: error results and the calls that produced them. */
  errors?: boolean;
  project?: string;
  sessionId?: string;
  /** Only sessions of this agent. */
  agent?: string;
  sinceMs?: number;
  untilMs?: number;
  limit: number;
  /** See RANK_WINDOW; tests set it small. */
  rankWindow?: number;
}

/**
 * bm25 has to look at every match, and a common word matches a large part of the store (a
 * million rows cost about a second). When a query matches more than this many interactions, the
 * most recent this-many matches are ranked (and the result says so); if filters leave fewer hits
 * than asked for, the window widens until it covers every match.
 */
export const RANK_WINDOW = 20_000;

export interface SearchResult {
  hits: SearchHit[];
  /** The window bm25 ranked in (most recent matches), or 0 when every match was ranked. */
  rankedWindow: number;
}

export interface SearchHit {
  sessionId: string;
  uuid: string;
  blockIndex: number;
  kind: string;
  toolName: string | null;
  toolUseId: string | null;
  isError: boolean;
  unixMs: number;
  agentId: string | null;
  project: string | null;
  sessionTitle: string | null;
  /** Text around the best match; matched terms are wrapped in HL_START … HL_END. */
  snippet: string;
  /** bm25 score (lower is better; FTS5's rank). */
  score: number;
}

/**
 * Turns what a person typed into an FTS5 query that means "all of these words and phrases":
 * every bare word and every "quoted phrase" becomes a quoted FTS5 phrase, so operators, column
 * filters and stray quotes or parentheses are just text. A word ending in * is a prefix search.
 */
export function toFtsQuery(input: string): string {
  const parts: string[] = [];
  const re = /"([^"]*)"?|(\S+)/g;
  for (let m = re.exec(input); m; m = re.exec(input)) {
    let term = m[1] ?? m[2] ?? '';
    let prefix = false;
    if (m[2] !== undefined && term.length > 1 && term.endsWith('*')) {
      prefix = true;
      term = term.replace(/\*+$/, '');
    }
    // A term with no letters or digits has no tokens: FTS5 would reject the empty phrase.
    if (!/[\p{L}\p{N}]/u.test(term)) continue;
    parts.push(`"${term.replace(/"/g, '""')}"${prefix ? '*' : ''}`);
  }
  if (parts.length === 0) throw new SearchSyntaxError('nothing to search for: give at least one word (letters or digits)');
  return parts.join(' ');
}

export function search(db: Db, f: SearchFilter): SearchResult {
  const match = f.raw ? f.query : toFtsQuery(f.query);
  if (match.trim() === '') throw new SearchSyntaxError('nothing to search for');
  const limit = Math.min(Math.max(f.limit || 20, 1), 1000);
  const where: string[] = ['interactions_fts MATCH @match'];
  const params: Record<string, unknown> = { match, limit };
  let joinSessions = false;
  if (f.sessionId) {
    where.push('i.session_id = @session');
    params.session = f.sessionId;
  }
  if (f.sinceMs && f.sinceMs > 0) {
    where.push('i.ts >= @since');
    params.since = f.sinceMs;
  }
  if (f.untilMs && f.untilMs > 0) {
    where.push('i.ts < @until');
    params.until = f.untilMs;
  }
  if (f.project) {
    joinSessions = true;
    where.push(SESSION_PROJECT_MATCH);
    params.project = f.project.toLowerCase();
  }
  if (f.agent) {
    joinSessions = true;
    where.push('s.agent = @agent');
    params.agent = f.agent;
  }
  if (f.tool) {
    const list = toolNameCandidates(f.tool)
      .map((n, i) => {
        params[`tool${i}`] = n;
        return `@tool${i}`;
      })
      .join(', ');
    where.push(
      `(i.tool_name IN (${list}) OR (i.kind = 'tool_result' AND EXISTS (SELECT 1 FROM interactions u WHERE u.tool_use_id = i.tool_use_id AND u.kind = 'tool_use' AND u.tool_name IN (${list}))))`,
    );
  }
  if (f.errors) {
    where.push(
      `(i.is_error = 1 OR (i.kind = 'tool_use' AND EXISTS (SELECT 1 FROM interactions r WHERE r.tool_use_id = i.tool_use_id AND r.kind = 'tool_result' AND r.is_error = 1)))`,
    );
  }
  const needRows = where.length > 1;
  // Phase 1: rank. Only rowid and rank are carried through the sort; snippets cost real work
  // and are made for the rows that are returned only (phase 2).
  // bm25() rather than the rank column: FTS5's ORDER BY rank path ranks every match before it
  // applies the rowid bound (10x slower for common words).
  const rankSql = needRows
    ? `SELECT interactions_fts.rowid AS id, bm25(interactions_fts) AS score
       FROM interactions_fts JOIN interactions i ON i.id = interactions_fts.rowid
       ${joinSessions ? 'LEFT JOIN sessions s ON s.id = i.session_id' : ''}
       WHERE ${where.join(' AND ')} AND interactions_fts.rowid >= @floor ORDER BY score LIMIT @limit`
    : `SELECT rowid AS id, bm25(interactions_fts) AS score FROM interactions_fts WHERE interactions_fts MATCH @match AND rowid >= @floor ORDER BY score LIMIT @limit`;
  // The rowid below which the newest `window` matches start (reading rowids backwards is cheap:
  // no ranking, no column sizes); undefined when there are not that many matches.
  const floorStmt = db.prepare('SELECT rowid FROM interactions_fts WHERE interactions_fts MATCH @match ORDER BY rowid DESC LIMIT 1 OFFSET @offset').pluck();
  let ranked: { id: number; score: number }[];
  let rankedWindow = 0;
  try {
    const rankStmt = db.prepare(rankSql);
    let window = f.rankWindow ?? RANK_WINDOW;
    for (;;) {
      const floor = floorStmt.get({ match, offset: window }) as number | undefined;
      ranked = rankStmt.all({ ...params, floor: floor === undefined ? 0 : floor + 1 }) as { id: number; score: number }[];
      if (floor === undefined) {
        rankedWindow = 0;
        break;
      }
      rankedWindow = window;
      if (ranked.length >= limit) break;
      window *= 8;
    }
  } catch (err) {
    throw asSyntaxError(err, f.raw === true);
  }
  if (ranked.length === 0) return { hits: [], rankedWindow };
  const ids = ranked.map((r) => r.id);
  const detail = db
    .prepare(
      `SELECT interactions_fts.rowid AS id, snippet(interactions_fts, -1, char(2), char(3), '…', 24) AS snippet,
              i.uuid, i.block_index, i.session_id, i.kind, i.tool_use_id, i.is_error, i.ts, i.agent_id,
              COALESCE(i.tool_name, (SELECT u.tool_name FROM interactions u WHERE u.tool_use_id = i.tool_use_id AND u.kind = 'tool_use' LIMIT 1)) AS tool_name,
              s.project, s.title
       FROM interactions_fts JOIN interactions i ON i.id = interactions_fts.rowid LEFT JOIN sessions s ON s.id = i.session_id
       WHERE interactions_fts MATCH @match AND interactions_fts.rowid IN (SELECT value FROM json_each(@ids))`,
    )
    .all({ match, ids: JSON.stringify(ids) }) as DetailRow[];
  const byId = new Map(detail.map((d) => [d.id, d]));
  const hits: SearchHit[] = [];
  for (const r of ranked) {
    const d = byId.get(r.id);
    if (!d) continue;
    hits.push({
      sessionId: d.session_id ?? '',
      uuid: d.uuid,
      blockIndex: d.block_index,
      kind: d.kind,
      toolName: d.tool_name,
      toolUseId: d.tool_use_id,
      isError: d.is_error === 1,
      unixMs: d.ts ?? 0,
      agentId: d.agent_id,
      project: d.project,
      sessionTitle: d.title,
      snippet: d.snippet ?? '',
      score: r.score,
    });
  }
  return { hits, rankedWindow };
}

interface DetailRow {
  id: number;
  snippet: string | null;
  uuid: string;
  block_index: number;
  session_id: string | null;
  kind: string;
  tool_use_id: string | null;
  is_error: number | null;
  ts: number | null;
  agent_id: string | null;
  tool_name: string | null;
  project: string | null;
  title: string | null;
}

function asSyntaxError(err: unknown, raw: boolean): unknown {
  const msg = (err as Error)?.message ?? '';
  if (/fts5|syntax error|no such column|unterminated|malformed MATCH/i.test(msg)) {
    return new SearchSyntaxError(
      raw
        ? `the FTS5 query is not valid (${msg}); see https://sqlite.org/fts5.html#full_text_query_syntax, or drop --raw to search for the words as typed`
        : `the search could not run (${msg})`,
    );
  }
  return err;
}
