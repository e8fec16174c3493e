// Daemon memory (resident set size, from /proc/<pid>/status), idle and under load:
//   idle:  a fresh daemon 2 s after start; the daemon over the 2M-interaction query store
//          (bench/.corpus/query, see query-corpus.mjs) 2 s after start (held to the floor), and
//          30 s after it has answered list, search, show and usage queries (reported only);
//   load:  the highest RSS sampled every 50 ms during an 8-client hook storm (storm.mjs), and
//          during `rbk import` of the 210 MB import corpus (bench/.corpus/import), plus VmHWM.
// Floors: idle < 100 MB, under load < 300 MB.
//
// Usage: npm run build && node bench/rss.mjs [--events-per-client 400]
// Writes bench/results/rss.json. The 2M store is reused; if it is missing it is generated and
// imported first (about 15 minutes on a 2-core machine).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { generateCorpus } from './corpus.mjs';
import { ROOT, numArg, startDaemon, tempDataDir, writeResult } from './lib.mjs';
import { DEFAULTS, ensureCorpus, startCorpusDaemon } from './query-corpus.mjs';
import { procMemory, rssSampler, runStorm } from './storm.mjs';

const require = createRequire(import.meta.url);
const grpc = require('@grpc/grpc-js');
const { loadServices } = await import(path.join(ROOT, 'dist', 'daemon', 'rpc', 'protos.js'));

const argv = process.argv.slice(2);
const num = (name, dflt) => numArg(argv, name, dflt);
const PER_CLIENT = num('events-per-client', 400);
const FLOOR_IDLE_MB = 100;
const FLOOR_LOAD_MB = 300;
const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (m) => console.error(`[rss-bench] ${m}`);
const loadAtStart = round(os.loadavg()[0], 2);

function run(cmd, args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

// 1. A fresh daemon: idle, then a hook storm, then an import.
const dir = tempDataDir('rss');
fs.writeFileSync(path.join(dir, 'config.yaml'), 'metrics:\n  enabled: true\n  listen: 127.0.0.1:0\n');
const fresh = {};
let daemon = await startDaemon(dir, { RBK_CONFIG: path.join(dir, 'config.yaml') });
try {
  await sleep(2000);
  fresh.idleAfterStartMB = round(procMemory(daemon.pid).rssMB);
  log(`fresh daemon idle: ${fresh.idleAfterStartMB} MB`);

  let sampler = rssSampler(daemon.pid);
  const storm = await runStorm(daemon.socket, { clients: 8, perClient: PER_CLIENT, tag: 'rss-storm', transcriptDir: path.join(dir, 'transcripts') });
  fresh.hookStormMaxMB = round(sampler.stop().maxMB);
  fresh.hookStorm = { clients: 8, events: storm.ok, failed: storm.failed, eventsPerSecond: round(storm.eventsPerSecond) };
  log(`during an 8-client storm of ${storm.ok} events: max ${fresh.hookStormMaxMB} MB`);

  const corpusDir = path.join(ROOT, 'bench', '.corpus', 'import');
  const manifest = generateCorpus(corpusDir);
  sampler = rssSampler(daemon.pid);
  const t = Date.now();
  // Asynchronously, so that the sampler keeps running while the CLI waits.
  const r = await run(process.execPath, [path.join(ROOT, 'bin', 'rbk.js'), 'import', corpusDir, '--json'], daemon.env);
  if (r.status !== 0) throw new Error(`rbk import exited ${r.status}: ${r.stderr}`);
  fresh.importMaxMB = round(sampler.stop().maxMB);
  const summary = JSON.parse(r.stdout);
  const mem = procMemory(daemon.pid);
  fresh.import = { bytes: manifest.bytes, interactions: summary.interactionsAdded, seconds: round((Date.now() - t) / 1000, 1) };
  fresh.peakVmHWM = round(mem.hwmMB);
  fresh.afterImportMB = round(mem.rssMB);
  log(`during import of ${(manifest.bytes / 1048576).toFixed(0)} MB: max ${fresh.importMaxMB} MB, VmHWM ${fresh.peakVmHWM} MB`);
} finally {
  await daemon.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}

// 2. The daemon over the 2M-interaction store.
const big = {};
const corpus = ensureCorpus(DEFAULTS, log);
daemon = await startCorpusDaemon(corpus, log);
try {
  await sleep(2000);
  const pid = daemon.proc.pid;
  big.idleAfterOpenMB = round(procMemory(pid).rssMB);
  log(`2M store idle after open: ${big.idleAfterOpenMB} MB`);
  const c = new (loadServices().Query)(`unix:${path.join(daemon.dataDir, 'run', 'rbk.sock')}`, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': 256 * 1024 * 1024,
  });
  const unary = (method, req) => new Promise((resolve, reject) => c[method](req, (err, res) => (err ? reject(err) : resolve(res))));
  const sampler = rssSampler(pid);
  const list = { limit: 50, beforeUnixMs: 0, project: '', sinceUnixMs: 0, untilUnixMs: 0, tool: '', errorsOnly: false, host: '' };
  const search = (query) => ({ query, raw: false, tool: '', errorsOnly: false, project: '', sinceUnixMs: 0, untilUnixMs: 0, limit: 20, sessionId: '' });
  for (let i = 0; i < 20; i++) {
    await unary('ListSessions', { ...list, errorsOnly: i % 2 === 1 });
    await unary('Search', search(['ECONNRESET', 'build failed', 'deadlock', 'migrat* schema'][i % 4]));
  }
  await unary('GetSession', { id: corpus.bigSession.id, includePayloads: false });
  await unary('Usage', { report: 'daily', sinceUnixMs: 0, untilUnixMs: 0, project: '', timeZone: 'UTC', weekStart: '' });
  await unary('Usage', { report: 'session', sinceUnixMs: 0, untilUnixMs: 0, project: '', timeZone: 'UTC', weekStart: '' });
  await unary('Stats', { top: 10 });
  big.queriesMaxMB = round(sampler.stop().maxMB);
  c.close();
  // V8 keeps the heap it grew for the big usage reports until its memory reducer runs on an idle
  // process (seen after 15-40 s here); a full GC brings the used heap back to ~17 MB, so this is
  // not a leak. Reported, not held to the idle floor.
  await sleep(30_000);
  big.idleAfterQueries30sMB = round(procMemory(pid).rssMB);
  big.peakVmHWM = round(procMemory(pid).hwmMB);
  big.store = { sessions: corpus.sessions, interactions: corpus.interactions, dbBytes: fs.statSync(path.join(daemon.dataDir, 'rbk.db')).size };
  log(`2M store: max ${big.queriesMaxMB} MB while answering queries, ${big.idleAfterQueries30sMB} MB after 30 s idle`);
} finally {
  await daemon.stop();
}

const idle = Math.max(fresh.idleAfterStartMB, big.idleAfterOpenMB);
const load = Math.max(fresh.hookStormMaxMB, fresh.importMaxMB, fresh.peakVmHWM, big.queriesMaxMB);
const result = writeResult('rss', {
  benchmark: 'daemon RSS (/proc/<pid>/status VmRSS, sampled every 50 ms under load; VmHWM = peak)',
  machine: { cpu: os.cpus()[0]?.model, memGb: round(os.totalmem() / 2 ** 30), loadAvg1mAtStart: loadAtStart, loadAvg1m: round(os.loadavg()[0], 2) },
  freshDaemon: fresh,
  store2M: big,
  idleMaxMB: idle,
  underLoadMaxMB: load,
  floors: { idleMB: FLOOR_IDLE_MB, underLoadMB: FLOOR_LOAD_MB },
  pass: idle < FLOOR_IDLE_MB && load < FLOOR_LOAD_MB && fresh.hookStorm.failed === 0,
});
console.log(`rss: idle max ${idle} MB (< ${FLOOR_IDLE_MB}), under load max ${load} MB (< ${FLOOR_LOAD_MB}) → ${result.pass ? 'PASS' : 'FAIL'}`);
if (!result.pass) process.exitCode = 1;
