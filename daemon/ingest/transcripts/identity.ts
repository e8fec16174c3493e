// What an interaction is, beyond its line's uuid. Claude Code can write the same content again
// under new uuids: a resume across versions rewrote 45 earlier assistant lines into the same file,
// and another session has every prompt, thinking block and answer twice. (uuid, block_index) cannot
// see that; this key can. It is unique per session (migrations/0011), so the first occurrence is
// stored and a replay is ignored, live, at import and on pull alike.
//
//   tool call             its tool_use id
//   tool result           the tool_use id it answers
//   assistant block       message.id, kind, block index and text
//   prompt, context, command, command output, interrupt, compaction summary, image
//                         kind, subtype, agent, timestamp, block index and text
//   anything else         none: system events, attachments and unknown lines can differ only
//                         in fields the text does not hold, so they keep the uuid rule alone
//
// Text is hashed (SHA-1, 8 bytes kept): the key is a compact index entry, and a collision within
// one session's content is out of reach at that width. No timestamp and no message id: no key,
// rather than a guess that could merge two real events.
import { createHash } from 'node:crypto';

export interface IdentityFields {
  kind: string;
  subtype: string | null;
  toolUseId: string | null;
  messageId: string | null;
  agentId: string | null;
  timestamp: number | null;
  blockIndex: number;
  text: string;
}

const ASSISTANT_KINDS = new Set(['assistant_text', 'thinking']);
const BY_TEXT = new Set(['user_prompt', 'meta', 'command', 'command_output', 'interrupt', 'compact_summary', 'image']);

export function contentKey(i: IdentityFields): Buffer | null {
  let key: string;
  if ((i.kind === 'tool_use' || i.kind === 'tool_result') && i.toolUseId) key = `${i.kind}\u0000${i.toolUseId}`;
  else if (ASSISTANT_KINDS.has(i.kind) && i.messageId) key = `a\u0000${i.messageId}\u0000${i.kind}\u0000${i.subtype ?? ''}\u0000${i.blockIndex}\u0000${i.text}`;
  else if (BY_TEXT.has(i.kind) && i.timestamp !== null && (i.text !== '' || i.kind === 'image'))
    key = `c\u0000${i.kind}\u0000${i.subtype ?? ''}\u0000${i.agentId ?? ''}\u0000${i.timestamp}\u0000${i.blockIndex}\u0000${i.text}`;
  else return null;
  return createHash('sha1').update(key).digest().subarray(0, 8);
}
