// Web searches onto the usage of the response that called the WebSearch tool (docs/usage.md).
// One place for the link, used by the ingester for new results and by the `web_search`
// derivation for stored ones. Which count applies (the reported one when not 0, else the linked
// ones) is the generated column message_usage.web_search_requests (migrations/0012).
import type { Db } from '../store/db.js';
import { UsageStore } from '../store/usage-store.js';
import { usageKey } from './transcripts/usage.js';

export class WebSearchLinks {
  private readonly stmts;

  constructor(
    db: Db,
    /** USD per server-side web search. */
    private readonly price: number,
  ) {
    this.stmts = {
      callerOf: db.prepare(
        `SELECT message_id AS messageId, request_id AS requestId FROM interactions WHERE tool_use_id = ? AND kind = 'tool_use' ORDER BY id LIMIT 1`,
      ),
      usage: new UsageStore(db),
    };
  }

  /** Adds a WebSearch result's searches to the calling response; false when that response is not stored. */
  link(toolUseId: string, n: number): boolean {
    const caller = this.stmts.callerOf.get(toolUseId) as { messageId: string | null; requestId: string | null } | undefined;
    if (!caller?.messageId) return false;
    return this.stmts.usage.linkWebSearches(usageKey({ messageId: caller.messageId, requestId: caller.requestId }), n, this.price);
  }
}
