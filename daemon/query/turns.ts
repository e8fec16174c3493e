// Tokens and cost per model response, placed on the first timeline entry of that response (its
// thinking, text or first tool call): what a turn cost, where the person reading it is.
import type { TurnUsage } from '../../common/console-api.js';
import type { Db } from '../store/db.js';

/** interaction uuid → the usage of the response it opens. */
export function turnUsage(db: Db, sessionId: string): Map<string, TurnUsage> {
  const usage = new Map<string, TurnUsage>();
  for (const u of db
    .prepare(
      `SELECT message_id, model, SUM(input_tokens) AS i, SUM(output_tokens) AS o, SUM(cache_creation_tokens) AS cc, SUM(cache_read_tokens) AS cr,
              CASE WHEN COUNT(cost_usd) = COUNT(*) THEN SUM(cost_usd) END AS cost
       FROM message_usage WHERE session_id = ? GROUP BY message_id`,
    )
    .all(sessionId) as { message_id: string; model: string; i: number; o: number; cc: number; cr: number; cost: number | null }[]) {
    usage.set(u.message_id, { model: u.model, inputTokens: u.i, outputTokens: u.o, cacheCreationTokens: u.cc, cacheReadTokens: u.cr, costUsd: u.cost });
  }
  const byRef = new Map<string, TurnUsage>();
  if (usage.size === 0) return byRef;
  const seen = new Set<string>();
  for (const r of db
    .prepare(`SELECT uuid, message_id FROM interactions WHERE session_id = ? AND message_id IS NOT NULL AND hidden = 0 ORDER BY id`)
    .all(sessionId) as { uuid: string; message_id: string }[]) {
    if (seen.has(r.message_id)) continue;
    seen.add(r.message_id);
    const u = usage.get(r.message_id);
    if (u) byRef.set(r.uuid, u);
  }
  return byRef;
}
