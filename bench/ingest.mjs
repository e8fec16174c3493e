// Daemon ingest throughput: hook events per second that rbkd takes and acknowledges durably
// (each answer comes after its event is committed with synchronous=FULL), from 8 concurrent hook
// clients and from 1, on a real Unix socket.
//
// Floor: the same clients against a bare grpc-js echo server (same proto, same server options,
// answers "stored" at once, no work) in the same run, rounds interleaved so machine noise hits
// both alike. The ratio rbk / echo is what rbk's own work (validation, JSON decoding, the SQLite
// insert and session update, the fsync) leaves of what the transport alone can carry.
// Afterwards every acknowledged event is counted in SQLite: exactly once each.
// One client waits for each commit in turn, so its rate is bounded by the disk's fsync: it is
// reported (no floor) against a bare better-sqlite3 loop of one-row transactions (WAL, synchronous=FULL, as the
// daemon opens its DB) on the same filesystem, also interleaved.
//
// Usage: npm run build && node bench/ingest.mjs [--events-per-client 400] [--rounds 3] [--cpu-prof DIR]
// Writes bench/results/ingest.json.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { median, numArg, startDaemon, tempDataDir, writeResult } from './lib.mjs';
import { procMemory, rssSampler, runStorm, startEchoServer } from './storm.mjs';

const argv = process.argv.slice(2);
const num = (name, dflt) => numArg(argv, name, dflt);
const CLIENTS = 8;
const PER_CLIENT = num('events-per-client', 400);
const SINGLE_EVENTS = num('single-events', 800);
const ROUNDS = num('rounds', 3);
const FLOOR_RATIO_8 = 0.5;
// --cpu-prof DIR: the daemon writes a V8 CPU profile there when it stops (open in Chrome DevTools).
const cpuProfDir = argv.includes('--cpu-prof') ? path.resolve(argv[argv.indexOf('--cpu-prof') + 1] ?? 'bench/.prof') : null;
const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const loadAvg = () => round(os.loadavg()[0], 2);

const dir = tempDataDir('ingest');
// Metrics stay on (they are on by default) but on a free port, so the bench never clashes.
fs.writeFileSync(path.join(dir, 'config.yaml'), 'metrics:\n  enabled: true\n  listen: 127.0.0.1:0\n');
const daemon = await startDaemon(dir, { RBK_CONFIG: path.join(dir, 'config.yaml') }, cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] : []);
const echo = await startEchoServer(dir);
const transcriptDir = path.join(dir, 'transcripts');
const loadAtStart = loadAvg();

const rounds = { echo8: [], rbk8: [], echo1: [], rbk1: [], commit1: [] };

/** Durable one-row commits per second on this filesystem: the floor under one hook client. */
function bareCommits(n) {
  const file = path.join(dir, 'bare-commit.db');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, payload BLOB NOT NULL)');
  const insert = db.prepare('INSERT INTO t (payload) VALUES (?)');
  const row = Buffer.alloc(1500, 'x');
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) db.transaction(() => insert.run(row)).immediate();
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  db.close();
  const perSecond = n / (ms / 1000);
  rounds.commit1.push({ eventsPerSecond: round(perSecond), wallMs: round(ms), loadAvg1m: loadAvg() });
  console.log(`  bare SQLite commits (WAL, synchronous=FULL) × ${n}: ${round(perSecond)} commits/s`);
}
let rbkRssMaxMB = 0;
let acknowledged = 0;
const tags = [];
async function storm(target, clients, perClient, label) {
  const tag = `ingest-${label}-${rounds[label].length}`;
  const onDaemon = target === 'rbk';
  const sampler = onDaemon ? rssSampler(daemon.pid) : null;
  const r = await runStorm(onDaemon ? daemon.socket : echo.socket, { clients, perClient, tag, transcriptDir });
  if (sampler) rbkRssMaxMB = Math.max(rbkRssMaxMB, sampler.stop().maxMB);
  if (r.failed > 0) throw new Error(`${label}: ${r.failed} of ${r.events} events failed: ${r.firstError}`);
  if (onDaemon) {
    acknowledged += r.ok;
    tags.push(tag);
  }
  rounds[label].push({
    eventsPerSecond: round(r.eventsPerSecond),
    wallMs: round(r.wallMs),
    latencyMs: Object.fromEntries(Object.entries(r.latencyMs).map(([k, v]) => [k, round(v, 2)])),
    loadAvg1m: loadAvg(),
  });
  console.log(
    `  ${label.padEnd(5)} ${clients} client(s) × ${perClient}: ${round(r.eventsPerSecond)} events/s, p50 ${round(r.latencyMs.p50, 2)} ms, p95 ${round(r.latencyMs.p95, 2)} ms`,
  );
}

try {
  const rssIdleMB = procMemory(daemon.pid).rssMB;
  // Warm-up: JIT, SQLite page cache, the socket path; not counted.
  await runStorm(echo.socket, { clients: CLIENTS, perClient: 20, tag: 'warm-echo', transcriptDir });
  await runStorm(daemon.socket, { clients: CLIENTS, perClient: 20, tag: 'ingest-warm', transcriptDir });
  acknowledged += CLIENTS * 20;
  tags.push('ingest-warm');

  for (let i = 0; i < ROUNDS; i++) {
    // Alternate which side goes first.
    const order = i % 2 === 0 ? ['echo', 'rbk'] : ['rbk', 'echo'];
    for (const t of order) await storm(t, CLIENTS, PER_CLIENT, `${t}8`);
  }
  for (let i = 0; i < ROUNDS; i++) {
    const order = i % 2 === 0 ? ['echo', 'rbk'] : ['rbk', 'echo'];
    for (const t of order) await storm(t, 1, SINGLE_EVENTS, `${t}1`);
    bareCommits(SINGLE_EVENTS);
  }
  const mem = procMemory(daemon.pid);
  await daemon.stop();
  await echo.stop();

  // Every acknowledged event is in SQLite exactly once (event_id is UNIQUE; count per storm).
  const db = new Database(path.join(dir, 'rbk.db'), { readonly: true, fileMustExist: true });
  const rows = db.prepare("SELECT COUNT(*) AS n, COUNT(DISTINCT event_id) AS distinctIds FROM hook_events WHERE session_id LIKE 'ingest-%'").get();
  db.close();
  const spooled = fs.existsSync(path.join(dir, 'spool')) ? fs.readdirSync(path.join(dir, 'spool')).length : 0;

  const med = (label) => median(rounds[label].map((r) => r.eventsPerSecond));
  const ratio8 = med('rbk8') / med('echo8');
  const ratio1 = med('rbk1') / med('echo1');
  const ratio1VsCommit = med('rbk1') / med('commit1');
  const stored = { acknowledged, rows: rows.n, distinctEventIds: rows.distinctIds, exactlyOnce: rows.n === acknowledged && rows.distinctIds === acknowledged };
  const result = writeResult('ingest', {
    benchmark: 'SubmitHook events/s, acknowledged durably, fresh connection per event (as the hook does), Unix socket',
    machine: { cpu: os.cpus()[0]?.model, loadAvg1mAtStart: loadAtStart, loadAvg1m: loadAvg() },
    eventsPerClient: PER_CLIENT,
    rounds: ROUNDS,
    clients8: {
      rbkEventsPerSecond: round(med('rbk8')),
      echoEventsPerSecond: round(med('echo8')),
      ratio: round(ratio8, 3),
      floor: FLOOR_RATIO_8,
      pass: ratio8 >= FLOOR_RATIO_8,
      rbkRounds: rounds.rbk8,
      echoRounds: rounds.echo8,
    },
    clients1: {
      rbkEventsPerSecond: round(med('rbk1')),
      echoEventsPerSecond: round(med('echo1')),
      ratio: round(ratio1, 3),
      bareCommitsPerSecond: round(med('commit1')),
      ratioVsBareCommits: round(ratio1VsCommit, 3),
      note: 'no floor: one client sending back to back waits for each commit in turn, plus up to one commit of group-commit wait (daemon/ingest/hook-writer.ts); a real hook takes ~70 ms to start, so this wait does not arise for one session',
      rbkRounds: rounds.rbk1,
      echoRounds: rounds.echo1,
      bareCommitRounds: rounds.commit1,
    },
    daemonRssMB: { idleAfterStart: round(rssIdleMB), maxDuringStorms: round(rbkRssMaxMB), peakVmHWM: round(mem.hwmMB) },
    stored,
    spooled,
    pass: ratio8 >= FLOOR_RATIO_8 && stored.exactlyOnce && spooled === 0,
  });
  console.log(
    `ingest: 8 clients rbk ${result.clients8.rbkEventsPerSecond} vs echo ${result.clients8.echoEventsPerSecond} events/s = ${result.clients8.ratio}x (floor ${FLOOR_RATIO_8}x); 1 client rbk ${result.clients1.rbkEventsPerSecond} events/s vs ${result.clients1.bareCommitsPerSecond} bare commits/s = ${result.clients1.ratioVsBareCommits}x (echo ${result.clients1.echoEventsPerSecond}); stored ${stored.rows}/${acknowledged} once each: ${stored.exactlyOnce}; ${result.pass ? 'PASS' : 'FAIL'}`,
  );
  if (!result.pass) process.exitCode = 1;
} finally {
  await daemon.stop();
  await echo.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}
