// Quality gate over the labelled corpus: recall ≥ 98% and precision ≥ 95%, plus a stricter
// check that no fragment of a labelled secret survives (a secret cut short is still a leak).
import { describe, expect, it } from 'vitest';
import { createRedactor, type Redactor } from '../../daemon/redact/index.js';
import { CORPUS } from './corpus.js';

const key = Buffer.alloc(32, 42);
const plain = createRedactor({ key });
const withIp = createRedactor({ key, ipAddresses: true });
const redactorFor = (ipAddresses?: boolean): Redactor => (ipAddresses ? withIp : plain);

/** Fragments of `secret` (length ≥ 6) in `output` that the input did not also contain elsewhere. */
function leakedFragments(secret: string, input: string, redacted: string): string[] {
  const elsewhere = input.split(secret).join('\u0000');
  // Rule ids inside tokens ("github-token") are not leaks.
  const output = redacted.replace(/\[REDACTED:[a-z0-9-]+:[0-9a-f]{6}\]/g, '\u0000');
  const leaks: string[] = [];
  const size = Math.min(6, secret.length);
  for (let i = 0; i + size <= secret.length; i++) {
    const piece = secret.slice(i, i + size);
    if (output.includes(piece) && !elsewhere.includes(piece)) leaks.push(piece);
  }
  return leaks;
}

interface RuleRow {
  positives: number;
  recalled: number;
  leaks: number;
  falsePositives: number;
}

describe('redaction corpus', () => {
  const rows = new Map<string, RuleRow>();
  const row = (rule: string): RuleRow => {
    let r = rows.get(rule);
    if (!r) rows.set(rule, (r = { positives: 0, recalled: 0, leaks: 0, falsePositives: 0 }));
    return r;
  };
  const misses: string[] = [];
  const leaks: string[] = [];
  const falsePositives: string[] = [];

  let recalled = 0;
  for (const example of CORPUS.positives) {
    const out = redactorFor(example.ipAddresses).redactText(example.text).text;
    const r = row(example.rule);
    r.positives++;
    const gone = example.secrets.every((s) => !out.includes(s));
    if (gone) {
      recalled++;
      r.recalled++;
    } else {
      misses.push(`${example.rule}: ${JSON.stringify(out).slice(0, 200)}`);
    }
    const fragments = example.secrets.flatMap((s) => leakedFragments(s, example.text, out));
    if (fragments.length > 0) {
      r.leaks++;
      leaks.push(`${example.rule}: ${fragments.slice(0, 3).join(', ')} in ${JSON.stringify(out).slice(0, 200)}`);
    }
  }

  let flagged = 0;
  for (const example of CORPUS.negatives) {
    const matches = redactorFor(example.ipAddresses).scanText(example.text);
    if (matches.length === 0) continue;
    flagged++;
    for (const rule of new Set(matches.map((m) => m.rule))) row(rule).falsePositives++;
    falsePositives.push(`${example.category}: ${matches.map((m) => `${m.rule}=${JSON.stringify(example.text.slice(m.start, m.end))}`).join(' ')}`);
  }

  const recall = recalled / CORPUS.positives.length;
  const precision = recalled / (recalled + flagged);

  it('is large enough to mean something', () => {
    expect(CORPUS.positives.length).toBeGreaterThanOrEqual(150);
    expect(CORPUS.negatives.length).toBeGreaterThanOrEqual(150);
  });

  it('meets recall ≥ 98% and precision ≥ 95%', () => {
    const table = [...rows.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([rule, r]) => ({
        rule,
        positives: r.positives,
        recalled: r.recalled,
        recall: r.positives ? `${((100 * r.recalled) / r.positives).toFixed(1)}%` : '-',
        leaks: r.leaks,
        falsePositives: r.falsePositives,
      }));
    console.log(
      `redaction corpus: ${CORPUS.positives.length} positives, ${CORPUS.negatives.length} negatives; ` +
        `recall ${(100 * recall).toFixed(2)}%, precision ${(100 * precision).toFixed(2)}%, ` +
        `false-positive negatives ${flagged}`,
    );
    console.table(table);
    if (misses.length) console.log(`missed:\n  ${misses.join('\n  ')}`);
    if (falsePositives.length) console.log(`false positives:\n  ${falsePositives.join('\n  ')}`);
    expect(recall).toBeGreaterThanOrEqual(0.98);
    expect(precision).toBeGreaterThanOrEqual(0.95);
  });

  it('leaves no fragment of any recalled secret behind', () => {
    if (leaks.length) console.log(`partial leaks:\n  ${leaks.join('\n  ')}`);
    expect(leaks).toEqual([]);
  });
});
