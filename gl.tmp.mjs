import fs from 'node:fs';
import { parse } from 'smol-toml';
const t = parse(fs.readFileSync('/tmp/gl/config/gitleaks.toml', 'utf8'));
let prefixed = 0, generic = 0;
for (const r of t.rules) {
  const re = r.regex ?? '';
  const semi = re.includes('[\\w.-]{0,50}?');
  if (semi) generic++; else prefixed++;
  if (!semi) console.log(r.id.padEnd(40), (r.keywords||[]).join(',').padEnd(20), re.slice(0, 110));
}
console.log({ prefixed, generic });
