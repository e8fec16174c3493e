// Usage deduplication. Claude Code splits one API response into one line per content block and
// copies the response's usage onto each of them; the first blocks are written while streaming
// and may carry placeholder counts (output_tokens 1..20) that the last block corrects. Summing
// per line therefore overcounts, sometimes several times over. The rule that matches the bill is:
// one record per (message.id, requestId), each field the maximum seen.
import type { UsageRecord } from './types.js';

/** `messageId:requestId`, or just messageId when the line had no requestId (older versions). */
export function usageKey(u: Pick<UsageRecord, 'messageId' | 'requestId'>): string {
  return u.requestId ? `${u.messageId}:${u.requestId}` : u.messageId;
}

/** Merges two records of the same usageKey: per-field maximum, earliest timestamp. */
export function mergeUsage(a: UsageRecord, b: UsageRecord): UsageRecord {
  let timestamp = a.timestamp;
  if (b.timestamp !== null && (timestamp === null || b.timestamp < timestamp)) timestamp = b.timestamp;
  return {
    messageId: a.messageId,
    requestId: a.requestId ?? b.requestId,
    model: a.model || b.model,
    inputTokens: Math.max(a.inputTokens, b.inputTokens),
    outputTokens: Math.max(a.outputTokens, b.outputTokens),
    cacheCreationTokens: Math.max(a.cacheCreationTokens, b.cacheCreationTokens),
    cacheCreation5mTokens: Math.max(a.cacheCreation5mTokens, b.cacheCreation5mTokens),
    cacheCreation1hTokens: Math.max(a.cacheCreation1hTokens, b.cacheCreation1hTokens),
    cacheReadTokens: Math.max(a.cacheReadTokens, b.cacheReadTokens),
    timestamp,
    sessionId: a.sessionId ?? b.sessionId,
    agentId: a.agentId ?? b.agentId,
    isSidechain: a.isSidechain || b.isSidechain,
    webSearchRequests: Math.max(a.webSearchRequests ?? 0, b.webSearchRequests ?? 0),
  };
}

/** Adds a record to a map keyed by usageKey, merging with what is there. */
export function addUsage(into: Map<string, UsageRecord>, u: UsageRecord): void {
  const key = usageKey(u);
  const prev = into.get(key);
  into.set(key, prev ? mergeUsage(prev, u) : u);
}

export interface TokenTotals {
  messages: number;
  inputTokens: number;
  outputTokens: number;
  cacheCreationTokens: number;
  cacheCreation5mTokens: number;
  cacheCreation1hTokens: number;
  cacheReadTokens: number;
}

export function emptyTotals(): TokenTotals {
  return {
    messages: 0,
    inputTokens: 0,
    outputTokens: 0,
    cacheCreationTokens: 0,
    cacheCreation5mTokens: 0,
    cacheCreation1hTokens: 0,
    cacheReadTokens: 0,
  };
}

/** Sums records as given: pass deduplicated records (addUsage) for real totals. */
export function sumUsage(records: Iterable<UsageRecord>): TokenTotals {
  const t = emptyTotals();
  for (const u of records) {
    t.messages++;
    t.inputTokens += u.inputTokens;
    t.outputTokens += u.outputTokens;
    t.cacheCreationTokens += u.cacheCreationTokens;
    t.cacheCreation5mTokens += u.cacheCreation5mTokens;
    t.cacheCreation1hTokens += u.cacheCreation1hTokens;
    t.cacheReadTokens += u.cacheReadTokens;
  }
  return t;
}
