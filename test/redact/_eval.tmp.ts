import { createRedactor } from '../../daemon/redact/index.js';
import { CORPUS } from './corpus.js';
const key = Buffer.alloc(32, 3);
const r = createRedactor({ key }), rip = createRedactor({ key, ipAddresses: true });
console.log('pos', CORPUS.positives.length, 'neg', CORPUS.negatives.length);
for (const p of CORPUS.positives) { const out = (p.ipAddresses ? rip : r).redactText(p.text).text; const missed = p.secrets.filter(s => out.includes(s)); if (missed.length) console.log('MISS', p.rule, JSON.stringify(out).slice(0, 300)); }
for (const n of CORPUS.negatives) { const res = (n.ipAddresses ? rip : r).redactText(n.text); if (res.matches.length) console.log('FP', n.category, res.matches.map(m => m.rule + ':' + JSON.stringify(n.text.slice(m.start, m.end))).join(' '), '|', JSON.stringify(n.text).slice(0,150)); }
