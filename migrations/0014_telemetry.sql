-- OpenTelemetry in (issue 21, docs/telemetry.md): events that agents export over OTLP/HTTP, and
-- which agent a session belongs to.

-- Which agent ran the session: claude-code (hooks, transcripts, Claude Code's own telemetry),
-- codex, or otel:<service.name> for any other agent that exports OpenTelemetry.
ALTER TABLE sessions ADD COLUMN agent TEXT NOT NULL DEFAULT 'claude-code';
CREATE INDEX sessions_agent ON sessions (agent, last_activity_at DESC) WHERE agent <> 'claude-code';

-- One row per OTLP log record (an event: Claude Code's api_request, tool_result, tool_decision, …)
-- or GenAI span, owned by daemon/store/telemetry.ts. Exporters retry, so the same record can
-- arrive twice: event_key (a hash of the record as decoded, or trace id + span id for a span)
-- stores it once.
CREATE TABLE telemetry_events (
  id                      INTEGER PRIMARY KEY,
  event_key               BLOB NOT NULL UNIQUE,
  -- log | span
  signal                  TEXT NOT NULL CHECK (signal IN ('log', 'span')),
  agent                   TEXT NOT NULL,
  -- The resource's service.name (claude-code for Claude Code).
  service                 TEXT NOT NULL,
  -- The event name (api_request, tool_result, …; Claude Code's without the claude_code. prefix)
  -- or the span name.
  name                    TEXT NOT NULL,
  session_id              TEXT,
  prompt_id               TEXT,
  tool_use_id             TEXT,
  tool_name               TEXT,
  ts                      INTEGER,
  -- event.sequence: Claude Code numbers its records per process.
  seq                     INTEGER,
  model                   TEXT,
  -- api_request: repl_main_thread for the conversation, else a background request (titles,
  -- summaries, permission checks, subagents, …).
  query_source            TEXT,
  input_tokens            INTEGER,
  output_tokens           INTEGER,
  cache_read_tokens       INTEGER,
  cache_creation_tokens   INTEGER,
  -- What the agent itself says the request cost (Claude Code's cost_usd); NULL when it says nothing.
  cost_usd                REAL,
  duration_ms             REAL,
  -- tool_result: 1 succeeded, 0 failed.
  success                 INTEGER,
  -- tool_decision: accept | reject, and where it came from (config, user_temporary, hook, …).
  decision                TEXT,
  decision_source         TEXT,
  error                   TEXT,
  -- Everything else the record carried, redacted: {"resource":{…},"attributes":{…},"body":…}.
  detail                  TEXT NOT NULL,
  received_at             INTEGER NOT NULL
);
CREATE INDEX telemetry_events_session ON telemetry_events (session_id, ts);
CREATE INDEX telemetry_events_tool_use ON telemetry_events (tool_use_id) WHERE tool_use_id IS NOT NULL;
CREATE INDEX telemetry_events_requests ON telemetry_events (ts) WHERE name = 'api_request';
