import { createRedactor } from '../../daemon/redact/index.js';
import { CORPUS } from './corpus.js';
const r = createRedactor({ key: Buffer.alloc(32, 3) });
const want = new Set(process.argv.slice(2));
for (const p of CORPUS.positives) if (want.has(p.rule)) console.log(p.rule.padEnd(22), JSON.stringify(r.redactText(p.text).text).slice(0, 260));
