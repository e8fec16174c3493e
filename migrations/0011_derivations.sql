-- Transcript fidelity (issue 19): values rbk derives from what it stored (a session's project from
-- its cwd, whether a user block is a prompt or context) are re-derived once when the rule changes,
-- so that an existing store gives the same answers as a fresh import by the new code.
-- daemon/ingest/rederive.ts lists the derivations and their versions; a row here says which
-- version this database was brought to, and when. Each runs in one transaction with its row.
CREATE TABLE derivations (
  name       TEXT PRIMARY KEY,
  version    INTEGER NOT NULL,
  applied_at INTEGER NOT NULL,
  -- What it changed, as JSON counts (for the daemon log and doctor).
  counts     TEXT NOT NULL DEFAULT '{}'
);

-- What an interaction is beyond its line's uuid (daemon/ingest/transcripts/identity.ts): a replay
-- of stored content under new uuids (a resume across Claude Code versions) is ignored, not stored
-- twice. 8 bytes per row, unique within a session; rows stored before this migration get theirs,
-- and their duplicates removed, from the `replay_identity` derivation at the next start.
ALTER TABLE interactions ADD COLUMN content_key BLOB;
CREATE UNIQUE INDEX interactions_content ON interactions (session_id, content_key) WHERE content_key IS NOT NULL;
