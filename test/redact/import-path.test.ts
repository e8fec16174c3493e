// The independent corpora through the product's own path, as a user would meet them: each item is
// the output of a Bash tool call in a Claude Code transcript, `rbk import` ingests the
// transcripts into a real daemon (redaction at ingest), and `rbk sessions export --format json`
// gives them back. Scored like independent.test.ts; floors recall ≥ 98 %, precision ≥ 95 %. A
// negative counts as touched when its text is not in the export verbatim.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, makeDataDir, runCli, startDaemon, type DaemonProcess, type TempRbk } from '../support/rbk.js';
import { writeSession, type Step } from '../learn/support.js';
import { loadGenerated, loadPeers, score, type Item } from './independent.js';

let t: TempRbk;
let d: DaemonProcess;
const PER_SESSION = 400;

interface Placed {
  item: Item;
  session: string;
  /** The interaction uuid of its tool_result (learn/support.ts numbers lines 1, 2, … per session). */
  uuid: string;
}

function place(items: Item[], tag: string, projects: string): Placed[] {
  const placed: Placed[] = [];
  for (let s = 0; s * PER_SESSION < items.length; s++) {
    const chunk = items.slice(s * PER_SESSION, (s + 1) * PER_SESSION);
    const sessionId = `${tag}${String(s).padStart(4, '0')}-0000-4000-8000-000000000000`.slice(0, 36);
    const steps: Step[] = [{ prompt: `corpus ${tag} part ${s}` }];
    chunk.forEach((item, k) => {
      steps.push({ bash: 'cat item.txt', output: item.text });
      // line 1 is the prompt; item k is the tool_use at line 2k+2 and its result at 2k+3
      placed.push({ item, session: sessionId, uuid: `${sessionId.slice(0, 8)}-0000-4000-8000-${String(2 * k + 3).padStart(12, '0')}` });
    });
    writeSession(projects, { sessionId, cwd: `/work/${tag}`, start: '2026-06-01T00:00:00Z', steps });
  }
  return placed;
}

let peers: Placed[];
let peersNeg: Placed[];
let gen: Placed[];
let genNeg: Placed[];
/** Each stored interaction's JSON (from the export), by uuid: an item is judged on its own row. */
const exported = new Map<string, string>();

beforeAll(async () => {
  assertBuilt();
  t = makeDataDir({ config: 'metrics: { enabled: false }\nsync: { automatic: false }\n' });
  d = await startDaemon(t);
  const projects = path.join(t.root, 'projects');
  const p = loadPeers();
  const g = loadGenerated();
  peers = place(p.positives, 'aaaa', projects);
  peersNeg = place(p.negatives, 'bbbb', projects);
  gen = place(g.positives, 'cccc', projects);
  genNeg = place(g.negatives, 'dddd', projects);
  const imp = await runCli(t, ['import', projects, '--json'], { timeoutMs: 300_000 });
  expect(imp.code, imp.stderr).toBe(0);
  for (const session of new Set([...peers, ...peersNeg, ...gen, ...genNeg].map((x) => x.session))) {
    const out = path.join(t.root, `${session}.json`);
    const r = await runCli(t, ['sessions', 'export', session, '--format', 'json', '--out', out], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(fs.readFileSync(out, 'utf8')) as { interactions: { uuid: string }[] };
    for (const i of doc.interactions) exported.set(i.uuid, `${exported.get(i.uuid) ?? ''}${JSON.stringify(i)}`);
  }
}, 600_000);

afterAll(async () => {
  await d?.stop();
  t?.cleanup();
});

/** The export is JSON: a text in it is JSON-escaped, so look for the escaped form. */
const inRow = (uuid: string, text: string) => (exported.get(uuid) ?? '').includes(JSON.stringify(text).slice(1, -1));

function scoreImported(pos: Placed[], neg: Placed[]) {
  // score() redacts; here the daemon already did. Each "redaction" returns the text if the export
  // still holds it verbatim (touched nowhere), else the export's view of whether the secret survived.
  const byText = new Map<string, Placed>();
  for (const x of [...pos, ...neg]) byText.set(x.item.text, x);
  return score(
    pos.map((x) => x.item),
    neg.map((x) => x.item),
    (text) => {
      const x = byText.get(text)!;
      if (!exported.has(x.uuid)) throw new Error(`no stored row ${x.uuid} for ${x.item.category}`);
      if (x.item.secrets) return x.item.secrets.some((s) => inRow(x.uuid, s)) ? text : '[gone]';
      return inRow(x.uuid, text) ? text : '[touched]';
    },
  );
}

describe('independent corpora through rbk import and rbk sessions export', () => {
  it("peers' test cases: recall ≥ 98 %, precision ≥ 95 %", () => {
    const s = scoreImported(peers, peersNeg);
    console.log(`peers through import: recall ${(100 * s.recall).toFixed(2)}% (${s.recalled}/${s.positives}), precision ${(100 * s.precision).toFixed(2)}%`);
    if (process.env.RBK_SHOW_MISSES)
      for (const x of peers.filter((p) => p.item.secrets!.some((sec) => inRow(p.uuid, sec))).slice(0, 30))
        console.log('MISS', x.item.category, JSON.stringify(x.item.text).slice(0, 160));
    expect(s.positives).toBeGreaterThan(5000);
    expect(s.recall).toBeGreaterThanOrEqual(0.98);
    expect(s.precision).toBeGreaterThanOrEqual(0.95);
  });

  it('generated corpus: recall ≥ 98 %, precision ≥ 95 %', () => {
    const s = scoreImported(gen, genNeg);
    console.log(
      `generated through import: recall ${(100 * s.recall).toFixed(2)}% (${s.recalled}/${s.positives}), precision ${(100 * s.precision).toFixed(2)}%`,
    );
    expect(s.recall).toBeGreaterThanOrEqual(0.98);
    expect(s.precision).toBeGreaterThanOrEqual(0.95);
  });
});
