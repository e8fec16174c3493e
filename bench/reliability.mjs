// Never losing a session (docs/reliability.md), measured on the built code (dist/):
//
//   (a) sweep: 10,000 transcript files already read; a sweep that finds nothing new, CPU time
//       (user + system of this process, which does the stat walk) and wall time. Floor: < 1 s CPU.
//       Also the first sweep, which reads them all, for scale.
//   (b) backup: a consistent copy of a store built from a ~60 MB generated corpus (SQLite's backup
//       API + quick_check + gzip), MB/s of database and the compression ratio; and the unpack a
//       restore does.
//   (c) start-up: time from spawning rbkd on that store to "rbkd started", with the start-up
//       integrity check (integrity.startBudgetMs default) and without it (0), medians of 5 each.
//   (d) recover: rebuilding that store after 3 of its pages are overwritten, MB/s, and the share
//       of rows saved from the file.
//
// Usage: npm run build && node bench/reliability.mjs [--files 10000]
// Results: bench/results/reliability.json.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { generateCorpus, prng } from './corpus.mjs';
import { ROOT, median, numArg, startDaemon, tempDataDir, writeResult } from './lib.mjs';

const dist = (p) => import(path.join(ROOT, 'dist', p));
const { openDatabase } = await dist('daemon/store/db.js');
const { TranscriptIngester } = await dist('daemon/ingest/transcript-ingester.js');
const { SessionQueries } = await dist('daemon/store/sessions.js');
const { sweepTranscripts } = await dist('daemon/ingest/sweep.js');
const { snapshotDatabase, unpackBackup } = await dist('daemon/store/snapshot.js');
const { rebuildDatabase } = await dist('daemon/store/recover.js');
const { silentLogger } = await dist('daemon/log.js');

const argv = process.argv.slice(2);
const FILES = numArg(argv, 'files', 10_000);
const FLOOR_SWEEP_CPU_MS = 1000;
const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const log = (m) => console.error(`[reliability-bench] ${m}`);
const cpuMs = (u) => (u.user + u.system) / 1000;

const dir = tempDataDir('reliability');
const out = { files: FILES, loadAtStart: round(os.loadavg()[0], 2) };
try {
  // (a) 10,000 small transcripts in 100 project folders, as Claude Code lays them out.
  const roots = path.join(dir, 'projects');
  for (let i = 0; i < FILES; i++) {
    const project = path.join(roots, `-home-dev-p${i % 100}`);
    if (i < 100) fs.mkdirSync(project, { recursive: true });
    const id = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
    const line = JSON.stringify({
      type: 'user',
      uuid: `10000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      parentUuid: null,
      sessionId: id,
      timestamp: new Date(1_780_000_000_000 + i * 1000).toISOString(),
      cwd: '/home/dev/p',
      version: '2.1.40',
      message: { role: 'user', content: `prompt ${i}` },
    });
    fs.writeFileSync(path.join(project, `${id}.jsonl`), `${line}\n`);
  }
  const db = openDatabase(path.join(dir, 'sweep.db'));
  const ingester = new TranscriptIngester(db, silentLogger);
  const sessions = new SessionQueries(db);
  let c = process.cpuUsage();
  let t = performance.now();
  const first = await sweepTranscripts({ ingester, sessions, roots: [roots] });
  out.sweepFirst = { files: first.files, read: first.read, wallMs: round(performance.now() - t), cpuMs: round(cpuMs(process.cpuUsage(c))) };
  const runs = [];
  for (let i = 0; i < 5; i++) {
    c = process.cpuUsage();
    t = performance.now();
    const r = await sweepTranscripts({ ingester, sessions, roots: [roots] });
    runs.push({ wallMs: performance.now() - t, cpuMs: cpuMs(process.cpuUsage(c)), read: r.read });
  }
  if (runs.some((r) => r.read !== 0)) throw new Error('an unchanged sweep read files');
  out.sweepUnchanged = {
    runs: runs.length,
    medianWallMs: round(median(runs.map((r) => r.wallMs))),
    medianCpuMs: round(median(runs.map((r) => r.cpuMs))),
    maxCpuMs: round(Math.max(...runs.map((r) => r.cpuMs))),
  };
  log(
    `sweep of ${FILES} unchanged files: ${out.sweepUnchanged.medianCpuMs} ms CPU, ${out.sweepUnchanged.medianWallMs} ms wall (first sweep ${out.sweepFirst.wallMs} ms)`,
  );
  db.close();

  // (b) a store worth backing up.
  const corpus = path.join(dir, 'corpus');
  generateCorpus(corpus, { seed: 5150, totalBytes: 60 * 1024 * 1024, bigFileBytes: 0, taskChance: 0.05 });
  const storeFile = path.join(dir, 'store.db');
  const store = openDatabase(storeFile);
  const storeIngester = new TranscriptIngester(store, silentLogger);
  await sweepTranscripts({ ingester: storeIngester, sessions: new SessionQueries(store), roots: [corpus] });
  store.pragma('wal_checkpoint(TRUNCATE)');
  const dbBytes = fs.statSync(storeFile).size;
  t = performance.now();
  const snap = await snapshotDatabase(store, path.join(dir, 'backup.db.gz'));
  const backupMs = performance.now() - t;
  store.close();
  t = performance.now();
  await unpackBackup(snap.file, path.join(dir, 'unpacked.db'), 1e12);
  const unpackMs = performance.now() - t;
  out.backup = {
    databaseMB: round(dbBytes / 1e6),
    compressedMB: round(snap.bytes / 1e6),
    ratio: round(snap.bytes / dbBytes, 3),
    ms: round(backupMs),
    MBps: round(dbBytes / 1e6 / (backupMs / 1000)),
    unpackMs: round(unpackMs),
  };
  log(
    `backup of ${out.backup.databaseMB} MB: ${out.backup.ms} ms (${out.backup.MBps} MB/s), ${out.backup.compressedMB} MB compressed; unpack ${out.backup.unpackMs} ms`,
  );

  // (c) daemon start-up on that store, with and without the integrity check.
  const startup = {};
  for (const [label, budget] of [
    ['withCheckMs', 3000],
    ['withoutCheckMs', 0],
  ]) {
    const times = [];
    for (let i = 0; i < 5; i++) {
      const data = path.join(dir, `start-${label}-${i}`);
      fs.mkdirSync(data, { mode: 0o700 });
      fs.copyFileSync(storeFile, path.join(data, 'rbk.db'));
      const cfg = path.join(data, 'config.yaml');
      fs.writeFileSync(cfg, `metrics: { enabled: false }\nintegrity: { startBudgetMs: ${budget} }\ningest: { sweepAtStart: false }\n`);
      const started = performance.now();
      const d = await startDaemon(data, { RBK_CONFIG: cfg, HOME: data });
      times.push(performance.now() - started);
      await d.stop();
      fs.rmSync(data, { recursive: true, force: true });
    }
    startup[label] = round(median(times));
  }
  startup.checkCostMs = round(startup.withCheckMs - startup.withoutCheckMs);
  out.startup = startup;
  log(`start-up on ${out.backup.databaseMB} MB: ${startup.withCheckMs} ms with the check, ${startup.withoutCheckMs} ms without`);

  // (d) recover after 3 overwritten pages.
  const damaged = path.join(dir, 'damaged.db');
  fs.copyFileSync(storeFile, damaged);
  const probe = new Database(damaged, { readonly: true });
  const pages = probe.prepare(`SELECT pageno FROM dbstat WHERE name IN ('interactions', 'message_usage', 'sessions') ORDER BY pageno`).pluck().all();
  const rowsBefore = ['interactions', 'message_usage', 'sessions'].reduce((a, tb) => a + probe.prepare(`SELECT count(*) FROM ${tb}`).pluck().get(), 0);
  probe.close();
  const rand = prng(7);
  const fd = fs.openSync(damaged, 'r+');
  for (let i = 0; i < 3; i++) fs.writeSync(fd, Buffer.alloc(4096, 0x5a), 0, 4096, (pages[Math.floor(rand() * pages.length)] - 1) * 4096);
  fs.closeSync(fd);
  t = performance.now();
  const rebuilt = rebuildDatabase({ damaged, target: path.join(dir, 'rebuilt.db') });
  const recoverMs = performance.now() - t;
  const saved = rebuilt.tables.filter((x) => ['interactions', 'message_usage', 'sessions'].includes(x.table)).reduce((a, x) => a + x.rows, 0);
  out.recover = {
    ms: round(recoverMs),
    MBps: round(dbBytes / 1e6 / (recoverMs / 1000)),
    rowsSaved: saved,
    rowsBefore,
    share: round(saved / rowsBefore, 4),
    check: rebuilt.check,
  };
  log(`recover: ${out.recover.ms} ms (${out.recover.MBps} MB/s), ${saved}/${rowsBefore} rows saved`);

  out.floors = { sweepUnchangedCpuMs: FLOOR_SWEEP_CPU_MS };
  out.pass = out.sweepUnchanged.maxCpuMs < FLOOR_SWEEP_CPU_MS;
  const written = writeResult('reliability', out);
  console.log(JSON.stringify(written, null, 2));
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
