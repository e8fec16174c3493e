// The query/usage benchmark corpus, shared by bench/usage.mjs and bench/query.mjs: a temp HOME
// with ~/.claude/projects/<project>/<session>.jsonl transcripts written the way Claude Code
// writes them (one line per content block, assistant lines of one API response repeating its
// usage with the same message.id and requestId, placeholder usage on early blocks, progress and
// file-history-snapshot bookkeeping lines, subagent sidechain files). A seeded PRNG makes it
// byte-for-byte reproducible.
//
// Generated once into bench/.corpus/query/home (about 1.5 GB) and imported once into a daemon
// data dir bench/.corpus/query/data; both are reused while their keys (generator version and
// parameters; corpus key + migrations + ingest code) are unchanged.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { prng as mulberry32 } from './corpus.mjs';
import { DAEMON_NODE_FLAGS } from './lib.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const CORPUS_DIR = path.join(ROOT, 'bench', '.corpus', 'query');
const GENERATOR_VERSION = 3;

// ---------------------------------------------------------------------------------------------
// Deterministic randomness
// ---------------------------------------------------------------------------------------------

class Rng {
  constructor(seed) {
    this.next = mulberry32(seed);
  }
  int(lo, hi) {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick(arr) {
    return arr[Math.floor(this.next() * arr.length)];
  }
  chance(p) {
    return this.next() < p;
  }
  hex(n) {
    let s = '';
    while (s.length < n)
      s += Math.floor(this.next() * 0x100000000)
        .toString(16)
        .padStart(8, '0');
    return s.slice(0, n);
  }
  uuid() {
    const h = this.hex(32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }
  b58(n) {
    const A = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
    let s = '';
    for (let i = 0; i < n; i++) s += A[Math.floor(this.next() * A.length)];
    return s;
  }
}

// ---------------------------------------------------------------------------------------------
// Vocabulary
// ---------------------------------------------------------------------------------------------

const WORDS = (
  'the build test fails because module config cache request handler parser token session stream buffer queue worker ' +
  'retry timeout schema migration index query database connection pool error warning deploy release branch commit ' +
  'refactor function class interface type import export async await promise callback event listener router server ' +
  'client socket file path directory permission user account login password hash encode decode json yaml array map ' +
  'set string number boolean null undefined value key field column table row transaction lock latency memory cpu ' +
  'thread process signal exit code status output input log metric trace span dashboard alert fix patch update check ' +
  'verify validate render component state props hook effect reducer store action dispatch selector test suite case ' +
  'mock stub fixture snapshot coverage lint format compile bundle minify transpile target runtime node browser'
).split(' ');
const PROJECTS = Array.from(
  { length: 40 },
  (_, i) => `${['api', 'web', 'infra', 'cli', 'docs', 'ml', 'mobile', 'data'][i % 8]}-${['atlas', 'boreal', 'cobalt', 'delta', 'ember'][Math.floor(i / 8)]}`,
);
const FILES = [
  'src/index.ts',
  'src/server.ts',
  'src/db/pool.ts',
  'src/api/routes.ts',
  'lib/parser.js',
  'test/app.test.ts',
  'package.json',
  'README.md',
  'src/cache/lru.ts',
  'scripts/build.sh',
];
const MODELS = [
  ['claude-sonnet-4-5-20250929', 0.6],
  ['claude-opus-4-6', 0.25],
  ['claude-haiku-4-5-20251001', 0.15],
];
// Rare terms that search benchmarks look for (each appears in a known fraction of tool outputs).
export const RARE_TERMS = ['ECONNRESET', 'segfault', 'deadlock', 'OOMKilled', 'flaky'];

function sentence(r, min, max) {
  const n = r.int(min, max);
  const w = [];
  for (let i = 0; i < n; i++) w.push(r.pick(WORDS));
  w[0] = w[0][0].toUpperCase() + w[0].slice(1);
  return `${w.join(' ')}.`;
}
function paragraph(r, sentences) {
  const out = [];
  for (let i = 0; i < sentences; i++) out.push(sentence(r, 6, 16));
  return out.join(' ');
}

function pickModel(r) {
  const x = r.next();
  let acc = 0;
  for (const [m, p] of MODELS) {
    acc += p;
    if (x < acc) return m;
  }
  return MODELS[0][0];
}

// ---------------------------------------------------------------------------------------------
// One session
// ---------------------------------------------------------------------------------------------

const iso = (ms) => new Date(ms).toISOString();

function toolCall(r) {
  const kind = r.int(0, 9);
  if (kind < 4)
    return {
      name: 'Bash',
      input: {
        command: r.pick(['npm test', 'npm run build', 'git status', 'make check', 'pytest -q', 'cargo build', `node ${r.pick(FILES)}`]),
        description: sentence(r, 3, 6),
      },
    };
  if (kind < 7) return { name: 'Read', input: { file_path: `/home/dev/projects/x/${r.pick(FILES)}` } };
  if (kind < 8)
    return { name: 'Edit', input: { file_path: `/home/dev/projects/x/${r.pick(FILES)}`, old_string: sentence(r, 3, 8), new_string: sentence(r, 3, 8) } };
  if (kind < 9) return { name: 'Grep', input: { pattern: r.pick(WORDS), path: 'src' } };
  return { name: 'Glob', input: { pattern: `**/*.${r.pick(['ts', 'js', 'json', 'md'])}` } };
}

function toolOutput(r, failed) {
  const lines = [];
  const n = r.int(1, 8);
  for (let i = 0; i < n; i++) lines.push(sentence(r, 4, 12));
  if (r.chance(0.02)) lines.push(`error: ${r.pick(RARE_TERMS)} while ${r.pick(WORDS)} ${r.pick(WORDS)}`);
  if (failed)
    lines.push(`Error: exit code ${r.int(1, 127)}: ${r.pick(['build failed', 'test failed', 'permission denied', 'file not found', 'timeout exceeded'])}`);
  return lines.join('\n');
}

/**
 * Writes one session (and maybe a subagent file). Returns counts: interactions, lines, usage
 * responses and the deduplicated token totals.
 */
function writeSession(out, r, s) {
  const common = { isSidechain: false, userType: 'external', cwd: s.cwd, sessionId: s.id, version: '2.1.39', gitBranch: s.branch };
  const lines = [];
  const stats = { interactions: 0, lines: 0, responses: 0 };
  let t = s.start;
  let parent = null;
  let context = r.int(8000, 20000);
  const push = (o) => {
    lines.push(JSON.stringify(o));
    stats.lines++;
  };
  const model = s.model;
  let turn = 0;
  while (stats.interactions < s.target) {
    turn++;
    const promptUuid = r.uuid();
    if (r.chance(0.5))
      push({
        type: 'file-history-snapshot',
        messageId: promptUuid,
        snapshot: { messageId: promptUuid, trackedFileBackups: {}, timestamp: iso(t) },
        isSnapshotUpdate: false,
      });
    push({
      parentUuid: parent,
      ...common,
      type: 'user',
      message: { role: 'user', content: `${sentence(r, 5, 20)} ${turn === 1 ? paragraph(r, 1) : ''}`.trim() },
      uuid: promptUuid,
      timestamp: iso(t),
      permissionMode: 'default',
    });
    stats.interactions++;
    parent = promptUuid;
    t += r.int(500, 4000);
    const responses = r.int(1, 8);
    for (let k = 0; k < responses && stats.interactions < s.target + 4; k++) {
      const last = k === responses - 1;
      const blocks = [];
      if (r.chance(0.3)) blocks.push({ type: 'thinking', thinking: paragraph(r, r.int(1, 3)), signature: r.hex(48) });
      if (last || r.chance(0.7)) blocks.push({ type: 'text', text: paragraph(r, r.int(1, 4)) });
      let call = null;
      if (!last) {
        call = { ...toolCall(r), id: `toolu_01${r.b58(22)}` };
        blocks.push({ type: 'tool_use', id: call.id, name: call.name, input: call.input, caller: { type: 'direct' } });
      }
      const msgId = `msg_01${r.b58(22)}`;
      const requestId = `req_011C${r.b58(20)}`;
      const cacheWrite = r.chance(0.3) ? r.int(200, 8000) : 0;
      const usage = {
        input_tokens: r.int(1, 12),
        cache_creation_input_tokens: cacheWrite,
        cache_read_input_tokens: context,
        cache_creation: { ephemeral_5m_input_tokens: cacheWrite, ephemeral_1h_input_tokens: 0 },
        output_tokens: r.int(20, 1500),
        service_tier: 'standard',
      };
      context = Math.min(context + cacheWrite + usage.output_tokens, 180_000);
      const placeholder = r.chance(0.5);
      blocks.forEach((b, i) => {
        const uuid = r.uuid();
        const finalBlock = i === blocks.length - 1;
        const u = placeholder && !finalBlock ? { ...usage, output_tokens: r.int(1, 9) } : usage;
        push({
          parentUuid: parent,
          ...common,
          message: {
            model,
            id: msgId,
            type: 'message',
            role: 'assistant',
            content: [b],
            stop_reason: finalBlock ? (call ? 'tool_use' : 'end_turn') : null,
            stop_sequence: null,
            usage: u,
          },
          requestId,
          type: 'assistant',
          uuid,
          timestamp: iso(t),
        });
        stats.interactions++;
        parent = uuid;
        t += r.int(50, 900);
      });
      stats.responses++;
      s.tokens.input += usage.input_tokens;
      s.tokens.output += usage.output_tokens;
      s.tokens.cacheCreation += usage.cache_creation_input_tokens;
      s.tokens.cacheRead += usage.cache_read_input_tokens;
      if (call) {
        if (r.chance(0.5))
          push({
            parentUuid: parent,
            ...common,
            type: 'progress',
            data: { type: 'hook_progress', hookEvent: 'PreToolUse', hookName: `PreToolUse:${call.name}`, command: 'rbk hook' },
            toolUseID: call.id,
            parentToolUseID: call.id,
            uuid: r.uuid(),
            timestamp: iso(t),
          });
        const failed = r.chance(0.05);
        const output = toolOutput(r, failed);
        t += r.int(100, 20000);
        const uuid = r.uuid();
        push({
          parentUuid: parent,
          ...common,
          type: 'user',
          message: { role: 'user', content: [{ tool_use_id: call.id, type: 'tool_result', content: output, is_error: failed }] },
          uuid,
          timestamp: iso(t),
          toolUseResult: failed ? `Error: ${output.slice(-80)}` : { stdout: output.slice(0, 200), stderr: '', interrupted: false, isImage: false },
          sourceToolAssistantUUID: parent,
        });
        stats.interactions++;
        parent = uuid;
      }
      t += r.int(200, 3000);
    }
    t += r.int(10_000, 300_000);
  }
  s.end = t;
  out.write(s.file, lines);

  // A few sessions ran a subagent (Task tool): its own file, sidechain lines, its own usage.
  if (s.subagent) {
    const agentId = r.hex(17);
    const sub = [];
    let sp = null;
    let st = s.start + 60_000;
    const sc = { ...common, isSidechain: true, agentId };
    const pu = r.uuid();
    sub.push(
      JSON.stringify({
        parentUuid: null,
        ...sc,
        type: 'user',
        message: { role: 'user', content: `Investigate ${sentence(r, 4, 10)}` },
        uuid: pu,
        timestamp: iso(st),
      }),
    );
    stats.interactions++;
    sp = pu;
    for (let k = 0; k < 6; k++) {
      const msgId = `msg_01${r.b58(22)}`;
      const requestId = `req_011C${r.b58(20)}`;
      const usage = {
        input_tokens: r.int(1, 9),
        cache_creation_input_tokens: r.int(0, 3000),
        cache_read_input_tokens: r.int(5000, 30000),
        output_tokens: r.int(20, 600),
      };
      usage.cache_creation = { ephemeral_5m_input_tokens: usage.cache_creation_input_tokens, ephemeral_1h_input_tokens: 0 };
      const uuid = r.uuid();
      sub.push(
        JSON.stringify({
          parentUuid: sp,
          ...sc,
          message: {
            model: 'claude-haiku-4-5-20251001',
            id: msgId,
            type: 'message',
            role: 'assistant',
            content: [{ type: 'text', text: paragraph(r, 2) }],
            stop_reason: 'end_turn',
            stop_sequence: null,
            usage,
          },
          requestId,
          type: 'assistant',
          uuid,
          timestamp: iso(st),
        }),
      );
      stats.interactions++;
      stats.responses++;
      s.tokens.input += usage.input_tokens;
      s.tokens.output += usage.output_tokens;
      s.tokens.cacheCreation += usage.cache_creation_input_tokens;
      s.tokens.cacheRead += usage.cache_read_input_tokens;
      sp = uuid;
      st += r.int(1000, 5000);
    }
    stats.lines += sub.length;
    out.write(path.join(s.file.slice(0, -'.jsonl'.length), 'subagents', `agent-${agentId}.jsonl`), sub);
  }
  return stats;
}

// ---------------------------------------------------------------------------------------------
// The corpus
// ---------------------------------------------------------------------------------------------

export const DEFAULTS = { sessions: 5000, interactions: 2_000_000, bigSession: 5200, seed: 20260601 };

export function corpusKey(p) {
  return createHash('sha256')
    .update(JSON.stringify({ v: GENERATOR_VERSION, ...p }))
    .digest('hex')
    .slice(0, 16);
}

/** Generates the corpus unless one with the same key exists. Returns its manifest. */
export function ensureCorpus(params = DEFAULTS, log = console.error, dir = CORPUS_DIR) {
  const key = corpusKey(params);
  const home = path.join(dir, 'home');
  const manifestFile = path.join(dir, 'corpus.json');
  if (fs.existsSync(manifestFile)) {
    const m = JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
    if (m.key === key && fs.existsSync(home)) return { ...m, reused: true };
  }
  log(`generating corpus ${key}: ${params.sessions} sessions, >= ${params.interactions} interactions into ${home} ...`);
  const started = Date.now();
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(home, { recursive: true });
  const r = new Rng(params.seed);
  const base = Date.UTC(2026, 2, 1, 8, 0, 0); // 2026-03-01
  const spanMs = 120 * 24 * 3600_000;
  const bytes = { n: 0 };
  const out = {
    write(file, lines) {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      const text = `${lines.join('\n')}\n`;
      bytes.n += Buffer.byteLength(text);
      fs.writeFileSync(file, text);
    },
  };
  // Interaction targets: a long tail of sizes averaging interactions/sessions, plus one big one.
  const perSession = [];
  const avg = (params.interactions * 1.01 - params.bigSession) / (params.sessions - 1);
  let sum = 0;
  for (let i = 1; i < params.sessions; i++) {
    const x = -Math.log(1 - r.next() * 0.999); // exponential, mean 1
    const v = Math.max(6, Math.round(avg * (0.25 + 0.75 * x)));
    perSession.push(v);
    sum += v;
  }
  const scale = (params.interactions * 1.01 - params.bigSession) / sum;
  const targets = [params.bigSession, ...perSession.map((v) => Math.max(6, Math.round(v * scale)))];
  const totals = { interactions: 0, lines: 0, responses: 0, tokens: { input: 0, output: 0, cacheCreation: 0, cacheRead: 0 } };
  const sessions = [];
  for (let i = 0; i < params.sessions; i++) {
    const project = i === 0 ? PROJECTS[0] : r.pick(PROJECTS);
    const cwd = `/home/dev/projects/${project}`;
    const id = r.uuid();
    const dir = path.join(home, '.claude', 'projects', cwd.replace(/[^a-zA-Z0-9]/g, '-'));
    const s = {
      id,
      cwd,
      project,
      branch: r.pick(['main', 'main', 'feature/cache', 'fix/build']),
      model: pickModel(r),
      start: base + Math.floor(r.next() * spanMs),
      target: targets[i],
      subagent: i !== 0 && r.chance(0.05),
      file: path.join(dir, `${id}.jsonl`),
      tokens: { input: 0, output: 0, cacheCreation: 0, cacheRead: 0 },
    };
    const st = writeSession(out, r, s);
    totals.interactions += st.interactions;
    totals.lines += st.lines;
    totals.responses += st.responses;
    for (const k of Object.keys(totals.tokens)) totals.tokens[k] += s.tokens[k];
    sessions.push({ id, project, interactions: st.interactions });
    if (i % 500 === 0) log(`  ${i}/${params.sessions} sessions, ${totals.interactions} interactions, ${(bytes.n / 1e6).toFixed(0)} MB`);
  }
  const manifest = {
    key,
    params,
    home,
    bigSession: sessions[0],
    sessions: sessions.length,
    interactions: totals.interactions,
    lines: totals.lines,
    responses: totals.responses,
    tokens: totals.tokens,
    bytes: bytes.n,
    generatedSeconds: (Date.now() - started) / 1000,
  };
  fs.writeFileSync(manifestFile, JSON.stringify(manifest, null, 2));
  log(`corpus ready: ${manifest.interactions} interactions, ${(manifest.bytes / 1e6).toFixed(0)} MB in ${manifest.generatedSeconds.toFixed(0)} s`);
  return { ...manifest, reused: false };
}

// ---------------------------------------------------------------------------------------------
// The query mixes (bench/query.mjs, bench/scaling.mjs)
// ---------------------------------------------------------------------------------------------

const listReq = (o) => ({ limit: 0, beforeUnixMs: 0, project: '', sinceUnixMs: 0, untilUnixMs: 0, tool: '', errorsOnly: false, host: '', ...o });
const searchReq = (o) => ({ query: '', raw: false, tool: '', errorsOnly: false, project: '', sinceUnixMs: 0, untilUnixMs: 0, limit: 20, sessionId: '', ...o });

/** `rbk sessions` filters, 50 per page; `mid` is 30 days before the newest session. */
export function listCases(mid) {
  return [
    ['newest 50', listReq({ limit: 50 })],
    ['--project api', listReq({ limit: 50, project: 'api' })],
    ['--tool Grep', listReq({ limit: 50, tool: 'Grep' })],
    ['--errors', listReq({ limit: 50, errorsOnly: true })],
    ['--since 30 days before the newest', listReq({ limit: 50, sinceUnixMs: mid })],
    ['--project ml --errors --tool Edit --since', listReq({ limit: 50, project: 'ml', errorsOnly: true, tool: 'Edit', sinceUnixMs: mid - 60 * 86_400_000 })],
  ];
}

/** `rbk search` queries: rare terms, phrases, filters, a prefix, common words. */
export function searchCases(mid) {
  return [
    ['ECONNRESET', searchReq({ query: 'ECONNRESET' })],
    ['segfault --tool Bash', searchReq({ query: 'segfault', tool: 'Bash' })],
    ['"permission denied" --errors', searchReq({ query: '"permission denied"', errorsOnly: true })],
    ['deadlock --project web', searchReq({ query: 'deadlock', project: 'web' })],
    ['OOMKilled worker', searchReq({ query: 'OOMKilled worker' })],
    ['flaky --since', searchReq({ query: 'flaky', sinceUnixMs: mid })],
    ['"timeout exceeded" --errors --tool bash', searchReq({ query: '"timeout exceeded"', errorsOnly: true, tool: 'bash' })],
    ['ECONN* timeout', searchReq({ query: 'ECONN* timeout' })],
    ['build failed (common words)', searchReq({ query: 'build failed' })],
  ];
}

// ---------------------------------------------------------------------------------------------
// The daemon over the corpus
// ---------------------------------------------------------------------------------------------

/**
 * What the stored database depends on: the corpus. New migrations are applied to it by the
 * daemon as it starts, and ingest code changes do not invalidate it (re-importing 2M
 * interactions takes about 15 minutes); pass --fresh to re-import.
 */
export function dbKey(corpus) {
  return createHash('sha256').update(`db-v1:${corpus.key}`).digest('hex').slice(0, 16);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function canConnect(socket) {
  return new Promise((resolve) => {
    const c = net.connect(socket);
    c.once('connect', () => (c.destroy(), resolve(true)));
    c.once('error', () => resolve(false));
  });
}

export function benchEnv(dataDir, extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('RBK_') && !k.startsWith('XDG_')) env[k] = v;
  return { ...env, RBK_DATA_DIR: dataDir, RBK_CONFIG: path.join(dataDir, '..', 'config.yaml'), ...extra };
}

/** Starts rbkd on the corpus data dir, importing the corpus first when the stored DB is stale. */
export async function startCorpusDaemon(corpus, log = console.error, opts = { fresh: false }) {
  const dir = opts.dir ?? CORPUS_DIR;
  const dataDir = path.join(dir, 'data');
  const keyFile = path.join(dir, 'db.json');
  const key = dbKey(corpus);
  let stored = null;
  try {
    stored = JSON.parse(fs.readFileSync(keyFile, 'utf8'));
  } catch {
    /* none yet */
  }
  const reuse = !opts.fresh && stored?.key === key && fs.existsSync(path.join(dataDir, 'rbk.db'));
  if (!reuse) {
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(keyFile, { force: true });
  }
  fs.mkdirSync(dataDir, { recursive: true });
  const env = benchEnv(dataDir);
  const socket = path.join(dataDir, 'run', 'rbk.sock');
  const proc = spawn(process.execPath, [...DAEMON_NODE_FLAGS, path.join(ROOT, 'bin', 'rbkd.js')], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let logText = '';
  proc.stderr.on('data', (c) => {
    logText += c;
    if (logText.length > 1e6) logText = logText.slice(-5e5);
  });
  let exited = false;
  proc.on('exit', () => (exited = true));
  const deadline = Date.now() + 60_000;
  while (!(fs.existsSync(socket) && (await canConnect(socket)))) {
    if (exited || Date.now() > deadline) throw new Error(`rbkd did not start:\n${logText}`);
    await sleep(50);
  }
  const daemon = {
    dataDir,
    env,
    proc,
    log: () => logText,
    stop: () =>
      new Promise((resolve) => {
        if (exited) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
  let importSeconds = stored?.importSeconds ?? null;
  if (!reuse) {
    log(`importing the corpus into a fresh daemon (${dataDir}) ...`);
    const t0 = Date.now();
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'rbk.js'), 'import', '--json', path.join(corpus.home, '.claude', 'projects')], {
      cwd: ROOT,
      env,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      timeout: 3 * 3600_000,
    });
    if (r.status !== 0) {
      await daemon.stop();
      throw new Error(`rbk import failed (${r.status}): ${r.stderr}`);
    }
    importSeconds = (Date.now() - t0) / 1000;
    const summary = JSON.parse(r.stdout);
    const vmKb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${proc.pid}/status`, 'utf8'))?.[1] ?? NaN);
    const importPeakRssMB = Math.round(vmKb('VmHWM') / 1024);
    // Search trails an import (docs/storage.md): wait for the index, so that queries measure it whole.
    const t1 = Date.now();
    for (;;) {
      const st = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'rbk.js'), 'status', '--json'], { cwd: ROOT, env, encoding: 'utf8' });
      if (st.status === 0 && JSON.parse(st.stdout).counts?.searchIndexPending === 0) break;
      await sleep(250);
    }
    const searchableSeconds = (Date.now() - t1) / 1000;
    const peakRssMB = Math.round(vmKb('VmHWM') / 1024);
    fs.writeFileSync(
      keyFile,
      JSON.stringify({ key, importSeconds, searchableSeconds, importPeakRssMB, peakRssMB, summary: { ...summary, errors: summary.errors.length } }, null, 2),
    );
    log(
      `import done in ${importSeconds.toFixed(0)} s: ${summary.interactionsAdded} interactions; searchable ${searchableSeconds.toFixed(0)} s later; peak RSS ${peakRssMB} MB`,
    );
    stored = JSON.parse(fs.readFileSync(keyFile, 'utf8'));
  }
  return { ...daemon, reused: reuse, importSeconds, stored };
}
