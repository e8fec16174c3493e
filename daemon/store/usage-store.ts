// The one writer of `message_usage`: one row per model response (usage_key = message id + request
// id), holding its exact token counts and cost.
//
// Merge rules:
// - counts, model, ts, web_search_reported: a response is written on several transcript lines
//   (one per content block, sometimes with growing counts); the ingester merges them
//   (ingest/transcripts mergeUsage) and the row takes the merged values.
// - session_id: the first one known (a sidechain copy of a response must not move it).
// - cost_usd: tokens priced at write time plus web searches; web searches found later in the
//   WebSearch results (web_search_linked) add their price unless the response reported its own.
// - agent_id: set once, when an inline (Claude Code ≤ 2.0.27) sidechain is attached to its agent.
// - pulled sessions: their rows are replaced as a whole from the central copy (pricing_version
//   'pulled'); local transcripts never write them (the ingester skips pulled sessions' lines).
import type { Db } from './db.js';

export interface UsageRow {
  usage_key: string;
  message_id: string | null;
  request_id: string | null;
  session_id: string | null;
  agent_id: string | null;
  is_sidechain: number;
  model: string | null;
  ts: number | null;
  input_tokens: number;
  output_tokens: number;
  cache_creation_tokens: number;
  cache_creation_5m_tokens: number;
  cache_creation_1h_tokens: number;
  cache_read_tokens: number;
  cost_usd: number | null;
  pricing_version: string | null;
  web_search_reported: number;
  web_search_linked: number;
  web_search_requests: number;
}

export interface UsageWrite {
  key: string;
  messageId: string | null;
  requestId: string | null;
  sessionId: string | null;
  agentId: string | null;
  isSidechain: number;
  model: string | null;
  timestamp: number | null;
  inputTokens: number;
  outputTokens: number;
  cacheCreationTokens: number;
  cacheCreation5mTokens: number;
  cacheCreation1hTokens: number;
  cacheReadTokens: number;
  cost: number | null;
  pricingVersion: string;
  webSearchReported: number;
}

/** A pulled row as the central copy has it (sync/pull). */
export type PulledUsageRow = Omit<UsageRow, 'pricing_version' | 'web_search_linked' | 'web_search_requests'>;

export class UsageStore {
  private readonly stmts;

  constructor(db: Db) {
    this.stmts = {
      get: db.prepare('SELECT * FROM message_usage WHERE usage_key = ?'),
      upsert: db.prepare(`
        INSERT INTO message_usage (usage_key, message_id, request_id, session_id, agent_id, is_sidechain, model, ts,
          input_tokens, output_tokens, cache_creation_tokens, cache_creation_5m_tokens, cache_creation_1h_tokens,
          cache_read_tokens, cost_usd, pricing_version, web_search_reported)
        VALUES (@key, @messageId, @requestId, @sessionId, @agentId, @isSidechain, @model, @timestamp, @inputTokens,
          @outputTokens, @cacheCreationTokens, @cacheCreation5mTokens, @cacheCreation1hTokens, @cacheReadTokens, @cost, @pricingVersion,
          @webSearchReported)
        ON CONFLICT (usage_key) DO UPDATE SET
          input_tokens = excluded.input_tokens, output_tokens = excluded.output_tokens,
          cache_creation_tokens = excluded.cache_creation_tokens, cache_creation_5m_tokens = excluded.cache_creation_5m_tokens,
          cache_creation_1h_tokens = excluded.cache_creation_1h_tokens, cache_read_tokens = excluded.cache_read_tokens,
          cost_usd = excluded.cost_usd, ts = excluded.ts, model = excluded.model, web_search_reported = excluded.web_search_reported,
          session_id = COALESCE(message_usage.session_id, excluded.session_id)`),
      // The cost moves only when the linked count is the one that applies.
      linkWebSearches: db.prepare(`
        UPDATE message_usage SET web_search_linked = web_search_linked + @n,
          cost_usd = CASE WHEN cost_usd IS NULL OR web_search_reported > 0 THEN cost_usd ELSE cost_usd + @n * @price END
        WHERE usage_key = @key`),
      attachAgent: db.prepare('UPDATE message_usage SET agent_id = ? WHERE session_id = ? AND message_id = ? AND agent_id IS NULL'),
      deleteSession: db.prepare('DELETE FROM message_usage WHERE session_id = ?'),
      insertPulled: db.prepare(`
        INSERT OR IGNORE INTO message_usage (usage_key, message_id, request_id, session_id, agent_id, is_sidechain, model, ts,
          input_tokens, output_tokens, cache_creation_tokens, cache_creation_5m_tokens, cache_creation_1h_tokens,
          cache_read_tokens, cost_usd, pricing_version, web_search_reported)
        VALUES (@usage_key, @message_id, @request_id, @session_id, @agent_id, @is_sidechain, @model, @ts,
          @input_tokens, @output_tokens, @cache_creation_tokens, @cache_creation_5m_tokens, @cache_creation_1h_tokens,
          @cache_read_tokens, @cost_usd, 'pulled', @web_search_reported)`),
      deleteOrphans: db.prepare(
        'DELETE FROM message_usage WHERE usage_key IN (SELECT usage_key FROM message_usage WHERE session_id IS NULL AND ts < ? LIMIT ?)',
      ),
    };
  }

  get(key: string): UsageRow | undefined {
    return this.stmts.get.get(key) as UsageRow | undefined;
  }

  upsert(row: UsageWrite): void {
    this.stmts.upsert.run(row);
  }

  /** Adds n web searches (found in a WebSearch result) to the response that made them; false when it is not stored. */
  linkWebSearches(key: string, n: number, price: number): boolean {
    return this.stmts.linkWebSearches.run({ key, n, price }).changes > 0;
  }

  attachAgent(agentId: string, sessionId: string, messageId: string): void {
    this.stmts.attachAgent.run(agentId, sessionId, messageId);
  }

  deleteSession(sessionId: string): number {
    return this.stmts.deleteSession.run(sessionId).changes;
  }

  /** rbk pull: the session's rows are replaced as a whole (deleteSession, then this for each). */
  insertPulled(row: PulledUsageRow): number {
    return this.stmts.insertPulled.run(row).changes;
  }

  /** Rows of no session older than the cutoff, at most `limit`; returns how many went. */
  deleteOrphans(cutoff: number, limit: number): number {
    return this.stmts.deleteOrphans.run(cutoff, limit).changes;
  }
}
