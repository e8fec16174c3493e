import fs from 'node:fs'; import zlib from 'node:zlib';
const { createRedactor } = await import('./dist/daemon/redact/index.js');
const r = createRedactor({ key: Buffer.alloc(32, 7) });
for (const name of ['gitleaks','secretlint']) {
  const c = JSON.parse(zlib.gunzipSync(fs.readFileSync(`test/redact/peers/${name}.json.gz`)).toString());
  let total = 0; let worst = [0, ''];
  for (const p of [...c.positives, ...c.negatives]) { const t0 = performance.now(); r.redactText(p.text); const ms = performance.now() - t0; total += ms; if (ms > worst[0]) worst = [ms, p.source + ' ' + p.text.slice(0, 80)]; }
  console.log(name, total.toFixed(0), 'ms; worst', worst[0].toFixed(1), worst[1]);
}
