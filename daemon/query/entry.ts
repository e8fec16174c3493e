// One timeline entry in full (the console's detail view): the whole text of every block of the
// transcript line, a tool call's whole input and output, or a hook event's payload. The timeline
// itself carries clipped text; this is read only when someone opens the entry.
import { UserError } from '../errors.js';
import type { Db } from '../store/db.js';

/** Bounds one answer: a tool output can be megabytes, and the browser shows the head. */
export const ENTRY_TEXT_MAX = 1_000_000;

export interface EntryBlock {
  blockIndex: number;
  kind: string;
  subtype: string | null;
  unixMs: number | null;
  text: string;
  /** The text was longer than ENTRY_TEXT_MAX characters and is cut there. */
  truncated: boolean;
  textLength: number;
  toolName: string | null;
  toolUseId: string | null;
  toolInput: string | null;
  isError: boolean;
  model: string | null;
  agentId: string | null;
}

export interface EntryDetail {
  ref: string;
  source: 'transcript' | 'hook';
  blocks: EntryBlock[];
  /** A tool call's result, found by its tool_use_id. */
  result: EntryBlock | null;
  /** A hook event's payload (JSON as received, redacted at ingest). */
  hookEvent: { eventId: string; eventName: string; unixMs: number; payloadJson: string } | null;
}

interface BlockRow {
  block_index: number;
  kind: string;
  subtype: string | null;
  ts: number | null;
  text: string;
  text_length: number;
  tool_name: string | null;
  tool_use_id: string | null;
  tool_input: string | null;
  is_error: number | null;
  model: string | null;
  agent_id: string | null;
}

const COLUMNS = `block_index, kind, subtype, ts, substr(text, 1, ${ENTRY_TEXT_MAX}) AS text, length(text) AS text_length, tool_name, tool_use_id, tool_input, is_error, model, agent_id`;

function toBlock(r: BlockRow): EntryBlock {
  return {
    blockIndex: r.block_index,
    kind: r.kind,
    subtype: r.subtype,
    unixMs: r.ts,
    text: r.text,
    truncated: r.text_length > ENTRY_TEXT_MAX,
    textLength: r.text_length,
    toolName: r.tool_name,
    toolUseId: r.tool_use_id,
    toolInput: r.tool_input,
    isError: r.is_error === 1,
    model: r.model,
    agentId: r.agent_id,
  };
}

export function entryDetail(db: Db, sessionId: string, ref: string): EntryDetail {
  const blocks = (
    db.prepare(`SELECT ${COLUMNS} FROM interactions WHERE uuid = ? AND session_id = ? ORDER BY block_index`).all(ref, sessionId) as BlockRow[]
  ).map(toBlock);
  if (blocks.length > 0) {
    const toolUseId = blocks.find((b) => b.kind === 'tool_use' && b.toolUseId)?.toolUseId;
    const result = toolUseId
      ? (db
          .prepare(`SELECT ${COLUMNS} FROM interactions WHERE tool_use_id = ? AND session_id = ? AND kind = 'tool_result' ORDER BY id LIMIT 1`)
          .get(toolUseId, sessionId) as BlockRow | undefined)
      : undefined;
    return { ref, source: 'transcript', blocks, result: result ? toBlock(result) : null, hookEvent: null };
  }
  const hook = db
    .prepare(
      `SELECT event_id, event_name, COALESCE(hook_started_at, received_at) AS at, substr(payload, 1, ${ENTRY_TEXT_MAX}) AS payload FROM hook_events WHERE event_id = ? AND session_id = ?`,
    )
    .get(ref, sessionId) as { event_id: string; event_name: string; at: number; payload: string } | undefined;
  if (hook)
    return {
      ref,
      source: 'hook',
      blocks: [],
      result: null,
      hookEvent: { eventId: hook.event_id, eventName: hook.event_name, unixMs: hook.at, payloadJson: hook.payload },
    };
  // A subagent entry's ref is its agent id: its own first lines are the detail.
  throw new UserError(`session ${sessionId} has no timeline entry ${ref}`, 'not-found');
}
