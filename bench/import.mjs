// Transcript import and live-tailing benchmark, against the built daemon and CLI (dist/).
//
//   (a) bare loop: readline over every corpus file + JSON.parse per line, MB/s;
//   (b) `rbk import <corpus> --json` into a fresh, already started daemon: wall time of the CLI
//       command, MB/s; ratio b/a (target >= 0.5);
//   (c) the daemon's peak RSS (VmHWM) after the import (target < 300 MB);
//   (d) live lag: the daemon follows a transcript registered by a SessionStart hook; 200 lines are
//       appended one by one at ~20/s and the SQLite file is polled read-only every 5 ms until each
//       line's row is there (target p95 < 500 ms).
//
//   --breakdown: also import the corpus in-process (dist/ importTranscripts, no gRPC): as the
//       daemon does (parse worker, redaction at ingest, full-text index built at the end), then
//       without redaction, then also with synchronous=OFF (no fsync: what waiting on the disk
//       costs), to show what each part costs; with the CPU seconds of each thread.
//
// Usage: npm run build && node bench/import.mjs [--breakdown] [--cpu-prof DIR]
// The corpus (~210 MB, deterministic) is generated once into bench/.corpus/import/.
// Results: bench/results/import.json.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { generateCorpus } from './corpus.mjs';
import { DAEMON_NODE_FLAGS, ROOT, percentile, startDaemon, tempDataDir, writeResult } from './lib.mjs';

// Storage v2's floors (issue 18): import >= 0.35x the bare loop, data dir <= 0.6x the JSONL.
const TARGET_RATIO = 0.35;
const TARGET_SIZE_RATIO = 0.6;
const TARGET_RSS_MB = 300;
const TARGET_LAG_P95_MS = 500;
const argv = process.argv.slice(2);
const breakdown = argv.includes('--breakdown');
const cpuProfDir = argv.includes('--cpu-prof') ? path.resolve(argv[argv.indexOf('--cpu-prof') + 1] ?? 'bench/.prof') : null;

const corpusDir = path.join(ROOT, 'bench', '.corpus', 'import');
const t0 = performance.now();
const manifest = generateCorpus(corpusDir);
const files = manifest.list.map((f) => path.join(corpusDir, f.path));
const corpusBytes = manifest.bytes;
const MB = corpusBytes / 1024 / 1024;
console.log(
  `corpus: ${files.length} files, ${MB.toFixed(1)} MB (p50 ${(manifest.sizes.p50 / 1024).toFixed(0)} KB, p90 ${(manifest.sizes.p90 / 1024).toFixed(0)} KB, p99 ${(manifest.sizes.p99 / 1048576).toFixed(1)} MB, max ${(manifest.sizes.max / 1048576).toFixed(0)} MB) ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
);

// Warm the page cache so that neither measurement pays for the disk.
for (const f of files) fs.readFileSync(f);

// (a) bare loop
async function bareLoop() {
  let lines = 0;
  const start = performance.now();
  for (const f of files) {
    const rl = readline.createInterface({ input: fs.createReadStream(f), crlfDelay: Infinity });
    for await (const line of rl) {
      if (line.length === 0) continue;
      JSON.parse(line);
      lines++;
    }
  }
  return { ms: performance.now() - start, lines };
}
const bare = await bareLoop();
const bareMBps = MB / (bare.ms / 1000);
console.log(`(a) bare readline + JSON.parse: ${bare.lines} lines in ${(bare.ms / 1000).toFixed(2)} s = ${bareMBps.toFixed(1)} MB/s`);

// (b) + (c) import through a fresh daemon
const dataDir = tempDataDir('import');
let daemon;
let result;
try {
  daemon = cpuProfDir ? await startProfiledDaemon(dataDir) : await startDaemon(dataDir);
  const cliEnv = { ...daemon.env };
  const cpuBefore = processCpuSeconds(daemon.pid);
  const t = performance.now();
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'rbk.js'), 'import', corpusDir, '--json'], {
    env: cliEnv,
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  const importMs = performance.now() - t;
  const returnedAt = performance.now();
  const daemonCpuSeconds = processCpuSeconds(daemon.pid) - cpuBefore;
  if (r.status !== 0) throw new Error(`rbk import exited ${r.status}: ${r.stderr}`);
  const summary = JSON.parse(r.stdout);
  const importMBps = MB / (importMs / 1000);
  // Search trails the import (docs/storage.md): when the index caught up, and what the data dir
  // holds then (DB + WAL + the local central copy's artifacts, which only rbk sync writes).
  const searchSeconds = await untilSearchable(cliEnv, returnedAt);
  const dataDirBytes = dirBytes(dataDir, (f) => /rbk\.db(-wal)?$/.test(f) || f.includes(`${path.sep}artifacts${path.sep}`));
  const dbBytes = fs.statSync(path.join(dataDir, 'rbk.db')).size;
  const status = fs.readFileSync(`/proc/${daemon.pid}/status`, 'utf8');
  const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  const peakRssMB = kb('VmHWM') / 1024;
  console.log(
    `(b) rbk import: ${summary.files} files, ${summary.interactionsAdded} interactions, ${summary.linesRead} lines in ${(importMs / 1000).toFixed(2)} s = ${importMBps.toFixed(1)} MB/s; ratio ${(importMBps / bareMBps).toFixed(2)}; daemon CPU ${daemonCpuSeconds.toFixed(2)} s (all threads)`,
  );
  console.log(
    `(c) daemon peak RSS (VmHWM) ${peakRssMB.toFixed(0)} MB, RSS now ${(kb('VmRSS') / 1024).toFixed(0)} MB; searchable ${searchSeconds.toFixed(2)} s after the import returned (${summary.searchIndexPending} rows pending then); db ${(dbBytes / 1048576).toFixed(1)} MB, data dir ${(dataDirBytes / 1048576).toFixed(1)} MB = ${(dataDirBytes / corpusBytes).toFixed(3)}x the JSONL`,
  );
  if (summary.errors.length > 0) throw new Error(`import reported errors: ${JSON.stringify(summary.errors.slice(0, 3))}`);

  // (d) live lag
  const lags = await liveLag(daemon, dataDir);
  const lagP50Ms = percentile(lags, 50);
  const lagP95Ms = percentile(lags, 95);
  console.log(`(d) live lag over ${lags.length} appends: p50 ${lagP50Ms.toFixed(1)} ms, p95 ${lagP95Ms.toFixed(1)} ms, max ${Math.max(...lags).toFixed(1)} ms`);

  const ratio = importMBps / bareMBps;
  result = {
    bareMBps: round(bareMBps),
    importMBps: round(importMBps),
    ratio: round(ratio, 3),
    peakRssMB: round(peakRssMB),
    lagP50Ms: round(lagP50Ms),
    lagP95Ms: round(lagP95Ms),
    corpusBytes,
    files: files.length,
    importSeconds: round(importMs / 1000, 2),
    daemonCpuSeconds: round(daemonCpuSeconds, 2),
    loadAverage: os.loadavg().map((l) => round(l, 2)),
    interactions: summary.interactionsAdded,
    lines: summary.linesRead,
    corpusSizes: manifest.sizes,
    targets: { ratio: TARGET_RATIO, peakRssMB: TARGET_RSS_MB, lagP95Ms: TARGET_LAG_P95_MS, sizeRatio: TARGET_SIZE_RATIO },
    searchIndexPendingAtReturn: summary.searchIndexPending,
    searchableSecondsAfterReturn: round(searchSeconds, 2),
    dbBytes,
    dataDirBytes,
    sizeRatio: round(dataDirBytes / corpusBytes, 3),
    pass: ratio >= TARGET_RATIO && peakRssMB < TARGET_RSS_MB && lagP95Ms < TARGET_LAG_P95_MS && dataDirBytes / corpusBytes <= TARGET_SIZE_RATIO,
  };
} finally {
  await daemon?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
}
if (breakdown) result.breakdown = await inProcessBreakdown();
const out = writeResult('import', result);
console.log(
  `\nbare ${out.bareMBps} MB/s, import ${out.importMBps} MB/s, ratio ${out.ratio} (>= ${TARGET_RATIO}), peak RSS ${out.peakRssMB} MB (< ${TARGET_RSS_MB}), lag p50 ${out.lagP50Ms} ms p95 ${out.lagP95Ms} ms (< ${TARGET_LAG_P95_MS}), data dir ${out.sizeRatio}x the JSONL (<= ${TARGET_SIZE_RATIO}) → ${out.pass ? 'PASS' : 'BELOW TARGET'}`,
);

/** Seconds from `since` (performance.now()) until `rbk status` says no row waits to be indexed for search. */
async function untilSearchable(env, since) {
  for (;;) {
    const st = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'rbk.js'), 'status', '--json'], { env, encoding: 'utf8' });
    if (st.status === 0 && JSON.parse(st.stdout).counts?.searchIndexPending === 0) return (performance.now() - since) / 1000;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Bytes of the files under dir that `keep` accepts. */
function dirBytes(dir, keep) {
  let n = 0;
  for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const f = path.join(e.parentPath, e.name);
    if (e.isFile() && keep(f)) n += fs.statSync(f).size;
  }
  return n;
}

/** lib.mjs's startDaemon, with --cpu-prof (which NODE_OPTIONS does not accept). */
async function startProfiledDaemon(dir) {
  const env = { ...process.env, RBK_DATA_DIR: dir, RBK_CONFIG: path.join(dir, 'none.yaml') };
  delete env.RBK_SOCKET;
  const child = spawn(process.execPath, [...DAEMON_NODE_FLAGS, '--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`, path.join(ROOT, 'bin', 'rbkd.js')], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr.on('data', (d) => (log += d));
  while (!log.includes('rbkd started')) {
    if (child.exitCode !== null) throw new Error(`daemon exited: ${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    env,
    pid: child.pid,
    stop: () => new Promise((resolve) => (child.exitCode !== null ? resolve() : (child.once('exit', resolve), child.kill('SIGTERM')))),
  };
}

/**
 * In-process imports of the whole corpus (the daemon's code without gRPC): as the daemon runs it,
 * then without redaction, then also with synchronous=OFF, to show what each part costs. CPU
 * seconds per thread come from /proc/self/task (main thread, parse worker, libuv pool).
 */
async function inProcessBreakdown() {
  const { openDatabase } = await import(path.join(ROOT, 'dist/daemon/store/db.js'));
  const { TranscriptIngester } = await import(path.join(ROOT, 'dist/daemon/ingest/transcript-ingester.js'));
  const { importTranscripts } = await import(path.join(ROOT, 'dist/daemon/ingest/importer.js'));
  const { loadConfig } = await import(path.join(ROOT, 'dist/daemon/config/load.js'));
  const { createRedactionService } = await import(path.join(ROOT, 'dist/daemon/redact/service.js'));
  const quiet = { info() {}, warn() {}, debug() {}, error() {} };
  const out = {};
  for (const variant of ['asDaemon', 'noRedaction', 'noRedactionSyncOff']) {
    const dir = tempDataDir(`breakdown-${variant}`);
    const db = openDatabase(path.join(dir, 'rbk.db'));
    if (variant.endsWith('SyncOff')) db.pragma('synchronous = OFF');
    const redaction = variant === 'asDaemon' ? createRedactionService(loadConfig(path.join(dir, 'none.yaml')).config, dir) : null;
    const ing = new TranscriptIngester(db, quiet, { redaction });
    const threads = new Map();
    const sample = () => {
      for (const tid of fs.readdirSync('/proc/self/task')) {
        try {
          const st = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
          const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
          threads.set(tid, (Number(f[11]) + Number(f[12])) / 100);
        } catch {
          /* the thread ended */
        }
      }
    };
    sample();
    const before = new Map(threads);
    const sampler = setInterval(sample, 100);
    const t = performance.now();
    await (await importTranscripts(ing, [corpusDir], () => {})).searchIndexed;
    const s = (performance.now() - t) / 1000;
    clearInterval(sampler);
    sample();
    db.close();
    const cpu = [...threads]
      .map(([tid, c]) => c - (before.get(tid) ?? 0))
      .filter((c) => c >= 0.05)
      .sort((a, b) => b - a)
      .map((c) => round(c, 2));
    out[variant] = { MBps: round(MB / s), seconds: round(s, 2), threadCpuSeconds: cpu, dbMB: round(fs.statSync(path.join(dir, 'rbk.db')).size / 1048576) };
    fs.rmSync(dir, { recursive: true, force: true });
    console.log(
      `    in-process ${variant.padEnd(19)} ${out[variant].MBps} MB/s (${out[variant].seconds} s), thread CPU s ${cpu.join(' / ')}, db ${out[variant].dbMB} MB`,
    );
  }
  return out;
}

/** utime + stime of a whole process (all its threads), in seconds. */
function processCpuSeconds(pid) {
  const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

function round(x, digits = 1) {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

async function liveLag(daemon, dataDir) {
  const project = path.join(dataDir, 'live', '-home-dev-live');
  fs.mkdirSync(project, { recursive: true });
  const sessionId = '0b9c2f6e-5d1a-4c8e-9f3b-7a6d5e4c3b2a';
  const transcript = path.join(project, `${sessionId}.jsonl`);
  fs.writeFileSync(transcript, '');
  const hook = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'hook', 'rbk-hook.cjs')], {
    env: daemon.env,
    input: JSON.stringify({ session_id: sessionId, transcript_path: transcript, cwd: '/home/dev/live', hook_event_name: 'SessionStart', source: 'startup' }),
  });
  if (hook.status !== 0) throw new Error(`hook exited ${hook.status}: ${hook.stderr}`);
  const db = new Database(path.join(dataDir, 'rbk.db'), { readonly: true, fileMustExist: true });
  const present = db.prepare('SELECT 1 FROM interactions WHERE uuid = ?').pluck();
  const lags = [];
  const pending = new Map();
  const N = 200;
  let parent = null;
  const line = (i) => {
    const uuid = `live-${String(i).padStart(4, '0')}-${sessionId.slice(0, 8)}`;
    const common = {
      parentUuid: parent,
      isSidechain: false,
      userType: 'external',
      cwd: '/home/dev/live',
      sessionId,
      version: '2.1.197',
      gitBranch: 'main',
      uuid,
      timestamp: new Date().toISOString(),
    };
    parent = uuid;
    const o =
      i % 2 === 0
        ? { ...common, type: 'user', message: { role: 'user', content: `prompt ${i}: please look at the failing build and fix it` } }
        : {
            ...common,
            type: 'assistant',
            requestId: `req_live_${i}`,
            message: {
              model: 'claude-sonnet-4-5-20250929',
              id: `msg_live_${i}`,
              type: 'message',
              role: 'assistant',
              content: [{ type: 'text', text: `answer ${i} `.repeat(20) }],
              usage: { input_tokens: 4, output_tokens: 50, cache_creation_input_tokens: 100, cache_read_input_tokens: 1000 },
            },
          };
    return { uuid, text: `${JSON.stringify(o)}\n` };
  };
  await new Promise((resolve) => {
    let i = 0;
    const appender = setInterval(() => {
      if (i >= N) return clearInterval(appender);
      const l = line(i++);
      fs.appendFileSync(transcript, l.text);
      pending.set(l.uuid, performance.now());
    }, 50);
    const poller = setInterval(() => {
      const now = performance.now();
      for (const [uuid, at] of pending) {
        if (present.get(uuid)) {
          lags.push(now - at);
          pending.delete(uuid);
        } else if (now - at > 30_000) {
          throw new Error(`line ${uuid} not ingested after 30 s`);
        }
      }
      if (i >= N && pending.size === 0) {
        clearInterval(poller);
        resolve();
      }
    }, 5);
  });
  db.close();
  return lags;
}
