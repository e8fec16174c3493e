import { createRedactor } from '../../daemon/redact/index.js';
import fs from 'node:fs';
import path from 'node:path';
const r = createRedactor({ key: Buffer.alloc(32, 3) });
const files: string[] = [];
const walk = (d: string) => { for (const e of fs.readdirSync(d, { withFileTypes: true })) { const p = path.join(d, e.name); if (e.isDirectory()) walk(p); else if (/\.(md|ts|js|mjs|json|ya?ml|sh|py)$/.test(e.name) && fs.statSync(p).size < 400000) files.push(p); } };
walk(process.argv[2]!);
const byRule: Record<string, number> = {}; const samples: Record<string, string[]> = {};
let bytes = 0;
for (const f of files) { const t = fs.readFileSync(f, 'utf8'); bytes += t.length; for (const m of r.scanText(t)) { byRule[m.rule] = (byRule[m.rule] ?? 0) + 1; (samples[m.rule] ??= []).push(f.split('node_modules/')[1]?.slice(0,50) + ' :: ' + JSON.stringify(t.slice(Math.max(0, m.start - 40), m.end + 10))); } }
console.log(files.length, 'files', (bytes/1e6).toFixed(1), 'MB', byRule);
const want = process.argv[3]; for (const [k, v] of Object.entries(samples)) { if (want && k !== want) continue; console.log('==', k); const step = Math.max(1, Math.floor(v.length / 25)); for (let i = 0; i < v.length; i += step) console.log('  ', v[i]); }
