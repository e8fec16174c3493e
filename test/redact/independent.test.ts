// Redaction quality on the independent corpora (independent.ts), through redactText and through
// redactJson (the text as the value inside a transcript line). Floors: recall ≥ 98 %, precision ≥ 95 %.
import { describe, expect, it } from 'vitest';
import { createRedactor } from '../../daemon/redact/index.js';
import { loadGenerated, loadPeers, score, type Score } from './independent.js';

const redactor = createRedactor({ key: Buffer.alloc(32, 24) });

const viaText = (t: string) => redactor.redactText(t).text;
// A tool result as Claude Code writes it: the text is a string value inside a JSON line.
const viaJson = (t: string) => redactor.redactJson({ type: 'tool_result', content: [{ type: 'text', text: t }] }).value.content[0]!.text;

function report(name: string, s: Score) {
  console.log(
    `${name}: recall ${(100 * s.recall).toFixed(2)}% (${s.recalled}/${s.positives}), precision ${(100 * s.precision).toFixed(2)}% (${s.flaggedNegatives} negatives touched)`,
  );
  console.table(s.table);
  if (s.misses.length) console.log(`misses:\n  ${s.misses.slice(0, 40).join('\n  ')}`);
  if (s.falsePositives.length) console.log(`false positives:\n  ${s.falsePositives.slice(0, 40).join('\n  ')}`);
}

describe("redaction on the peers' test cases (gitleaks, secretlint)", () => {
  const peers = loadPeers();
  it('is the converted catalogue, not a sample', () => {
    expect(peers.positives.length).toBeGreaterThan(5000);
    expect(peers.negatives.length).toBeGreaterThan(250);
    expect(new Set(peers.positives.map((p) => p.category)).size).toBeGreaterThan(150);
  });
  for (const [path, redact] of [
    ['redactText', viaText],
    ['redactJson', viaJson],
  ] as const) {
    it(`recall ≥ 98 % and precision ≥ 95 % (${path})`, () => {
      const s = score(peers.positives, peers.negatives, redact);
      report(`peers via ${path}`, s);
      expect(s.recall).toBeGreaterThanOrEqual(0.98);
      expect(s.precision).toBeGreaterThanOrEqual(0.95);
    });
  }
});

describe("redaction on a corpus generated from real tools' output formats", () => {
  const gen = loadGenerated();
  it('has every category the independent evaluation found missing', () => {
    const cats = new Set(gen.positives.map((p) => p.category));
    for (const c of [
      'twilio',
      'docker-hub',
      'vault',
      'aws-positional',
      'azure',
      'url-signature',
      'cli-password',
      'iac-default',
      'config-password',
      'env-license',
      'ssn',
      'query-string',
      'k8s-secret',
      'json-nested',
      'wrapped',
    ])
      expect(cats).toContain(c);
    expect(gen.positives.length).toBeGreaterThan(300);
    expect(gen.negatives.length).toBeGreaterThan(150);
  });
  for (const [path, redact] of [
    ['redactText', viaText],
    ['redactJson', viaJson],
  ] as const) {
    it(`recall ≥ 98 % and precision ≥ 95 % (${path})`, () => {
      const s = score(gen.positives, gen.negatives, redact);
      report(`generated via ${path}`, s);
      expect(s.recall).toBeGreaterThanOrEqual(0.98);
      expect(s.precision).toBeGreaterThanOrEqual(0.95);
    });
  }
});

// Base64 of a known token: a measurement the issue asked for beside the scored corpora. Every
// vendor token of the generated corpus (one that a vendor rule finds on its own) is base64-encoded
// at each byte alignment, in the places tools print base64: `base64` output, a Basic auth header,
// a .dockerconfigjson auth field.
describe('vendor tokens inside base64', () => {
  const gen = loadGenerated();
  const generic = new Set(['token-assignment', 'generic-secret', 'authorization-header', 'url-credentials', 'high-entropy-assignment']);
  const tokens = [...new Set(gen.positives.flatMap((p) => p.secrets))]
    .filter((s): s is string => typeof s === 'string')
    .filter((s) => {
      const m = redactor.redactText(s).matches;
      return m.length === 1 && m[0]!.start === 0 && m[0]!.end === s.length && m[0]!.kind === 'secret' && !generic.has(m[0]!.rule);
    });
  it('are found at every alignment and in every context', () => {
    expect(tokens.length).toBeGreaterThan(40);
    let total = 0;
    let found = 0;
    const missed: string[] = [];
    for (const t of tokens) {
      for (const prefix of ['', 'u:', 'ci:']) {
        const b64 = Buffer.from(prefix + t).toString('base64');
        for (const text of [`$ echo -n "$TOKEN" | base64\n${b64}\n`, `Authorization: Basic ${b64}`, `{"auths":{"ghcr.io":{"auth":"${b64}"}}}`]) {
          total++;
          const out = viaText(text);
          if (!out.includes(b64)) found++;
          else missed.push(`${prefix}${t.slice(0, 12)}…`);
        }
      }
    }
    console.log(
      `base64 of vendor tokens: ${found}/${total} found (${((100 * found) / total).toFixed(1)}%), ${tokens.length} tokens; missed: ${[...new Set(missed)].slice(0, 10).join(', ')}`,
    );
    expect(found / total).toBeGreaterThanOrEqual(0.95);
  });
});
