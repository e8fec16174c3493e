import fs from 'node:fs';
const { createRedactor } = await import('./dist/daemon/redact/index.js');
const r = createRedactor({ key: Buffer.alloc(32, 7) });
for (const name of process.argv.slice(2)) {
  const c = JSON.parse(fs.readFileSync(`test/redact/peers/${name}.json`, 'utf8'));
  let ok = 0; const miss = new Map();
  for (const p of c.positives) {
    const out = r.redactText(p.text).text;
    if (p.secrets.every((s) => !out.includes(s))) ok++;
    else { const k = p.source; miss.set(k, [...(miss.get(k) ?? []), out.slice(0, 160)]); }
  }
  let flagged = 0; const fps = [];
  for (const n of c.negatives) { const m = r.scanText(n.text); if (m.length) { flagged++; fps.push(`${n.source}: ${m.map((x) => x.rule + '=' + JSON.stringify(n.text.slice(x.start, x.end)).slice(0, 60)).join(' ')}`); } }
  console.log(`${name}: recall ${(ok / c.positives.length).toFixed(4)} (${ok}/${c.positives.length}), precision ${(ok / (ok + flagged)).toFixed(4)} (${flagged} negatives flagged of ${c.negatives.length})`);
  const sorted = [...miss.entries()].sort((a, b) => b[1].length - a[1].length);
  for (const [k, v] of sorted.slice(0, Number(process.env.TOP ?? 60))) console.log(`  ${v.length} ${k}: ${JSON.stringify(v[0])}`);
  if (process.env.FP) for (const f of fps) console.log('  FP ' + f.slice(0, 200));
}
