-- A session's cwd and project name where it was launched: the cwd seen at the earliest moment any
-- source (hook, transcript line) reports, whichever arrived first (daemon/store/session-store.ts).
-- cwd_at is that moment. Hooks used to overwrite the cwd with the latest one (CwdChanged moves it)
-- and transcripts kept the first they read; existing rows keep their cwd, dated at the session start.
ALTER TABLE sessions ADD COLUMN cwd_at INTEGER;
UPDATE sessions SET cwd_at = started_at WHERE cwd IS NOT NULL;
