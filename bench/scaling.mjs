// How cost grows with corpus size: the query corpus (query-corpus.mjs) at 0.1x, 0.3x and 1x of
// its 5,000 sessions / 2M interactions, same generator and seed. At each size:
//   - `rbk import` throughput (MB/s, interactions/s) into an empty daemon;
//   - `rbk usage daily --json`, whole process, median of 3 after a warm-up;
//   - ListSessions and Search p95 over query.mjs's mixed filters and queries.
// Each figure's growth per 10x data is fitted on the three sizes (log-log least squares:
// factor = 10^slope) and also given as the plain 1x / 0.1x ratio. Floors, per 10x data: import
// throughput keeps at least half its MB/s (factor >= 0.5), usage grows at most linearly
// (<= 10), list and search p95 grow at most with the square root of the data (<= 3.16).
//
// The 0.1x and 0.3x corpora (~210 and ~630 MB) are generated once under bench/.corpus/query-0.1x
// and query-0.3x and imported afresh on every run (--reuse keeps their stores). The 1x store is
// the one query.mjs and usage.mjs use; re-importing it takes ~15 minutes, so its import time is
// the one recorded when it was built unless --fresh-1x is given.
//
// Usage: npm run build && node bench/scaling.mjs [--reuse] [--fresh-1x] [--iterations 100]
// Writes bench/results/scaling.json.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { benchEnv, CORPUS_DIR, DEFAULTS, ensureCorpus, listCases, ROOT, searchCases, startCorpusDaemon } from './query-corpus.mjs';
import { numArg } from './lib.mjs';

const require = createRequire(import.meta.url);
const grpc = require('@grpc/grpc-js');
const { loadServices } = await import(path.join(ROOT, 'dist', 'daemon', 'rpc', 'protos.js'));

const argv = process.argv.slice(2);
const num = (name, dflt) => numArg(argv, name, dflt);
const ITER = num('iterations', 100);
const SCALES = [0.1, 0.3, 1];
const FLOORS = { importMBps: { min: 0.5 }, usageMs: { max: 10 }, listP95Ms: { max: Math.sqrt(10) }, searchP95Ms: { max: Math.sqrt(10) } };
const log = (m) => console.error(`[scaling-bench] ${m}`);
const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const loadAvg = () => round(os.loadavg()[0], 2);

function p95(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(0.95 * s.length) - 1)];
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function dirSize(dir) {
  if (!fs.existsSync(dir)) return 0;
  let n = 0;
  for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) if (e.isFile()) n += fs.statSync(path.join(e.parentPath, e.name)).size;
  return n;
}

async function measureSize(scale) {
  const params =
    scale === 1 ? DEFAULTS : { ...DEFAULTS, sessions: Math.round(DEFAULTS.sessions * scale), interactions: Math.round(DEFAULTS.interactions * scale) };
  const dir = scale === 1 ? CORPUS_DIR : path.join(ROOT, 'bench', '.corpus', `query-${scale}x`);
  const corpus = ensureCorpus(params, log, dir);
  const fresh = scale === 1 ? argv.includes('--fresh-1x') : !argv.includes('--reuse');
  const loadBefore = loadAvg();
  const daemon = await startCorpusDaemon(corpus, log, { fresh, dir });
  const keyFile = path.join(dir, 'db.json');
  const importedAt = daemon.reused ? fs.statSync(keyFile).mtime.toISOString() : new Date().toISOString();
  const out = {
    scale,
    sessions: corpus.sessions,
    interactions: corpus.interactions,
    bytes: corpus.bytes,
    import: {
      seconds: round(daemon.importSeconds, 1),
      MBps: round(corpus.bytes / 1e6 / daemon.importSeconds, 2),
      interactionsPerSecond: Math.round(corpus.interactions / daemon.importSeconds),
      inThisRun: !daemon.reused,
      at: importedAt,
      loadAvg1mBefore: loadBefore,
    },
  };
  try {
    out.dbBytes = fs.statSync(path.join(daemon.dataDir, 'rbk.db')).size;
    // The data dir as storage v2 counts it: the database, its WAL and the local central copy.
    out.dataDirBytes =
      ['rbk.db', 'rbk.db-wal'].reduce((a, f) => a + (fs.existsSync(path.join(daemon.dataDir, f)) ? fs.statSync(path.join(daemon.dataDir, f)).size : 0), 0) +
      dirSize(path.join(daemon.dataDir, 'artifacts'));
    out.sizeRatio = round(out.dataDirBytes / corpus.bytes, 3);
    out.import.searchableSecondsAfter = daemon.stored?.searchableSeconds ?? null;
    out.import.peakRssMB = daemon.stored?.importPeakRssMB ?? null;
    out.peakRssWithIndexMB = daemon.stored?.peakRssMB ?? null;
    // rbk usage daily --json, whole process.
    const env = { ...benchEnv(daemon.dataDir), TZ: 'UTC' };
    const usageRun = () => {
      const t = process.hrtime.bigint();
      const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'rbk.js'), 'usage', 'daily', '--json'], { env, encoding: 'utf8', maxBuffer: 256 << 20 });
      if (r.status !== 0) throw new Error(`rbk usage failed (${r.status}): ${r.stderr}`);
      return Number(process.hrtime.bigint() - t) / 1e6;
    };
    usageRun();
    const usage = [usageRun(), usageRun(), usageRun()];
    out.usage = { medianMs: round(median(usage)), runsMs: usage.map((x) => round(x)), loadAvg1m: loadAvg() };

    const c = new (loadServices().Query)(`unix:${path.join(daemon.dataDir, 'run', 'rbk.sock')}`, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': 256 << 20,
    });
    const unary = (method, req) => new Promise((resolve, reject) => c[method](req, (err, res) => (err ? reject(err) : resolve(res))));
    try {
      const newest = (await unary('ListSessions', listCases(0)[0][1])).sessions[0];
      const mid = newest.lastActivityUnixMs - 30 * 86_400_000;
      for (const [what, method, cases] of [
        ['list', 'ListSessions', listCases(mid)],
        ['search', 'Search', searchCases(mid)],
      ]) {
        for (let i = 0; i < 10; i++) await unary(method, cases[i % cases.length][1]);
        const times = [];
        for (let i = 0; i < ITER; i++) {
          const t = process.hrtime.bigint();
          await unary(method, cases[i % cases.length][1]);
          times.push(Number(process.hrtime.bigint() - t) / 1e6);
        }
        out[what] = { p50Ms: round(median(times), 2), p95Ms: round(p95(times), 2), n: ITER, loadAvg1m: loadAvg() };
      }
    } finally {
      c.close();
    }
  } finally {
    await daemon.stop();
  }
  log(
    `${scale}x: ${out.interactions} interactions, import ${out.import.MBps} MB/s (${out.import.inThisRun ? 'this run' : `stored, ${out.import.at}`}), usage ${out.usage.medianMs} ms, list p95 ${out.list.p95Ms} ms, search p95 ${out.search.p95Ms} ms`,
  );
  return out;
}

/** Growth per 10x data: least-squares slope of log10(value) on log10(interactions), as 10^slope. */
function growth(sizes, pick) {
  const xs = sizes.map((s) => Math.log10(s.interactions));
  const ys = sizes.map((s) => Math.log10(pick(s)));
  const mx = xs.reduce((a, b) => a + b) / xs.length;
  const my = ys.reduce((a, b) => a + b) / ys.length;
  const slope = xs.reduce((a, x, i) => a + (x - mx) * (ys[i] - my), 0) / xs.reduce((a, x) => a + (x - mx) ** 2, 0);
  const first = sizes[0];
  const last = sizes.at(-1);
  return {
    per10x: round(10 ** slope, 2),
    exponent: round(slope, 2),
    ratio1xTo01x: round(pick(last) / pick(first), 2),
    dataRatio: round(last.interactions / first.interactions, 2),
  };
}

const started = Date.now();
const loadAtStart = loadAvg();
const sizes = [];
for (const scale of SCALES) sizes.push(await measureSize(scale));

const growthOf = {
  importMBps: growth(sizes, (s) => s.import.MBps),
  usageMs: growth(sizes, (s) => s.usage.medianMs),
  listP95Ms: growth(sizes, (s) => s.list.p95Ms),
  searchP95Ms: growth(sizes, (s) => s.search.p95Ms),
};
for (const [k, g] of Object.entries(growthOf)) {
  const f = FLOORS[k];
  g.floor = f.min !== undefined ? `>= ${f.min}` : `<= ${round(f.max, 2)}`;
  g.pass = f.min !== undefined ? g.per10x >= f.min : g.per10x <= f.max;
}
const result = {
  name: 'scaling',
  at: new Date().toISOString(),
  node: process.version,
  cpus: os.cpus().length,
  benchmark: 'cost vs corpus size: query corpus at 0.1x, 0.3x, 1x (5,000 sessions / 2M interactions at 1x)',
  machine: { cpu: os.cpus()[0]?.model, loadAvg1mAtStart: loadAtStart, loadAvg1m: loadAvg() },
  sizes,
  growthPer10x: growthOf,
  pass: Object.values(growthOf).every((g) => g.pass),
  wallSeconds: round((Date.now() - started) / 1000),
};
fs.mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
fs.writeFileSync(path.join(ROOT, 'bench', 'results', 'scaling.json'), `${JSON.stringify(result, null, 2)}\n`);
for (const [k, g] of Object.entries(growthOf))
  console.log(`${k.padEnd(12)} x${g.per10x} per 10x data (exponent ${g.exponent}; 1x/0.1x = ${g.ratio1xTo01x}) floor ${g.floor}: ${g.pass ? 'pass' : 'FAIL'}`);
if (!result.pass) process.exitCode = 1;
