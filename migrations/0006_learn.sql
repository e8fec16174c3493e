-- Learn (issue 7): error signatures per session, learnings with provenance, and learn runs.

-- One row per (session, normalized error signature): the cross-session index behind
-- "seen before in N sessions; fixed by …" and `rbk incidents`. Filled when a session is learned
-- or scanned; a session is rescanned when it has grown since (signature_scans).
CREATE TABLE error_signatures (
  session_id     TEXT NOT NULL,
  signature_id   TEXT NOT NULL,
  signature      TEXT NOT NULL,
  tool_name      TEXT NOT NULL DEFAULT '',
  check_key      TEXT NOT NULL DEFAULT '',
  occurrences    INTEGER NOT NULL,
  first_ts       INTEGER,
  last_ts        INTEGER,
  resolved       INTEGER NOT NULL DEFAULT 0,
  -- What made the same check pass, in words, and the interaction ids it came from (JSON arrays).
  fix            TEXT NOT NULL DEFAULT '',
  fix_refs       TEXT NOT NULL DEFAULT '[]',
  verification   TEXT NOT NULL DEFAULT '',
  failure_refs   TEXT NOT NULL DEFAULT '[]',
  example        TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (session_id, signature_id)
);
CREATE INDEX error_signatures_signature ON error_signatures (signature_id);

CREATE TABLE signature_scans (
  session_id    TEXT PRIMARY KEY,
  -- The session's interaction + hook event count when scanned: more means rescan.
  source_rows   INTEGER NOT NULL,
  scanned_at    INTEGER NOT NULL
);

-- One row per `rbk learn` run: what was asked, which synthesizer answered (and why it fell
-- back), where the files went.
CREATE TABLE learn_runs (
  id               TEXT PRIMARY KEY,
  session_id       TEXT NOT NULL,
  incident_id      TEXT,
  query            TEXT,
  synthesizer      TEXT NOT NULL,
  fallback_reason  TEXT,
  output_dir       TEXT NOT NULL,
  files            TEXT NOT NULL DEFAULT '[]',
  created_at       INTEGER NOT NULL
);
CREATE INDEX learn_runs_session ON learn_runs (session_id);

-- A distinct learned fact (an error signature and its fix, a tool gotcha), merged across runs.
CREATE TABLE learnings (
  id             TEXT PRIMARY KEY,
  kind           TEXT NOT NULL,
  signature_id   TEXT,
  signature      TEXT,
  title          TEXT NOT NULL,
  fix            TEXT NOT NULL DEFAULT '',
  verification   TEXT NOT NULL DEFAULT '',
  first_seen     INTEGER,
  last_seen      INTEGER,
  doc_path       TEXT,
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL
);

-- Provenance: which session (and run) taught each learning, from which interaction ids.
CREATE TABLE learning_sources (
  learning_id   TEXT NOT NULL REFERENCES learnings (id) ON DELETE CASCADE,
  session_id    TEXT NOT NULL,
  run_id        TEXT NOT NULL,
  refs          TEXT NOT NULL DEFAULT '[]',
  created_at    INTEGER NOT NULL,
  PRIMARY KEY (learning_id, session_id)
);
