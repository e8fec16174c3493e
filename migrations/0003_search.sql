-- Query side (issue 6): full-text search over interactions, and the indexes that the session
-- filters, usage reports and stats need at a few million interactions.

-- External-content FTS5 index over the conversation: prompts, assistant text, thinking, tool
-- inputs and tool outputs. The text lives once, in interactions; the index points at it by
-- rowid (interactions.id), so snippet() and highlight() read it from there.
--
-- Only visible conversation rows are indexed (hidden warmup/compaction runs and bookkeeping
-- kinds are not). The triggers below apply the same condition to the old and the new row, so
-- the index always holds exactly the rows that meet it: an external-content 'delete' must name a
-- row that was indexed, with the values it was indexed with, or the index is corrupted.
--
-- Everything that changes interactions (ingestion inserts, redaction rewrites of text or
-- tool_input, retention deletes) keeps the index in sync through these triggers, with no code of
-- its own. One caveat: INSERT OR REPLACE fires the delete trigger only with recursive_triggers
-- on; rbk's writers use INSERT OR IGNORE and UPDATE, which are covered.
CREATE VIRTUAL TABLE interactions_fts USING fts5(
  text,
  tool_input,
  content = 'interactions',
  content_rowid = 'id',
  tokenize = 'porter unicode61 remove_diacritics 2'
);

CREATE TRIGGER interactions_fts_insert AFTER INSERT ON interactions
WHEN new.hidden = 0 AND new.kind IN ('user_prompt', 'assistant_text', 'thinking', 'tool_use', 'tool_result')
BEGIN
  INSERT INTO interactions_fts (rowid, text, tool_input) VALUES (new.id, new.text, new.tool_input);
END;

CREATE TRIGGER interactions_fts_delete AFTER DELETE ON interactions
WHEN old.hidden = 0 AND old.kind IN ('user_prompt', 'assistant_text', 'thinking', 'tool_use', 'tool_result')
BEGIN
  INSERT INTO interactions_fts (interactions_fts, rowid, text, tool_input) VALUES ('delete', old.id, old.text, old.tool_input);
END;

-- Only the indexed columns (and what decides whether a row is indexed) re-index a row: dropping
-- `raw` after keepRawDays, for example, costs nothing here.
CREATE TRIGGER interactions_fts_update AFTER UPDATE OF id, text, tool_input, hidden, kind ON interactions
BEGIN
  INSERT INTO interactions_fts (interactions_fts, rowid, text, tool_input)
    SELECT 'delete', old.id, old.text, old.tool_input
    WHERE old.hidden = 0 AND old.kind IN ('user_prompt', 'assistant_text', 'thinking', 'tool_use', 'tool_result');
  INSERT INTO interactions_fts (rowid, text, tool_input)
    SELECT new.id, new.text, new.tool_input
    WHERE new.hidden = 0 AND new.kind IN ('user_prompt', 'assistant_text', 'thinking', 'tool_use', 'tool_result');
END;

-- Rows stored before this migration.
INSERT INTO interactions_fts (rowid, text, tool_input)
  SELECT id, text, tool_input FROM interactions
  WHERE hidden = 0 AND kind IN ('user_prompt', 'assistant_text', 'thinking', 'tool_use', 'tool_result');

-- `rbk sessions --tool NAME` and the per-tool stats: the visible tool calls by tool.
CREATE INDEX interactions_tool_calls ON interactions (tool_name, session_id) WHERE kind = 'tool_use' AND hidden = 0;
-- Failed tool calls (stats failure rates, search --errors, sessions --errors by tool).
CREATE INDEX interactions_tool_errors ON interactions (tool_use_id) WHERE kind = 'tool_result' AND is_error = 1;
-- Hook-only sessions (no transcript) by tool.
CREATE INDEX hook_events_tool ON hook_events (tool_name, session_id) WHERE tool_name IS NOT NULL;

-- Usage reports (`rbk usage`): message_usage rolled up per 15-minute UTC slot, session and model,
-- kept in step by triggers (inserts, the usage upsert's updates, deletes). Every time zone in use
-- is a whole number of quarter hours from UTC, so any local day is a whole number of slots, and a
-- year of reports reads tens of thousands of rows instead of every API response. Responses with
-- no timestamp go to slot -1.
CREATE TABLE usage_rollup (
  slot                   INTEGER NOT NULL,
  session_id             TEXT NOT NULL,
  model                  TEXT NOT NULL,
  messages               INTEGER NOT NULL,
  -- Responses with a known cost; messages - priced have none (an unpriced model).
  priced                 INTEGER NOT NULL,
  input_tokens           INTEGER NOT NULL,
  output_tokens          INTEGER NOT NULL,
  cache_creation_tokens  INTEGER NOT NULL,
  cache_read_tokens      INTEGER NOT NULL,
  -- Sum of the known costs.
  cost_usd               REAL NOT NULL,
  first_ts               INTEGER,
  last_ts                INTEGER,
  PRIMARY KEY (slot, session_id, model)
) WITHOUT ROWID;

CREATE TRIGGER message_usage_rollup_insert AFTER INSERT ON message_usage
BEGIN
  INSERT INTO usage_rollup (slot, session_id, model, messages, priced, input_tokens, output_tokens, cache_creation_tokens, cache_read_tokens, cost_usd, first_ts, last_ts)
  VALUES (COALESCE(new.ts / 900000, -1), COALESCE(new.session_id, ''), new.model, 1, new.cost_usd IS NOT NULL, new.input_tokens, new.output_tokens,
          new.cache_creation_tokens, new.cache_read_tokens, COALESCE(new.cost_usd, 0), new.ts, new.ts)
  ON CONFLICT (slot, session_id, model) DO UPDATE SET
    messages = messages + 1, priced = priced + excluded.priced,
    input_tokens = input_tokens + excluded.input_tokens, output_tokens = output_tokens + excluded.output_tokens,
    cache_creation_tokens = cache_creation_tokens + excluded.cache_creation_tokens, cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens,
    cost_usd = cost_usd + excluded.cost_usd,
    first_ts = MIN(COALESCE(first_ts, excluded.first_ts), COALESCE(excluded.first_ts, first_ts)),
    last_ts = MAX(COALESCE(last_ts, excluded.last_ts), COALESCE(excluded.last_ts, last_ts));
END;

CREATE TRIGGER message_usage_rollup_delete AFTER DELETE ON message_usage
BEGIN
  UPDATE usage_rollup SET
    messages = messages - 1, priced = priced - (old.cost_usd IS NOT NULL),
    input_tokens = input_tokens - old.input_tokens, output_tokens = output_tokens - old.output_tokens,
    cache_creation_tokens = cache_creation_tokens - old.cache_creation_tokens, cache_read_tokens = cache_read_tokens - old.cache_read_tokens,
    cost_usd = cost_usd - COALESCE(old.cost_usd, 0)
  WHERE slot = COALESCE(old.ts / 900000, -1) AND session_id = COALESCE(old.session_id, '') AND model = old.model;
  DELETE FROM usage_rollup WHERE slot = COALESCE(old.ts / 900000, -1) AND session_id = COALESCE(old.session_id, '') AND model = old.model AND messages <= 0;
END;

-- The usage upsert (a later split line of the same response raising a counter) lands here.
CREATE TRIGGER message_usage_rollup_update AFTER UPDATE ON message_usage
BEGIN
  UPDATE usage_rollup SET
    messages = messages - 1, priced = priced - (old.cost_usd IS NOT NULL),
    input_tokens = input_tokens - old.input_tokens, output_tokens = output_tokens - old.output_tokens,
    cache_creation_tokens = cache_creation_tokens - old.cache_creation_tokens, cache_read_tokens = cache_read_tokens - old.cache_read_tokens,
    cost_usd = cost_usd - COALESCE(old.cost_usd, 0)
  WHERE slot = COALESCE(old.ts / 900000, -1) AND session_id = COALESCE(old.session_id, '') AND model = old.model;
  DELETE FROM usage_rollup WHERE slot = COALESCE(old.ts / 900000, -1) AND session_id = COALESCE(old.session_id, '') AND model = old.model AND messages <= 0;
  INSERT INTO usage_rollup (slot, session_id, model, messages, priced, input_tokens, output_tokens, cache_creation_tokens, cache_read_tokens, cost_usd, first_ts, last_ts)
  VALUES (COALESCE(new.ts / 900000, -1), COALESCE(new.session_id, ''), new.model, 1, new.cost_usd IS NOT NULL, new.input_tokens, new.output_tokens,
          new.cache_creation_tokens, new.cache_read_tokens, COALESCE(new.cost_usd, 0), new.ts, new.ts)
  ON CONFLICT (slot, session_id, model) DO UPDATE SET
    messages = messages + 1, priced = priced + excluded.priced,
    input_tokens = input_tokens + excluded.input_tokens, output_tokens = output_tokens + excluded.output_tokens,
    cache_creation_tokens = cache_creation_tokens + excluded.cache_creation_tokens, cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens,
    cost_usd = cost_usd + excluded.cost_usd,
    first_ts = MIN(COALESCE(first_ts, excluded.first_ts), COALESCE(excluded.first_ts, first_ts)),
    last_ts = MAX(COALESCE(last_ts, excluded.last_ts), COALESCE(excluded.last_ts, last_ts));
END;

-- Usage stored before this migration.
INSERT INTO usage_rollup (slot, session_id, model, messages, priced, input_tokens, output_tokens, cache_creation_tokens, cache_read_tokens, cost_usd, first_ts, last_ts)
  SELECT COALESCE(ts / 900000, -1), COALESCE(session_id, ''), model, count(*), count(cost_usd), SUM(input_tokens), SUM(output_tokens),
         SUM(cache_creation_tokens), SUM(cache_read_tokens), COALESCE(SUM(cost_usd), 0), MIN(ts), MAX(ts)
  FROM message_usage GROUP BY 1, 2, 3;
