// `rbk pull`: hydrates the local index from the central copy that other machines (the user's own,
// or teammates') uploaded. It reads only what the layout names:
//
//   1. LIST the manifests under v1/sessions/ (one prefix per UTC day for --since, narrowed to
//      host=<H>/ for --host), skipping this machine's own host;
//   2. GET each session.json, validate it, and refuse one whose ids disagree with its key; a
//      manifest listed with the version (ETag) it had when a pull last stored it in full is not
//      read again, so a pull that finds nothing new sends only LIST requests;
//   3. GET each part it lists that is newer than what was pulled before (pull_sessions holds a
//      contiguous per-dataset watermark of part sequence numbers), verify its sha256 against the
//      manifest, gunzip it with a size bound, and insert its rows in one transaction with the new
//      watermark: interactions keyed on (uuid, block_index), hook events on event_id, usage on
//      usage_key, so a re-run or a part seen twice (before and after S3 compaction) adds nothing.
//
// Pulled sessions carry sessions.pulled_from = <origin host>. They are read-only here: hooks and
// transcripts of this machine do not touch them (ingest/hook-events.ts, transcript-ingester.ts),
// and the sync engine never uploads them. A session captured here (pulled_from NULL) is never
// overwritten by a pull, and one expired here by local retention is not pulled back.
//
// Nothing read from the bucket is trusted: keys are parsed by layout.parseKey (safe ids only),
// part keys must sit in the manifest's own session prefix, every value goes through zod and into
// SQL as a bound parameter, and a bad object is a counted skip with its reason, never a crash.
import { createHash } from 'node:crypto';
import zlib from 'node:zlib';
import { z } from 'zod';
import { localHostname } from '../../common/host.js';
import { UserError } from '../errors.js';
import type { Db } from '../store/db.js';
import type { Logger } from '../log.js';
import type { StorageBackend } from './backend.js';
import { DATASETS, hostPartition, LAYOUT_VERSION, parseKey, type Dataset, type ManifestPart, type SessionManifest } from './layout.js';
import type { PullProgress as PullProgressMessage } from '../../common/wire/rbk/v1/PullProgress.js';
import { forRequest } from '../../common/wire-schema.js';
import type { PullRequest__Output } from '../../common/wire/rbk/v1/PullRequest.js';

/** Largest manifest and largest (gunzipped) part accepted: anything bigger is a skip, not an OOM. */
const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;
const MAX_PART_BYTES = 512 * 1024 * 1024;
/** Problems listed one by one in the summary (all of them are counted). */
const MAX_PROBLEMS = 50;
/** Beyond this many days, --since lists v1/sessions/ once instead of one prefix per day. */
const MAX_DAY_PREFIXES = 400;

const HOST = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;
const SHA256 = /^[0-9a-f]{64}$/;
const PART_FILE = /^part-(\d{6})(?:-(\d{6}))?\.ndjson\.gz$/;

export class PullRequestError extends UserError {}

export interface PullRequest {
  /** Only sessions whose date partition (UTC start day) is on or after this instant's day. */
  sinceMs?: number;
  /** Only this origin host (a partition value, as `rbk sessions --host` shows it). */
  host?: string;
}

export interface PullProblem {
  key: string;
  reason: string;
  detail: string;
}

/** PullProgress as the Pull RPC streams it (what `rbk pull` reads). */
/** PullProgress as the Pull RPC sends it: the generated message type. */
export type PullProgressWire = PullProgressMessage;

export interface PullProgress {
  phase: 'listing' | 'pulling' | 'done';
  manifestsTotal: number;
  manifestsDone: number;
  sessionsAdded: number;
  sessionsUpdated: number;
  sessionsUnchanged: number;
  partsFetched: number;
  bytesFetched: number;
  interactionsAdded: number;
  hookEventsAdded: number;
  /** message_usage rows rebuilt from the manifests' per-model usage. */
  usageRows: number;
  /** Origin hosts seen (this machine's own excluded). */
  hosts: string[];
  /** Counted skips by reason: own-host, local-session, expired-locally, checksum-mismatch, corrupt-gzip, ... */
  skipped: Record<string, number>;
  /** The first MAX_PROBLEMS problems, for the person to look at. */
  problems: PullProblem[];
  startedAt: number;
}

export interface PullEnv {
  db: Db;
  backend: StorageBackend;
  /** This machine's host partition: its own sessions are never pulled. */
  selfHost: string;
  log: Logger;
  now?: () => number;
  signal?: AbortSignal;
  /** Bound on a gunzipped part (default 512 MB): beyond it the part is a skip, not an out-of-memory. */
  maxPartBytes?: number;
}

// ---------------------------------------------------------------------------------------------
// What a manifest and a row may hold
// ---------------------------------------------------------------------------------------------

const text = (max: number) => z.string().max(max).nullable().optional();
/** A time as Unix ms: the central copy writes ISO-8601 strings (and *_ms twins for some). */
const time = z
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
const count = z.number().int().min(0).safe().nullable().optional();

const manifestPart = z.object({
  key: z.string().max(1024),
  first: z.number().int().min(1).safe(),
  last: z.number().int().min(1).safe(),
  rows: z.number().int().min(0).safe(),
  bytes: z.number().int().min(0).safe(),
  sha256: z.string().regex(SHA256),
});

const manifestSchema = z.object({
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
const SESSION_COLUMNS: Record<string, z.ZodType> = {
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
const SESSION_SOURCES: Record<string, string[]> = {
  host: ['hostname'],
  t_prompts: ['prompts'],
  t_tool_calls: ['tool_calls'],
  t_tool_failures: ['tool_failures'],
  t_subagents: ['subagents'],
};

const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** A manifest field by its column name, in snake_case or camelCase, from session or totals. */
function pick(sources: Record<string, unknown>[], column: string): unknown {
  for (const src of sources) {
    if (Object.hasOwn(src, column)) return src[column];
    const c = camel(column);
    if (Object.hasOwn(src, c)) return src[c];
  }
  return undefined;
}

const flag = z
  .union([z.boolean(), z.number().int().min(0).max(1)])
  .nullable()
  .optional()
  .transform((v) => (v === null || v === undefined ? null : v ? 1 : 0));

const interactionRow = z.object({
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

const hookEventRow = z.object({
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

const tokens = z.number().int().min(0).safe();
/** One model's usage in a session, as daemon/sync/manifest.ts writes it. */
const modelUsage = z.object({
  model: z.string().min(1).max(128),
  messages: z.number().int().min(0).max(10_000_000),
  input_tokens: tokens,
  output_tokens: tokens,
  cache_creation_tokens: tokens,
  cache_creation_5m_tokens: tokens.default(0),
  cache_creation_1h_tokens: tokens.default(0),
  cache_read_tokens: tokens,
  cost_usd: z.number().min(0).nullable(),
});
type ModelUsageRecord = z.infer<typeof modelUsage>;

/** Rows may be written in snake_case (the layout's columns) or camelCase: read both. */
function normalizeKeys(row: Record<string, unknown>, columns: string[]): Record<string, unknown> {
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

const INTERACTION_COLUMNS = Object.keys(interactionRow.shape);
const HOOK_EVENT_COLUMNS = Object.keys(hookEventRow.shape);

// ---------------------------------------------------------------------------------------------
// Reading objects
// ---------------------------------------------------------------------------------------------

class Skip extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Gunzips with a bound on the output, so that a gzip bomb is a skip, not an out-of-memory. */
export function gunzipBounded(bytes: Uint8Array, maxBytes = MAX_PART_BYTES): Buffer {
  try {
    return zlib.gunzipSync(bytes, { maxOutputLength: maxBytes });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_BUFFER_TOO_LARGE' || (err instanceof RangeError && /larger than|maxOutputLength/i.test(err.message))) {
      throw new Skip('part-too-large', `gunzipped part exceeds ${maxBytes} bytes`);
    }
    throw new Skip('corrupt-gzip', `not a valid gzip stream (${(err as Error).message.slice(0, 120)})`);
  }
}

/** Parses NDJSON into objects; a line that is not a JSON object is counted, not fatal. */
export function parseNdjson(body: Buffer): { rows: Record<string, unknown>[]; badLines: number } {
  const rows: Record<string, unknown>[] = [];
  let badLines = 0;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw new Skip('invalid-utf8', 'part is not valid UTF-8');
  }
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const v = JSON.parse(line) as unknown;
      if (v && typeof v === 'object' && !Array.isArray(v)) rows.push(v as Record<string, unknown>);
      else badLines += 1;
    } catch {
      badLines += 1;
    }
  }
  return { rows, badLines };
}

interface ValidManifest {
  key: string;
  sha256: string;
  manifest: SessionManifest & { usage?: unknown[] };
  parts: Record<Dataset, (ManifestPart & { file: string })[]>;
}

/** Checks a manifest against the key it was found under; throws Skip on anything off. */
export function validateManifest(key: string, bytes: Uint8Array): ValidManifest {
  const where = parseKey(key);
  if (where?.dataset !== 'sessions' || where.file !== 'session.json') throw new Skip('not-a-layout-key', 'not a session manifest key');
  if (bytes.length > MAX_MANIFEST_BYTES) throw new Skip('manifest-too-large', `manifest is ${bytes.length} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    throw new Skip('manifest-invalid', `session.json is not valid JSON (${(err as Error).message.slice(0, 120)})`);
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Skip('manifest-invalid', `session.json: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid'}`);
  }
  const m = parsed.data;
  if (m.sessionId !== where.sessionId || m.host !== where.host || m.date !== where.date) {
    throw new Skip('manifest-mismatch', 'the session, host or date inside session.json differs from its key');
  }
  const parts = { interactions: [], hook_events: [] } as Record<Dataset, (ManifestPart & { file: string })[]>;
  for (const dataset of DATASETS) {
    for (const p of m.parts[dataset]) {
      const at = parseKey(p.key);
      const file = at ? PART_FILE.exec(at.file) : null;
      // A part must live in this very session's prefix of its dataset: a manifest cannot point a
      // reader at another session's (or another host's) objects.
      if (!at || !file || at.dataset !== dataset || at.sessionId !== where.sessionId || at.host !== where.host || at.date !== where.date) {
        throw new Skip('manifest-invalid', `part key outside this session's ${dataset} prefix`);
      }
      const first = Number(file[1]);
      const last = file[2] === undefined ? first : Number(file[2]);
      if (first !== p.first || last !== p.last || p.last < p.first) throw new Skip('manifest-invalid', `part ${at.file} does not cover ${p.first}-${p.last}`);
      parts[dataset].push({ ...p, file: at.file });
    }
    parts[dataset].sort((a, b) => a.first - b.first || b.last - a.last);
  }
  return { key, sha256: sha256Hex(bytes), manifest: m as unknown as ValidManifest['manifest'], parts };
}

// ---------------------------------------------------------------------------------------------
// Listing
// ---------------------------------------------------------------------------------------------

function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** The listing prefixes for a request: one per day for a short --since, else the whole dataset. */
export function manifestPrefixes(req: PullRequest, now: number): { prefixes: string[]; sinceDay: string | null } {
  if (req.host !== undefined && !HOST.test(req.host)) {
    throw new PullRequestError(
      `--host "${req.host.slice(0, 80)}" is not a host partition: use letters, digits, '.', '_' and '-' (as rbk sessions shows hosts)`,
    );
  }
  const root = `${LAYOUT_VERSION}/sessions/`;
  if (req.sinceMs === undefined) return { prefixes: [root], sinceDay: null };
  if (!Number.isFinite(req.sinceMs) || req.sinceMs > now + 86_400_000)
    throw new PullRequestError('--since is in the future; give a past time such as 7d or 2026-05-01');
  const sinceDay = utcDay(Math.max(req.sinceMs, 0));
  const days: string[] = [];
  for (let d = Date.parse(`${sinceDay}T00:00:00Z`); d <= now + 86_400_000 && days.length <= MAX_DAY_PREFIXES; d += 86_400_000) days.push(utcDay(d));
  if (days.length > MAX_DAY_PREFIXES) return { prefixes: [root], sinceDay };
  return { prefixes: days.map((d) => `${root}date=${d}/${req.host !== undefined ? `host=${req.host}/` : ''}`), sinceDay };
}

// ---------------------------------------------------------------------------------------------
// Storing
// ---------------------------------------------------------------------------------------------

/** A session.json found by the listing, with its version and the ids its key names. */
interface ListedManifest {
  key: string;
  version: string | null;
  sessionId: string;
  host: string;
}

/** What this machine's sessions table says of a session a manifest names. */
interface LocalSession {
  pulled_from: string | null;
  expired_at: number | null;
}

interface PullState {
  session_id: string;
  host: string;
  manifest_sha256: string | null;
  manifest_version: string | null;
  interactions_through: number;
  hook_events_through: number;
}

function statements(db: Db) {
  return {
    local: db.prepare('SELECT pulled_from, expired_at FROM sessions WHERE id = ?'),
    state: db.prepare(
      'SELECT session_id, host, manifest_sha256, manifest_version, interactions_through, hook_events_through FROM pull_sessions WHERE session_id = ?',
    ),
    insertSession: db.prepare(`
      INSERT INTO sessions (id, host, origin, pulled_from, status, created_at, updated_at)
      VALUES (@id, @host, 'pull', @host, 'ended', @now, @now)`),
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
    insertInteraction: db.prepare(`
      INSERT OR IGNORE INTO interactions (uuid, block_index, session_id, agent_id, kind, subtype, ts, text, text_length,
        tool_name, tool_use_id, tool_input, is_error, tool_use_result, spawned_agent_id, data, parent_uuid,
        logical_parent_uuid, is_sidechain, is_meta, is_compact_summary, hidden, request_id, message_id, model, cwd,
        git_branch, cc_version, prompt_id, source_path, raw, ingested_at)
      VALUES (@uuid, @block_index, @session_id, @agent_id, @kind, @subtype, @ts, @text, @text_length,
        @tool_name, @tool_use_id, @tool_input, @is_error, @tool_use_result, @spawned_agent_id, @data, @parent_uuid,
        @logical_parent_uuid, @is_sidechain, @is_meta, @is_compact_summary, @hidden, @request_id, @message_id, @model, @cwd,
        @git_branch, @cc_version, @prompt_id, @source_path, NULL, @now)`),
    insertHookEvent: db.prepare(`
      INSERT OR IGNORE INTO hook_events (event_id, session_id, event_name, tool_name, tool_use_id, prompt_id, agent_id,
        hook_started_at, sent_at, received_at, via, payload, payload_bytes, problem)
      VALUES (@event_id, @session_id, @event_name, @tool_name, @tool_use_id, @prompt_id, @agent_id,
        @hook_started_at, @sent_at, @received_at, @via, @payload, @payload_bytes, @problem)`),
    usageKeys: db.prepare(`
      SELECT message_id, request_id, MIN(ts) AS ts, MAX(agent_id) AS agent_id, MAX(is_sidechain) AS is_sidechain
      FROM interactions WHERE session_id = ? AND model = ? AND message_id IS NOT NULL
      GROUP BY message_id, request_id ORDER BY MIN(ts), message_id`),
    deleteUsage: db.prepare('DELETE FROM message_usage WHERE session_id = ?'),
    insertUsage: db.prepare(`
      INSERT OR IGNORE INTO message_usage (usage_key, message_id, request_id, session_id, agent_id, is_sidechain, model, ts,
        input_tokens, output_tokens, cache_creation_tokens, cache_creation_5m_tokens, cache_creation_1h_tokens,
        cache_read_tokens, cost_usd, pricing_version)
      VALUES (@usage_key, @message_id, @request_id, @session_id, @agent_id, @is_sidechain, @model, @ts,
        @input_tokens, @output_tokens, @cache_creation_tokens, @cache_creation_5m_tokens, @cache_creation_1h_tokens,
        @cache_read_tokens, @cost_usd, 'pulled')`),
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
    recount: db.prepare(`
      UPDATE sessions SET
        interactions = (SELECT count(*) FROM interactions WHERE session_id = @id AND hidden = 0),
        hook_events = (SELECT count(*) FROM hook_events WHERE session_id = @id),
        cost_usd = @cost, cost_complete = @complete, updated_at = @now
      WHERE id = @id AND pulled_from IS NOT NULL AND (
        interactions IS NOT (SELECT count(*) FROM interactions WHERE session_id = @id AND hidden = 0)
        OR hook_events IS NOT (SELECT count(*) FROM hook_events WHERE session_id = @id)
        OR cost_usd IS NOT @cost OR cost_complete IS NOT @complete)`),
  };
}

type Stmts = ReturnType<typeof statements>;

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
  return out;
}

function updateSession(db: Db, id: string, host: string, fields: Record<string, unknown>, now: number): boolean {
  const cols = Object.keys(fields).filter((c) => Object.hasOwn(SESSION_COLUMNS, c));
  if (cols.length === 0) return false;
  // Column names come from SESSION_COLUMNS (a constant), never from the manifest; values are bound.
  const changed = cols.map((c) => `${c} IS NOT @${c}`).join(' OR ');
  const sql = `UPDATE sessions SET ${cols.map((c) => `${c} = @${c}`).join(', ')}, updated_at = @now
               WHERE id = @id AND pulled_from = @host AND (${changed})`;
  return db.prepare(sql).run({ ...fields, id, host, now }).changes > 0;
}

/** A part's row, validated and belonging to the part's session; null (and counted) otherwise. */
function sessionRow<S extends z.ZodType<{ session_id?: string | null }>>(
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

function insertRows(
  stmts: Stmts,
  dataset: Dataset,
  rows: Record<string, unknown>[],
  sessionId: string,
  partKey: string,
  now: number,
  skipped: (reason: string, n?: number) => void,
): number {
  let added = 0;
  for (const raw of rows) {
    if (dataset === 'interactions') {
      const v = sessionRow(interactionRow, INTERACTION_COLUMNS, raw, sessionId, skipped);
      if (!v) continue;
      const body = v.text ?? '';
      added += stmts.insertInteraction.run({
        ...Object.fromEntries(INTERACTION_COLUMNS.map((c) => [c, (v as Record<string, unknown>)[c] ?? null])),
        session_id: sessionId,
        text: body,
        text_length: body.length,
        is_sidechain: v.is_sidechain ?? 0,
        is_meta: v.is_meta ?? 0,
        is_compact_summary: v.is_compact_summary ?? 0,
        hidden: v.hidden ?? 0,
        source_path: partKey,
        now,
      }).changes;
    } else {
      const v = sessionRow(hookEventRow, HOOK_EVENT_COLUMNS, raw, sessionId, skipped);
      if (!v) continue;
      added += stmts.insertHookEvent.run({
        ...Object.fromEntries(HOOK_EVENT_COLUMNS.map((c) => [c, (v as Record<string, unknown>)[c] ?? null])),
        session_id: sessionId,
        via: v.via,
        payload_bytes: v.payload_bytes ?? Buffer.byteLength(v.payload),
      }).changes;
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
function replaceUsage(
  stmts: Stmts,
  raw: unknown[],
  sessionId: string,
  skipped: (reason: string, n?: number) => void,
): { rows: number; cost: number | null; complete: number } {
  stmts.deleteUsage.run(sessionId);
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
      rows += stmts.insertUsage.run({
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
        cost_usd: u.cost_usd === null ? null : first ? u.cost_usd : 0,
      }).changes;
    }
  }
  return { rows, cost: complete ? Math.round(cost * 1e10) / 1e10 : null, complete };
}

// ---------------------------------------------------------------------------------------------
// The pull
// ---------------------------------------------------------------------------------------------

export async function pullCentralCopy(env: PullEnv, req: PullRequest, onProgress: (p: PullProgress) => void = () => {}): Promise<PullProgress> {
  const now = env.now ?? Date.now;
  const { db, backend, log } = env;
  const progress: PullProgress = {
    phase: 'listing',
    manifestsTotal: 0,
    manifestsDone: 0,
    sessionsAdded: 0,
    sessionsUpdated: 0,
    sessionsUnchanged: 0,
    partsFetched: 0,
    bytesFetched: 0,
    interactionsAdded: 0,
    hookEventsAdded: 0,
    usageRows: 0,
    hosts: [],
    skipped: {},
    problems: [],
    startedAt: now(),
  };
  const hosts = new Set<string>();
  const skip = (reason: string, n = 1) => {
    progress.skipped[reason] = (progress.skipped[reason] ?? 0) + n;
  };
  const problem = (key: string, reason: string, detail: string) => {
    skip(reason);
    if (progress.problems.length < MAX_PROBLEMS) progress.problems.push({ key: key.slice(0, 512), reason, detail: detail.slice(0, 300) });
    log.warn('pull skipped an object', { key: key.slice(0, 512), reason, detail: detail.slice(0, 300) });
  };

  const { prefixes, sinceDay } = manifestPrefixes(req, now());
  onProgress({ ...progress });
  const manifests: ListedManifest[] = [];
  for (const prefix of prefixes) {
    env.signal?.throwIfAborted();
    for (const o of await backend.list(prefix)) {
      if (!o.key.endsWith('/session.json')) continue;
      const at = parseKey(o.key);
      if (at?.dataset !== 'sessions' || at.file !== 'session.json') {
        problem(o.key, 'not-a-layout-key', 'a session.json whose key is not <prefix>/v1/sessions/date=/host=/session=<safe id>/');
        continue;
      }
      if (sinceDay !== null && at.date < sinceDay) continue;
      if (req.host !== undefined && at.host !== req.host) continue;
      if (at.host === env.selfHost) {
        skip('own-host');
        continue;
      }
      manifests.push({ key: o.key, version: o.version ?? null, sessionId: at.sessionId, host: at.host });
    }
  }
  progress.phase = 'pulling';
  progress.manifestsTotal = manifests.length;
  onProgress({ ...progress });

  const stmts = statements(db);
  for (const listed of manifests) {
    const { key, version } = listed;
    env.signal?.throwIfAborted();
    try {
      if (unchangedSinceLastPull(stmts, listed, hosts)) progress.sessionsUnchanged += 1;
      else await pullSession(env, stmts, key, version, progress, skip, problem, now, hosts);
    } catch (err) {
      if (err instanceof Skip) problem(key, err.reason, err.message);
      else if (env.signal?.aborted) throw err;
      else {
        // A backend error (network, permissions) on one session: counted, and the next one tried.
        problem(key, 'backend-error', (err as Error).message ?? String(err));
      }
    }
    progress.manifestsDone += 1;
    progress.hosts = [...hosts].sort();
    onProgress({ ...progress });
  }
  progress.phase = 'done';
  progress.hosts = [...hosts].sort();
  onProgress({ ...progress });
  return progress;
}

/**
 * A manifest listed with the version it had when a pull last stored it in full, for a session
 * still pulled here from that host: nothing to read. Without this every pull would GET every
 * manifest of the bucket, one request per session of the whole team, to find most unchanged.
 */
function unchangedSinceLastPull(stmts: Stmts, listed: ListedManifest, hosts: Set<string>): boolean {
  if (listed.version === null) return false;
  const state = stmts.state.get(listed.sessionId) as PullState | undefined;
  if (!state || state.manifest_sha256 === null || state.manifest_version !== listed.version || state.host !== listed.host) return false;
  const local = stmts.local.get(listed.sessionId) as LocalSession | undefined;
  if (!local || local.pulled_from !== listed.host || local.expired_at !== null) return false;
  hosts.add(listed.host);
  return true;
}

async function pullSession(
  env: PullEnv,
  stmts: Stmts,
  key: string,
  version: string | null,
  progress: PullProgress,
  skip: (reason: string, n?: number) => void,
  problem: (key: string, reason: string, detail: string) => void,
  now: () => number,
  hosts: Set<string>,
): Promise<void> {
  const { db, backend } = env;
  const bytes = await backend.get(key);
  if (bytes === null) throw new Skip('manifest-missing', 'session.json was listed but is gone (deleted meanwhile?)');
  progress.bytesFetched += bytes.length;
  const v = validateManifest(key, bytes);
  const m = v.manifest;
  hosts.add(m.host);

  const local = stmts.local.get(m.sessionId) as LocalSession | undefined;
  if (local && local.pulled_from === null) {
    skip('local-session');
    return;
  }
  if (local && local.pulled_from !== m.host) throw new Skip('other-origin', `already pulled from host ${local.pulled_from}`);
  if (local && local.expired_at !== null) {
    skip('expired-locally');
    return;
  }
  const state = stmts.state.get(m.sessionId) as PullState | undefined;
  if (state && state.manifest_sha256 === v.sha256) {
    // Replaced by identical bytes (or first seen since versions were kept): the next pull skips it.
    if (version !== null) stmts.sameManifest.run({ id: m.sessionId, version });
    progress.sessionsUnchanged += 1;
    return;
  }

  // The session row goes in with the first rows stored (or at the end when the manifest lists no
  // parts): a session none of whose parts could be read is not shown as an empty one. From then on
  // hooks and transcripts of this machine see it as pulled. Its counts and totals are the
  // origin's, as of this manifest.
  const fields = sessionFields(m);
  let added = false;
  let updated = false;
  let ready = false;
  const ensureSession = () => {
    if (ready) return;
    ready = true;
    if (!local) {
      stmts.insertSession.run({ id: m.sessionId, host: m.host, now: now() });
      added = true;
    }
    stmts.upsertState.run({ id: m.sessionId, host: m.host, key, now: now() });
    if (updateSession(db, m.sessionId, m.host, fields, now())) updated = true;
  };

  const through = { interactions: state?.interactions_through ?? 0, hook_events: state?.hook_events_through ?? 0 };
  let failed = false;
  let rowsAdded = 0;
  for (const dataset of DATASETS) {
    // Set once a part of this dataset could not be stored: later parts are still stored (rows
    // are idempotent), but the watermark stays below the gap so that the next pull retries it.
    let gap = false;
    for (const part of v.parts[dataset]) {
      env.signal?.throwIfAborted();
      // Already pulled (a compacted part covering parts we have adds nothing either).
      if (part.last <= through[dataset]) continue;
      let rows: Record<string, unknown>[];
      try {
        const body = await backend.get(part.key);
        if (body === null) throw new Skip('part-missing', `${part.file} is listed in session.json but not in the bucket`);
        progress.bytesFetched += body.length;
        const sha = sha256Hex(body);
        if (sha !== part.sha256)
          throw new Skip('checksum-mismatch', `${part.file}: sha256 ${sha.slice(0, 12)}… is not the manifest's ${part.sha256.slice(0, 12)}…`);
        const parsed = parseNdjson(gunzipBounded(body, env.maxPartBytes ?? MAX_PART_BYTES));
        if (parsed.badLines > 0) skip('row-invalid', parsed.badLines);
        rows = parsed.rows;
      } catch (err) {
        if (!(err instanceof Skip)) throw err;
        problem(part.key, err.reason, err.message);
        gap = true;
        failed = true;
        continue;
      }
      progress.partsFetched += 1;
      const advance = !gap && part.first <= through[dataset] + 1;
      // Rows and the watermark in one transaction: a kill leaves either both or neither.
      const n = db
        .transaction(() => {
          ensureSession();
          const inserted = insertRows(stmts, dataset, rows, m.sessionId, part.key, now(), skip);
          if (advance) stmts.advance[dataset].run({ id: m.sessionId, through: part.last });
          return inserted;
        })
        .immediate();
      if (advance) through[dataset] = Math.max(through[dataset], part.last);
      else gap = true;
      rowsAdded += n;
      if (dataset === 'interactions') progress.interactionsAdded += n;
      else progress.hookEventsAdded += n;
    }
  }
  // Usage, token totals and counts, once the rows are in: one transaction.
  if (!ready && failed) return;
  const final = db
    .transaction(() => {
      ensureSession();
      const usage = replaceUsage(stmts, m.usage ?? [], m.sessionId, skip);
      stmts.subagents.run({ id: m.sessionId });
      const changed = stmts.recount.run({ id: m.sessionId, cost: usage.cost, complete: usage.complete, now: now() }).changes > 0;
      return { usage: usage.rows, changed };
    })
    .immediate();
  progress.usageRows += final.usage;
  if (final.changed) updated = true;
  // Only a manifest pulled in full is remembered as done; otherwise the next pull tries again.
  // Its listed version too, which may be older than what was read (replaced between the LIST and
  // the GET): then the next pull reads it again, and never skips a manifest it has not stored.
  if (!failed) stmts.manifestDone.run({ id: m.sessionId, sha: v.sha256, version, now: now() });
  if (added) progress.sessionsAdded += 1;
  else if (updated || rowsAdded > 0) progress.sessionsUpdated += 1;
  else progress.sessionsUnchanged += 1;
}

// ---------------------------------------------------------------------------------------------
// In the daemon (the Pull RPC)
// ---------------------------------------------------------------------------------------------

export const pullRequestSchema = forRequest<PullRequest__Output>()(
  z.object({
    sinceUnixMs: z.number().int().min(0).default(0),
    host: z.string().max(253).default(''),
  }),
);

/** This machine's host partition: the value its own uploads carry, never pulled back. */
export function selfHostPartition(): string {
  return hostPartition(localHostname());
}

/** How often progress goes out, at most (the final message always does). */
const PROGRESS_EVERY_MS = 100;

export interface PullDaemonContext {
  db: Db;
  log: Logger;
  /** The central copy's backend (DaemonContext.storage); null when the config names none that works. */
  storage: StorageBackend | null;
  sync: { engine: { backendError: string | null } };
}

/** Runs a pull with the daemon's backend; resolves with the final message (phase "done"). */
export async function pullForDaemon(
  ctx: PullDaemonContext,
  req: z.infer<typeof pullRequestSchema>,
  send: (p: PullProgressWire) => void,
): Promise<PullProgressWire> {
  const backend = ctx.storage;
  if (!backend) {
    throw new UserError(
      `${ctx.sync.engine.backendError ?? 'no storage backend'}; set integrations.claude.sessionStorage (backend and s3.bucket) to the central copy's bucket and restart rbkd`,
      'precondition',
    );
  }
  const toProto = (p: PullProgress): PullProgressWire => ({ ...p, startedUnixMs: p.startedAt, backend: backend.name, location: backend.location });
  let last = 0;
  const final = await pullCentralCopy(
    { db: ctx.db, backend, selfHost: selfHostPartition(), log: ctx.log.child({ mod: 'pull' }) },
    { sinceMs: req.sinceUnixMs > 0 ? req.sinceUnixMs : undefined, host: req.host || undefined },
    (p) => {
      const t = Date.now();
      if (p.phase === 'done' || t - last < PROGRESS_EVERY_MS) return;
      last = t;
      send(toProto(p));
    },
  );
  ctx.log.info('pull done', { manifests: final.manifestsTotal, added: final.sessionsAdded, updated: final.sessionsUpdated, skipped: final.skipped });
  return toProto(final);
}
