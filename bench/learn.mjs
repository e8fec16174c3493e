// `rbk learn`: quality on the evaluation corpus, and time and memory on a long session.
//
// 1. Quality. Runs the evaluation corpus (test/learn/corpus/: 12+ sessions recorded by the real
//    Claude Code CLI against the project's model stand-in, with hand-written expectations) through
//    its vitest file and keeps the scorer's figures for the extractive synthesizer: incident
//    accuracy, proposal precision and recall, fix-shows-change rate, failed-attempt recall,
//    verification recall and absolute-path leaks.
//    Floors: accuracy >= 0.95, precision 1, fix shows change 1, attempt recall >= 0.9, 0 leaks.
// 2. Speed. Generates a session of 1,000+ tool calls (several asks, each an incident with
//    diagnostics, failed attempts, a fix and a verification; unrelated lint failures; missteps;
//    a compaction), imports it into a throwaway daemon and times `rbk learn` on it (the RPC's
//    wall time from the CLI, median of 5), with the daemon's peak RSS during the learn runs
//    (VmHWM, reset after the import through /proc/<pid>/clear_refs).
//    Floors: < 2 s per learn, < 200 MB daemon RSS.
//
// Usage: npm run build && node bench/learn.mjs [--tool-calls 1200] [--runs 5] [--skip-corpus]
// Writes bench/results/learn.json.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { median, numArg, ROOT, startDaemon, tempDataDir, writeResult } from './lib.mjs';
import { procMemory } from './storm.mjs';

const argv = process.argv.slice(2);
const TOOL_CALLS = numArg(argv, 'tool-calls', 1200);
const RUNS = numArg(argv, 'runs', 5);
const SKIP_CORPUS = argv.includes('--skip-corpus');
const FLOORS = { incidentAccuracy: 0.95, proposalPrecision: 1, fixShowsChange: 1, failedAttemptRecall: 0.9, absolutePathLeaks: 0, learnMs: 2000, rssMB: 200 };
const log = (m) => console.error(`[learn-bench] ${m}`);
const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

function corpusScore() {
  const out = path.join(os.tmpdir(), `rbk-learn-score-${process.pid}.json`);
  log('running the evaluation corpus through the real Claude Code CLI (about a minute)…');
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'), 'run', 'test/learn/corpus.test.ts'], {
    cwd: ROOT,
    env: { ...process.env, RBK_LEARN_SCORE_OUT: out },
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  if (!fs.existsSync(out)) throw new Error(`the corpus run wrote no score (exit ${r.status}):\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
  const score = JSON.parse(fs.readFileSync(out, 'utf8'));
  fs.rmSync(out, { force: true });
  return { ...score, testsPassed: r.status === 0, seconds: Math.round((Date.now() - t0) / 1000) };
}

/** A long session in Claude Code's transcript format: `asks` prompts, each an incident in the middle of routine work. */
function longSession(sessionId, cwd, toolCalls) {
  const t0 = Date.parse('2026-10-01T08:00:00Z');
  const base = { isSidechain: false, userType: 'external', cwd, sessionId, version: '2.1.197', gitBranch: 'main' };
  const lines = [];
  let n = 0;
  let parent = null;
  let calls = 0;
  const uuid = () => `${sessionId.slice(0, 8)}-0000-4000-8000-${String(n).padStart(12, '0')}`;
  const push = (line) => {
    n++;
    const id = uuid();
    lines.push({ ...base, parentUuid: parent, uuid: id, timestamp: new Date(t0 + n * 2000).toISOString(), ...line });
    parent = id;
  };
  const usage = { input_tokens: 900, output_tokens: 120, cache_creation_input_tokens: 0, cache_read_input_tokens: 4000 };
  const say = (text) =>
    push({
      type: 'assistant',
      requestId: `req_${n}`,
      message: { model: 'claude-sonnet-4-5-20250929', id: `msg_${n}`, type: 'message', role: 'assistant', content: [{ type: 'text', text }], usage },
    });
  const tool = (name, input, output, error = false, result = output) => {
    calls++;
    const id = `toolu_${sessionId.slice(0, 6)}_${n}`;
    push({
      type: 'assistant',
      requestId: `req_${n}`,
      message: {
        model: 'claude-sonnet-4-5-20250929',
        id: `msg_${n}`,
        type: 'message',
        role: 'assistant',
        content: [{ type: 'tool_use', id, name, input }],
        usage,
      },
    });
    push({
      type: 'user',
      message: { role: 'user', content: [{ type: 'tool_result', tool_use_id: id, is_error: error, content: output }] },
      toolUseResult: result,
    });
  };
  const bash = (command, output, error = false) => tool('Bash', { command, description: 'run' }, error ? `Exit code 1\n${output}` : output, error);
  let ask = 0;
  while (calls < toolCalls) {
    ask++;
    const svc = `service${ask}`;
    push({ type: 'user', message: { role: 'user', content: `the ${svc} integration tests fail since the config change, please fix them` } });
    bash(`npm test -- ${svc}`, `FAIL test/${svc}.test.ts\nError: connect ECONNREFUSED 127.0.0.1:${5400 + ask} (pool ${svc} timeout after 3000 ms)`, true);
    // Routine diagnostics: reads, greps, listings (most of a long session).
    for (let i = 0; i < 60 && calls < toolCalls; i++) {
      if (i % 3 === 0) tool('Read', { file_path: `${cwd}/src/${svc}/module${i}.ts` }, `export const x${i} = ${i};\n`.repeat(20));
      else if (i % 3 === 1) tool('Grep', { pattern: `pool${i}`, path: `${cwd}/src` }, `src/${svc}/module${i}.ts:3: pool${i}`);
      else bash(`ls -la src/${svc} | head -20`, `total ${i}\n-rw-r--r-- 1 dev dev 120 module${i}.ts`);
    }
    // An unrelated failure the assistant sets aside, and a misstep corrected at once.
    bash('npm run lint', `src/${svc}/module1.ts\n  3:7  warning  prefer-const`, true);
    say('The lint warnings are unrelated to the failing tests; I will ignore them.');
    bash(`npm run tset -- ${svc}`, 'npm error Missing script: "tset"', true);
    bash(`npm run test:unit -- ${svc}`, 'ok 14 tests');
    // A failed attempt, then the fix and the verification.
    tool('Edit', { file_path: `${cwd}/config/${svc}.yaml`, old_string: 'timeout: 3000', new_string: 'timeout: 6000' }, 'The file has been updated.', false, {
      filePath: `${cwd}/config/${svc}.yaml`,
      structuredPatch: [{ oldStart: 4, oldLines: 1, newStart: 4, newLines: 1, lines: ['-timeout: 3000', '+timeout: 6000'] }],
    });
    bash(`npm test -- ${svc}`, `FAIL test/${svc}.test.ts\nError: connect ECONNREFUSED 127.0.0.1:${5400 + ask} (pool ${svc} timeout after 6000 ms)`, true);
    tool(
      'Edit',
      { file_path: `${cwd}/config/${svc}.yaml`, old_string: `port: ${5400 + ask}`, new_string: `port: ${6400 + ask}` },
      'The file has been updated.',
      false,
      {
        filePath: `${cwd}/config/${svc}.yaml`,
        structuredPatch: [{ oldStart: 2, oldLines: 1, newStart: 2, newLines: 1, lines: [`-port: ${5400 + ask}`, `+port: ${6400 + ask}`] }],
      },
    );
    bash(`npm test -- ${svc}`, `PASS test/${svc}.test.ts (12 tests)`);
    bash('npm run build', 'built in 4.1s');
    say(
      `Root cause: config/${svc}.yaml pointed the pool at port ${5400 + ask}, where nothing listens since the config change. Fixed the port; the ${svc} tests pass.`,
    );
    if (ask % 5 === 0)
      push({ type: 'system', subtype: 'compact_boundary', content: 'Conversation compacted', compactMetadata: { trigger: 'auto', preTokens: 150000 } });
  }
  return { lines, toolCalls: calls, asks: ask };
}

function cli(env, args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'rbk.js'), ...args], { env, encoding: 'utf8', maxBuffer: 1 << 26 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`rbk ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { ms, stdout: r.stdout };
}

async function speed() {
  const dir = tempDataDir('learn');
  const sessionId = '10a91e55-0000-4000-8000-00000000beef';
  const cwd = '/home/bench/src/shop';
  const { lines, toolCalls, asks } = longSession(sessionId, cwd, TOOL_CALLS);
  const projects = path.join(dir, 'projects', cwd.replace(/[^a-zA-Z0-9]/g, '-'));
  fs.mkdirSync(projects, { recursive: true });
  fs.writeFileSync(path.join(projects, `${sessionId}.jsonl`), `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
  const d = await startDaemon(path.join(dir, 'data'));
  try {
    const env = { ...d.env, RBK_SOCKET: d.socket };
    cli(env, ['import', path.join(dir, 'projects'), '--json']);
    // A cold baseline: node starting the CLI and one RPC round trip, to tell learn's own cost.
    const status = median(Array.from({ length: RUNS }, () => cli(env, ['status', '--json']).ms));
    const clear = `/proc/${d.pid}/clear_refs`;
    const canReset = (() => {
      try {
        fs.writeFileSync(clear, '5');
        return true;
      } catch {
        return false;
      }
    })();
    const before = procMemory(d.pid);
    const times = [];
    let result;
    for (let i = 0; i < RUNS; i++) {
      const r = cli(env, ['learn', sessionId, '--json', '--out', path.join(dir, `out-${i}`)]);
      times.push(r.ms);
      result = JSON.parse(r.stdout);
    }
    const after = procMemory(d.pid);
    const learnMs = median(times);
    log(
      `${toolCalls} tool calls, ${asks} asks: learn ${round(learnMs)} ms median (rbk status ${round(status)} ms), daemon RSS ${round(after.rssMB)} MB, peak ${round(after.hwmMB)} MB`,
    );
    return {
      toolCalls,
      asks,
      transcriptLines: lines.length,
      runs: RUNS,
      learnMsMedian: round(learnMs),
      learnMsAll: times.map((x) => round(x)),
      statusMsMedian: round(status),
      learnOverStatus: round(learnMs / status, 2),
      incidentsFound: result.incidents.length,
      incidentsResolved: result.incidents.filter((i) => i.status === 'resolved').length,
      missteps: result.missteps.length,
      unrelated: result.unrelated.length,
      rssBeforeMB: round(before.rssMB),
      rssAfterMB: round(after.rssMB),
      peakRssMB: round(after.hwmMB),
      peakIsDuringLearn: canReset,
    };
  } finally {
    await d.stop();
    if (process.env.RBK_KEEP_BENCH === '1') log(`kept ${dir}`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
}

const quality = SKIP_CORPUS ? null : corpusScore();
if (quality)
  log(
    `corpus: ${quality.sessions} sessions, accuracy ${quality.incidentAccuracy}, precision ${quality.proposalPrecision}, recall ${quality.proposalRecall}, fix shows change ${quality.fixShowsChange}, attempt recall ${quality.failedAttemptRecall}, leaks ${quality.absolutePathLeaks}`,
  );
const long = await speed();
const pass =
  long.learnMsMedian < FLOORS.learnMs &&
  long.peakRssMB < FLOORS.rssMB &&
  long.incidentsFound === long.asks &&
  (!quality ||
    (quality.incidentAccuracy >= FLOORS.incidentAccuracy &&
      quality.proposalPrecision >= FLOORS.proposalPrecision &&
      quality.fixShowsChange >= FLOORS.fixShowsChange &&
      quality.failedAttemptRecall >= FLOORS.failedAttemptRecall &&
      quality.absolutePathLeaks <= FLOORS.absolutePathLeaks));
writeResult('learn', { floors: FLOORS, pass, loadAvg1m: round(os.loadavg()[0], 2), quality, long });
log(pass ? 'within floors' : 'BELOW FLOOR');
