-- Storage v2: each transcript line and each tool result is stored once, compressed.
--
-- `interactions.raw` (the whole line) and `interactions.tool_use_result` are written packed by
-- daemon/store/line-codec.ts: brotli of the value with the row's `text` (and, in the line, the
-- tool result) replaced by references, as a BLOB; values under 256 characters stay TEXT. Rows
-- written before this migration hold plain TEXT, which every reader still understands. The `pack`
-- job (daemon/store/pack.ts) converts them in place, a window of ids per transaction, after the
-- daemon starts or by `rbk migrate`; this table says how far it has come, so that a restart
-- (kill -9 included) resumes where the last committed window ended.
CREATE TABLE storage_pack (
  id          INTEGER PRIMARY KEY CHECK (id = 1),
  -- The highest interaction id written before this migration: the last row that may be plain.
  until_id    INTEGER NOT NULL,
  -- Every row with an id up to here is packed.
  through_id  INTEGER NOT NULL,
  started_at  INTEGER,
  finished_at INTEGER
);
INSERT INTO storage_pack (id, until_id, through_id)
  SELECT 1, COALESCE(MAX(id), 0), CASE WHEN MAX(id) IS NULL THEN 0 ELSE MIN(id) - 1 END FROM interactions;

-- `interactions.text` of 1,024 characters or more is packed too (plain brotli, no references: it
-- is the one copy the others refer to). SQL reads it through rbk_text(text), a function every
-- connection that rbk opens registers (store/db.ts); it returns a plain value as it is. The
-- full-text index reads its text through the view below, so it still holds no copy of its own.
CREATE VIEW interactions_text AS
  SELECT id, rbk_text(text) AS text, tool_input FROM interactions
  WHERE hidden = 0 AND kind IN ('user_prompt', 'assistant_text', 'thinking', 'tool_use', 'tool_result');

DROP TRIGGER interactions_fts_insert;
DROP TRIGGER interactions_fts_delete;
DROP TRIGGER interactions_fts_update;
DROP TABLE interactions_fts;

CREATE VIRTUAL TABLE interactions_fts USING fts5(
  text,
  tool_input,
  content = 'interactions_text',
  content_rowid = 'id',
  tokenize = 'porter unicode61 remove_diacritics 2'
);

-- The same rules as migrations 0003 and 0007 (visible conversation rows, none at or above the
-- search backlog's watermark), with the text unpacked.
CREATE TRIGGER interactions_fts_insert AFTER INSERT ON interactions
WHEN new.hidden = 0 AND new.kind IN ('user_prompt', 'assistant_text', 'thinking', 'tool_use', 'tool_result')
  AND NOT EXISTS (SELECT 1 FROM search_index_backlog WHERE new.id >= from_id)
BEGIN
  INSERT INTO interactions_fts (rowid, text, tool_input) VALUES (new.id, rbk_text(new.text), new.tool_input);
END;

CREATE TRIGGER interactions_fts_delete AFTER DELETE ON interactions
WHEN old.hidden = 0 AND old.kind IN ('user_prompt', 'assistant_text', 'thinking', 'tool_use', 'tool_result')
  AND NOT EXISTS (SELECT 1 FROM search_index_backlog WHERE old.id >= from_id)
BEGIN
  INSERT INTO interactions_fts (interactions_fts, rowid, text, tool_input) VALUES ('delete', old.id, rbk_text(old.text), old.tool_input);
END;

-- Packing a row's text changes its bytes, not its value: no re-index for that.
CREATE TRIGGER interactions_fts_update AFTER UPDATE OF id, text, tool_input, hidden, kind ON interactions
WHEN old.id IS NOT new.id OR old.tool_input IS NOT new.tool_input OR old.hidden IS NOT new.hidden OR old.kind IS NOT new.kind
  OR rbk_text(old.text) IS NOT rbk_text(new.text)
BEGIN
  INSERT INTO interactions_fts (interactions_fts, rowid, text, tool_input)
    SELECT 'delete', old.id, rbk_text(old.text), old.tool_input
    WHERE old.hidden = 0 AND old.kind IN ('user_prompt', 'assistant_text', 'thinking', 'tool_use', 'tool_result')
      AND NOT EXISTS (SELECT 1 FROM search_index_backlog WHERE old.id >= from_id);
  INSERT INTO interactions_fts (rowid, text, tool_input)
    SELECT new.id, rbk_text(new.text), new.tool_input
    WHERE new.hidden = 0 AND new.kind IN ('user_prompt', 'assistant_text', 'thinking', 'tool_use', 'tool_result')
      AND NOT EXISTS (SELECT 1 FROM search_index_backlog WHERE new.id >= from_id);
END;

-- The index again, from the same rows (rows in the search backlog stay out, as before).
INSERT INTO interactions_fts (rowid, text, tool_input)
  SELECT id, text, tool_input FROM interactions_text
  WHERE NOT EXISTS (SELECT 1 FROM search_index_backlog WHERE id >= from_id);
