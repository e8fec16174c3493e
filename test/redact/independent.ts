// The independent redaction corpora and their scorer (used by independent.test.ts and
// import-path.test.ts). Redaction quality on corpora nobody here wrote the rules against:
//   (2) the peers' own test cases: gitleaks' per-rule true and false positives and secretlint's
//       rule snapshots, converted by test/redact/peers/convert.mjs (stored gzipped, so that no
//       secret scanner flags this repository);
//   (3) a corpus generated from real tools' documented output formats (generated.ts), three seeds.
// Each is scored through redactText and through redactJson (the value inside a transcript
// line), with per-category recall and precision printed. Floors: recall ≥ 98 %, precision ≥ 95 %.
// (The import path, `rbk import` then `rbk sessions export`, is scored in redaction-import.e2e.test.ts.)
import fs from 'node:fs';
import zlib from 'node:zlib';
import { generateCorpus } from './generated.js';

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

export interface Score {
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
  return {
    recall: recalled / positives.length,
    precision: recalled / (recalled + flagged),
    positives: positives.length,
    recalled,
    flaggedNegatives: flagged,
    misses,
    falsePositives,
    table,
  };
}
