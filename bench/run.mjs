// `npm run bench`: runs every benchmark in its own process (so one's memory or JIT state does
// not colour another's) and prints a summary. Each writes bench/results/<name>.json.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { RESULTS, ROOT } from './lib.mjs';

const all = ['hook', 'parse', 'import', 'redact', 'usage', 'query', 'console', 'otlp', 'ingest', 'rss', 'scaling', 'sync', 'learn', 'reliability'];
const wanted = process.argv.slice(2).length > 0 ? process.argv.slice(2) : all;
const summary = [];
for (const name of wanted) {
  const file = path.join(ROOT, 'bench', `${name}.mjs`);
  if (!fs.existsSync(file)) {
    console.log(`(${name}: no bench/${name}.mjs in this version)`);
    continue;
  }
  console.log(`\n== ${name}`);
  const r = spawnSync(process.execPath, ['--expose-gc', file], { stdio: 'inherit', cwd: ROOT });
  const resultFile = path.join(RESULTS, `${name}.json`);
  const result = fs.existsSync(resultFile) ? JSON.parse(fs.readFileSync(resultFile, 'utf8')) : null;
  summary.push({ name, exit: r.status, pass: result?.pass ?? null });
}
console.log('\n== summary');
for (const s of summary) console.log(`${s.name.padEnd(8)} ${s.exit === 0 ? (s.pass === false ? 'BELOW FLOOR' : 'ok') : `exit ${s.exit}`}`);
process.exit(summary.some((s) => s.exit !== 0) ? 1 : 0);
