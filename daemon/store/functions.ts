// SQL functions that rbk's schema calls. A connection that migrates the database gets them
// (migrate.ts), and so does every connection rbk opens (db.ts). A connection without them cannot
// read interactions_fts (it reads text through rbk_text) or write interactions (its triggers do).
import type Database from 'better-sqlite3';
import { unpackBody, unpackInteraction, unpackToolUseResult } from './line-codec.js';

/**
 * The SQL functions rbk's schema uses (storage v2, migration 0015): rbk_text(text) unpacks a
 * packed `interactions.text` and returns a plain one as it is. The full-text index's triggers and
 * content view call it, so every connection that writes interactions or reads the index needs it.
 * rbk_tool_result(text, tool_use_result) gives a row's tool_use_result as JSON text, for
 * json_extract() (it is packed against the row's text, so it takes both stored values), and
 * rbk_line(text, tool_input, tool_use_result, raw) the whole transcript line.
 */
export function registerFunctions(db: Database.Database): void {
  const text = (v: unknown) => (v === null || typeof v === 'string' ? v : unpackBody(v as Buffer)) as string | null;
  db.function('rbk_text', { deterministic: true }, text);
  db.function('rbk_tool_result', { deterministic: true }, (t: unknown, r: unknown) => unpackToolUseResult(text(t) ?? '', r as Buffer | string | null));
  db.function(
    'rbk_line',
    { deterministic: true },
    (t: unknown, input: unknown, r: unknown, raw: unknown) =>
      unpackInteraction({
        text: text(t) ?? '',
        tool_input: input as string | null,
        tool_use_result: r as Buffer | string | null,
        raw: raw as Buffer | string | null,
      }).raw,
  );
}
