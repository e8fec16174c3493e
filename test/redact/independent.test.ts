// Redaction quality on corpora nobody here wrote the rules against:
//   (2) the peers' own test cases: gitleaks' per-rule true and false positives and secretlint's
//       rule snapshots, converted by test/redact/peers/convert.mjs (stored gzipped, so that no
//       secret scanner flags this repository);
//   (3) a corpus generated from real tools' documented output formats (generated.ts), three seeds.
// Each is scored through redactText and through redactJson (the value inside a transcript
// line), with per-category recall and precision printed. Floors: recall ≥ 98 %, precision ≥ 95 %.
// (The import path, `rbk import` then `rbk sessions export`, is scored in redaction-import.e2e.test.ts.)
import fs from 'node:fs';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createRedactor } from '../../daemon/redact/index.js';
import { generateCorpus } from './generated.js';

const redactor = createRedactor({ key: Buffer.alloc(32, 24) });

export interface Item {
  category: string;
  text: string;
  secrets?: string[];
}

export function loadPeers(): { positives: Item[]; negatives: Item[]; sources: Record<string, unknown> } {
  const positives: Item[] = [];
  const negatives: Item[] = [];
  const sources: Record<string, unknown> = {};
  for (const name of ['gitleaks', 'secretlint']) {
    const data = JSON.parse(zlib.gunzipSync(fs.readFileSync(new URL(`./peers/${name}.json.gz`, import.meta.url))).toString('utf8')) as {
      report: unknown;
      positives: { source: string; text: string; secrets: string[] }[];
      negatives: { source: string; text: string }[];
    };
    sources[name] = data.report;
    for (const p of data.positives) positives.push({ category: p.source.split('/')[0]!, text: p.text, secrets: p.secrets });
    for (const n of data.negatives) negatives.push({ category: n.source.split('/')[0]!, text: n.text });
  }
  return { positives, negatives, sources };
}

export function loadGenerated(seeds = ['rbk-24-a', 'rbk-24-b', 'rbk-24-c']): { positives: Item[]; negatives: Item[] } {
  const positives: Item[] = [];
  const negatives: Item[] = [];
  for (const seed of seeds) {
    const c = generateCorpus(seed);
    positives.push(...c.positives);
    negatives.push(...c.negatives);
  }
  return { positives, negatives };
}

interface Score {
  recall: number;
  precision: number;
  positives: number;
  recalled: number;
  flaggedNegatives: number;
  misses: string[];
  falsePositives: string[];
  table: Record<string, { positives: number; recalled: number; recall: string; negatives: number; flagged: number }>;
}

/** Scores a corpus with `redact` (text in, text out) and `flags` (does a negative get touched?). */
export function score(positives: Item[], negatives: Item[], redact: (t: string) => string): Score {
  const table: Score['table'] = {};
  const row = (c: string) => (table[c] ??= { positives: 0, recalled: 0, recall: '', negatives: 0, flagged: 0 });
  let recalled = 0;
  const misses: string[] = [];
  for (const p of positives) {
    const out = redact(p.text);
    row(p.category).positives++;
    if (p.secrets!.every((s) => !out.includes(s))) {
      recalled++;
      row(p.category).recalled++;
    } else misses.push(`${p.category}: ${JSON.stringify(out).slice(0, 240)}`);
  }
  let flagged = 0;
  const falsePositives: string[] = [];
  for (const n of negatives) {
    row(n.category).negatives++;
    const out = redact(n.text);
    if (out !== n.text) {
      flagged++;
      row(n.category).flagged++;
      falsePositives.push(`${n.category}: ${JSON.stringify(out).slice(0, 240)}`);
    }
  }
  for (const r of Object.values(table)) r.recall = r.positives ? `${((100 * r.recalled) / r.positives).toFixed(1)}%` : '';
  return { recall: recalled / positives.length, precision: recalled / (recalled + flagged), positives: positives.length, recalled, flaggedNegatives: flagged, misses, falsePositives, table };
}

const viaText = (t: string) => redactor.redactText(t).text;
// A tool result as Claude Code writes it: the text is a string value inside a JSON line.
const viaJson = (t: string) => redactor.redactJson({ type: 'tool_result', content: [{ type: 'text', text: t }] }).value.content[0]!.text;

function report(name: string, s: Score) {
  console.log(`${name}: recall ${(100 * s.recall).toFixed(2)}% (${s.recalled}/${s.positives}), precision ${(100 * s.precision).toFixed(2)}% (${s.flaggedNegatives} negatives touched)`);
  console.table(s.table);
  if (s.misses.length) console.log(`misses:\n  ${s.misses.slice(0, 40).join('\n  ')}`);
  if (s.falsePositives.length) console.log(`false positives:\n  ${s.falsePositives.slice(0, 40).join('\n  ')}`);
}

describe('redaction on the peers\' test cases (gitleaks, secretlint)', () => {
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

describe('redaction on a corpus generated from real tools\' output formats', () => {
  const gen = loadGenerated();
  it('has every category the independent evaluation found missing', () => {
    const cats = new Set(gen.positives.map((p) => p.category));
    for (const c of ['twilio', 'docker-hub', 'vault', 'aws-positional', 'azure', 'url-signature', 'cli-password', 'iac-default', 'config-password', 'env-license', 'ssn', 'query-string', 'k8s-secret', 'json-nested', 'wrapped']) expect(cats).toContain(c);
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
