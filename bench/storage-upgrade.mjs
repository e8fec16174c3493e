// Storage v2's upgrade cost on a big store written before it: migration 0015 (which re-builds the
// full-text index to read through rbk_text), then the pack job's work (every plain text, tool
// result and raw line packed in place, 500 rows per transaction), then returning the freed pages.
// Sizes before and after. Run it on a COPY of a database written by the previous release (it
// rewrites it), e.g. the query bench's store before `--fresh-1x` rebuilds it:
//
//   npm run build && cp bench/.corpus/query/data/rbk.db /tmp/copy/ && node bench/storage-upgrade.mjs /tmp/copy/rbk.db
//
// Not in `npm run bench`: it needs a large store and takes minutes. Figures in docs/benchmarks.md.
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { openDatabase } from '../dist/daemon/store/db.js';
import { PackStore } from '../dist/daemon/store/pack.js';
import { writeResult } from './lib.mjs';

const file = process.argv[2];
if (!file) {
  console.error('usage: node bench/storage-upgrade.mjs <a copy of rbk.db>');
  process.exit(2);
}
const size = () => ['', '-wal'].reduce((a, s) => a + (fs.existsSync(file + s) ? fs.statSync(file + s).size : 0), 0);
const mb = (b) => Math.round(b / 1048576);
const bytesBefore = size();

let t = performance.now();
const db = openDatabase(file);
const migrationSeconds = (performance.now() - t) / 1000;
console.log(`migration 0015 (with the full-text index re-built): ${migrationSeconds.toFixed(1)} s`);
const interactions = db.prepare('SELECT count(*) FROM interactions').pluck().get();

t = performance.now();
const store = new PackStore(db);
let rows = 0;
let before = 0;
let after = 0;
let last = performance.now();
for (;;) {
  const r = store.packNext(500);
  rows += r.rows;
  before += r.bytesBefore;
  after += r.bytesAfter;
  if (performance.now() - last > 10_000) {
    last = performance.now();
    console.log(`  packed ${rows} rows (${mb(before)} → ${mb(after)} MB)`);
  }
  if (r.done) break;
}
const packSeconds = (performance.now() - t) / 1000;
console.log(`pack: ${rows} rows in ${packSeconds.toFixed(1)} s (${Math.round(rows / packSeconds)} rows/s); values ${mb(before)} → ${mb(after)} MB`);

// What the pack job does next when packing freed a tenth of the file or more (and the disk has
// room): one VACUUM, which rewrites the file at its packed size.
t = performance.now();
const beforeVacuum = size();
db.exec('VACUUM');
const fullVacuumSeconds = (performance.now() - t) / 1000;
console.log(`VACUUM: ${fullVacuumSeconds.toFixed(1)} s (${mb(beforeVacuum)} → ${mb(size())} MB)`);

t = performance.now();
// A store created before auto_vacuum was set keeps its freed pages for reuse (the compact job
// converts it with one VACUUM when the disk has room): then only the free pages are reported.
const autoVacuum = db.pragma('auto_vacuum', { simple: true });
const freePages = db.pragma('freelist_count', { simple: true });
while (autoVacuum === 2 && db.pragma('freelist_count', { simple: true }) > 0) db.pragma('incremental_vacuum(4096)');
db.pragma('wal_checkpoint(TRUNCATE)');
const vacuumSeconds = (performance.now() - t) / 1000;
const pageSize = db.pragma('page_size', { simple: true });
db.close();
// maxRSS is in KiB: the process's peak (the loops above never yield to a sampling timer).
const peakRss = process.resourceUsage().maxRSS * 1024;
const bytesAfter = size();
console.log(
  `free pages after packing ${freePages} (${mb(freePages * pageSize)} MB), returned in ${vacuumSeconds.toFixed(1)} s (auto_vacuum ${autoVacuum}); file ${mb(bytesBefore)} → ${mb(bytesAfter)} MB; peak RSS ${mb(peakRss)} MB`,
);
writeResult('storage-upgrade', {
  interactions,
  migrationSeconds: +migrationSeconds.toFixed(1),
  packSeconds: +packSeconds.toFixed(1),
  rowsPacked: rows,
  valueBytesBefore: before,
  valueBytesAfter: after,
  fullVacuumSeconds: +fullVacuumSeconds.toFixed(1),
  vacuumSeconds: +vacuumSeconds.toFixed(1),
  autoVacuum,
  freePagesAfterPack: freePages,
  pageSize,
  fileBytesBefore: bytesBefore,
  fileBytesAfter: bytesAfter,
  peakRssMB: mb(peakRss),
});
