// The learn evaluation corpus (test/learn/corpus/): incident sessions run through the real Claude
// Code CLI, learned by the real daemon, scored against the hand-written expectations beside each
// scenario. Floors (issue: "Learn that holds on real incident sessions"): incident accuracy ≥ 95%,
// proposal precision 100%, every fix shows its change, failed-attempt recall ≥ 90%, no absolute
// path of the session's machine in a runbook or knowledge doc.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findClaudeBinary } from '../e2e/support/claude.js';
import { assertBuilt, jobsOnRequestOnly, makeDataDir, startDaemon, type DaemonProcess, type TempRbk } from '../support/rbk.js';
import { runCorpus, scenarioNames, score, type CorpusRun, type Score } from './corpus/run.js';

let t: TempRbk;
let d: DaemonProcess;
let runs: CorpusRun[];
let s: Score;

beforeAll(async () => {
  assertBuilt();
  await findClaudeBinary();
  t = makeDataDir({
    config: ['metrics: { enabled: false }', 'sync: { automatic: false }', jobsOnRequestOnly()].join('\n'),
  });
  d = await startDaemon(t);
  const only = process.env.RBK_LEARN_CORPUS ? process.env.RBK_LEARN_CORPUS.split(',') : undefined;
  runs = await runCorpus(t, { only });
  s = score(runs);
  const out = process.env.RBK_LEARN_SCORE_OUT;
  if (out)
    fs.writeFileSync(
      out,
      `${JSON.stringify({ ...s, perSession: runs.map((r) => ({ name: r.name, toolCalls: r.toolCalls, incidents: r.learn.incidents.map((i) => ({ title: i.title, status: i.status })) })) }, null, 2)}\n`,
    );
  // The score, for the test log (what a reader compares across runs).
  console.log(JSON.stringify({ ...s, misses: s.misses }, null, 2));
}, 900_000);

afterAll(async () => {
  await d?.stop();
  if (process.env.RBK_KEEP_CORPUS !== '1') t?.cleanup();
  else console.log(`kept ${t.root}`);
});

describe('learn on the evaluation corpus (real Claude Code sessions)', () => {
  it('covers at least 12 sessions, one of them over 300 tool calls', () => {
    if (process.env.RBK_LEARN_CORPUS) return;
    expect(scenarioNames().length).toBeGreaterThanOrEqual(12);
    expect(runs.length).toBe(scenarioNames().length);
    expect(Math.max(...runs.map((r) => r.toolCalls))).toBeGreaterThan(300);
  });

  it('finds the incidents an on-call engineer would (≥ 95%), and names each in its title', () => {
    expect(s.incidentAccuracy, JSON.stringify(s.misses, null, 1)).toBeGreaterThanOrEqual(0.95);
  });

  it('proposes runbook updates only for incidents fixed and verified (precision 100%), and for each of them', () => {
    expect(s.proposalPrecision, JSON.stringify(s.misses, null, 1)).toBe(1);
    expect(s.proposalRecall, JSON.stringify(s.misses, null, 1)).toBe(1);
  });

  it('every fix step shows the change: the diff of an edit, the file written, the command whole', () => {
    expect(s.fixShowsChange, JSON.stringify(s.misses, null, 1)).toBe(1);
  });

  it('finds what was tried and did not help (≥ 90%), and writes it down', () => {
    expect(s.failedAttemptRecall, JSON.stringify(s.misses, null, 1)).toBeGreaterThanOrEqual(0.9);
  });

  it('names what verified each fix: the failing check, and the broader checks run after it', () => {
    expect(s.verificationRecall, JSON.stringify(s.misses, null, 1)).toBeGreaterThanOrEqual(0.9);
  });

  it('puts no absolute path of the session machine in a runbook or a knowledge doc', () => {
    expect(s.absolutePathLeaks, JSON.stringify(s.misses, null, 1)).toBe(0);
    for (const r of runs) {
      for (const p of r.learn.proposals) expect(fs.readFileSync(p.path, 'utf8')).not.toContain(r.projectDir);
      for (const k of r.learn.knowledge) expect(fs.readFileSync(k.path, 'utf8')).not.toContain(path.dirname(r.projectDir));
    }
  });
});
