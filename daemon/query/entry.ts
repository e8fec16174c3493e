// One timeline entry in full (the console's detail view): the whole text of every block of the
// transcript line, a tool call's whole input and output, or a hook event's payload. The timeline
// itself carries clipped text; this is read only when someone opens the entry.
import type { EntryBlock, EntryDetail } from '../../common/console-api.js';
import { UserError } from '../errors.js';
import type { StoredInteraction } from '../store/rows.js';
import type { Db } from '../store/db.js';

/** Bounds one answer: a tool output can be megabytes, and the browser shows the head. */
export const ENTRY_TEXT_MAX = 1_000_000;

type BlockRow = Pick<
  StoredInteraction,
  'block_index' | 'kind' | 'subtype' | 'ts' | 'text' | 'text_length' | 'tool_name' | 'tool_use_id' | 'tool_input' | 'is_error' | 'model' | 'agent_id'
>;

const COLUMNS = `block_index, kind, subtype, ts, substr(rbk_text(text), 1, ${ENTRY_TEXT_MAX}) AS text, length(rbk_text(text)) AS text_length, tool_name, tool_use_id, tool_input, is_error, model, agent_id`;

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
