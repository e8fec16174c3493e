// Storing pulled sessions: the prepared statements and the merge of a pulled session's rows into
// the local store (pulled sessions are read-only here).
import type { Db } from '../../store/db.js';
import { HookEventStore, type PulledHookEventRow } from '../../store/hook-event-store.js';
import { asStored, InteractionStore } from '../../store/interactions.js';
import { SessionStore } from '../../store/session-store.js';
import { UsageStore } from '../../store/usage-store.js';
import type { Dataset, SessionManifest } from '../layout.js';
import type { z } from 'zod';
import {
  HOOK_EVENT_COLUMNS,
  INTERACTION_COLUMNS,
  SESSION_COLUMNS,
  SESSION_SOURCES,
  hookEventRow,
  interactionRow,
  modelUsage,
  normalizeKeys,
  pick,
  type ModelUsageRecord,
} from './schema.js';
import { projectOf } from '../../ingest/project.js';
import { contentKey } from '../../ingest/transcripts/identity.js';
import { LegacySidechains } from '../../ingest/legacy-sidechains.js';

// ---------------------------------------------------------------------------------------------
// Storing
// ---------------------------------------------------------------------------------------------

/** A session.json found by the listing, with its version and the ids its key names. */
export interface ListedManifest {
  key: string;
  version: string | null;
  sessionId: string;
  host: string;
}

/** What this machine's sessions table says of a session a manifest names. */
export interface LocalSession {
  pulled_from: string | null;
  expired_at: number | null;
}

export interface PullState {
  session_id: string;
  host: string;
  manifest_sha256: string | null;
  manifest_version: string | null;
  interactions_through: number;
  hook_events_through: number;
}

export function statements(db: Db) {
  return {
    // Parts written by a host on an older rbk carry 1.0.x sidechains unattached.
    legacySidechains: new LegacySidechains(db),
    local: db.prepare('SELECT pulled_from, expired_at FROM sessions WHERE id = ?'),
    state: db.prepare(
      'SELECT session_id, host, manifest_sha256, manifest_version, interactions_through, hook_events_through FROM pull_sessions WHERE session_id = ?',
    ),
    interactions: new InteractionStore(db),
    sessions: new SessionStore(db),
    hookEvents: new HookEventStore(db),
    usage: new UsageStore(db),
    upsertState: db.prepare(`
      INSERT INTO pull_sessions (session_id, host, manifest_key, manifest_sha256, pulled_at)
      VALUES (@id, @host, @key, NULL, @now)
      ON CONFLICT (session_id) DO UPDATE SET manifest_key = excluded.manifest_key`),
    manifestDone: db.prepare('UPDATE pull_sessions SET manifest_sha256 = @sha, manifest_version = @version, pulled_at = @now WHERE session_id = @id'),
    sameManifest: db.prepare('UPDATE pull_sessions SET manifest_version = @version WHERE session_id = @id AND manifest_version IS NOT @version'),
    advance: {
      interactions: db.prepare('UPDATE pull_sessions SET interactions_through = @through WHERE session_id = @id AND interactions_through < @through'),
      hook_events: db.prepare('UPDATE pull_sessions SET hook_events_through = @through WHERE session_id = @id AND hook_events_through < @through'),
    },
    usageKeys: db.prepare(`
      SELECT message_id, request_id, MIN(ts) AS ts, MAX(agent_id) AS agent_id, MAX(is_sidechain) AS is_sidechain
      FROM interactions WHERE session_id = ? AND model = ? AND message_id IS NOT NULL
      GROUP BY message_id, request_id ORDER BY MIN(ts), message_id`),
    // Subagent runs are not in the central copy as such: rebuilt from the pulled interactions (the
    // sidechain rows of each agent, the Agent/Task call that spawned it and its input).
    subagents: db.prepare(`
      INSERT INTO subagents (session_id, agent_id, kind, agent_type, description, tool_use_id, first_ts, last_ts)
      SELECT i.session_id, i.agent_id, CASE WHEN MAX(i.hidden) = 1 THEN 'warmup' ELSE 'conversation' END,
             json_extract(u.tool_input, '$.subagent_type'), json_extract(u.tool_input, '$.description'), r.tool_use_id,
             MIN(i.ts), MAX(i.ts)
      FROM interactions i
      LEFT JOIN interactions r ON r.session_id = i.session_id AND r.spawned_agent_id = i.agent_id AND r.kind = 'tool_result'
      LEFT JOIN interactions u ON u.session_id = i.session_id AND u.tool_use_id = r.tool_use_id AND u.kind = 'tool_use'
        AND json_valid(u.tool_input)
      WHERE i.session_id = @id AND i.agent_id IS NOT NULL AND i.is_sidechain = 1
      GROUP BY i.agent_id
      ON CONFLICT (session_id, agent_id) DO UPDATE SET
        first_ts = excluded.first_ts, last_ts = excluded.last_ts,
        agent_type = COALESCE(subagents.agent_type, excluded.agent_type),
        description = COALESCE(subagents.description, excluded.description),
        tool_use_id = COALESCE(subagents.tool_use_id, excluded.tool_use_id)`),
  };
}

export type Stmts = ReturnType<typeof statements>;

/** The session columns a manifest sets, validated; unknown or ill-typed fields are dropped. */
export function sessionFields(m: SessionManifest): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const sources = [m.session, m.totals as Record<string, unknown>];
  for (const [column, schema] of Object.entries(SESSION_COLUMNS)) {
    let value = pick(sources, column);
    for (const alt of SESSION_SOURCES[column] ?? []) if (value === undefined) value = pick(sources, alt);
    if (value === undefined) continue;
    const r = schema.safeParse(value);
    if (!r.success) continue;
    out[column] = r.data;
  }
  // The project is derived from the cwd by this machine's rule (ingest/project.ts), so that a
  // session pulled from a host running another version groups with the same project here.
  if (typeof out.cwd === 'string') out.project = projectOf(out.cwd) ?? out.project;
  return out;
}

/** The session columns a manifest may set (a constant: never the manifest's own keys). */
export const SETTABLE_SESSION_COLUMNS: ReadonlySet<string> = new Set(Object.keys(SESSION_COLUMNS));

/** A part's row, validated and belonging to the part's session; null (and counted) otherwise. */
export function sessionRow<S extends z.ZodType<{ session_id?: string | null }>>(
  schema: S,
  columns: string[],
  raw: Record<string, unknown>,
  sessionId: string,
  skipped: (reason: string, n?: number) => void,
): z.output<S> | null {
  const r = schema.safeParse(normalizeKeys(raw, columns));
  if (!r.success) {
    skipped('row-invalid');
    return null;
  }
  if (r.data.session_id !== undefined && r.data.session_id !== null && r.data.session_id !== sessionId) {
    skipped('row-other-session');
    return null;
  }
  return r.data;
}

export function insertRows(
  stmts: Stmts,
  dataset: Dataset,
  rows: Record<string, unknown>[],
  sessionId: string,
  partKey: string,
  now: number,
  skipped: (reason: string, n?: number) => void,
  /** Widened to the row ids this call inserted (a restored part's rows, for the sync state). */
  ids?: { first: number; last: number },
): number {
  let added = 0;
  const note = (r: { changes: number; lastInsertRowid?: number | bigint; id?: number }): number => {
    if (r.changes > 0 && ids) {
      const id = Number(r.id ?? r.lastInsertRowid);
      ids.first = ids.first === 0 ? id : Math.min(ids.first, id);
      ids.last = Math.max(ids.last, id);
    }
    return r.changes;
  };
  for (const raw of rows) {
    if (dataset === 'interactions') {
      const v = sessionRow(interactionRow, INTERACTION_COLUMNS, raw, sessionId, skipped);
      if (!v) continue;
      const body = v.text ?? '';
      added += note(
        stmts.interactions.insert({
          uuid: v.uuid,
          blockIndex: v.block_index,
          sessionId,
          agentId: v.agent_id ?? null,
          kind: v.kind,
          subtype: v.subtype ?? null,
          timestamp: v.ts ?? null,
          // Stored the way ingest stores it (store/interactions.ts); a part has no raw line.
          ...asStored({ text: body, toolInput: v.tool_input ?? null, toolUseResult: v.tool_use_result ?? null, raw: null }),
          textLength: body.length,
          toolName: v.tool_name ?? null,
          toolUseId: v.tool_use_id ?? null,
          toolInput: v.tool_input ?? null,
          isError: v.is_error ?? null,
          spawnedAgentId: v.spawned_agent_id ?? null,
          data: v.data ?? null,
          parentUuid: v.parent_uuid ?? null,
          logicalParentUuid: v.logical_parent_uuid ?? null,
          isSidechain: v.is_sidechain ?? 0,
          isMeta: v.is_meta ?? 0,
          isCompactSummary: v.is_compact_summary ?? 0,
          hidden: v.hidden ?? 0,
          requestId: v.request_id ?? null,
          messageId: v.message_id ?? null,
          model: v.model ?? null,
          cwd: v.cwd ?? null,
          gitBranch: v.git_branch ?? null,
          version: v.cc_version ?? null,
          promptId: v.prompt_id ?? null,
          sourcePath: partKey,
          now,
          redactionVersion: null,
          // The same identity as at ingest: a host that stored a replay before this rule gives it once here.
          contentKey: contentKey({
            kind: v.kind,
            subtype: v.subtype ?? null,
            toolUseId: v.tool_use_id ?? null,
            messageId: v.message_id ?? null,
            agentId: v.agent_id ?? null,
            timestamp: v.ts ?? null,
            blockIndex: v.block_index,
            text: body,
          }),
          webSearches: null,
        }),
      );
    } else {
      const v = sessionRow(hookEventRow, HOOK_EVENT_COLUMNS, raw, sessionId, skipped);
      if (!v) continue;
      added += note(
        // Every column of HOOK_EVENT_COLUMNS, validated by hookEventRow (absent ones NULL).
        stmts.hookEvents.insertPulled({
          ...Object.fromEntries(HOOK_EVENT_COLUMNS.map((c) => [c, (v as Record<string, unknown>)[c] ?? null])),
          session_id: sessionId,
          via: v.via,
          payload_bytes: v.payload_bytes ?? Buffer.byteLength(v.payload),
        } as PulledHookEventRow),
      );
    }
  }
  return added;
}

/**
 * Rebuilds a pulled session's message_usage from the manifest's per-model usage, so that
 * `rbk usage` reports it. The manifest has totals per model, not per response: each model's
 * responses are re-created from the pulled interactions (their message_id/request_id, the key
 * Claude Code bills by, with the earliest time of each), the model's tokens and cost are carried
 * by its first response and the others count as responses with zero tokens. Totals and response
 * counts per session and model therefore equal the origin's; a day-by-day split may differ when
 * the session crossed midnight.
 */
export function replaceUsage(
  stmts: Stmts,
  raw: unknown[],
  sessionId: string,
  skipped: (reason: string, n?: number) => void,
): { rows: number; cost: number | null; complete: number } {
  stmts.usage.deleteSession(sessionId);
  let rows = 0;
  let cost = 0;
  let complete = 1;
  for (const item of raw) {
    const r = modelUsage.safeParse(item);
    if (!r.success) {
      skipped('usage-invalid');
      continue;
    }
    const u: ModelUsageRecord = r.data;
    if (u.messages === 0) continue;
    const keys = stmts.usageKeys.all(sessionId, u.model) as {
      message_id: string;
      request_id: string | null;
      ts: number | null;
      agent_id: string | null;
      is_sidechain: number;
    }[];
    if (u.cost_usd === null) complete = 0;
    else cost += u.cost_usd;
    for (let i = 0; i < u.messages; i++) {
      // More responses than the interactions name (parts not pulled, hidden lines): numbered keys.
      const k = keys[i] ?? { message_id: `pulled-${u.model}-${i + 1}`, request_id: null, ts: keys.at(-1)?.ts ?? null, agent_id: null, is_sidechain: 0 };
      const first = i === 0;
      rows += stmts.usage.insertPulled({
        usage_key: k.request_id ? `${k.message_id}:${k.request_id}` : k.message_id,
        message_id: k.message_id,
        request_id: k.request_id,
        session_id: sessionId,
        agent_id: k.agent_id,
        is_sidechain: k.is_sidechain ? 1 : 0,
        model: u.model,
        ts: k.ts,
        input_tokens: first ? u.input_tokens : 0,
        output_tokens: first ? u.output_tokens : 0,
        cache_creation_tokens: first ? u.cache_creation_tokens : 0,
        cache_creation_5m_tokens: first ? u.cache_creation_5m_tokens : 0,
        cache_creation_1h_tokens: first ? u.cache_creation_1h_tokens : 0,
        cache_read_tokens: first ? u.cache_read_tokens : 0,
        // The model's searches on its first response, like its tokens (the source host linked them).
        web_search_reported: first ? u.web_search_requests : 0,
        cost_usd: u.cost_usd === null ? null : first ? u.cost_usd : 0,
      });
    }
  }
  return { rows, cost: complete ? Math.round(cost * 1e10) / 1e10 : null, complete };
}
