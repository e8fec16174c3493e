-- The console sorts sessions by any column (daemon/query/sessions.ts SESSION_ORDERS). Without an
-- index each page of such an order sorts every session: 100,000 sessions cost ~120 ms per page.
-- One partial index per order, on exactly the expressions its ORDER BY uses (unknown values last,
-- then the largest / newest / A-Z, ties newest first), so a page is an index walk. Ascending
-- orders (the reverse of the default) are not indexed: they sort.
CREATE INDEX sessions_order_started ON sessions (COALESCE(started_at, last_activity_at) IS NULL, COALESCE(started_at, last_activity_at) DESC, last_activity_at DESC, id) WHERE expired_at IS NULL;
CREATE INDEX sessions_order_cost ON sessions ((CASE WHEN cost_complete THEN cost_usd END) IS NULL, (CASE WHEN cost_complete THEN cost_usd END) DESC, last_activity_at DESC, id) WHERE expired_at IS NULL;
CREATE INDEX sessions_order_tokens ON sessions ((input_tokens + output_tokens + cache_creation_tokens + cache_read_tokens) IS NULL, (input_tokens + output_tokens + cache_creation_tokens + cache_read_tokens) DESC, last_activity_at DESC, id) WHERE expired_at IS NULL;
CREATE INDEX sessions_order_errors ON sessions (MAX(tool_failures, t_tool_failures) IS NULL, MAX(tool_failures, t_tool_failures) DESC, last_activity_at DESC, id) WHERE expired_at IS NULL;
CREATE INDEX sessions_order_tools ON sessions (MAX(tool_calls, t_tool_calls) IS NULL, MAX(tool_calls, t_tool_calls) DESC, last_activity_at DESC, id) WHERE expired_at IS NULL;
CREATE INDEX sessions_order_prompts ON sessions (MAX(prompts, t_prompts) IS NULL, MAX(prompts, t_prompts) DESC, last_activity_at DESC, id) WHERE expired_at IS NULL;
CREATE INDEX sessions_order_project ON sessions (lower(COALESCE(project, cwd, '')) IS NULL, lower(COALESCE(project, cwd, '')), last_activity_at DESC, id) WHERE expired_at IS NULL;
