// Daemon-side latency of the query RPCs over the benchmark corpus (>= 5,000 sessions, >= 2M
// interactions; see query-corpus.mjs), measured as RPC round trips on the Unix socket from one
// long-lived client. Targets (p95): ListSessions < 50 ms, Search < 100 ms, show of a
// 5,000-interaction session (GetSession + the GetTimeline stream) < 200 ms.
// Writes bench/results/query.json.
//
// Usage: npm run build && node bench/query.mjs [--iterations 200] [--fresh]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { DEFAULTS, ensureCorpus, listCases as listCasesFor, RARE_TERMS, ROOT, searchCases as searchCasesFor, startCorpusDaemon } from './query-corpus.mjs';
import { numArg } from './lib.mjs';

const require = createRequire(import.meta.url);
const grpc = require('@grpc/grpc-js');
const { loadServices } = await import(path.join(ROOT, 'dist', 'daemon', 'rpc', 'protos.js'));

const argv = process.argv.slice(2);
const num = (name, dflt) => numArg(argv, name, dflt);
const ITER = num('iterations', 200);
const log = (m) => console.error(`[query-bench] ${m}`);

function client(socket) {
  const Query = loadServices().Query;
  const c = new Query(`unix:${socket}`, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': 256 * 1024 * 1024 });
  const unary = (method, req) => new Promise((resolve, reject) => c[method](req, (err, res) => (err ? reject(err) : resolve(res))));
  const stream = (method, req) =>
    new Promise((resolve, reject) => {
      const out = [];
      const s = c[method](req);
      s.on('data', (m) => out.push(m));
      s.on('end', () => resolve(out));
      s.on('error', reject);
    });
  return { unary, stream, close: () => c.close() };
}

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
  const r = (x) => Math.round(x * 100) / 100;
  return { n: s.length, p50: r(q(50)), p95: r(q(95)), p99: r(q(99)), max: r(s[s.length - 1]), mean: r(s.reduce((a, b) => a + b, 0) / s.length) };
}

async function measure(name, n, fn) {
  for (let i = 0; i < Math.min(10, n); i++) await fn(i); // warm-up
  const times = [];
  let last;
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    last = await fn(i);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const s = { ...stats(times), loadAvg1m: Math.round(os.loadavg()[0] * 100) / 100 };
  log(`${name}: p50 ${s.p50} ms, p95 ${s.p95} ms, max ${s.max} ms (load ${s.loadAvg1m})`);
  return { ...s, last };
}

const req = (o) => ({ limit: 0, beforeUnixMs: 0, project: '', sinceUnixMs: 0, untilUnixMs: 0, tool: '', errorsOnly: false, host: '', ...o });
const sreq = (o) => ({ query: '', raw: false, tool: '', errorsOnly: false, project: '', sinceUnixMs: 0, untilUnixMs: 0, limit: 20, sessionId: '', ...o });

async function main() {
  const started = Date.now();
  const corpus = ensureCorpus(DEFAULTS, log);
  const daemon = await startCorpusDaemon(corpus, log, { fresh: argv.includes('--fresh') });
  const c = client(path.join(daemon.dataDir, 'run', 'rbk.sock'));
  try {
    const first = await c.unary('ListSessions', req({ limit: 1 }));
    const newest = first.sessions[0];
    const mid = newest.lastActivityUnixMs - 30 * 86_400_000;

    const listCases = listCasesFor(mid);
    // `rbk sessions` pages 50 at a time; a 1,000-session page is reported on its own.
    const list = await measure('ListSessions (mixed filters, 50 per page)', ITER, (i) => c.unary('ListSessions', listCases[i % listCases.length][1]));
    const listEach = {};
    for (const [name, r] of [...listCases, ['--limit 1000 (not in the mixed set)', req({ limit: 1000 })]]) {
      const m = await measure(`  ListSessions ${name}`, 30, () => c.unary('ListSessions', r));
      listEach[name] = { p50: m.p50, p95: m.p95, sessions: m.last.sessions.length };
    }

    const searchCases = searchCasesFor(mid);
    const search = await measure('Search (mixed queries)', ITER, (i) => c.unary('Search', searchCases[i % searchCases.length][1]));
    const searchEach = {};
    // A prefix that matches ~15% of all interactions: FTS5 merges the whole prefix doclist before
    // anything else, so the recency window cannot help. Reported on its own.
    const outside = [['migrat* schema (common prefix, not in the mixed set)', sreq({ query: 'migrat* schema' })]];
    for (const [name, r] of [...searchCases, ...outside]) {
      const m = await measure(`  Search ${name}`, 20, () => c.unary('Search', r));
      // How many interactions the query matches at all (what bm25 had to rank).
      const all = await c.unary('Search', { ...r, limit: 1000 });
      searchEach[name] = {
        p50: m.p50,
        p95: m.p95,
        hitsReturned: m.last.hits.length,
        matchesUpTo1000: all.hits.length,
        rankedWindow: m.last.rankedWindow || null,
      };
    }

    const big = corpus.bigSession.id;
    // What `rbk sessions show` asks for: the session, then its timeline in pages.
    const show = await measure(`show ${big.slice(0, 8)} (GetSession + GetTimelinePages)`, Math.max(30, Math.round(ITER / 4)), async () => {
      const s = await c.unary('GetSession', { id: big.slice(0, 8), includePayloads: false });
      const pages = await c.stream('GetTimelinePages', { id: s.session.id, includePayloads: false });
      return { interactions: s.session.counts.interactions, timeline: pages.reduce((n, p) => n + p.entries.length, 0) };
    });
    const showOld = await measure(`  show ${big.slice(0, 8)} via GetTimeline (one message per entry)`, 20, async () => {
      const s = await c.unary('GetSession', { id: big.slice(0, 8), includePayloads: false });
      return (await c.stream('GetTimeline', { id: s.session.id, includePayloads: false })).length;
    });
    const usage = await measure('Usage daily (UTC)', 20, () =>
      c.unary('Usage', { report: 'daily', sinceUnixMs: 0, untilUnixMs: 0, project: '', timeZone: 'UTC', weekStart: '' }),
    );
    const usageSession = await measure('Usage session', 10, () =>
      c.unary('Usage', { report: 'session', sinceUnixMs: 0, untilUnixMs: 0, project: '', timeZone: 'UTC', weekStart: '' }),
    );
    const statsRpc = await measure('Stats', 10, () => c.unary('Stats', { top: 10 }));

    const dbBytes = fs.statSync(path.join(daemon.dataDir, 'rbk.db')).size;
    const result = {
      benchmark: 'query RPC round trips on the Unix socket, one client, warm',
      when: new Date().toISOString(),
      // loadAvg1m (here and per measurement): other work on the machine when it ran.
      machine: {
        cpus: os.cpus().length,
        cpu: os.cpus()[0]?.model,
        memGb: Math.round(os.totalmem() / 2 ** 30),
        node: process.version,
        loadAvg1m: os.loadavg()[0],
      },
      corpus: { sessions: corpus.sessions, interactions: corpus.interactions, apiResponses: corpus.responses, bytes: corpus.bytes, rareTerms: RARE_TERMS },
      import: { seconds: daemon.importSeconds, reusedDb: daemon.reused, dbBytes },
      list: { ...without(list, 'last'), targetP95Ms: 50, pass: list.p95 < 50, cases: listEach },
      search: { ...without(search, 'last'), targetP95Ms: 100, pass: search.p95 < 100, cases: searchEach },
      show: {
        ...without(show, 'last'),
        session: big,
        interactions: show.last.interactions,
        timelineEntries: show.last.timeline,
        targetP95Ms: 200,
        pass: show.p95 < 200,
        viaGetTimelineStream: { p50: showOld.p50, p95: showOld.p95 },
      },
      usageDaily: { ...without(usage, 'last'), days: usage.last.rows.length, responses: usage.last.totals.messages },
      usageSession: { ...without(usageSession, 'last'), sessions: usageSession.last.rows.length },
      stats: without(statsRpc, 'last'),
      wallSeconds: Math.round((Date.now() - started) / 100) / 10,
    };
    result.pass = result.list.pass && result.search.pass && result.show.pass;
    fs.mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
    fs.writeFileSync(path.join(ROOT, 'bench', 'results', 'query.json'), `${JSON.stringify(result, null, 2)}\n`);
    console.log(JSON.stringify(result, null, 2));
    if (!result.pass) process.exitCode = 1;
  } finally {
    c.close();
    await daemon.stop();
  }
}

function without(o, key) {
  const { [key]: _drop, ...rest } = o;
  return rest;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
