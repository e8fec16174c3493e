// Shapes produced by transcript parsing. They are plain data with every field present (null when
// unknown) so that rows bind straight to SQLite statements and V8 keeps one hidden class per type.

/** A parsed transcript line, exactly as JSON.parse returned it. Never copied or rewritten. */
export type TranscriptEntry = Readonly<Record<string, unknown>>;

/**
 * What a content block is, for display and counting:
 * - user_prompt: something the user typed (including a prompt queued while a turn ran, and the
 *   task prompt that opens a subagent sidechain);
 * - assistant_text / thinking / tool_use: assistant content blocks;
 * - tool_result: a tool's answer, carrying the toolUseId of the tool_use it answers;
 * - compact_summary: the synthetic user message that follows a compaction boundary;
 * - meta: harness-injected user content (isMeta lines, skill bodies, local-command caveats);
 * - command / command_output: slash or bash-mode commands and their printed output;
 * - interrupt: "[Request interrupted by user…]" markers;
 * - system_event: `system` lines (compact_boundary, api_error, turn_duration, …);
 * - attachment: `attachment` lines (context the harness attached to a turn);
 * - image: image blocks (the bytes are not kept);
 * - other: content blocks of a type we do not know; `subtype` names it.
 */
export type InteractionKind =
  | 'user_prompt'
  | 'assistant_text'
  | 'thinking'
  | 'tool_use'
  | 'tool_result'
  | 'compact_summary'
  | 'meta'
  | 'command'
  | 'command_output'
  | 'interrupt'
  | 'system_event'
  | 'attachment'
  | 'image'
  | 'other';

/**
 * One content block of a conversation line. Identity is (uuid, blockIndex): Claude Code gives
 * every conversation line a uuid, and resumed or forked sessions copy lines with their uuid, so
 * keying on it makes re-reads and copies idempotent.
 */
export interface Interaction {
  /** The line's uuid, or a content-derived `syn-…` key when the line had none (see parse.ts). */
  uuid: string;
  /** Index of the block in message.content (0 for string content and non-message lines). */
  blockIndex: number;
  sessionId: string | null;
  kind: InteractionKind;
  /** Finer classification: system subtype, attachment type, block type for `other`, … */
  subtype: string | null;
  /** Unix ms. */
  timestamp: number | null;
  /** Display text, at most TEXT_LIMIT characters plus a truncation note. */
  text: string;
  /** Length in characters of the full text before truncation. */
  textLength: number;
  toolName: string | null;
  /** tool_use: the block id; tool_result: the tool_use_id it answers. */
  toolUseId: string | null;
  /** tool_use input as JSON text (bounded; see boundedJson). */
  toolInput: string | null;
  /** tool_result only: true when is_error was set, false otherwise. */
  isError: boolean | null;
  /** The line's structured `toolUseResult` as JSON text (bounded), on its first tool_result. */
  toolUseResult: string | null;
  /** The agent a Task/Agent tool_result reports having run (toolUseResult.agentId), validated. */
  spawnedAgentId: string | null;
  /** Extra structured data as JSON text (system event fields, attachment payload), bounded. */
  data: string | null;
  parentUuid: string | null;
  /** Set on compact_boundary lines: the uuid the conversation continues from. */
  logicalParentUuid: string | null;
  isSidechain: boolean;
  agentId: string | null;
  isMeta: boolean;
  isCompactSummary: boolean;
  requestId: string | null;
  /** The API message id (msg_…) of assistant lines. */
  messageId: string | null;
  model: string | null;
  cwd: string | null;
  gitBranch: string | null;
  version: string | null;
  promptId: string | null;
  /**
   * A WebSearch tool result: the web searches the tool ran (toolUseResult.searchCount, else its
   * results that carry a server tool_use id). Each is billed per request, apart from tokens.
   */
  webSearches?: number;
}

/**
 * Token usage of one API response. Claude Code writes one line per content block and repeats
 * the usage on each (early blocks may carry a placeholder), so records must be merged per
 * usageKey with mergeUsage before summing.
 */
export interface UsageRecord {
  /** message.id, or `line:<uuid>` when an assistant line has no message id. */
  messageId: string;
  requestId: string | null;
  model: string;
  inputTokens: number;
  outputTokens: number;
  /** Total cache writes (cache_creation_input_tokens). */
  cacheCreationTokens: number;
  /** Part written with the 5-minute TTL; all of it when the line predates the TTL split. */
  cacheCreation5mTokens: number;
  cacheCreation1hTokens: number;
  cacheReadTokens: number;
  timestamp: number | null;
  sessionId: string | null;
  agentId: string | null;
  isSidechain: boolean;
  /** usage.server_tool_use.web_search_requests: server-side web searches the response reports. */
  webSearchRequests?: number;
}

/** Session-level facts a line states. Only the fields the line carries are present. */
export interface SessionMeta {
  sessionId?: string;
  /** The agent that wrote the transcript when it is not Claude Code (codex). */
  agent?: string;
  cwd?: string;
  gitBranch?: string;
  version?: string;
  slug?: string;
  permissionMode?: string;
  model?: string;
  /** `summary` lines (≤ 2.0): a title-like summary of the conversation ending at leafUuid. */
  summary?: string;
  leafUuid?: string;
  customTitle?: string;
  aiTitle?: string;
  agentName?: string;
  lastPrompt?: string;
  /** `mode` lines. */
  mode?: string;
  prLink?: { number: number | null; url: string | null; repository: string | null };
}

export interface CompactionInfo {
  trigger: string | null;
  preTokens: number | null;
  postTokens: number | null;
  logicalParentUuid: string | null;
}

/** `progress` lines: hook runs, bash output streaming, subagent progress. Not interactions. */
export interface ProgressInfo {
  dataType: string | null;
  toolUseId: string | null;
  parentToolUseId: string | null;
  hookEvent: string | null;
  hookName: string | null;
  agentId: string | null;
}

/**
 * Non-fatal oddities worth counting. The line is still returned; the flagged field is null or
 * replaced as described.
 */
export type LineProblem =
  | 'missing-type'
  | 'missing-uuid'
  | 'unsafe-uuid'
  | 'unsafe-session-id'
  | 'unsafe-agent-id'
  | 'bad-timestamp'
  | 'missing-message'
  | 'invalid-utf8';

export interface ParseContext {
  /** The transcript the line came from. Parsing does not depend on it; it is for callers' logs. */
  file: string;
  /** Session id implied by the file's location, used when a line has none. */
  sessionIdHint?: string | null;
  /** Agent id implied by the file name (agent-<id>.jsonl), used when a line has none. */
  agentIdHint?: string | null;
  /** Treat invalid UTF-8 as a failure instead of parsing with U+FFFD replacements. */
  rejectInvalidUtf8?: boolean;
  /**
   * Rewrites the parsed line before anything is extracted from it, so that every derived field
   * (text, tool input and output, raw) comes from the rewritten line. Redaction plugs in here.
   */
  transformEntry?: (entry: Record<string, unknown>) => Record<string, unknown>;
  /** Whose transcript it is: Claude Code's (default) or a Codex CLI rollout (transcripts/codex.ts). */
  format?: 'claude' | 'codex';
  /** Codex rollouts: what earlier lines of the file said (model, session, fork), kept per scan. */
  codexState?: import('./codex.js').CodexState;
}

// too-deep: JSON nested so deep (thousands of levels) that walking it would overflow the stack.
export type ParseFailureReason = 'empty' | 'invalid-json' | 'invalid-utf8' | 'not-object' | 'oversized' | 'too-deep';

export interface ParseFailure {
  ok: false;
  reason: ParseFailureReason;
  /** Line length in bytes. */
  bytes: number;
  invalidUtf8: boolean;
  /** Short parser message for invalid-json. */
  error: string | null;
}

export interface ParsedEntry {
  ok: true;
  /** The line's `type`, '' when missing. */
  type: string;
  /** system subtype, progress data.type, attachment.type or queue operation. */
  subtype: string | null;
  /** False for line types this parser does not recognise; they carry no interactions. */
  known: boolean;
  entry: TranscriptEntry;
  /** Validated line uuid; synthetic for conversation lines without one; null otherwise. */
  uuid: string | null;
  sessionId: string | null;
  agentId: string | null;
  isSidechain: boolean;
  timestamp: number | null;
  interactions: Interaction[];
  usage: UsageRecord | null;
  sessionMeta: SessionMeta;
  compaction: CompactionInfo | null;
  progress: ProgressInfo | null;
  invalidUtf8: boolean;
  problems: LineProblem[];
}

export type ParsedLine = ParsedEntry | ParseFailure;
