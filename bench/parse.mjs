// Transcript parse throughput: rbk's reader + parser against a bare `readline + JSON.parse` loop.
// The target is ratio >= 0.5 (import may cost at most twice a bare parse).
//
// Usage: npx tsc -p tsconfig.build.json && node bench/parse.mjs [--mb 100] [--runs 3]
// The corpus is built once in bench/.corpus/ by repeating the real fixture transcripts, so it has
// their mix of progress, tool-result and assistant lines.
import { createReadStream, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import readline from 'node:readline';
import os from 'node:os';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const { readCompleteLines } = await import(join(root, 'dist/daemon/ingest/transcripts/reader.js'));
const { parseLineRecord } = await import(join(root, 'dist/daemon/ingest/transcripts/parse.js'));

function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  return i !== -1 && process.argv[i + 1] ? Number(process.argv[i + 1]) : dflt;
}
const targetMb = arg('mb', 100);
const runs = arg('runs', 3);

function fixtureFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...fixtureFiles(p));
    else if (name.endsWith('.jsonl')) out.push(p);
  }
  return out.sort();
}

function buildCorpus(file, bytes) {
  if (existsSync(file) && statSync(file).size >= bytes) return;
  mkdirSync(dirname(file), { recursive: true });
  const sources = fixtureFiles(join(root, 'test/fixtures/claude-code/transcripts')).map((f) => readFileSync(f));
  if (sources.length === 0) throw new Error('no fixture transcripts found under test/fixtures/claude-code/transcripts');
  const fd = openSync(file, 'w');
  let written = 0;
  try {
    while (written < bytes) {
      for (const buf of sources) {
        writeSync(fd, buf);
        written += buf.length;
      }
    }
  } finally {
    closeSync(fd);
  }
}

async function bare(file) {
  const rl = readline.createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let lines = 0;
  let keep = 0;
  for await (const line of rl) {
    if (line.length === 0) continue;
    const v = JSON.parse(line);
    if (v.type) keep++;
    lines++;
  }
  return { lines, keep };
}

// Same reader, JSON.parse only: isolates what field picking and bounding cost on top of parsing.
async function readerOnly(file) {
  let lines = 0;
  let keep = 0;
  for await (const rec of readCompleteLines(file, 0)) {
    if (rec.bytes && rec.bytes.length > 0) {
      const v = JSON.parse(rec.bytes.toString('utf8'));
      if (v.type) keep++;
    }
    lines++;
  }
  return { lines, keep };
}

async function rbk(file) {
  const ctx = { file };
  let lines = 0;
  let keep = 0;
  for await (const rec of readCompleteLines(file, 0)) {
    const p = parseLineRecord(rec, ctx);
    if (p.ok) keep += p.interactions.length + (p.usage ? 1 : 0);
    lines++;
  }
  return { lines, keep };
}

async function time(fn, file) {
  const t0 = process.hrtime.bigint();
  const r = await fn(file);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return { ...r, ms };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const corpus = join(here, '.corpus', `transcripts-${targetMb}mb.jsonl`);
buildCorpus(corpus, targetMb * 1024 * 1024);
const size = statSync(corpus).size;
const mb = size / (1024 * 1024);

// Warm the page cache and the JIT for both paths before measuring.
await time(bare, corpus);
await time(rbk, corpus);
await time(readerOnly, corpus);

const bareMs = [];
const rbkMs = [];
const readerMs = [];
let lines = 0;
for (let i = 0; i < runs; i++) {
  const b = await time(bare, corpus);
  const r = await time(rbk, corpus);
  const o = await time(readerOnly, corpus);
  readerMs.push(o.ms);
  if (b.lines !== r.lines || o.lines !== r.lines) throw new Error(`line counts differ: bare ${b.lines}, rbk ${r.lines}`);
  lines = r.lines;
  bareMs.push(b.ms);
  rbkMs.push(r.ms);
}

const bareMBs = mb / (median(bareMs) / 1000);
const rbkMBs = mb / (median(rbkMs) / 1000);
const readerMBs = mb / (median(readerMs) / 1000);
const ratio = rbkMBs / bareMBs;
const result = {
  bench: 'transcript-parse',
  date: new Date().toISOString(),
  node: process.version,
  cpus: os.cpus().length,
  corpusBytes: size,
  lines,
  runs,
  bareMs,
  rbkMs,
  readerJsonParseMs: readerMs,
  bareMBps: Number(bareMBs.toFixed(1)),
  rbkMBps: Number(rbkMBs.toFixed(1)),
  readerJsonParseMBps: Number(readerMBs.toFixed(1)),
  parserOverhead: Number((readerMBs / rbkMBs).toFixed(3)),
  ratio: Number(ratio.toFixed(3)),
  target: 0.5,
  pass: ratio >= 0.5,
};
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', 'parse.json'), `${JSON.stringify(result, null, 2)}\n`);
console.log(`corpus ${mb.toFixed(1)} MB, ${lines} lines, median of ${runs} runs`);
console.log(`bare readline+JSON.parse: ${bareMBs.toFixed(1)} MB/s`);
console.log(`rbk reader+JSON.parse:    ${readerMBs.toFixed(1)} MB/s (no field picking)`);
console.log(`rbk reader+parser:        ${rbkMBs.toFixed(1)} MB/s`);
console.log(`ratio ${ratio.toFixed(3)} (target >= 0.5) ${ratio >= 0.5 ? 'PASS' : 'FAIL'}`);
