-- The redaction rule set a part was encoded under. When the rules change (a new rbk release, a
-- custom rule), the next sync re-encodes each older part with the current rules and uploads it
-- again under its key, so that the central copy carries the new redactions too. NULL: a part
-- uploaded before this column existed (re-encoded and compared on the next pass).
ALTER TABLE sync_parts ADD COLUMN redaction_version TEXT;
CREATE INDEX sync_parts_by_redaction ON sync_parts (redaction_version);
