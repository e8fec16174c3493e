// The core tables' rows as SQLite returns them (every column, SQL NULL as null), so that a module
// reading some columns names them with Pick<> instead of writing the row out again. The tables are
// defined in migrations/; a column added there is added here.

import type { StoredBody } from './line-codec.js';

/** One row of `interactions`: one content block of one transcript line. */
export interface StoredInteraction {
  id: number;
  uuid: string;
  block_index: number;
  session_id: string | null;
  agent_id: string | null;
  kind: string;
  subtype: string | null;
  ts: number | null;
  text: string;
  text_length: number;
  tool_name: string | null;
  tool_use_id: string | null;
  tool_input: string | null;
  is_error: number | null;
  /** Plain text, or packed against `text` (store/line-codec.ts): read it with unpackInteraction. */
  tool_use_result: StoredBody;
  spawned_agent_id: string | null;
  data: string | null;
  parent_uuid: string | null;
  logical_parent_uuid: string | null;
  is_sidechain: number;
  is_meta: number;
  is_compact_summary: number;
  hidden: number;
  request_id: string | null;
  message_id: string | null;
  model: string | null;
  cwd: string | null;
  git_branch: string | null;
  cc_version: string | null;
  prompt_id: string | null;
  source_path: string;
  /** The whole line on block 0: plain text, or packed (store/line-codec.ts). */
  raw: StoredBody;
  ingested_at: number;
  redaction_version: string | null;
  /** What the row is beyond its uuid (ingest/transcripts/identity.ts); unique per session. */
  content_key: Buffer | null;
  /** WebSearch results: the searches the tool ran. */
  web_searches: number | null;
}

/** One row of `hook_events`. */
export interface StoredHookEvent {
  seq: number;
  event_id: string;
  session_id: string | null;
  event_name: string;
  tool_name: string | null;
  tool_use_id: string | null;
  prompt_id: string | null;
  agent_id: string | null;
  hook_started_at: number | null;
  sent_at: number | null;
  received_at: number;
  via: 'direct' | 'spool';
  payload: string;
  payload_bytes: number;
  problem: string | null;
  redaction_version: string | null;
}
