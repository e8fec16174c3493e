-- Transcript ingestion: interactions (one row per content block), deduplicated API usage,
-- subagent runs, and what each transcript file's tail has seen.

-- Identity is (uuid, block_index): resume and fork copy lines with their uuid into new files,
-- so the same interaction can be read many times and must be stored once.
CREATE TABLE interactions (
  id                   INTEGER PRIMARY KEY,
  uuid                 TEXT NOT NULL,
  block_index          INTEGER NOT NULL,
  session_id           TEXT,
  agent_id             TEXT,
  kind                 TEXT NOT NULL,
  subtype              TEXT,
  ts                   INTEGER,
  text                 TEXT NOT NULL DEFAULT '',
  text_length          INTEGER NOT NULL DEFAULT 0,
  tool_name            TEXT,
  tool_use_id          TEXT,
  tool_input           TEXT,
  is_error             INTEGER,
  tool_use_result      TEXT,
  spawned_agent_id     TEXT,
  data                 TEXT,
  parent_uuid          TEXT,
  logical_parent_uuid  TEXT,
  is_sidechain         INTEGER NOT NULL DEFAULT 0,
  is_meta              INTEGER NOT NULL DEFAULT 0,
  is_compact_summary   INTEGER NOT NULL DEFAULT 0,
  -- Warmup and compaction-summarizer runs: their tokens count, but they are not conversation.
  hidden               INTEGER NOT NULL DEFAULT 0,
  request_id           TEXT,
  message_id           TEXT,
  model                TEXT,
  cwd                  TEXT,
  git_branch           TEXT,
  cc_version           TEXT,
  prompt_id            TEXT,
  source_path          TEXT NOT NULL,
  -- The whole transcript line (on block 0 only); compaction drops it after keepRawDays.
  raw                  TEXT,
  ingested_at          INTEGER NOT NULL,
  UNIQUE (uuid, block_index)
);
CREATE INDEX interactions_session_ts ON interactions (session_id, ts);
CREATE INDEX interactions_tool_use ON interactions (tool_use_id) WHERE tool_use_id IS NOT NULL;

-- One row per API response, keyed like Claude Code's bill: message.id + requestId (or message.id
-- alone when there is no requestId), every counter the maximum seen across the split lines.
CREATE TABLE message_usage (
  usage_key                 TEXT PRIMARY KEY,
  message_id                TEXT NOT NULL,
  request_id                TEXT,
  session_id                TEXT,
  agent_id                  TEXT,
  is_sidechain              INTEGER NOT NULL DEFAULT 0,
  model                     TEXT NOT NULL,
  ts                        INTEGER,
  input_tokens              INTEGER NOT NULL,
  output_tokens             INTEGER NOT NULL,
  cache_creation_tokens     INTEGER NOT NULL,
  cache_creation_5m_tokens  INTEGER NOT NULL,
  cache_creation_1h_tokens  INTEGER NOT NULL,
  cache_read_tokens         INTEGER NOT NULL,
  -- NULL when the model has no known price: unknown cost is never 0.
  cost_usd                  REAL,
  pricing_version           TEXT
);
CREATE INDEX message_usage_session ON message_usage (session_id);
CREATE INDEX message_usage_ts ON message_usage (ts);

-- Subagent runs (Task/Agent tool, warmups, the compaction summarizer), in all three layouts.
CREATE TABLE subagents (
  session_id      TEXT NOT NULL,
  agent_id        TEXT NOT NULL,
  kind            TEXT NOT NULL DEFAULT 'conversation',
  agent_type      TEXT,
  description     TEXT,
  tool_use_id     TEXT,
  transcript_path TEXT,
  first_ts        INTEGER,
  last_ts         INTEGER,
  PRIMARY KEY (session_id, agent_id)
);

-- What the tail of each file has met, for `rbk import` summaries and doctor.
ALTER TABLE transcripts ADD COLUMN lines INTEGER NOT NULL DEFAULT 0;
ALTER TABLE transcripts ADD COLUMN skipped INTEGER NOT NULL DEFAULT 0;
ALTER TABLE transcripts ADD COLUMN last_error TEXT;
ALTER TABLE transcripts ADD COLUMN layout TEXT;

-- Counts and totals derived from transcripts, beside the hook-derived ones in the same table.
-- Either source can be missing (hooks not installed, transcript deleted), so readers show the
-- larger of the two counts.
ALTER TABLE sessions ADD COLUMN t_prompts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN t_tool_calls INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN t_tool_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN t_subagents INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN input_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN output_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN cache_creation_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN cache_read_tokens INTEGER NOT NULL DEFAULT 0;
-- NULL when any of the session's messages has an unknown price.
ALTER TABLE sessions ADD COLUMN cost_usd REAL;
ALTER TABLE sessions ADD COLUMN cost_complete INTEGER NOT NULL DEFAULT 1;
ALTER TABLE sessions ADD COLUMN title TEXT;
