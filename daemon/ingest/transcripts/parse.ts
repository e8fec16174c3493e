// One transcript line in, normalized facts out. No I/O and no database.
//
// The transcript format is internal to Claude Code and has changed between versions (1.0.x to
// 2.1.x), so this parser is lenient: it picks the fields it knows, keeps the parsed object as
// `entry` for raw storage, and never throws on unexpected shapes. Unknown line types come back
// as known:false with no interactions.
//
// Cost matters: import throughput must stay within 2x of a bare JSON.parse loop, so every line
// is decoded and parsed once, nothing large is re-serialized unless it is stored (tool inputs and
// structured tool results), and text fields are capped.
//
// Decisions worth knowing:
// - Interactions are only produced for conversation lines (user, assistant, system, attachment).
//   They all have a uuid in every version seen; if one lacks it (or it is not a safe id) the key
//   is `syn-` + a hash of the line's bytes, so re-reading the same bytes yields the same key.
//   Lines that never have a uuid (summary, file-history-snapshot, queue-operation, titles,
//   last-prompt, mode, …) are not interactions: they are metadata, reported via sessionMeta.
//   `progress` lines have uuids but are hook/bash/subagent progress noise (1697 of 2385 lines in
//   a real 2.1.39 session), so they are reported via `progress`, not as interactions.
// - Invalid UTF-8 is detected only when the decoded text contains U+FFFD (cheap check), then
//   confirmed with buffer.isUtf8. The line is still parsed with replacement characters and
//   flagged (invalidUtf8 + problem), unless ctx.rejectInvalidUtf8 asks for a failure.
// - Oversized lines (skipped by the reader) become { ok:false, reason:'oversized' } via
//   parseLineRecord.
import { interpretCodex } from './codex.js';
import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { isSafeId } from '../../../common/ids.js';
import type { LineRecord } from './reader.js';
import type {
  CompactionInfo,
  Interaction,
  InteractionKind,
  LineProblem,
  ParseContext,
  ParsedEntry,
  ParsedLine,
  ParseFailure,
  ProgressInfo,
  SessionMeta,
  TranscriptEntry,
  UsageRecord,
} from './types.js';

export { usageKey, mergeUsage } from './usage.js';

/** Maximum characters of display text per interaction (a note is appended when cut). */
export const TEXT_LIMIT = 64 * 1024;
/** Maximum characters of JSON kept for toolInput / toolUseResult / data. */
export const JSON_LIMIT = 256 * 1024;
/** Inside oversized JSON values, strings longer than this are cut (keeps the JSON valid). */
const JSON_STRING_LIMIT = 16 * 1024;
/** Short metadata strings (titles, names, modes). */
const META_LIMIT = 4 * 1024;

/** Every line type seen in real transcripts from 1.0.17 to 2.1.x. Others are kept raw. */
export const KNOWN_LINE_TYPES: ReadonlySet<string> = new Set([
  'user',
  'assistant',
  'system',
  'attachment',
  'progress',
  'summary',
  'file-history-snapshot',
  'queue-operation',
  'last-prompt',
  'custom-title',
  'ai-title',
  'agent-name',
  'mode',
  'permission-mode',
  'pr-link',
  'teleported-from',
]);

const CONVERSATION_TYPES: ReadonlySet<string> = new Set(['user', 'assistant', 'system', 'attachment', 'progress']);

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

function boundedStr(v: unknown, limit: number): string | null {
  if (typeof v !== 'string') return null;
  return v.length > limit ? v.slice(0, limit) : v;
}

/** A non-negative integer token count; anything else counts as 0. */
function count(v: unknown): number {
  return typeof v === 'number' && v > 0 && Number.isFinite(v) ? Math.floor(v) : 0;
}

function safeIdOrNull(v: unknown): string | null {
  return isSafeId(v) ? v : null;
}

/** Identifiers such as toolu_… that are keys but never paths: bounded, printable. */
function opaqueId(v: unknown): string | null {
  return typeof v === 'string' && v.length > 0 && v.length <= 256 ? v : null;
}

/** Caps display text and says how much was cut. */
export function boundText(s: string, limit: number = TEXT_LIMIT): string {
  if (s.length <= limit) return s;
  return `${s.slice(0, limit)}\n…[truncated: ${s.length} characters in total]`;
}

function truncatingReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'string' && value.length > JSON_STRING_LIMIT) {
    return `${value.slice(0, JSON_STRING_LIMIT)}…[truncated: ${value.length} characters in total]`;
  }
  return value;
}

/**
 * JSON text of `value`, at most about `limit` characters, always valid JSON.
 *
 * `sizeHint` is the byte length of the line the value came from. When it is within the limit
 * the value cannot be bigger, so a plain stringify is used; otherwise long strings inside are cut
 * while serializing (so a 50 MB file body is never copied whole), and if the result is still too
 * long it is replaced by {"$truncated":true,"length":N,"preview":"…"}.
 */
export function boundedJson(value: unknown, limit: number = JSON_LIMIT, sizeHint?: number): string | null {
  if (value === undefined) return null;
  let s: string | undefined;
  try {
    s = sizeHint !== undefined && sizeHint <= limit ? JSON.stringify(value) : JSON.stringify(value, truncatingReplacer);
  } catch {
    return null;
  }
  if (s === undefined) return null;
  if (s.length <= limit) return s;
  // Escaping can grow the preview (quotes become \"), so shrink it until the wrapper fits.
  let keep = Math.min(limit, TEXT_LIMIT);
  for (;;) {
    const wrapped = JSON.stringify({ $truncated: true, length: s.length, preview: s.slice(0, keep) });
    if (wrapped.length <= limit || keep === 0) return wrapped;
    keep = Math.floor(keep / 2);
  }
}

/** Key for a line that has no usable uuid: stable for identical bytes. */
export function syntheticLineKey(bytes: Buffer): string {
  return `syn-${createHash('sha256').update(bytes).digest('hex').slice(0, 32)}`;
}

function digits(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/**
 * Unix ms of an ISO timestamp. Claude Code always writes `YYYY-MM-DDTHH:MM:SS.sssZ`; decoding
 * that by hand is several times faster than Date.parse, which remains the fallback.
 */
export function parseTimestamp(v: unknown): number | null {
  if (typeof v !== 'string') return null;
  if (v.length === 24 && v.charCodeAt(23) === 90 /* Z */ && v.charCodeAt(10) === 84 /* T */ && v.charCodeAt(19) === 46 /* . */) {
    const y = digits(v, 0, 4);
    const mo = digits(v, 5, 7);
    const d = digits(v, 8, 10);
    const h = digits(v, 11, 13);
    const mi = digits(v, 14, 16);
    const se = digits(v, 17, 19);
    const ms = digits(v, 20, 23);
    if (y >= 0 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h >= 0 && h <= 23 && mi >= 0 && mi <= 59 && se >= 0 && se <= 59 && ms >= 0) {
      return Date.UTC(y, mo - 1, d, h, mi, se, ms);
    }
  }
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : t;
}

// Line-level context copied onto each interaction of the line.
interface LineBase {
  uuid: string;
  sessionId: string | null;
  timestamp: number | null;
  parentUuid: string | null;
  logicalParentUuid: string | null;
  isSidechain: boolean;
  agentId: string | null;
  isMeta: boolean;
  isCompactSummary: boolean;
  requestId: string | null;
  messageId: string | null;
  model: string | null;
  cwd: string | null;
  gitBranch: string | null;
  version: string | null;
  promptId: string | null;
}

/** An interaction with what it is and nothing else: every other field empty (null, false). */
export function bareInteraction(
  i: Pick<Interaction, 'uuid' | 'blockIndex' | 'sessionId' | 'kind' | 'subtype' | 'timestamp' | 'text'> & Partial<Interaction>,
): Interaction {
  return {
    textLength: i.text.length,
    toolName: null,
    toolUseId: null,
    toolInput: null,
    isError: null,
    toolUseResult: null,
    spawnedAgentId: null,
    data: null,
    parentUuid: null,
    logicalParentUuid: null,
    isSidechain: false,
    agentId: null,
    isMeta: false,
    isCompactSummary: false,
    requestId: null,
    messageId: null,
    model: null,
    cwd: null,
    gitBranch: null,
    version: null,
    promptId: null,
    ...i,
  };
}

function makeInteraction(base: LineBase, blockIndex: number, kind: InteractionKind, subtype: string | null, fullText: string): Interaction {
  return {
    uuid: base.uuid,
    blockIndex,
    sessionId: base.sessionId,
    kind,
    subtype,
    timestamp: base.timestamp,
    text: boundText(fullText),
    textLength: fullText.length,
    toolName: null,
    toolUseId: null,
    toolInput: null,
    isError: null,
    toolUseResult: null,
    spawnedAgentId: null,
    data: null,
    parentUuid: base.parentUuid,
    logicalParentUuid: base.logicalParentUuid,
    isSidechain: base.isSidechain,
    agentId: base.agentId,
    isMeta: base.isMeta,
    isCompactSummary: base.isCompactSummary,
    requestId: base.requestId,
    messageId: base.messageId,
    model: base.model,
    cwd: base.cwd,
    gitBranch: base.gitBranch,
    version: base.version,
    promptId: base.promptId,
  };
}

/**
 * Classifies user-side text. Claude Code stores slash commands, their output, bash-mode input
 * and interruption markers as ordinary user messages wrapped in tags; counting them as prompts
 * would inflate prompt counts and pollute search.
 */
function classifyUserText(text: string, isMeta: boolean, isCompactSummary: boolean): { kind: InteractionKind; subtype: string | null } {
  if (isCompactSummary) return { kind: 'compact_summary', subtype: null };
  const c = text.charCodeAt(0);
  if (c === 60 /* < */) {
    if (text.startsWith('<command-name>') || text.startsWith('<command-message>')) return { kind: 'command', subtype: 'slash_command' };
    if (text.startsWith('<local-command-stdout>') || text.startsWith('<local-command-stderr>')) return { kind: 'command_output', subtype: 'local_command' };
    if (text.startsWith('<bash-input>')) return { kind: 'command', subtype: 'bash' };
    if (text.startsWith('<bash-stdout>') || text.startsWith('<bash-stderr>')) return { kind: 'command_output', subtype: 'bash' };
    if (text.startsWith('<local-command-caveat>')) return { kind: 'meta', subtype: 'local_command_caveat' };
    if (text.startsWith('<task-notification>')) return { kind: 'meta', subtype: 'task_notification' };
    // What an IDE or Claude Code attaches to a prompt (the open file, the selection, reminders):
    // context, not something the user typed. A block that holds a prompt after it stays a prompt.
    const context = contextOnly(text);
    if (context) return { kind: 'meta', subtype: context };
  } else if (c === 91 /* [ */ && text.startsWith('[Request interrupted by user')) {
    return { kind: 'interrupt', subtype: null };
  }
  if (isMeta) return { kind: 'meta', subtype: null };
  return { kind: 'user_prompt', subtype: null };
}

/** Context elements Claude Code and its IDE extensions put in user messages. */
const CONTEXT_ELEMENT = /^\s*<(ide_[a-z_]+|system-reminder)>[\s\S]*?<\/\1>/;

/**
 * 'ide_context' or 'system_reminder' when the text is nothing but such elements (and whitespace),
 * else null. Bounded: at most 16 elements are stripped, each by one anchored match.
 */
export function contextOnly(text: string): 'ide_context' | 'system_reminder' | null {
  let rest = text;
  let first: string | null = null;
  for (let i = 0; i < 16; i++) {
    const m = CONTEXT_ELEMENT.exec(rest);
    if (!m) break;
    first ??= m[1]!;
    rest = rest.slice(m[0].length);
    if (rest.trim() === '') return first.startsWith('ide_') ? 'ide_context' : 'system_reminder';
  }
  return null;
}

/**
 * The web searches a WebSearch tool result reports: `searchCount` (recent Claude Code), else the
 * entries of `results` that carry the server's tool_use id (one per search). Null for any other
 * tool's result.
 */
export function webSearchCount(tur: unknown): number | null {
  if (!isObj(tur) || typeof tur.query !== 'string') return null;
  if (typeof tur.searchCount === 'number' && Number.isFinite(tur.searchCount) && tur.searchCount >= 0) return Math.min(Math.floor(tur.searchCount), 1000);
  if (!Array.isArray(tur.results)) return null;
  let n = 0;
  for (const r of tur.results) if (isObj(r) && typeof r.tool_use_id === 'string') n++;
  return n;
}

/** Text of a tool_result's content: a string, or text blocks joined (images noted). */
function toolResultText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let out = '';
  for (const block of content) {
    if (!isObj(block)) continue;
    let piece: string | null = null;
    if (block.type === 'text') piece = str(block.text);
    else if (block.type === 'image') piece = '[image]';
    else if (typeof block.type === 'string') piece = `[${block.type}]`;
    if (piece === null) continue;
    out = out.length === 0 ? piece : `${out}\n${piece}`;
    // Stop building once over the cap; boundText records that it was cut.
    if (out.length > TEXT_LIMIT) break;
  }
  return out;
}

// The input field that best says what a tool call did, per common tool.
const TOOL_SUMMARY_FIELDS = ['command', 'file_path', 'notebook_path', 'pattern', 'url', 'query', 'description', 'skill', 'prompt', 'path'] as const;

function toolUseSummary(input: unknown): string {
  if (!isObj(input)) return '';
  for (const f of TOOL_SUMMARY_FIELDS) {
    const v = input[f];
    if (typeof v === 'string' && v.length > 0) return v;
  }
  return '';
}

function usageFrom(message: Obj, base: LineBase): UsageRecord | null {
  const u = message.usage;
  if (!isObj(u)) return null;
  const model = base.model ?? '';
  const messageId = base.messageId ?? `line:${base.uuid}`;
  const record: UsageRecord = {
    messageId,
    requestId: base.requestId,
    model,
    inputTokens: 0,
    outputTokens: 0,
    cacheCreationTokens: 0,
    cacheCreation5mTokens: 0,
    cacheCreation1hTokens: 0,
    cacheReadTokens: 0,
    timestamp: base.timestamp,
    sessionId: base.sessionId,
    agentId: base.agentId,
    isSidechain: base.isSidechain,
  };
  // Synthetic messages (interruptions, API errors) were never billed, whatever they claim.
  if (model === '<synthetic>') return record;
  record.inputTokens = count(u.input_tokens);
  record.outputTokens = count(u.output_tokens);
  record.cacheCreationTokens = count(u.cache_creation_input_tokens);
  record.cacheReadTokens = count(u.cache_read_input_tokens);
  if (isObj(u.server_tool_use)) record.webSearchRequests = count(u.server_tool_use.web_search_requests);
  const split = u.cache_creation;
  if (isObj(split)) {
    record.cacheCreation5mTokens = count(split.ephemeral_5m_input_tokens);
    record.cacheCreation1hTokens = count(split.ephemeral_1h_input_tokens);
  } else {
    // Before the TTL split existed every cache write used the 5-minute TTL.
    record.cacheCreation5mTokens = record.cacheCreationTokens;
  }
  return record;
}

const SYSTEM_DATA_FIELDS = [
  'level',
  'durationMs',
  'messageCount',
  'hookCount',
  'hookInfos',
  'hookErrors',
  'preventedContinuation',
  'stopReason',
  'hasOutput',
  'toolUseID',
  'error',
  'retryAttempt',
  'maxRetries',
  'retryInMs',
  'cause',
  'compactMetadata',
] as const;

/** The system line's own fields, and for API errors the normalized detail (`apiError`), as JSON. */
function systemData(o: Obj, sizeHint: number, apiError: ApiErrorDetail | null = null): string | null {
  let picked: Obj | null = apiError ? { apiError } : null;
  for (const f of SYSTEM_DATA_FIELDS) {
    if (o[f] !== undefined) (picked ??= {})[f] = o[f];
  }
  return picked ? boundedJson(picked, JSON_LIMIT, sizeHint) : null;
}

function systemText(o: Obj, subtype: string | null): string {
  const content = o.content;
  if (typeof content === 'string') return content;
  if (subtype === 'api_error') return apiErrorText(apiErrorDetail(o));
  if (subtype === 'turn_duration' && typeof o.durationMs === 'number') return `turn took ${o.durationMs} ms`;
  return '';
}

/** What a failed API request was, from a system api_error line (or an assistant API error line). */
export interface ApiErrorDetail {
  /** HTTP status, when the API answered. */
  status: number | null;
  /** The API's error type (overloaded_error, rate_limit_error, …) or Claude Code's (server_error, …). */
  type: string | null;
  message: string | null;
  /** Why no answer came: the transport's code (FailedToOpenSocket, ECONNRESET, …). */
  cause: string | null;
  retryAttempt: number | null;
  maxRetries: number | null;
  retryInMs: number | null;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

export function apiErrorDetail(o: Obj): ApiErrorDetail {
  const e = isObj(o.error) ? o.error : null;
  // The API's body: {type: 'error', error: {type, message}}, sometimes one level deeper.
  const body = e && isObj(e.error) ? e.error : null;
  const inner = body && isObj(body.error) ? body.error : body;
  const causeObj = isObj(o.cause) ? o.cause : e && isObj(e.cause) ? e.cause : null;
  return {
    status: e ? num(e.status) : null,
    type: (inner ? boundedStr(inner.type, 64) : null) ?? (typeof o.error === 'string' ? boundedStr(o.error, 64) : null),
    message:
      (e ? boundedStr(e.message, 500) : null) ?? (inner ? boundedStr(inner.message, 500) : null) ?? (causeObj ? boundedStr(causeObj.message, 500) : null),
    cause: causeObj ? (boundedStr(causeObj.code, 64) ?? boundedStr(causeObj.name, 64)) : null,
    retryAttempt: num(o.retryAttempt),
    maxRetries: num(o.maxRetries),
    retryInMs: num(o.retryInMs),
  };
}

/** "529 overloaded_error: Overloaded (retry 2 of 10 in 1.2 s)", "FailedToOpenSocket (retry 3 of 10 …)". */
export function apiErrorText(d: ApiErrorDetail): string {
  const what = [d.status !== null ? String(d.status) : null, d.type && d.type !== 'error' ? d.type : null, d.cause].filter((x) => x !== null).join(' ');
  const head = what && d.message ? `${what}: ${d.message}` : what || d.message || 'API error';
  const retry =
    d.retryAttempt !== null
      ? ` (retry ${d.retryAttempt}${d.maxRetries !== null ? ` of ${d.maxRetries}` : ''}${d.retryInMs !== null ? ` in ${(d.retryInMs / 1000).toFixed(1)} s` : ''})`
      : '';
  return `${head}${retry}`;
}

function attachmentText(att: Obj): string {
  for (const f of ['prompt', 'content', 'text', 'snippet', 'output', 'stdout', 'filename', 'displayPath', 'path'] as const) {
    const v = att[f];
    if (typeof v === 'string' && v.length > 0) return v;
  }
  return '';
}

function readMeta(o: Obj, type: string, meta: SessionMeta): void {
  switch (type) {
    case 'summary': {
      const s = boundedStr(o.summary, META_LIMIT);
      if (s !== null) meta.summary = s;
      const leaf = safeIdOrNull(o.leafUuid);
      if (leaf) meta.leafUuid = leaf;
      break;
    }
    case 'custom-title': {
      const s = boundedStr(o.customTitle ?? o.title, META_LIMIT);
      if (s !== null) meta.customTitle = s;
      break;
    }
    case 'ai-title': {
      const s = boundedStr(o.aiTitle ?? o.title, META_LIMIT);
      if (s !== null) meta.aiTitle = s;
      break;
    }
    case 'agent-name': {
      const s = boundedStr(o.agentName, META_LIMIT);
      if (s !== null) meta.agentName = s;
      break;
    }
    case 'last-prompt': {
      const s = typeof o.lastPrompt === 'string' ? boundText(o.lastPrompt) : null;
      if (s !== null) meta.lastPrompt = s;
      const leaf = safeIdOrNull(o.leafUuid);
      if (leaf) meta.leafUuid = leaf;
      break;
    }
    case 'mode': {
      const s = boundedStr(o.mode, META_LIMIT);
      if (s !== null) meta.mode = s;
      break;
    }
    case 'permission-mode': {
      const s = boundedStr(o.permissionMode ?? o.mode, META_LIMIT);
      if (s !== null) meta.permissionMode = s;
      break;
    }
    case 'pr-link': {
      const n = o.prNumber;
      meta.prLink = {
        number: typeof n === 'number' && Number.isSafeInteger(n) ? n : null,
        url: boundedStr(o.prUrl, META_LIMIT),
        repository: boundedStr(o.prRepository ?? o.repository, META_LIMIT),
      };
      break;
    }
    default:
      break;
  }
}

function failure(reason: ParseFailure['reason'], bytes: number, invalidUtf8: boolean, error: string | null = null): ParseFailure {
  return { ok: false, reason, bytes, invalidUtf8, error };
}

/**
 * Parses one transcript line (without its '\n'). Never throws.
 *
 * Interactions, usage and metadata are extracted as documented at the top of this file;
 * `entry` is the parsed object itself, for callers that store lines raw.
 */
export function parseTranscriptLine(bytes: Buffer, ctx: ParseContext): ParsedLine {
  const size = bytes.length;
  if (size === 0) return failure('empty', 0, false);

  let text = bytes.toString('utf8');
  let invalidUtf8 = false;
  if (text.indexOf('\uFFFD') !== -1 && !isUtf8(bytes)) {
    invalidUtf8 = true;
    if (ctx.rejectInvalidUtf8) return failure('invalid-utf8', size, true);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);

  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    if (text.trim().length === 0) return failure('empty', size, invalidUtf8);
    const message = err instanceof Error ? err.message.slice(0, 200) : 'parse error';
    return failure('invalid-json', size, invalidUtf8, message);
  }
  if (!isObj(parsed)) return failure('not-object', size, invalidUtf8);
  try {
    const entry: Obj = ctx.transformEntry ? (ctx.transformEntry(parsed) as Obj) : parsed;
    if (ctx.format === 'codex') return interpretCodex(entry, bytes, ctx, invalidUtf8);
    return interpret(entry, bytes, ctx, invalidUtf8);
  } catch (err) {
    // JSON.parse takes any depth, but the recursive walks after it (redaction, stringify) overflow
    // the stack on a line nested thousands deep: a counted skip, not a file stuck on that line.
    if (err instanceof RangeError) return failure('too-deep', size, invalidUtf8, err.message.slice(0, 200));
    throw err;
  }
}

/** parseTranscriptLine for a reader record, mapping skipped oversized lines to a failure. */
export function parseLineRecord(line: LineRecord, ctx: ParseContext): ParsedLine {
  if (line.bytes === null) return failure('oversized', line.oversized ?? line.end - line.offset - 1, false);
  return parseTranscriptLine(line.bytes, ctx);
}

function interpret(o: Obj, bytes: Buffer, ctx: ParseContext, invalidUtf8: boolean): ParsedEntry {
  const size = bytes.length;
  const problems: LineProblem[] = [];
  if (invalidUtf8) problems.push('invalid-utf8');

  const rawType = o.type;
  const type = typeof rawType === 'string' ? rawType : '';
  if (type === '') problems.push('missing-type');
  const known = KNOWN_LINE_TYPES.has(type);

  // Ids: anything that is not a safe id is dropped, so no caller ever builds a path from it.
  let sessionId: string | null = null;
  if (o.sessionId !== undefined) {
    sessionId = safeIdOrNull(o.sessionId);
    if (sessionId === null) problems.push('unsafe-session-id');
  }
  if (sessionId === null && ctx.sessionIdHint) sessionId = safeIdOrNull(ctx.sessionIdHint);

  let agentId: string | null = null;
  if (o.agentId !== undefined) {
    agentId = safeIdOrNull(o.agentId);
    if (agentId === null) problems.push('unsafe-agent-id');
  }
  if (agentId === null && ctx.agentIdHint) agentId = safeIdOrNull(ctx.agentIdHint);

  const isConversation = CONVERSATION_TYPES.has(type);
  let uuid: string | null = null;
  if (o.uuid !== undefined) {
    uuid = safeIdOrNull(o.uuid);
    if (uuid === null) problems.push('unsafe-uuid');
  } else if (isConversation) {
    problems.push('missing-uuid');
  }
  if (uuid === null && isConversation) uuid = syntheticLineKey(bytes);

  const timestamp = parseTimestamp(o.timestamp);
  if (timestamp === null && o.timestamp !== undefined) problems.push('bad-timestamp');
  const isSidechain = o.isSidechain === true;

  const meta: SessionMeta = {};
  if (sessionId !== null) meta.sessionId = sessionId;
  const cwd = boundedStr(o.cwd, META_LIMIT);
  if (cwd !== null) meta.cwd = cwd;
  const gitBranch = boundedStr(o.gitBranch, META_LIMIT);
  if (gitBranch !== null) meta.gitBranch = gitBranch;
  const version = boundedStr(o.version, 64);
  if (version !== null) meta.version = version;
  const slug = boundedStr(o.slug, META_LIMIT);
  if (slug !== null) meta.slug = slug;
  const permissionMode = boundedStr(o.permissionMode, 64);
  if (permissionMode !== null) meta.permissionMode = permissionMode;

  const result: ParsedEntry = {
    ok: true,
    type,
    subtype: null,
    known,
    entry: o as TranscriptEntry,
    uuid,
    sessionId,
    agentId,
    isSidechain,
    timestamp,
    interactions: [],
    usage: null,
    sessionMeta: meta,
    compaction: null,
    progress: null,
    invalidUtf8,
    problems,
  };

  if (!isConversation) {
    interpretMetadataLine(o, type, meta, result);
    return result;
  }
  if (type === 'progress') {
    interpretProgress(o, result);
    return result;
  }

  const message = isObj(o.message) ? o.message : null;
  const base: LineBase = {
    uuid: uuid as string,
    sessionId,
    timestamp,
    parentUuid: safeIdOrNull(o.parentUuid),
    logicalParentUuid: safeIdOrNull(o.logicalParentUuid),
    isSidechain,
    agentId,
    isMeta: o.isMeta === true,
    isCompactSummary: o.isCompactSummary === true,
    requestId: opaqueId(o.requestId),
    messageId: message ? opaqueId(message.id) : null,
    model: message ? boundedStr(message.model, 128) : null,
    cwd,
    gitBranch,
    version,
    promptId: opaqueId(o.promptId),
  };
  if (base.model !== null && base.model !== '<synthetic>') meta.model = base.model;

  LINE_INTERPRETERS[type]?.({ o, message, base, size, result });
  return result;
}

/** What each conversation line type's interpreter gets: the line, its message, the fields every interaction shares, its size, and the entry to fill. */
interface LineInput {
  o: Obj;
  message: Obj | null;
  base: LineBase;
  size: number;
  result: ParsedEntry;
}

// One interpreter per conversation line type (progress lines and metadata lines are handled
// before the base fields are built); a type without one yields no interactions.
const LINE_INTERPRETERS: Record<string, (line: LineInput) => void> = {
  user: ({ o, message, base, size, result }) => {
    if (message === null) result.problems.push('missing-message');
    else userInteractions(o, message, base, size, result.interactions);
  },
  assistant: ({ o, message, base, size, result }) => {
    if (message === null) {
      result.problems.push('missing-message');
      return;
    }
    assistantInteractions(o, message, base, size, result.interactions);
    result.usage = usageFrom(message, base);
  },
  system: interpretSystem,
  attachment: interpretAttachment,
};

/** Lines that are not conversation (summaries, titles, queue operations, snapshots): session metadata. */
function interpretMetadataLine(o: Obj, type: string, meta: SessionMeta, result: ParsedEntry): void {
  if (type === 'queue-operation') result.subtype = boundedStr(o.operation, 64);
  else if (type === 'file-history-snapshot' && result.timestamp === null && isObj(o.snapshot)) {
    result.timestamp = parseTimestamp(o.snapshot.timestamp);
  }
  readMeta(o, type, meta);
}

/** Progress lines: hook and subagent progress, tied to a tool use. */
function interpretProgress(o: Obj, result: ParsedEntry): void {
  const data = isObj(o.data) ? o.data : null;
  const info: ProgressInfo = {
    dataType: data ? boundedStr(data.type, 64) : null,
    toolUseId: opaqueId(o.toolUseID),
    parentToolUseId: opaqueId(o.parentToolUseID),
    hookEvent: data ? boundedStr(data.hookEvent, 128) : null,
    hookName: data ? boundedStr(data.hookName, 256) : null,
    agentId: data ? safeIdOrNull(data.agentId) : null,
  };
  result.subtype = info.dataType;
  result.progress = info;
}

/** System lines: one system event (a local command's echo or output), and compaction boundaries. */
function interpretSystem({ o, base, size, result }: LineInput): void {
  const subtype = boundedStr(o.subtype, 64);
  result.subtype = subtype;
  const text = systemText(o, subtype);
  let kind: InteractionKind = 'system_event';
  if (subtype === 'local_command') {
    const c = classifyUserText(text, false, false);
    if (c.kind === 'command' || c.kind === 'command_output') kind = c.kind;
  }
  const it = makeInteraction(base, 0, kind, subtype, text);
  it.data = systemData(o, size, subtype === 'api_error' ? apiErrorDetail(o) : null);
  result.interactions.push(it);
  if (subtype === 'compact_boundary') {
    const cm = isObj(o.compactMetadata) ? o.compactMetadata : null;
    const compaction: CompactionInfo = {
      trigger: cm ? boundedStr(cm.trigger, 64) : null,
      preTokens: cm && typeof cm.preTokens === 'number' ? cm.preTokens : null,
      postTokens: cm && typeof cm.postTokens === 'number' ? cm.postTokens : null,
      logicalParentUuid: base.logicalParentUuid,
    };
    result.compaction = compaction;
  }
}

/** Attachment lines: a queued prompt is the user speaking; anything else is kept as an attachment. */
function interpretAttachment({ o, base, size, result }: LineInput): void {
  const att = isObj(o.attachment) ? o.attachment : null;
  const attType = att ? boundedStr(att.type, 64) : null;
  result.subtype = attType;
  if (att && attType === 'queued_command') {
    // A prompt typed while the previous turn ran: the user speaking, delivered late.
    const prompt = att.prompt;
    const text = typeof prompt === 'string' ? prompt : toolResultText(prompt);
    result.interactions.push(makeInteraction(base, 0, 'user_prompt', 'queued_command', text));
  } else {
    const it = makeInteraction(base, 0, 'attachment', attType, att ? attachmentText(att) : '');
    it.data = att ? boundedJson(att, JSON_LIMIT, size) : null;
    result.interactions.push(it);
  }
}

function userInteractions(o: Obj, message: Obj, base: LineBase, size: number, out: Interaction[]): void {
  const content = message.content;
  if (typeof content === 'string') {
    const c = classifyUserText(content, base.isMeta, base.isCompactSummary);
    out.push(makeInteraction(base, 0, c.kind, c.subtype, content));
    return;
  }
  if (!Array.isArray(content)) return;
  let resultAttached = false;
  for (let i = 0; i < content.length; i++) {
    const block: unknown = content[i];
    if (!isObj(block)) continue;
    const blockType = typeof block.type === 'string' ? block.type : '';
    if (blockType === 'text') {
      const text = str(block.text) ?? '';
      const c = classifyUserText(text, base.isMeta, base.isCompactSummary);
      out.push(makeInteraction(base, i, c.kind, c.subtype, text));
    } else if (blockType === 'tool_result') {
      const it = makeInteraction(base, i, 'tool_result', null, toolResultText(block.content));
      it.toolUseId = opaqueId(block.tool_use_id);
      it.isError = block.is_error === true;
      // A line has one toolUseResult; it belongs with the (in practice only) tool_result.
      if (!resultAttached && o.toolUseResult !== undefined) {
        resultAttached = true;
        const tur = o.toolUseResult;
        it.toolUseResult = boundedJson(tur, JSON_LIMIT, size);
        if (isObj(tur)) it.spawnedAgentId = safeIdOrNull(tur.agentId);
        const searches = webSearchCount(tur);
        if (searches !== null) it.webSearches = searches;
      }
      out.push(it);
    } else if (blockType === 'image') {
      out.push(makeInteraction(base, i, 'image', null, '[image]'));
    } else {
      out.push(makeInteraction(base, i, 'other', blockType || null, str(block.text) ?? ''));
    }
  }
}

function assistantInteractions(o: Obj, message: Obj, base: LineBase, size: number, out: Interaction[]): void {
  const content = message.content;
  const apiError = o.isApiErrorMessage === true ? 'api_error' : null;
  // Claude Code's kind of failure (server_error, rate_limit, authentication_failed, …) as a field.
  const errorData = apiError ? JSON.stringify({ apiError: apiErrorDetail(o) }) : null;
  const start = out.length;
  if (typeof content === 'string') {
    out.push(makeInteraction(base, 0, 'assistant_text', apiError, content));
    if (errorData) out[start]!.data = errorData;
    return;
  }
  if (!Array.isArray(content)) return;
  for (let i = 0; i < content.length; i++) {
    const block: unknown = content[i];
    if (!isObj(block)) continue;
    const blockType = typeof block.type === 'string' ? block.type : '';
    switch (blockType) {
      case 'text': {
        const it = makeInteraction(base, i, 'assistant_text', apiError, str(block.text) ?? '');
        if (errorData) it.data = errorData;
        out.push(it);
        break;
      }
      case 'thinking':
        out.push(makeInteraction(base, i, 'thinking', null, str(block.thinking) ?? ''));
        break;
      case 'redacted_thinking':
        out.push(makeInteraction(base, i, 'thinking', 'redacted', ''));
        break;
      case 'tool_use':
      case 'server_tool_use': {
        const it = makeInteraction(base, i, 'tool_use', blockType === 'server_tool_use' ? 'server' : null, toolUseSummary(block.input));
        it.toolName = boundedStr(block.name, 256);
        it.toolUseId = opaqueId(block.id);
        it.toolInput = boundedJson(block.input, JSON_LIMIT, size);
        out.push(it);
        break;
      }
      default:
        if (blockType.endsWith('_tool_result')) {
          // Server tool results (web search, code execution) arrive inside assistant messages.
          const it = makeInteraction(base, i, 'tool_result', blockType, toolResultText(block.content));
          it.toolUseId = opaqueId(block.tool_use_id);
          it.isError = block.is_error === true;
          out.push(it);
        } else {
          out.push(makeInteraction(base, i, 'other', blockType || null, str(block.text) ?? ''));
        }
    }
  }
}
