// What a manifest and a row from the central copy may hold (zod schemas), and how rows are
// normalised to the store's columns. Nothing read from the bucket is trusted.
import { AGENT_NAME } from '../../../common/agents.js';
import { LAYOUT_VERSION } from '../layout.js';
import { z } from 'zod';
import { DAY, MAX_PART_BYTES, SHA256 } from './types.js';

// ---------------------------------------------------------------------------------------------
// What a manifest and a row may hold
// ---------------------------------------------------------------------------------------------

export const text = (max: number) => z.string().max(max).nullable().optional();
/** A time as Unix ms: the central copy writes ISO-8601 strings (and *_ms twins for some). */
export const time = z
  .union([z.number().int().safe(), z.string().max(64)])
  .nullable()
  .optional()
  .transform((v, ctx) => {
    if (v === null || v === undefined || typeof v === 'number') return v ?? null;
    const ms = Date.parse(v);
    if (!Number.isFinite(ms)) {
      ctx.addIssue({ code: 'custom', message: 'not an ISO-8601 time' });
      return z.NEVER;
    }
    return ms;
  });
export const count = z.number().int().min(0).safe().nullable().optional();

export const manifestPart = z.object({
  key: z.string().max(1024),
  first: z.number().int().min(1).safe(),
  last: z.number().int().min(1).safe(),
  rows: z.number().int().min(0).safe(),
  bytes: z.number().int().min(0).safe(),
  sha256: z.string().regex(SHA256),
});

export const manifestSchema = z.object({
  layout: z.literal(LAYOUT_VERSION),
  sessionId: z.string(),
  host: z.string(),
  date: z.string().regex(DAY),
  updatedAt: z.string().max(64),
  session: z.record(z.string(), z.unknown()),
  totals: z.record(z.string(), z.union([z.number(), z.null()])).default({}),
  parts: z.object({
    interactions: z.array(manifestPart).max(1_000_000).default([]),
    hook_events: z.array(manifestPart).max(1_000_000).default([]),
  }),
  // Per-model usage of the session (daemon/sync/manifest.ts), from which message_usage is rebuilt.
  usage: z.array(z.unknown()).max(10_000).optional(),
});

/** Session columns a manifest may set, with their kinds; anything else in it is ignored. */
export const SESSION_COLUMNS: Record<string, z.ZodType> = {
  // The origin's host name as it recorded it; pulled_from holds its partition value.
  host: z
    .string()
    .min(1)
    .max(253)
    .regex(/^[^\u0000-\u001f]+$/),
  cwd: text(4096),
  project: text(1024),
  transcript_path: text(4096),
  git_branch: text(1024),
  cc_version: text(128),
  model: text(128),
  permission_mode: text(64),
  // Which agent ran it (claude-code, codex, otel:<service>); manifests from before it have none.
  agent: z.string().regex(AGENT_NAME),
  started_at: time,
  ended_at: time,
  last_activity_at: time,
  status: z.enum(['active', 'ended']).nullable().optional(),
  end_reason: text(128),
  title: text(1024),
  // The manifest has one count each, the larger of the hook and transcript counts (what
  // `rbk sessions` shows); both columns get it.
  prompts: count,
  tool_calls: count,
  tool_failures: count,
  subagents: count,
  t_prompts: count,
  t_tool_calls: count,
  t_tool_failures: count,
  t_subagents: count,
  input_tokens: count,
  output_tokens: count,
  cache_creation_tokens: count,
  cache_read_tokens: count,
};
/** Where a column's value may come from in the manifest, first match wins. */
export const SESSION_SOURCES: Record<string, string[]> = {
  host: ['hostname'],
  t_prompts: ['prompts'],
  t_tool_calls: ['tool_calls'],
  t_tool_failures: ['tool_failures'],
  t_subagents: ['subagents'],
};

export const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** A manifest field by its column name, in snake_case or camelCase, from session or totals. */
export function pick(sources: Record<string, unknown>[], column: string): unknown {
  for (const src of sources) {
    if (Object.hasOwn(src, column)) return src[column];
    const c = camel(column);
    if (Object.hasOwn(src, c)) return src[c];
  }
  return undefined;
}

export const flag = z
  .union([z.boolean(), z.number().int().min(0).max(1)])
  .nullable()
  .optional()
  .transform((v) => (v === null || v === undefined ? null : v ? 1 : 0));

export const interactionRow = z.object({
  uuid: z.string().min(1).max(256),
  block_index: z.number().int().min(0).max(1_000_000),
  session_id: z.string().nullable().optional(),
  agent_id: text(128),
  kind: z.string().min(1).max(64),
  subtype: text(128),
  ts: time,
  text: z.string().max(MAX_PART_BYTES).nullable().optional(),
  tool_name: text(256),
  tool_use_id: text(256),
  tool_input: z.string().max(MAX_PART_BYTES).nullable().optional(),
  is_error: flag,
  tool_use_result: z.string().max(MAX_PART_BYTES).nullable().optional(),
  spawned_agent_id: text(128),
  data: z.string().max(MAX_PART_BYTES).nullable().optional(),
  parent_uuid: text(256),
  logical_parent_uuid: text(256),
  is_sidechain: flag,
  is_meta: flag,
  is_compact_summary: flag,
  hidden: flag,
  request_id: text(256),
  message_id: text(256),
  model: text(128),
  cwd: text(4096),
  git_branch: text(1024),
  cc_version: text(128),
  prompt_id: text(256),
});

export const hookEventRow = z.object({
  event_id: z.string().min(1).max(256),
  session_id: z.string().nullable().optional(),
  event_name: z.string().min(1).max(128),
  tool_name: text(256),
  tool_use_id: text(256),
  prompt_id: text(256),
  agent_id: text(128),
  hook_started_at: time,
  sent_at: time,
  received_at: time.refine((v) => v !== null, 'required'),
  via: z.enum(['direct', 'spool']).default('direct'),
  payload: z.string().max(MAX_PART_BYTES),
  payload_bytes: count,
  problem: text(4096),
});

export const tokens = z.number().int().min(0).safe();
/** One model's usage in a session, as daemon/sync/manifest.ts writes it. */
export const modelUsage = z.object({
  model: z.string().min(1).max(128),
  messages: z.number().int().min(0).max(10_000_000),
  input_tokens: tokens,
  output_tokens: tokens,
  cache_creation_tokens: tokens,
  cache_creation_5m_tokens: tokens.default(0),
  cache_creation_1h_tokens: tokens.default(0),
  cache_read_tokens: tokens,
  cost_usd: z.number().min(0).nullable(),
  web_search_requests: z.number().int().min(0).max(10_000_000).default(0),
});
export type ModelUsageRecord = z.infer<typeof modelUsage>;

/** Rows may be written in snake_case (the layout's columns) or camelCase: read both. */
export function normalizeKeys(row: Record<string, unknown>, columns: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of columns) {
    // Times travel as ISO strings with a Unix-ms twin (ts_ms, received_at_ms): the twin is exact.
    const ms = row[`${c}_ms`];
    if (typeof ms === 'number') out[c] = ms;
    else if (Object.hasOwn(row, c)) out[c] = row[c];
    else {
      const k = camel(c);
      if (Object.hasOwn(row, k)) out[c] = row[k];
    }
  }
  return out;
}

export const INTERACTION_COLUMNS = Object.keys(interactionRow.shape);
export const HOOK_EVENT_COLUMNS = Object.keys(hookEventRow.shape);
