// The OTLP/HTTP receiver under load: one exporter (one keep-alive connection, one export in flight
// at a time, as the OpenTelemetry SDK's batch processor sends) POSTs protobuf batches of Claude
// Code-shaped events (api_request, tool_result, tool_decision with their real attribute sets) at
// 10,000 events/s for --seconds. Each record is unique, so every one is stored.
// Target (issue 21): 10,000 events/s sustained with the p95 acknowledgement (send → 200, the batch
// committed to SQLite) under 50 ms; every event sent is stored once.
// Writes bench/results/otlp.json.
//
// Usage: npm run build && node bench/otlp.mjs [--seconds 10] [--rate 10000] [--batch 200]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import protobuf from 'protobufjs';
import { numArg, percentile, ROOT, startDaemon, tempDataDir, writeResult } from './lib.mjs';

const argv = process.argv.slice(2);
const SECONDS = numArg(argv, 'seconds', 10);
const RATE = numArg(argv, 'rate', 10_000);
const BATCH = numArg(argv, 'batch', 200);
const log = (m) => console.error(`[otlp-bench] ${m}`);

function requestType() {
  const root = new protobuf.Root();
  const dir = path.join(ROOT, 'proto', 'otel');
  root.resolvePath = (_o, target) => path.join(dir, target);
  root.loadSync(['opentelemetry/proto/collector/logs/v1/logs_service.proto'], { keepCase: false });
  return root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest');
}

const kv = (key, v) => ({
  key,
  value: typeof v === 'number' ? (Number.isInteger(v) ? { intValue: v } : { doubleValue: v }) : typeof v === 'boolean' ? { boolValue: v } : { stringValue: v },
});

let seq = 0;
function record(i) {
  seq++;
  const session = `bench-session-${String(i % 20).padStart(4, '0')}`;
  const common = {
    'session.id': session,
    'prompt.id': `p-${Math.floor(seq / 30)}`,
    'event.timestamp': new Date().toISOString(),
    'event.sequence': seq,
    'user.id': 'ab'.repeat(32),
  };
  const kind = seq % 3;
  const attrs =
    kind === 0
      ? {
          ...common,
          'event.name': 'api_request',
          model: 'claude-sonnet-4-5-20250929',
          input_tokens: 1000 + (seq % 97),
          output_tokens: 200,
          cache_read_tokens: 30000,
          cache_creation_tokens: 1200,
          cost_usd: 0.0123,
          cost_usd_micros: 12300,
          duration_ms: 2500,
          speed: 'standard',
          query_source: 'repl_main_thread',
          effort: 'medium',
        }
      : kind === 1
        ? {
            ...common,
            'event.name': 'tool_result',
            tool_name: 'Bash',
            tool_use_id: `toolu_${seq}`,
            success: 'true',
            duration_ms: 140,
            tool_input_size_bytes: 120,
          }
        : { ...common, 'event.name': 'tool_decision', tool_name: 'Bash', tool_use_id: `toolu_${seq}`, decision: 'accept', source: 'config' };
  const nowNs = BigInt(Date.now()) * 1_000_000n;
  return {
    timeUnixNano: nowNs.toString(),
    observedTimeUnixNano: nowNs.toString(),
    body: { stringValue: `claude_code.${attrs['event.name']}` },
    attributes: Object.entries(attrs).map(([k, v]) => kv(k, v)),
  };
}

function body(type, n) {
  const records = Array.from({ length: n }, (_, i) => record(i));
  const msg = type.fromObject({
    resourceLogs: [
      {
        resource: { attributes: [kv('service.name', 'claude-code'), kv('service.version', '2.1.197'), kv('os.type', 'linux'), kv('host.arch', 'amd64')] },
        scopeLogs: [{ scope: { name: 'com.anthropic.claude_code.events', version: '2.1.197' }, logRecords: records }],
      },
    ],
  });
  return Buffer.from(type.encode(msg).finish());
}

function rssMb(pid) {
  const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : null;
}

/**
 * The daemon's RSS with the receiver on and with otel.enabled: false, both started at once (the
 * same machine load), 2 s after start and 30 s after (idle: V8's memory reducer has run).
 * The issue's rule: the receiver must not change the idle daemon's RSS.
 */
async function idleRss() {
  const start = async (on) => {
    const dir = tempDataDir(`otlp-rss-${on ? 'on' : 'off'}`);
    fs.writeFileSync(path.join(dir, 'cfg.yaml'), `metrics: { enabled: false }\nui: { enabled: false }\notel: { enabled: ${on}, listen: "127.0.0.1:0" }\n`);
    return { dir, d: await startDaemon(dir, { RBK_CONFIG: path.join(dir, 'cfg.yaml') }) };
  };
  const on = await start(true);
  const off = await start(false);
  await new Promise((r) => setTimeout(r, 2000));
  const at2s = { on: rssMb(on.d.pid), off: rssMb(off.d.pid) };
  await new Promise((r) => setTimeout(r, 28_000));
  const at30s = { on: rssMb(on.d.pid), off: rssMb(off.d.pid) };
  for (const x of [on, off]) {
    await x.d.stop();
    fs.rmSync(x.dir, { recursive: true, force: true });
  }
  return { at2s, at30s };
}

async function main() {
  const dataDir = tempDataDir('otlp');
  const config = path.join(dataDir, 'config.yaml');
  fs.writeFileSync(config, 'metrics: { enabled: false }\nui: { enabled: false }\notel: { listen: "127.0.0.1:0" }\n');
  const d = await startDaemon(dataDir, { RBK_CONFIG: config }, process.env.OTLP_PROF ? ['--cpu-prof', '--cpu-prof-dir=/tmp/dprof'] : []);
  try {
    const st = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'rbk.js'), 'status', '--json'], { env: d.env, encoding: 'utf8' });
    const url = JSON.parse(st.stdout).otel.url;
    const token = fs.readFileSync(path.join(dataDir, 'otlp-token'), 'utf8').trim();
    const type = requestType();
    const headers = { 'content-type': 'application/x-protobuf', authorization: `Bearer ${token}` };
    // Warm-up: the first protobuf request loads the OTel protos in the daemon.
    await fetch(`${url}/v1/logs`, { method: 'POST', headers, body: body(type, 10) }).then((r) => r.arrayBuffer());

    const total = RATE * SECONDS;
    const intervalMs = (BATCH / RATE) * 1000;
    // Encoded before the clock starts: the exporter's own cost is not the receiver's.
    const bodies = Array.from({ length: Math.ceil(total / BATCH) }, () => body(type, BATCH));
    const latencies = [];
    let sent = 10;
    let bytes = 0;
    const t0 = performance.now();
    for (let i = 0; sent - 10 < total; i++) {
      const due = t0 + i * intervalMs;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const b = bodies[i];
      bytes += b.length;
      const s = performance.now();
      const res = await fetch(`${url}/v1/logs`, { method: 'POST', headers, body: b });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
      latencies.push(performance.now() - s);
      sent += BATCH;
    }
    const elapsed = (performance.now() - t0) / 1000;
    const db = new Database(path.join(dataDir, 'rbk.db'), { readonly: true });
    const stored = db.prepare('SELECT count(*) FROM telemetry_events').pluck().get();
    const rss = Number(fs.readFileSync(`/proc/${d.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)?.[1] ?? 0) / 1024;
    db.close();
    const r = (x) => Math.round(x * 10) / 10;
    const achieved = Math.round((sent - 10) / elapsed);
    const p95 = r(percentile(latencies, 95));
    const result = writeResult('otlp', {
      target: { eventsPerSecond: RATE, p95AckMs: 50 },
      batch: BATCH,
      seconds: r(elapsed),
      eventsSent: sent,
      eventsStored: stored,
      achievedEventsPerSecond: achieved,
      ackMs: { p50: r(percentile(latencies, 50)), p95, p99: r(percentile(latencies, 99)), max: r(Math.max(...latencies)) },
      bytesPerEvent: Math.round(bytes / (sent - 10)),
      daemonRssMbAfter: r(rss),
      pass: achieved >= RATE * 0.98 && p95 < 50 && stored === sent,
    });
    log(JSON.stringify(result));
    if (!argv.includes('--no-idle')) {
      await d.stop();
      const idle = await idleRss();
      log(`idle RSS (MB) 2 s / 30 s after start: receiver on ${idle.at2s.on} / ${idle.at30s.on}, off ${idle.at2s.off} / ${idle.at30s.off}`);
      writeResult('otlp', { ...result, idleRssMb: idle });
    }
  } finally {
    await d.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
