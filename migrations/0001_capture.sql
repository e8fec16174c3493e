-- Capture path: sessions, raw hook events, and the transcripts they point at.
-- Times are Unix milliseconds (INTEGER). NULL means unknown.

CREATE TABLE sessions (
  id                TEXT PRIMARY KEY,
  cwd               TEXT,
  project           TEXT,
  transcript_path   TEXT,
  git_branch        TEXT,
  cc_version        TEXT,
  model             TEXT,
  permission_mode   TEXT,
  started_at        INTEGER,
  ended_at          INTEGER,
  last_activity_at  INTEGER,
  status            TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'ended')),
  end_reason        TEXT,
  host              TEXT NOT NULL,
  origin            TEXT NOT NULL DEFAULT 'local',
  -- Derived counts, refreshed by store/sessions.ts whenever a session's events change.
  prompts           INTEGER NOT NULL DEFAULT 0,
  tool_calls        INTEGER NOT NULL DEFAULT 0,
  tool_failures     INTEGER NOT NULL DEFAULT 0,
  subagents         INTEGER NOT NULL DEFAULT 0,
  hook_events       INTEGER NOT NULL DEFAULT 0,
  interactions      INTEGER NOT NULL DEFAULT 0,
  created_at        INTEGER NOT NULL,
  updated_at        INTEGER NOT NULL
);
CREATE INDEX sessions_last_activity ON sessions (last_activity_at DESC);

CREATE TABLE hook_events (
  seq               INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id          TEXT NOT NULL UNIQUE,
  session_id        TEXT,
  event_name        TEXT NOT NULL,
  tool_name         TEXT,
  tool_use_id       TEXT,
  prompt_id         TEXT,
  agent_id          TEXT,
  hook_started_at   INTEGER,
  sent_at           INTEGER,
  received_at       INTEGER NOT NULL,
  via               TEXT NOT NULL CHECK (via IN ('direct', 'spool')),
  -- The payload as received (JSON text when it parsed, else the raw text); problem says why not.
  payload           TEXT NOT NULL,
  payload_bytes     INTEGER NOT NULL,
  problem           TEXT
);
CREATE INDEX hook_events_session ON hook_events (session_id, seq);
CREATE INDEX hook_events_tool_use ON hook_events (tool_use_id) WHERE tool_use_id IS NOT NULL;
CREATE INDEX hook_events_agent ON hook_events (session_id, agent_id) WHERE agent_id IS NOT NULL;

-- Every transcript file rbk knows of, with the tail position that ingestion has reached.
CREATE TABLE transcripts (
  path              TEXT PRIMARY KEY,
  session_id        TEXT,
  agent_id          TEXT,
  source            TEXT NOT NULL,
  byte_offset       INTEGER NOT NULL DEFAULT 0,
  inode             INTEGER,
  size              INTEGER,
  registered_at     INTEGER NOT NULL,
  last_read_at      INTEGER
);
CREATE INDEX transcripts_session ON transcripts (session_id);
