-- Web search (issue 19): server-side web searches are billed per request ($10 per 1,000), apart
-- from tokens. Claude Code writes usage.server_tool_use.web_search_requests = 0 on the response
-- that called WebSearch; the searches the tool ran are on its result (searchCount, or one result
-- entry per search). Both are kept per API response, and the count that applies is the reported
-- one when it is not 0, else the one linked from the tool results (the rule peers use).
ALTER TABLE message_usage ADD COLUMN web_search_reported INTEGER NOT NULL DEFAULT 0;
ALTER TABLE message_usage ADD COLUMN web_search_linked INTEGER NOT NULL DEFAULT 0;
-- The count that applies, defined once: every report, rollup and total reads this column.
ALTER TABLE message_usage ADD COLUMN web_search_requests INTEGER
  GENERATED ALWAYS AS (CASE WHEN web_search_reported > 0 THEN web_search_reported ELSE web_search_linked END) VIRTUAL;
-- The tool result's own count, so the link can be redone (a re-derive, a pull).
ALTER TABLE interactions ADD COLUMN web_searches INTEGER;
ALTER TABLE usage_rollup ADD COLUMN web_search_requests INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN web_search_requests INTEGER NOT NULL DEFAULT 0;

-- The rollup triggers of 0003, with the web searches that apply carried along.
DROP TRIGGER message_usage_rollup_insert;
DROP TRIGGER message_usage_rollup_delete;
DROP TRIGGER message_usage_rollup_update;

CREATE TRIGGER message_usage_rollup_insert AFTER INSERT ON message_usage
BEGIN
  INSERT INTO usage_rollup (slot, session_id, model, messages, priced, input_tokens, output_tokens, cache_creation_tokens, cache_read_tokens, cost_usd, first_ts, last_ts, web_search_requests)
  VALUES (COALESCE(new.ts / 900000, -1), COALESCE(new.session_id, ''), new.model, 1, new.cost_usd IS NOT NULL, new.input_tokens, new.output_tokens,
          new.cache_creation_tokens, new.cache_read_tokens, COALESCE(new.cost_usd, 0), new.ts, new.ts,
          new.web_search_requests)
  ON CONFLICT (slot, session_id, model) DO UPDATE SET
    messages = messages + 1, priced = priced + excluded.priced,
    input_tokens = input_tokens + excluded.input_tokens, output_tokens = output_tokens + excluded.output_tokens,
    cache_creation_tokens = cache_creation_tokens + excluded.cache_creation_tokens, cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens,
    cost_usd = cost_usd + excluded.cost_usd,
    first_ts = MIN(COALESCE(first_ts, excluded.first_ts), COALESCE(excluded.first_ts, first_ts)),
    last_ts = MAX(COALESCE(last_ts, excluded.last_ts), COALESCE(excluded.last_ts, last_ts)),
    web_search_requests = web_search_requests + excluded.web_search_requests;
END;

CREATE TRIGGER message_usage_rollup_delete AFTER DELETE ON message_usage
BEGIN
  UPDATE usage_rollup SET
    messages = messages - 1, priced = priced - (old.cost_usd IS NOT NULL),
    input_tokens = input_tokens - old.input_tokens, output_tokens = output_tokens - old.output_tokens,
    cache_creation_tokens = cache_creation_tokens - old.cache_creation_tokens, cache_read_tokens = cache_read_tokens - old.cache_read_tokens,
    cost_usd = cost_usd - COALESCE(old.cost_usd, 0),
    web_search_requests = web_search_requests - old.web_search_requests
  WHERE slot = COALESCE(old.ts / 900000, -1) AND session_id = COALESCE(old.session_id, '') AND model = old.model;
  DELETE FROM usage_rollup WHERE slot = COALESCE(old.ts / 900000, -1) AND session_id = COALESCE(old.session_id, '') AND model = old.model AND messages <= 0;
END;

CREATE TRIGGER message_usage_rollup_update AFTER UPDATE ON message_usage
BEGIN
  UPDATE usage_rollup SET
    messages = messages - 1, priced = priced - (old.cost_usd IS NOT NULL),
    input_tokens = input_tokens - old.input_tokens, output_tokens = output_tokens - old.output_tokens,
    cache_creation_tokens = cache_creation_tokens - old.cache_creation_tokens, cache_read_tokens = cache_read_tokens - old.cache_read_tokens,
    cost_usd = cost_usd - COALESCE(old.cost_usd, 0),
    web_search_requests = web_search_requests - old.web_search_requests
  WHERE slot = COALESCE(old.ts / 900000, -1) AND session_id = COALESCE(old.session_id, '') AND model = old.model;
  DELETE FROM usage_rollup WHERE slot = COALESCE(old.ts / 900000, -1) AND session_id = COALESCE(old.session_id, '') AND model = old.model AND messages <= 0;
  INSERT INTO usage_rollup (slot, session_id, model, messages, priced, input_tokens, output_tokens, cache_creation_tokens, cache_read_tokens, cost_usd, first_ts, last_ts, web_search_requests)
  VALUES (COALESCE(new.ts / 900000, -1), COALESCE(new.session_id, ''), new.model, 1, new.cost_usd IS NOT NULL, new.input_tokens, new.output_tokens,
          new.cache_creation_tokens, new.cache_read_tokens, COALESCE(new.cost_usd, 0), new.ts, new.ts,
          new.web_search_requests)
  ON CONFLICT (slot, session_id, model) DO UPDATE SET
    messages = messages + 1, priced = priced + excluded.priced,
    input_tokens = input_tokens + excluded.input_tokens, output_tokens = output_tokens + excluded.output_tokens,
    cache_creation_tokens = cache_creation_tokens + excluded.cache_creation_tokens, cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens,
    cost_usd = cost_usd + excluded.cost_usd,
    first_ts = MIN(COALESCE(first_ts, excluded.first_ts), COALESCE(excluded.first_ts, first_ts)),
    last_ts = MAX(COALESCE(last_ts, excluded.last_ts), COALESCE(excluded.last_ts, last_ts)),
    web_search_requests = web_search_requests + excluded.web_search_requests;
END;

-- Subagents of Claude Code ≤ 2.0.27 (issue 19) were written inline: isSidechain lines in the main
-- file with no agent id. daemon/ingest/legacy-sidechains.ts attaches them to the Task call that
-- spawned them; this index finds the ones not attached yet without reading the session's rows.
CREATE INDEX interactions_legacy_sidechain ON interactions (session_id) WHERE is_sidechain = 1 AND agent_id IS NULL AND hidden = 0;
