// A hook-event storm for the ingest and RSS benchmarks: N client processes, each sending hook
// events one after another exactly as `rbk hook` does (dist/hook/grpc.js: one fresh Unix-socket
// connection and one SubmitHook call per event, success only once the response says "stored"),
// and a bare grpc-js echo server, the floor to compare the daemon with.
//
// Clients run in their own processes so that their CPU is not the parent's event loop; they load
// their modules first, report ready, and all start on one "go" message.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './lib.mjs';

const CLIENT = path.join(ROOT, 'bench', 'storm-client.mjs');

/** RSS figures of a live process, from /proc (Linux). MB. */
export function procMemory(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMB: kb('VmRSS') / 1024, hwmMB: kb('VmHWM') / 1024 };
}

/** Samples a process's RSS every `everyMs` until stopped; returns { maxMB, samples }. */
export function rssSampler(pid, everyMs = 50) {
  let max = 0;
  let samples = 0;
  const timer = setInterval(() => {
    try {
      max = Math.max(max, procMemory(pid).rssMB);
      samples++;
    } catch {
      /* the process is gone */
    }
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return { maxMB: max, samples };
    },
  };
}

/**
 * A gRPC server on a Unix socket that offers rbk's Ingest service (same proto, same grpc-js
 * server options as daemon/server.ts) and answers every SubmitHook with "stored" at once:
 * no validation, no SQLite, no fsync. Runs in its own process, like the daemon.
 */
export async function startEchoServer(dir) {
  const socket = path.join(dir, 'echo.sock');
  const script = path.join(dir, 'echo-server.mjs');
  fs.writeFileSync(
    script,
    `import * as grpc from '@grpc/grpc-js';
import { loadServices } from ${JSON.stringify(path.join(ROOT, 'dist', 'daemon', 'rpc', 'protos.js'))};
import { MAX_MESSAGE_BYTES } from ${JSON.stringify(path.join(ROOT, 'dist', 'daemon', 'server.js'))};
const server = new grpc.Server({ 'grpc.max_receive_message_length': MAX_MESSAGE_BYTES, 'grpc.max_send_message_length': MAX_MESSAGE_BYTES });
server.addService(loadServices().Ingest.service, {
  SubmitHook: (call, cb) => cb(null, { stored: true, sessionId: '', problem: '' }),
  Import: (call) => call.end(),
});
server.bindAsync('unix:${socket}', grpc.ServerCredentials.createInsecure(), (err) => {
  if (err) throw err;
  process.stderr.write('echo ready\\n');
});
process.on('SIGTERM', () => server.forceShutdown() || process.exit(0));
`,
  );
  if (!fs.existsSync(path.join(dir, 'node_modules'))) fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.on('data', (d) => (log += d));
  while (!log.includes('echo ready')) {
    if (child.exitCode !== null) throw new Error(`echo server exited: ${log}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    socket,
    pid: child.pid,
    stop: () => new Promise((resolve) => (child.exitCode !== null ? resolve() : (child.once('exit', resolve), child.kill('SIGTERM')))),
  };
}

/**
 * Runs `clients` client processes against `socket`, each sending `perClient` events in sequence.
 * `tag` goes into the session ids (`<tag>-c<i>`), so stored rows can be counted afterwards.
 * Returns wall time from "go" to the last client's finish, events/s and per-event latency.
 */
export async function runStorm(socket, { clients, perClient, tag, transcriptDir }) {
  const procs = [];
  if (transcriptDir) {
    // The transcripts the events point at exist, as they do under Claude Code (empty here, so the
    // daemon's follow-up reads find nothing new).
    fs.mkdirSync(transcriptDir, { recursive: true });
    for (let i = 0; i < clients; i++) fs.writeFileSync(path.join(transcriptDir, `${tag}-c${i}.jsonl`), '', { flag: 'a' });
  }
  for (let i = 0; i < clients; i++) {
    const child = spawn(process.execPath, [CLIENT], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      env: {
        ...process.env,
        STORM_SOCKET: socket,
        STORM_N: String(perClient),
        STORM_SESSION: `${tag}-c${i}`,
        STORM_TRANSCRIPT_DIR: transcriptDir ?? '/nonexistent',
      },
    });
    procs.push(child);
  }
  await Promise.all(
    procs.map(
      (p) =>
        new Promise((resolve, reject) => {
          p.once('message', (m) => (m === 'ready' ? resolve() : reject(new Error(String(m)))));
          p.once('exit', (code) => reject(new Error(`storm client exited ${code} before it was ready`)));
        }),
    ),
  );
  const results = procs.map(
    (p) =>
      new Promise((resolve, reject) => {
        p.removeAllListeners('exit');
        p.once('message', resolve);
        p.once('exit', (code) => code !== 0 && reject(new Error(`storm client exited ${code}`)));
      }),
  );
  const t0 = process.hrtime.bigint();
  for (const p of procs) p.send('go');
  const done = await Promise.all(results);
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const latencies = done.flatMap((d) => d.latencies).sort((a, b) => a - b);
  const q = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
  const ok = done.reduce((n, d) => n + d.ok, 0);
  return {
    clients,
    events: clients * perClient,
    ok,
    failed: done.reduce((n, d) => n + d.failed, 0),
    firstError: done.find((d) => d.firstError)?.firstError ?? null,
    wallMs,
    eventsPerSecond: ok / (wallMs / 1000),
    latencyMs: { p50: q(50), p95: q(95), p99: q(99), max: latencies.at(-1) },
  };
}
