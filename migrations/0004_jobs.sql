-- Background jobs (issue 4): the runs of each job, redaction bookkeeping, pinning and retention.

-- One row per run of a job (daemon/jobs). A run still 'running' when the daemon starts was cut
-- short by a crash or a kill: startup marks it 'interrupted'.
CREATE TABLE job_runs (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  job         TEXT NOT NULL,
  trigger     TEXT NOT NULL CHECK (trigger IN ('cron', 'manual')),
  started_at  INTEGER NOT NULL,
  ended_at    INTEGER,
  status      TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'ok', 'failed', 'interrupted')),
  -- JSON object of named counters, e.g. {"sessions":3,"interactions":120}.
  counts      TEXT NOT NULL DEFAULT '{}',
  error       TEXT
);
CREATE INDEX job_runs_job ON job_runs (job, id DESC);
CREATE INDEX job_runs_running ON job_runs (status) WHERE status = 'running';

-- Which redaction rule set a row was last scanned with (daemon/redact); NULL = never scanned.
ALTER TABLE hook_events ADD COLUMN redaction_version TEXT;
ALTER TABLE interactions ADD COLUMN redaction_version TEXT;

-- Pinned sessions are never expired by retention.
ALTER TABLE sessions ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0;
-- Set when retention removed the session's history (hook events, interactions, usage, subagents).
-- The row itself stays as a tombstone with zeroed counts, and so do its transcripts rows with
-- their byte offsets, so that neither the watcher nor `rbk import` reads the expired history again.
ALTER TABLE sessions ADD COLUMN expired_at INTEGER;
