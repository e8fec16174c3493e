-- Learn's incident model (daemon/learn/incident.ts): error_signatures now hold the failures of
-- incidents only (not missteps, not unrelated failures), so `rbk incidents` and "seen before"
-- stop clustering one-off slips. The rows are a cache re-derived from the stored sessions: drop
-- them, and record which model version computed each scan so that a later model change rescans.
DELETE FROM error_signatures;
DELETE FROM signature_scans;
ALTER TABLE signature_scans ADD COLUMN model INTEGER NOT NULL DEFAULT 0;
-- The incident's status as learn saw it: resolved | fixed-unverified | unresolved.
ALTER TABLE error_signatures ADD COLUMN status TEXT NOT NULL DEFAULT 'unresolved';
