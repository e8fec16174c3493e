// What writing the 2.1 GB scaling corpus's rows costs SQLite alone, as a floor under its import:
// the 1x store's interactions (built by `node bench/scaling.mjs --fresh-1x`: already parsed,
// redacted and packed) are inserted into a fresh store through the real InteractionStore, 500 rows
// per transaction, synchronous = NORMAL and the full-text index deferred, as during an import.
// No parsing, redaction, packing, usage or session rows. With --no-secondary-indexes, every index
// of interactions but its two uniqueness keys is dropped first.
//
// Usage: npm run build && node bench/insert-floor.mjs [--no-secondary-indexes]
// Writes bench/results/insert-floor.json (or insert-floor-no-secondary.json).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ROOT, writeResult } from './lib.mjs';
import { CORPUS_DIR } from './query-corpus.mjs';

const noSecondary = process.argv.includes('--no-secondary-indexes');
const { openDatabase } = await import(path.join(ROOT, 'dist', 'daemon', 'store', 'db.js'));
const { InteractionStore } = await import(path.join(ROOT, 'dist', 'daemon', 'store', 'interactions.js'));
const sourceFile = path.join(CORPUS_DIR, 'data', 'rbk.db');
if (!fs.existsSync(sourceFile)) throw new Error(`no 1x store at ${sourceFile}: run node bench/scaling.mjs --fresh-1x first`);
const src = new Database(sourceFile, { readonly: true });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rbk-insert-floor-'));
const db = openDatabase(path.join(dir, 'rbk.db'));
db.pragma('synchronous = NORMAL');
db.prepare('INSERT INTO search_index_backlog (id, from_id) VALUES (1, 1)').run();
const dropped = [];
if (noSecondary) {
  const indexes = db
    .prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'interactions' AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%'`)
    .pluck()
    .all();
  for (const name of indexes) {
    db.exec(`DROP INDEX "${name}"`);
    dropped.push(name);
  }
}
const store = new InteractionStore(db);
const rows = src.prepare(`SELECT uuid, block_index AS blockIndex, session_id AS sessionId, agent_id AS agentId, kind, subtype, ts AS timestamp, text,
  text_length AS textLength, tool_name AS toolName, tool_use_id AS toolUseId, tool_input AS toolInput, is_error AS isError,
  tool_use_result AS toolUseResult, spawned_agent_id AS spawnedAgentId, data, parent_uuid AS parentUuid, logical_parent_uuid AS logicalParentUuid,
  is_sidechain AS isSidechain, is_meta AS isMeta, is_compact_summary AS isCompactSummary, hidden, request_id AS requestId, message_id AS messageId,
  model, cwd, git_branch AS gitBranch, cc_version AS version, prompt_id AS promptId, source_path AS sourcePath, raw, ingested_at AS now,
  redaction_version AS redactionVersion, content_key AS contentKey, web_searches AS webSearches FROM interactions ORDER BY id`);
const write = db.transaction((batch) => {
  for (const r of batch) store.insert(r);
});
let batch = [];
let n = 0;
let readMs = 0;
const started = performance.now();
let readFrom = performance.now();
for (const r of rows.iterate()) {
  batch.push(r);
  if (batch.length < 500) continue;
  readMs += performance.now() - readFrom;
  write(batch);
  n += batch.length;
  batch = [];
  if (process.stderr.isTTY && n % 100_000 === 0) process.stderr.write(`\r${n} rows`);
  readFrom = performance.now();
}
write(batch);
n += batch.length;
const seconds = (performance.now() - started) / 1000;
db.close();
const dbBytes = fs.statSync(path.join(dir, 'rbk.db')).size;
fs.rmSync(dir, { recursive: true, force: true });
const out = writeResult(noSecondary ? 'insert-floor-no-secondary' : 'insert-floor', {
  rows: n,
  seconds: Math.round(seconds * 10) / 10,
  readingSourceSeconds: Math.round(readMs / 100) / 10,
  rowsPerSecond: Math.round(n / seconds),
  dbBytes,
  droppedIndexes: dropped,
});
console.log(JSON.stringify(out));
