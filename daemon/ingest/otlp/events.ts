// Decoded OTLP records → telemetry_events rows (daemon/store/telemetry.ts).
//
// - Claude Code's log records (service.name claude-code): every event is kept, with the columns
//   that usage, `sessions show` and the console read (tokens and cost of api_request, duration and
//   success of tool_result, the decision of tool_decision) pulled out of the attributes.
// - Any agent's GenAI spans (gen_ai.* attributes, the OpenTelemetry GenAI semantic conventions):
//   the session is gen_ai.conversation.id, else the trace; tokens from gen_ai.usage.*.
// - Other log records with an event name are kept as events of agent otel:<service.name>; records
//   with no event name and spans with no gen_ai.* attribute are application logging and tracing,
//   not agent activity: they are counted and skipped.
//
// Ids that would end up in a session id (and so, later, in file names and object keys) must pass
// isSafeId; a record whose session id does not is skipped and counted, never stored under it.
import { parseTimestamp } from '../transcripts/parse.js';
import { agentOfService } from '../../../common/agents.js';
import crypto from 'node:crypto';
import { isSafeId } from '../../../common/ids.js';
import type { Attrs, AttrValue, DecodedOtlp, OtlpLogRecord, OtlpSpan } from './decode.js';

export interface TelemetryEvent {
  eventKey: Buffer;
  signal: 'log' | 'span';
  agent: string;
  service: string;
  name: string;
  sessionId: string | null;
  promptId: string | null;
  toolUseId: string | null;
  toolName: string | null;
  ts: number | null;
  seq: number | null;
  model: string | null;
  querySource: string | null;
  inputTokens: number | null;
  outputTokens: number | null;
  cacheReadTokens: number | null;
  cacheCreationTokens: number | null;
  costUsd: number | null;
  durationMs: number | null;
  success: number | null;
  decision: string | null;
  decisionSource: string | null;
  error: string | null;
  /** The whole record (resource, attributes, body), before redaction. */
  detail: { resource: Attrs; attributes: Attrs; body?: AttrValue; events?: unknown };
  /** The agent's own version (service.version), for a session telemetry creates. */
  agentVersion: string | null;
}

export type SkipReason = 'no_event_name' | 'not_gen_ai' | 'unsafe_id';

export interface MappedTelemetry {
  events: TelemetryEvent[];
  skipped: Partial<Record<SkipReason, number>>;
  /** Metric data points received (counted, not stored: the events carry the same figures). */
  metricPoints: number;
}

const CLAUDE_EVENT_PREFIX = 'claude_code.';
const MAX_TEXT = 512;

const str = (v: AttrValue | undefined): string | null =>
  typeof v === 'string' && v.length > 0 ? v.slice(0, MAX_TEXT) : typeof v === 'number' ? String(v) : null;
function num(v: AttrValue | undefined): number | null {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
  return Number.isFinite(n) ? n : null;
}
function int(v: AttrValue | undefined): number | null {
  const n = num(v);
  return n === null ? null : Math.max(0, Math.round(n));
}
function bool(v: AttrValue | undefined): number | null {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v === 'true') return 1;
  if (v === 'false') return 0;
  return null;
}

function keyOf(parts: unknown[]): Buffer {
  return crypto.hash('sha256', JSON.stringify(parts), 'buffer').subarray(0, 16);
}

/**
 * A record's identity. Claude Code numbers its records (event.sequence, per process) and stamps
 * them (event.timestamp): with the session and the prompt that names one record, so the key is
 * those few fields rather than the whole record (hashing every attribute was a third of the
 * receiver's time). Other agents' records are keyed by everything they carry.
 */
function logKey(r: OtlpLogRecord, name: string): Buffer {
  const a = r.attributes;
  const seq = a['event.sequence'];
  if (seq !== undefined && seq !== null && a['session.id'] !== undefined) {
    return keyOf(['log-seq', r.resource['service.name'] ?? null, a['session.id'], a['prompt.id'] ?? null, seq, a['event.timestamp'] ?? null, r.timeMs, name]);
  }
  return keyOf(['log', r.resource, r.scope, r.timeMs, name, r.body, r.attributes, r.traceId, r.spanId]);
}

function fromLogRecord(r: OtlpLogRecord): TelemetryEvent | SkipReason {
  const service = str(r.resource['service.name']) ?? 'unknown_service';
  let name = r.eventName ?? (typeof r.body === 'string' && r.body.startsWith(CLAUDE_EVENT_PREFIX) ? r.body : null);
  if (!name) return 'no_event_name';
  if (name.startsWith(CLAUDE_EVENT_PREFIX)) name = name.slice(CLAUDE_EVENT_PREFIX.length);
  const a = r.attributes;
  const session = a['session.id'] ?? a['gen_ai.conversation.id'] ?? null;
  if (session !== null && !isSafeId(session)) return 'unsafe_id';
  const toolUseId = str(a.tool_use_id) ?? str(a['gen_ai.tool.call.id']);
  if (toolUseId !== null && !isSafeId(toolUseId)) return 'unsafe_id';
  const promptId = str(a['prompt.id']);
  // One literal with every field (no spread of defaults): a spread here cost 50 µs per record.
  return {
    eventKey: logKey(r, name),
    signal: 'log',
    agent: agentOfService(service),
    service: service.slice(0, 200),
    name: name.slice(0, 200),
    sessionId: (session as string | null) ?? null,
    promptId: promptId && isSafeId(promptId) ? promptId : null,
    toolUseId,
    toolName: str(a.tool_name) ?? str(a['gen_ai.tool.name']),
    // The agent's own stamp of the event, else the record's time.
    ts: parseTimestamp(a['event.timestamp']) ?? r.timeMs,
    seq: int(a['event.sequence']),
    model: str(a.model) ?? str(a['gen_ai.response.model']) ?? str(a['gen_ai.request.model']),
    querySource: str(a.query_source),
    inputTokens: int(a.input_tokens) ?? int(a['gen_ai.usage.input_tokens']),
    outputTokens: int(a.output_tokens) ?? int(a['gen_ai.usage.output_tokens']),
    cacheReadTokens: int(a.cache_read_tokens),
    cacheCreationTokens: int(a.cache_creation_tokens),
    costUsd: num(a.cost_usd),
    durationMs: num(a.duration_ms),
    success: bool(a.success),
    decision: str(a.decision),
    decisionSource: str(a.source),
    error: str(a.error) ?? str(a.error_type) ?? str(a['error.type']),
    detail: { resource: r.resource, attributes: r.attributes, body: r.body },
    agentVersion: str(r.resource['service.version']),
  };
}

function fromSpan(s: OtlpSpan): TelemetryEvent | SkipReason {
  const a = s.attributes;
  if (!Object.keys(a).some((k) => k.startsWith('gen_ai.'))) return 'not_gen_ai';
  const service = str(s.resource['service.name']) ?? 'unknown_service';
  const conversation = a['gen_ai.conversation.id'] ?? a['session.id'] ?? null;
  if (conversation !== null && !isSafeId(conversation)) return 'unsafe_id';
  if (!isSafeId(s.traceId)) return 'unsafe_id';
  const toolUseId = str(a['gen_ai.tool.call.id']);
  const duration = s.startMs !== null && s.endMs !== null ? Math.max(0, s.endMs - s.startMs) : null;
  return {
    eventKey: keyOf(['span', s.traceId, s.spanId]),
    signal: 'span',
    agent: agentOfService(service),
    service: service.slice(0, 200),
    name: s.name.slice(0, 200),
    sessionId: (conversation as string | null) ?? s.traceId,
    toolUseId: toolUseId && isSafeId(toolUseId) ? toolUseId : null,
    toolName: str(a['gen_ai.tool.name']),
    ts: s.startMs,
    seq: null,
    promptId: null,
    cacheReadTokens: null,
    cacheCreationTokens: null,
    costUsd: null,
    decision: null,
    decisionSource: null,
    model: str(a['gen_ai.response.model']) ?? str(a['gen_ai.request.model']),
    querySource: str(a['gen_ai.operation.name']),
    inputTokens: int(a['gen_ai.usage.input_tokens']),
    outputTokens: int(a['gen_ai.usage.output_tokens']),
    durationMs: duration,
    success: s.statusCode === 2 ? 0 : 1,
    error: s.statusCode === 2 ? (s.statusMessage ?? str(a['error.type'])) : null,
    detail: { resource: s.resource, attributes: s.attributes, events: s.events },
    agentVersion: str(s.resource['service.version']),
  };
}

export function mapTelemetry(decoded: DecodedOtlp): MappedTelemetry {
  const out: MappedTelemetry = { events: [], skipped: {}, metricPoints: 0 };
  const take = (e: TelemetryEvent | SkipReason) => {
    if (typeof e === 'string') out.skipped[e] = (out.skipped[e] ?? 0) + 1;
    else out.events.push(e);
  };
  if (decoded.signal === 'logs') for (const r of decoded.records) take(fromLogRecord(r));
  else if (decoded.signal === 'traces') for (const s of decoded.spans) take(fromSpan(s));
  else out.metricPoints = decoded.dataPoints;
  return out;
}
