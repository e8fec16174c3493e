// S3 requests per session, counted at a loopback proxy between the daemon's SDK and s3rver.
// PUT and LIST charges are what dominate S3 bills for tools like this, so the figure that matters
// is requests per session, not speed. Two workloads:
//   live:     sessions driven by real hook processes (prompt, tool, Stop per turn, then SessionEnd),
//             with automatic uploads on; time is compressed (minIntervalMs scaled down), so each
//             session spans several upload intervals;
//   backfill: transcripts imported after the fact, then one `rbk sync`.
//   pull:     another host runs `rbk pull` twice over what both uploaded.
// Floor: live PUTs per session <= 3 per pass x (intervals spanned + 2); backfill exactly 2 per
// session (one part, one manifest); no LIST, no GET in either; the second pull sends LISTs only.
// Writes bench/results/sync.json.
//
// Usage: npm run build && node bench/sync.mjs [--sessions 6] [--turns 8] [--backfill 200]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import S3rver from 's3rver';
import { ROOT, numArg, startDaemon, tempDataDir, writeResult } from './lib.mjs';

const argv = process.argv.slice(2);
const num = (name, dflt) => numArg(argv, name, dflt);
const SESSIONS = num('sessions', 6);
const TURNS = num('turns', 8);
const BACKFILL = num('backfill', 200);
const MIN_INTERVAL_MS = 2000;
const TURN_GAP_MS = 400;
const log = (m) => console.error(`[sync-bench] ${m}`);

const S3_ENV = {
  AWS_ACCESS_KEY_ID: 'S3RVER',
  AWS_SECRET_ACCESS_KEY: 'S3RVER',
  AWS_REGION: 'us-east-1',
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

async function countingProxy(targetPort) {
  const requests = [];
  const agent = new http.Agent({ keepAlive: true });
  const server = http.createServer((req, res) => {
    const entry = { method: req.method, path: req.url, status: 0 };
    requests.push(entry);
    const up = http.request({ host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.headers, agent }, (r) => {
      entry.status = r.statusCode;
      res.writeHead(r.statusCode, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: server.address().port,
    requests,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(r);
        agent.destroy();
      }),
  };
}

// Asynchronous on purpose: the proxy and s3rver run in this process and must keep serving.
function cli(env, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'rbk.js'), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`rbk ${args.join(' ')} exited ${code}: ${err}`))));
  });
}

function hook(env, payload) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'hook', 'rbk-hook.cjs')], { env, stdio: ['pipe', 'ignore', 'ignore'] });
    child.on('error', reject);
    child.on('close', resolve);
    child.stdin.end(JSON.stringify(payload));
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function config(proxyPort, extra) {
  return [
    'metrics: { enabled: false }',
    'integrations:',
    '  claude:',
    '    sessionStorage:',
    '      backend: s3',
    '      s3:',
    '        bucket: rbk-bench',
    '        prefix: bench',
    `        endpoint: http://127.0.0.1:${proxyPort}`,
    '        region: us-east-1',
    '        forcePathStyle: true',
    'jobs:',
    '  sync: "0 0 1 1 *"',
    extra,
  ].join('\n');
}

function summarize(requests, sessions) {
  const by = (m) => requests.filter((r) => r.method === m).length;
  return {
    sessions,
    requests: requests.length,
    puts: by('PUT'),
    gets: by('GET'),
    lists: requests.filter((r) => r.method === 'GET' && /[?&]list-type=2/.test(r.path)).length,
    other: requests.filter((r) => r.method !== 'PUT').length,
    putsPerSession: Number((by('PUT') / sessions).toFixed(2)),
  };
}

async function live(s3Port) {
  const proxy = await countingProxy(s3Port);
  const dir = tempDataDir('sync-live');
  fs.writeFileSync(
    path.join(dir, 'config.yaml'),
    config(proxy.port, ['sync:', '  debounceMs: 200', `  minIntervalMs: ${MIN_INTERVAL_MS}`, '  idleMinutes: 1440'].join('\n')),
  );
  const d = await startDaemon(dir, { ...S3_ENV, RBK_CONFIG: path.join(dir, 'config.yaml') });
  const env = { ...d.env, RBK_CONFIG: path.join(dir, 'config.yaml') };
  const started = Date.now();
  try {
    await Promise.all(
      Array.from({ length: SESSIONS }, async (_, s) => {
        const session = `bench-live-${s}`;
        const p = (event, extra = {}) => hook(env, { session_id: session, cwd: '/bench/project', hook_event_name: event, ...extra });
        await p('SessionStart', { source: 'startup' });
        for (let t = 0; t < TURNS; t++) {
          await p('UserPromptSubmit', { prompt: `turn ${t}` });
          await p('PreToolUse', { tool_name: 'Bash', tool_use_id: `tu-${s}-${t}`, tool_input: { command: 'ls' } });
          await p('PostToolUse', { tool_name: 'Bash', tool_use_id: `tu-${s}-${t}`, tool_response: { stdout: 'a\nb' } });
          await p('Stop');
          await sleep(TURN_GAP_MS);
        }
        await p('SessionEnd', { reason: 'prompt_input_exit' });
      }),
    );
    const spanMs = Date.now() - started;
    // The last uploads wait for the debounce and the min interval.
    for (let i = 0; i < 200; i++) {
      const st = await cli(env, ['sync', 'status', '--json']);
      if (st.backlog.sessions === 0 && !st.running) break;
      await sleep(100);
    }
    const st = await cli(env, ['sync', 'status', '--json']);
    // The sessions ran side by side, so each spanned the whole run.
    const bound = 3 * (Math.ceil(spanMs / MIN_INTERVAL_MS) + 2);
    return {
      ...summarize(proxy.requests, SESSIONS),
      turns: TURNS,
      spanMs,
      minIntervalMs: MIN_INTERVAL_MS,
      intervalsSpanned: Number((spanMs / MIN_INTERVAL_MS).toFixed(1)),
      boundPerSession: bound,
      backlogAfter: st.backlog.sessions,
    };
  } finally {
    await d.stop();
    await proxy.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function backfill(s3Port) {
  const proxy = await countingProxy(s3Port);
  const dir = tempDataDir('sync-backfill');
  fs.writeFileSync(path.join(dir, 'config.yaml'), config(proxy.port, ['sync:', '  automatic: false'].join('\n')));
  const transcripts = path.join(dir, 'transcripts', '-bench-project');
  fs.mkdirSync(transcripts, { recursive: true });
  for (let s = 0; s < BACKFILL; s++) {
    const id = `b0000000-0000-4000-8000-${String(s).padStart(12, '0')}`;
    const lines = [];
    for (let t = 0; t < 5; t++) {
      const ts = new Date(Date.parse('2026-03-02T10:00:00Z') + s * 3600_000 + t * 60_000).toISOString();
      lines.push(
        JSON.stringify({
          type: 'user',
          sessionId: id,
          uuid: `${String(s).padStart(8, '0')}-1111-4000-8000-${String(t * 2).padStart(12, '0')}`,
          timestamp: ts,
          cwd: '/bench',
          message: { role: 'user', content: `prompt ${t}` },
        }),
      );
      lines.push(
        JSON.stringify({
          type: 'assistant',
          sessionId: id,
          uuid: `${String(s).padStart(8, '0')}-1111-4000-8000-${String(t * 2 + 1).padStart(12, '0')}`,
          timestamp: ts,
          cwd: '/bench',
          requestId: `req_${s}_${t}`,
          message: {
            id: `msg_${s}_${t}`,
            role: 'assistant',
            model: 'claude-sonnet-4-5-20250929',
            content: [{ type: 'text', text: `answer ${t}` }],
            usage: { input_tokens: 10, output_tokens: 20, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
          },
        }),
      );
    }
    fs.writeFileSync(path.join(transcripts, `${id}.jsonl`), `${lines.join('\n')}\n`);
  }
  const d = await startDaemon(dir, { ...S3_ENV, RBK_CONFIG: path.join(dir, 'config.yaml') });
  const env = { ...d.env, RBK_CONFIG: path.join(dir, 'config.yaml') };
  try {
    await cli(env, ['import', path.join(dir, 'transcripts'), '--json']);
    const t0 = performance.now();
    const first = await cli(env, ['sync', '--json']);
    const seconds = (performance.now() - t0) / 1000;
    const afterFirst = proxy.requests.length;
    const second = await cli(env, ['sync', '--json']);
    return {
      ...summarize(proxy.requests.slice(0, afterFirst), BACKFILL),
      seconds: Number(seconds.toFixed(2)),
      sessionsPerSecond: Number((BACKFILL / seconds).toFixed(1)),
      uploaded: first.sessions.uploaded,
      secondRunPuts: second.puts,
      secondRunRequests: proxy.requests.length - afterFirst,
    };
  } finally {
    await d.stop();
    await proxy.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// Another host pulls everything the two workloads uploaded, twice. The first pull GETs each
// manifest and part; the second must find nothing new with LIST requests alone.
async function pullTwice(s3Port) {
  const proxy = await countingProxy(s3Port);
  const dir = tempDataDir('sync-pull');
  fs.writeFileSync(path.join(dir, 'config.yaml'), config(proxy.port, ['sync:', '  automatic: false'].join('\n')));
  const d = await startDaemon(dir, { ...S3_ENV, RBK_CONFIG: path.join(dir, 'config.yaml'), RBK_HOSTNAME: 'bench-puller' });
  const env = { ...d.env, RBK_CONFIG: path.join(dir, 'config.yaml') };
  const run = async () => {
    const from = proxy.requests.length;
    const t0 = performance.now();
    const res = await cli(env, ['pull', '--json']);
    const requests = proxy.requests.slice(from);
    const lists = requests.filter((r) => r.method === 'GET' && /[?&]list-type=2/.test(r.path)).length;
    return {
      sessions: res.manifests,
      added: res.sessionsAdded,
      unchanged: res.sessionsUnchanged,
      lists,
      objectGets: requests.filter((r) => r.method === 'GET').length - lists,
      other: requests.filter((r) => r.method !== 'GET').length,
      seconds: Number(((performance.now() - t0) / 1000).toFixed(2)),
    };
  };
  try {
    const first = await run();
    const second = await run();
    return { first, second };
  } finally {
    await d.stop();
    await proxy.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const s3dir = tempDataDir('s3rver');
const s3 = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: s3dir, configureBuckets: [{ name: 'rbk-bench', configs: [] }] });
const { port } = await s3.run();
try {
  log(`live: ${SESSIONS} sessions x ${TURNS} turns, hooks from real hook processes`);
  const liveResult = await live(port);
  log(
    `live: ${liveResult.puts} PUTs for ${SESSIONS} sessions (${liveResult.putsPerSession}/session, bound ${liveResult.boundPerSession}), ${liveResult.other} other requests`,
  );
  log(`backfill: ${BACKFILL} imported sessions, one rbk sync`);
  const backfillResult = await backfill(port);
  log(
    `backfill: ${backfillResult.puts} PUTs (${backfillResult.putsPerSession}/session) in ${backfillResult.seconds}s; a second sync sent ${backfillResult.secondRunRequests} requests`,
  );
  const pullResult = await pullTwice(port);
  log(
    `pull: first ${pullResult.first.sessions} sessions, ${pullResult.first.objectGets} GETs + ${pullResult.first.lists} LISTs in ${pullResult.first.seconds}s; again: ${pullResult.second.objectGets} GETs + ${pullResult.second.lists} LISTs in ${pullResult.second.seconds}s`,
  );
  const pass =
    pullResult.first.added === liveResult.sessions + BACKFILL &&
    pullResult.second.unchanged === pullResult.first.added &&
    pullResult.second.objectGets === 0 &&
    pullResult.second.other === 0 &&
    liveResult.other === 0 &&
    liveResult.backlogAfter === 0 &&
    liveResult.putsPerSession <= liveResult.boundPerSession &&
    backfillResult.other === 0 &&
    backfillResult.putsPerSession === 2 &&
    backfillResult.secondRunRequests === 0;
  const out = writeResult('sync', { live: liveResult, backfill: backfillResult, pull: pullResult, pass });
  console.log(JSON.stringify(out, null, 2));
  process.exitCode = pass ? 0 : 1;
} finally {
  await s3.close();
  fs.rmSync(s3dir, { recursive: true, force: true });
}
