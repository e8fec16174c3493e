// `rbk usage daily --json` against `ccusage daily --json --offline` over the same corpus, side by
// side in one run, each measured as a whole process (node start, CLI start, the work, exit).
// The target is rbk >= 10x faster. Writes bench/results/usage.json.
//
// Usage: npm run build && node bench/usage.mjs [--runs 5] [--fresh]
// The corpus (>= 5,000 sessions, >= 2,000,000 interactions of real-format JSONL, ~2 GB) is built
// once under bench/.corpus/query/ and imported once; later runs reuse both (see query-corpus.mjs).
// ccusage is installed outside the repo's dependencies, into bench/.peers/, on first use.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { benchEnv, DEFAULTS, ensureCorpus, ROOT, startCorpusDaemon } from './query-corpus.mjs';
import { numArg } from './lib.mjs';

const argv = process.argv.slice(2);
const flag = (name) => argv.includes(`--${name}`);
const num = (name, dflt) => numArg(argv, name, dflt);
const RUNS = num('runs', 5);
const log = (m) => console.error(`[usage-bench] ${m}`);

// ---------------------------------------------------------------------------------------------
// ccusage, installed beside the repo (never into its package.json)
// ---------------------------------------------------------------------------------------------

const PEERS = path.join(ROOT, 'bench', '.peers');
const CCUSAGE_BIN = path.join(PEERS, 'node_modules', 'ccusage', 'src', 'cli.js');
// ccusage >= 20 is a native binary shipped as an optional per-platform package. When the newest
// release has no binary for this platform on the registry (20.0.26 has none for linux-x64),
// fall back to the newest known-good one.
const CCUSAGE_FALLBACK = '20.0.24';

function ccusageWorks() {
  if (!fs.existsSync(CCUSAGE_BIN)) return null;
  const r = spawnSync(process.execPath, [CCUSAGE_BIN, '--version'], { encoding: 'utf8', timeout: 30_000 });
  return r.status === 0 ? r.stdout.trim() : null;
}

function npmInstall(spec) {
  log(`installing ${spec} into ${PEERS} ...`);
  fs.mkdirSync(PEERS, { recursive: true });
  if (!fs.existsSync(path.join(PEERS, 'package.json'))) fs.writeFileSync(path.join(PEERS, 'package.json'), '{"private":true}\n');
  const r = spawnSync('npm', ['install', '--prefix', PEERS, '--no-audit', '--no-fund', spec], { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) throw new Error(`npm install ${spec} failed:\n${r.stderr}`);
}

function ensureCcusage() {
  let v = ccusageWorks();
  if (v) return v;
  const wanted = process.env.CCUSAGE_VERSION ?? 'latest';
  npmInstall(`ccusage@${wanted}`);
  v = ccusageWorks();
  if (v) return v;
  if (wanted === 'latest') {
    log(`ccusage@latest does not run on ${process.platform}-${process.arch} (no native binary published); using ${CCUSAGE_FALLBACK}`);
    npmInstall(`ccusage@${CCUSAGE_FALLBACK}`);
    v = ccusageWorks();
  }
  if (!v) throw new Error('could not install a working ccusage');
  return v;
}

// ---------------------------------------------------------------------------------------------

function timeProcess(cmd, args, env) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', maxBuffer: 512 * 1024 * 1024, timeout: 30 * 60_000 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${path.basename(cmd)} ${args.join(' ')} failed (${r.status}): ${r.stderr.slice(0, 2000)}`);
  return { ms, stdout: r.stdout };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

async function main() {
  const started = Date.now();
  const ccusageVersion = ensureCcusage();
  const corpus = ensureCorpus(DEFAULTS, log);
  const daemon = await startCorpusDaemon(corpus, log, { fresh: flag('fresh') });
  try {
    const rbkEnv = { ...benchEnv(daemon.dataDir), TZ: 'UTC' };
    const ccEnv = { ...benchEnv(daemon.dataDir), HOME: corpus.home, TZ: 'UTC' };
    delete ccEnv.CLAUDE_CONFIG_DIR;
    const rbkArgs = [path.join(ROOT, 'bin', 'rbk.js'), 'usage', 'daily', '--json'];
    const ccArgs = [CCUSAGE_BIN, 'daily', '--json', '--offline'];

    // One untimed run each so that both read from a warm page cache; then alternate.
    log('warming up ...');
    const rbkFirst = timeProcess(process.execPath, rbkArgs, rbkEnv);
    const ccFirst = timeProcess(process.execPath, ccArgs, ccEnv);
    const rbkTimes = [];
    const ccTimes = [];
    let rbkOut = rbkFirst.stdout;
    let ccOut = ccFirst.stdout;
    for (let i = 0; i < RUNS; i++) {
      const a = timeProcess(process.execPath, rbkArgs, rbkEnv);
      rbkTimes.push(a.ms);
      rbkOut = a.stdout;
      const b = timeProcess(process.execPath, ccArgs, ccEnv);
      ccTimes.push(b.ms);
      ccOut = b.stdout;
      log(`run ${i + 1}/${RUNS}: rbk ${round(a.ms)} ms, ccusage ${round(b.ms)} ms`);
    }
    // What the rbk CLI costs before it asks the daemon anything.
    const help = [];
    for (let i = 0; i < RUNS; i++) help.push(timeProcess(process.execPath, [path.join(ROOT, 'bin', 'rbk.js'), '--version'], rbkEnv).ms);
    const status = [];
    for (let i = 0; i < RUNS; i++) status.push(timeProcess(process.execPath, [path.join(ROOT, 'bin', 'rbk.js'), 'status', '--json'], rbkEnv).ms);

    const rbk = JSON.parse(rbkOut);
    const cc = JSON.parse(ccOut);
    const tokenKeys = ['inputTokens', 'outputTokens', 'cacheCreationTokens', 'cacheReadTokens', 'totalTokens'];
    const pick = (o) => Object.fromEntries(tokenKeys.map((k) => [k, o[k]]));
    const ccDays = new Map(cc.daily.map((d) => [d.period ?? d.date, d]));
    const dayMismatches = rbk.daily.filter((d) => JSON.stringify(pick(d)) !== JSON.stringify(pick(ccDays.get(d.date) ?? {}))).map((d) => d.date);
    const rbkMedian = median(rbkTimes);
    const ccMedian = median(ccTimes);
    const result = {
      benchmark: 'usage daily --json, whole process, warm page cache',
      when: new Date().toISOString(),
      // Other work on the machine while it ran (1-minute load average at the end).
      machine: {
        cpus: os.cpus().length,
        cpu: os.cpus()[0]?.model,
        memGb: round(os.totalmem() / 2 ** 30),
        node: process.version,
        platform: `${process.platform}-${process.arch}`,
        loadAvg1m: round(os.loadavg()[0], 2),
      },
      corpus: {
        sessions: corpus.sessions,
        interactions: corpus.interactions,
        jsonlLines: corpus.lines,
        apiResponses: corpus.responses,
        bytes: corpus.bytes,
        generatedSeconds: corpus.generatedSeconds,
        reused: corpus.reused,
      },
      import: { seconds: daemon.importSeconds, reusedDb: daemon.reused },
      runs: RUNS,
      rbk: {
        command: 'rbk usage daily --json',
        medianMs: round(rbkMedian),
        minMs: round(Math.min(...rbkTimes)),
        maxMs: round(Math.max(...rbkTimes)),
        firstRunMs: round(rbkFirst.ms),
        runsMs: rbkTimes.map((x) => round(x)),
      },
      ccusage: {
        command: `ccusage daily --json --offline (${ccusageVersion}, run as node ${path.relative(ROOT, CCUSAGE_BIN)}; npx adds its own start-up on top)`,
        medianMs: round(ccMedian),
        minMs: round(Math.min(...ccTimes)),
        maxMs: round(Math.max(...ccTimes)),
        firstRunMs: round(ccFirst.ms),
        runsMs: ccTimes.map((x) => round(x)),
      },
      cliStartup: { versionMedianMs: round(median(help)), statusMedianMs: round(median(status)) },
      ratio: round(ccMedian / rbkMedian, 2),
      target: '>= 10x',
      pass: ccMedian / rbkMedian >= 10,
      agreement: {
        days: { rbk: rbk.daily.length, ccusage: cc.daily.length },
        totals: { rbk: pick(rbk.totals), ccusage: pick(cc.totals) },
        tokensEqual: JSON.stringify(pick(rbk.totals)) === JSON.stringify(pick(cc.totals)),
        daysWithDifferentTokens: dayMismatches,
        cost: {
          rbk: rbk.totals.totalCost,
          ccusage: cc.totals.totalCost,
          note: 'rbk prices from its embedded table (pricing.ts); ccusage from its offline LiteLLM snapshot',
        },
      },
      wallSeconds: round((Date.now() - started) / 1000),
    };
    fs.mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
    fs.writeFileSync(path.join(ROOT, 'bench', 'results', 'usage.json'), `${JSON.stringify(result, null, 2)}\n`);
    console.log(JSON.stringify(result, null, 2));
    if (!result.pass) process.exitCode = 1;
  } finally {
    await daemon.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
