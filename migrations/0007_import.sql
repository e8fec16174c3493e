-- Backfill speed (issue 3): `rbk import` defers full-text indexing and builds it in bulk.
--
-- Indexing row by row from the insert trigger cost more than everything else an import does
-- (FTS5 flushes and merges a small segment per transaction). While an import runs, the rows it
-- and anything else insert are left out of interactions_fts, and the daemon indexes them in a
-- few large INSERT … SELECT statements when the import ends (daemon/ingest/search-backlog.ts),
-- before the import reports done. A daemon killed meanwhile finishes the job when it starts.
--
-- At most one row. When present, exactly the visible conversation rows with id >= from_id are
-- missing from the index, and every row below it that meets the condition is indexed. The
-- triggers below keep that true: they skip rows at or above from_id, so an external-content
-- 'delete' is never issued for a row that was not indexed (which would corrupt the index). The
-- daemon only ever sets from_id above every existing id and raises it as the backlog shrinks.
CREATE TABLE search_index_backlog (
  id      INTEGER PRIMARY KEY CHECK (id = 1),
  from_id INTEGER NOT NULL
);

DROP TRIGGER interactions_fts_insert;
DROP TRIGGER interactions_fts_delete;
DROP TRIGGER interactions_fts_update;

CREATE TRIGGER interactions_fts_insert AFTER INSERT ON interactions
WHEN new.hidden = 0 AND new.kind IN ('user_prompt', 'assistant_text', 'thinking', 'tool_use', 'tool_result')
  AND NOT EXISTS (SELECT 1 FROM search_index_backlog WHERE new.id >= from_id)
BEGIN
  INSERT INTO interactions_fts (rowid, text, tool_input) VALUES (new.id, new.text, new.tool_input);
END;

CREATE TRIGGER interactions_fts_delete AFTER DELETE ON interactions
WHEN old.hidden = 0 AND old.kind IN ('user_prompt', 'assistant_text', 'thinking', 'tool_use', 'tool_result')
  AND NOT EXISTS (SELECT 1 FROM search_index_backlog WHERE old.id >= from_id)
BEGIN
  INSERT INTO interactions_fts (interactions_fts, rowid, text, tool_input) VALUES ('delete', old.id, old.text, old.tool_input);
END;

CREATE TRIGGER interactions_fts_update AFTER UPDATE OF id, text, tool_input, hidden, kind ON interactions
BEGIN
  INSERT INTO interactions_fts (interactions_fts, rowid, text, tool_input)
    SELECT 'delete', old.id, old.text, old.tool_input
    WHERE old.hidden = 0 AND old.kind IN ('user_prompt', 'assistant_text', 'thinking', 'tool_use', 'tool_result')
      AND NOT EXISTS (SELECT 1 FROM search_index_backlog WHERE old.id >= from_id);
  INSERT INTO interactions_fts (rowid, text, tool_input)
    SELECT new.id, new.text, new.tool_input
    WHERE new.hidden = 0 AND new.kind IN ('user_prompt', 'assistant_text', 'thinking', 'tool_use', 'tool_result')
      AND NOT EXISTS (SELECT 1 FROM search_index_backlog WHERE new.id >= from_id);
END;
