// Codex CLI rollouts (`$CODEX_HOME/sessions/YYYY/MM/DD/rollout-<time>-<session id>.jsonl`, and
// `archived_sessions/`) parsed into the same ParsedEntry shape as Claude Code's transcript lines,
// so that one ingest pipeline stores both (batches, redaction, offsets, search, usage, learn).
//
// Each line is `{timestamp, [ordinal], type, payload}`:
// - session_meta: the session (id, cwd, cli_version, forked_from_id);
// - turn_context: the turn's model and cwd (token records do not name the model: this does);
// - response_item: what was sent to and received from the model: message (user, assistant,
//   developer), reasoning, function_call / function_call_output, custom_tool_call(_output),
//   local_shell_call;
// - event_msg: the UI's copies of the same (user_message, agent_message), token_count, task
//   markers; kept as bookkeeping, not as conversation (that would store every prompt twice);
// - token_usage_record (0.16x+): one per model response, keyed by its response_id.
//
// Tokens, the known traps:
// - token_count events are re-emitted (one popular tool overcounted by 67%), and their
//   total_token_usage is cumulative across a fork (a fork starts from its parent's total);
// - a fork or resume may replay the parent's history.
// So usage comes from token_usage_record, keyed by response_id: a re-emission or a replay carries
// the same id and merges into one row. Files without such records (older Codex) fall back to
// token_count's last_token_usage, keyed by the root session (the fork's parent, when there is one)
// and the cumulative total it reports: a re-emitted or replayed event repeats both, so it merges.
//
// OpenAI's input_tokens include the cached ones; rbk stores input = uncached input and
// cacheRead = cached input, the columns Anthropic's usage has, so reports and costs add up.
import { isSafeId } from '../../../common/ids.js';
import { boundedJson, boundText, parseTimestamp, syntheticLineKey, bareInteraction } from './parse.js';
import type { Interaction, ParseContext, ParsedEntry, UsageRecord } from './types.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown, limit = 512): string | null => (typeof v === 'string' && v.length > 0 ? v.slice(0, limit) : null);
const count = (v: unknown): number => (typeof v === 'number' && v > 0 && Number.isFinite(v) ? Math.floor(v) : 0);

export interface CodexState {
  sessionId: string | null;
  /** The session this one was forked from, when it was. */
  forkedFrom: string | null;
  model: string | null;
  cwd: string | null;
  version: string | null;
  /** Whether this file has per-response token records (then token_count is not used). */
  usageRecords: boolean;
}

export function newCodexState(): CodexState {
  return { sessionId: null, forkedFrom: null, model: null, cwd: null, version: null, usageRecords: false };
}

/** rollout-2026-12-03T08-10-23-<uuid>.jsonl → the session id. */
export const CODEX_ROLLOUT =
  /^rollout-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\.jsonl$/;

const KNOWN = new Set(['session_meta', 'turn_context', 'response_item', 'event_msg', 'token_usage_record', 'world_state', 'compacted']);
/** Lines the state needs even when reading starts mid-file. */
export const CODEX_STATE_LINE = /"type":"(session_meta|turn_context|token_usage_record)"/;

/** Text of a message's content blocks (input_text, output_text, text). */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  const parts: string[] = [];
  for (const c of content) if (isObj(c) && typeof c.text === 'string') parts.push(c.text);
  return parts.join('\n');
}

/** What a tool's output says: text, and whether the command failed. */
function toolOutput(output: unknown): { text: string; failed: boolean } {
  let text: string;
  let success: unknown;
  if (typeof output === 'string') text = output;
  else if (isObj(output)) {
    text = typeof output.content === 'string' ? output.content : contentText(output.content) || JSON.stringify(output);
    success = output.success;
  } else if (Array.isArray(output)) text = contentText(output);
  else text = '';
  // exec_command / shell: "Process exited with code N" (or "Exit code: N" in older versions).
  const m = /(?:Process exited with code|Exit code:)\s*(-?\d+)/.exec(text.slice(0, 2000));
  const failed = success === false || (m !== null && m[1] !== '0');
  return { text, failed };
}

/** Updates the state from a line that sets it; returns the line's payload. */
export function updateCodexState(state: CodexState, type: string, payload: Obj): void {
  if (type === 'session_meta') {
    const id = payload.id ?? payload.session_id;
    if (isSafeId(id)) state.sessionId = id;
    if (isSafeId(payload.forked_from_id)) state.forkedFrom = payload.forked_from_id;
    state.cwd = str(payload.cwd, 4096) ?? state.cwd;
    state.version = str(payload.cli_version, 64) ?? state.version;
  } else if (type === 'turn_context') {
    state.model = str(payload.model, 128) ?? state.model;
    state.cwd = str(payload.cwd, 4096) ?? state.cwd;
  } else if (type === 'token_usage_record') {
    state.usageRecords = true;
  }
}

function usageOf(state: CodexState, sessionId: string | null, key: string, u: Obj, timestamp: number | null): UsageRecord {
  const input = count(u.input_tokens);
  const cached = Math.min(count(u.cached_input_tokens), input);
  return {
    messageId: key,
    requestId: null,
    model: state.model ?? 'unknown-openai-model',
    inputTokens: input - cached,
    outputTokens: count(u.output_tokens),
    cacheCreationTokens: 0,
    cacheCreation5mTokens: 0,
    cacheCreation1hTokens: 0,
    cacheReadTokens: cached,
    timestamp,
    sessionId,
    agentId: null,
    isSidechain: false,
  };
}

/** One rollout line (already JSON-parsed and redacted) → the parser's common shape. */
export function interpretCodex(o: Obj, bytes: Buffer, ctx: ParseContext, invalidUtf8: boolean): ParsedEntry {
  const state = ctx.codexState ?? newCodexState();
  const type = typeof o.type === 'string' ? o.type : '';
  const payload = isObj(o.payload) ? o.payload : {};
  updateCodexState(state, type, payload);
  const sessionId = state.sessionId ?? (isSafeId(ctx.sessionIdHint) ? ctx.sessionIdHint : null);
  // The transcript parser's own: the ISO form by hand, anything else through Date.parse.
  const timestamp = parseTimestamp(o.timestamp);
  const ordinal = typeof o.ordinal === 'number' && Number.isInteger(o.ordinal) && o.ordinal >= 0 ? o.ordinal : null;
  // Identity: the line's ordinal within its session, else a hash of its bytes (replays repeat it).
  const uuid = ordinal !== null && sessionId !== null ? `cx${ordinal}-${sessionId}` : syntheticLineKey(bytes);
  const result: ParsedEntry = {
    ok: true,
    type,
    subtype: typeof payload.type === 'string' ? payload.type.slice(0, 64) : null,
    known: KNOWN.has(type),
    entry: o,
    uuid,
    sessionId,
    agentId: null,
    isSidechain: false,
    timestamp,
    interactions: [],
    usage: null,
    sessionMeta: { agent: 'codex' },
    compaction: null,
    progress: null,
    invalidUtf8,
    problems: invalidUtf8 ? ['invalid-utf8'] : [],
  };
  const meta = result.sessionMeta;
  if (sessionId) meta.sessionId = sessionId;
  if (state.cwd) meta.cwd = state.cwd;
  if (state.version) meta.version = state.version;
  if (state.model) meta.model = state.model;

  const base = { uuid, sessionId, timestamp, cwd: state.cwd, version: state.version, model: state.model };
  const add = (blockIndex: number, i: Partial<Interaction> & Pick<Interaction, 'kind' | 'text'>) =>
    result.interactions.push(bareInteraction({ ...base, blockIndex, subtype: null, ...i, text: boundText(i.text), textLength: i.text.length }));

  if (type === 'response_item') {
    const kind = payload.type;
    if (kind === 'message') {
      const role = payload.role;
      const text = contentText(payload.content);
      if (role === 'assistant') add(0, { kind: 'assistant_text', text, messageId: str(payload.id, 256) });
      else if (role === 'user') {
        // Codex sends its environment and the user's instructions as user messages: context, not prompts.
        const context = /^\s*<(environment_context|user_instructions|user_shell_command|turn_aborted)\b/.exec(text);
        if (context) add(0, { kind: 'meta', subtype: context[1] ?? 'context', text, isMeta: true });
        else add(0, { kind: 'user_prompt', text });
      } else add(0, { kind: 'meta', subtype: typeof role === 'string' ? role.slice(0, 32) : 'message', text, isMeta: true });
    } else if (kind === 'reasoning') {
      const summary = Array.isArray(payload.summary) ? contentText(payload.summary) : '';
      add(0, { kind: 'thinking', text: summary || contentText(payload.content) });
    } else if (kind === 'function_call' || kind === 'custom_tool_call' || kind === 'local_shell_call') {
      const input = kind === 'function_call' ? payload.arguments : kind === 'custom_tool_call' ? payload.input : payload.action;
      let inputValue: unknown = input;
      if (typeof input === 'string') {
        try {
          inputValue = JSON.parse(input);
        } catch {
          inputValue = { input };
        }
      }
      const toolUseId = str(payload.call_id, 256) ?? str(payload.id, 256);
      add(0, {
        kind: 'tool_use',
        text: '',
        toolName: str(payload.name, 128) ?? (kind === 'local_shell_call' ? 'local_shell' : 'tool'),
        toolUseId,
        toolInput: boundedJson(inputValue),
      });
    } else if (kind === 'function_call_output' || kind === 'custom_tool_call_output') {
      const { text, failed } = toolOutput(payload.output);
      add(0, { kind: 'tool_result', text, toolUseId: str(payload.call_id, 256), isError: failed });
    } else {
      add(0, { kind: 'other', subtype: typeof kind === 'string' ? kind.slice(0, 64) : 'response_item', text: '' });
    }
  } else if (type === 'token_usage_record') {
    const u = isObj(payload.usage) ? payload.usage : null;
    const responseId = str(payload.response_id, 200);
    if (u && responseId) result.usage = usageOf(state, sessionId, `codex:${responseId}`, u, timestamp);
  } else if (type === 'event_msg' && payload.type === 'token_count' && !state.usageRecords) {
    const info = isObj(payload.info) ? payload.info : null;
    const last = info && isObj(info.last_token_usage) ? info.last_token_usage : null;
    const total = info && isObj(info.total_token_usage) ? info.total_token_usage : null;
    if (last && total) {
      const root = state.forkedFrom ?? sessionId ?? 'unknown';
      result.usage = usageOf(
        state,
        sessionId,
        `codex-tc:${root}:${count(total.total_tokens)}:${count(total.input_tokens)}:${count(total.output_tokens)}`,
        last,
        timestamp,
      );
    }
  }
  return result;
}
