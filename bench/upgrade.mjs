// Upgrade cost: what the first start after the transcript-fidelity change (migrations 0011-0012,
// daemon/ingest/rederive.ts) does to a store written before it: the two partial index builds, then
// the derivations. Run it on a COPY of a database (it rewrites it), e.g. the usage bench's store:
//
//   npm run build && cp bench/.corpus/query/data/rbk.db* /tmp/copy/ && node bench/upgrade.mjs /tmp/copy/rbk.db
//
// Not in `npm run bench`: it needs a large store and takes minutes. Figures in docs/benchmarks.md.
import Database from 'better-sqlite3';
import { performance } from 'node:perf_hooks';
import { rederive } from '../dist/daemon/ingest/rederive.js';
import { silentLogger } from '../dist/daemon/log.js';
const file = process.argv[2];
if (!file) {
  console.error('usage: node bench/upgrade.mjs <a copy of rbk.db>');
  process.exit(2);
}
const db = new Database(file);
db.pragma('journal_mode = WAL');
const t = (label, fn) => {
  const s = performance.now();
  const r = fn();
  console.log(`${label}: ${((performance.now() - s) / 1000).toFixed(1)} s`, r ?? '');
  return r;
};
console.log('interactions', db.prepare('SELECT count(*) FROM interactions').pluck().get());
// Back to the state before migrations 0011/0012 as far as their cost goes: no keys, no indexes, no derivations.
t('reset (not part of the upgrade)', () => {
  db.exec('DROP INDEX IF EXISTS interactions_content; DROP INDEX IF EXISTS interactions_legacy_sidechain; DELETE FROM derivations;');
  db.exec('UPDATE interactions SET content_key = NULL, web_searches = NULL');
});
t('migration: the two partial indexes', () => {
  db.exec('CREATE UNIQUE INDEX interactions_content ON interactions (session_id, content_key) WHERE content_key IS NOT NULL;');
  db.exec('CREATE INDEX interactions_legacy_sidechain ON interactions (session_id) WHERE is_sidechain = 1 AND agent_id IS NULL AND hidden = 0;');
});
const mem0 = process.memoryUsage().rss;
const r = t('derivations', () => rederive(db, silentLogger));
console.log(JSON.stringify(r));
console.log('rss MB', Math.round(process.memoryUsage().rss / 1e6), 'start', Math.round(mem0 / 1e6));
db.close();
