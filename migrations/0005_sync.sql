-- Central copy (issue 5): what has been uploaded to the storage backend, what is planned, and
-- what is still to do. Delivery is at-least-once with deterministic keys, so every table here is
-- about being able to redo the last step exactly after a crash or an outage.

-- NULL: captured on this machine. Set by `rbk pull` to the host a session came from; such
-- sessions are read-only here and never uploaded again.
ALTER TABLE sessions ADD COLUMN pulled_from TEXT;

-- One row per session the sync engine knows. The partition (host, date) is fixed the first time
-- a part is planned, so that a session's keys never move even if its start time is corrected
-- by a transcript read later.
CREATE TABLE sync_sessions (
  session_id        TEXT PRIMARY KEY,
  host              TEXT,
  date              TEXT,
  -- The backlog marker: set (by the triggers below) when a row of the session is stored, cleared
  -- once a pass has uploaded everything up to the rows it saw. NULL = nothing pending.
  dirty_since       INTEGER,
  -- Backoff after failures: no attempt before next_attempt_at. Reset by a success.
  attempts          INTEGER NOT NULL DEFAULT 0,
  next_attempt_at   INTEGER,
  last_attempt_at   INTEGER,
  last_error        TEXT,
  last_error_at     INTEGER,
  last_success_at   INTEGER,
  -- sha256 of the last session.json uploaded, to skip an identical manifest PUT.
  manifest_sha256   TEXT
);
CREATE INDEX sync_sessions_dirty ON sync_sessions (next_attempt_at) WHERE dirty_since IS NOT NULL;

-- Per session and dataset: the upload watermark (rows with an id up to uploaded_through are in
-- confirmed parts) and the part planned but not yet confirmed. A retry after a crash uploads the
-- planned row range again under the planned sequence number, so the same rows get the same key.
CREATE TABLE sync_streams (
  session_id        TEXT NOT NULL,
  dataset           TEXT NOT NULL CHECK (dataset IN ('interactions', 'hook_events')),
  -- interactions.id or hook_events.seq of the last row in a confirmed part; 0 = none.
  uploaded_through  INTEGER NOT NULL DEFAULT 0,
  -- Highest part sequence number confirmed; 0 = none.
  last_seq          INTEGER NOT NULL DEFAULT 0,
  planned_seq       INTEGER,
  planned_first_row INTEGER,
  planned_last_row  INTEGER,
  PRIMARY KEY (session_id, dataset)
);

-- Confirmed objects, as listed in the session's manifest. S3 compaction replaces the rows of
-- parts first..last with one row covering them.
CREATE TABLE sync_parts (
  session_id        TEXT NOT NULL,
  dataset           TEXT NOT NULL CHECK (dataset IN ('interactions', 'hook_events')),
  first_seq         INTEGER NOT NULL,
  last_seq          INTEGER NOT NULL,
  key               TEXT NOT NULL,
  first_row         INTEGER NOT NULL,
  last_row          INTEGER NOT NULL,
  rows              INTEGER NOT NULL,
  bytes             INTEGER NOT NULL,
  sha256            TEXT NOT NULL,
  uploaded_at       INTEGER NOT NULL,
  PRIMARY KEY (session_id, dataset, first_seq)
);

-- Every stored row marks its session dirty, whichever path stored it (hook, spool, tail, import,
-- pull), in the same transaction: the backlog survives any restart.
CREATE TRIGGER sync_dirty_interactions AFTER INSERT ON interactions
WHEN new.session_id IS NOT NULL
BEGIN
  INSERT INTO sync_sessions (session_id, dirty_since) VALUES (new.session_id, CAST(unixepoch('subsec') * 1000 AS INTEGER))
  ON CONFLICT (session_id) DO UPDATE SET dirty_since = excluded.dirty_since WHERE sync_sessions.dirty_since IS NULL;
END;

CREATE TRIGGER sync_dirty_hook_events AFTER INSERT ON hook_events
WHEN new.session_id IS NOT NULL
BEGIN
  INSERT INTO sync_sessions (session_id, dirty_since) VALUES (new.session_id, CAST(unixepoch('subsec') * 1000 AS INTEGER))
  ON CONFLICT (session_id) DO UPDATE SET dirty_since = excluded.dirty_since WHERE sync_sessions.dirty_since IS NULL;
END;

-- Sessions already in the database when sync arrives are backlog too.
INSERT INTO sync_sessions (session_id, dirty_since)
SELECT id, CAST(unixepoch('subsec') * 1000 AS INTEGER) FROM sessions WHERE expired_at IS NULL;

-- ---------------------------------------------------------------------------------------------
-- rbk pull (daemon/sync/pull.ts). Per pulled session: the manifest last pulled in full (a pull
-- that finds the same sha256 fetches nothing more) and, per dataset, the highest part sequence
-- number up to which every part's rows are stored here, so a newer manifest fetches only newer
-- parts, and a compacted part covering parts already pulled is not fetched at all.
CREATE TABLE pull_sessions (
  session_id            TEXT PRIMARY KEY,
  host                  TEXT NOT NULL,
  manifest_key          TEXT NOT NULL,
  -- NULL until a pull has stored every part the manifest lists.
  manifest_sha256       TEXT,
  interactions_through  INTEGER NOT NULL DEFAULT 0,
  hook_events_through   INTEGER NOT NULL DEFAULT 0,
  pulled_at             INTEGER NOT NULL
);
