// The learn evaluation corpus: incident sessions run through the real Claude Code CLI against the
// project's model stand-in (each scenario beside its hand-written expected outcome), imported into
// a real daemon, learned with `rbk learn --json`, and scored:
// - incident accuracy: the incidents found are the expected ones (first symptom's check, error,
//   status), the postmortem title names each, and nothing else is taken for an incident;
// - proposal precision and recall: runbook proposals exactly for incidents fixed and verified;
// - fix shows the change: each runbook's Fix has the expected diff lines or the command, whole;
// - failed-attempt recall: each expected "tried, did not help" is in the incident and the runbook;
// - absolute-path leaks: paths of the session's machine in runbooks and knowledge docs.
// Used by test/learn/corpus.test.ts (floors) and `npm run bench -- learn` (figures).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runClaude } from '../../e2e/support/claude.js';
import { machinePaths } from '../../../daemon/learn/change.js';
import { pool, runCli, type TempRbk } from '../../support/rbk.js';

export const CORPUS_DIR = path.dirname(fileURLToPath(import.meta.url));

export interface ExpectedIncident {
  check: string;
  errorIncludes: string;
  status: 'resolved' | 'fixed-unverified' | 'unresolved';
  titleIncludes: string[];
  fixIncludes: string[];
  fixExcludes: string[];
  verification: string[];
  failedAttempts: string[];
  detectionIncludes: string;
  findingsInclude?: string;
}

export interface Expected {
  incidents: ExpectedIncident[];
  unrelated: string[];
  missteps: string[];
  proposals: number;
  minToolCalls?: number;
}

interface LearnedIncident {
  number: number;
  status: string;
  title: string;
  firstSymptom: { command: string; error: string };
  failedAttempts: { command: string; change: string; outcome: string }[];
  fix: { tool: string; change: string }[];
  verification: { command: string }[];
  postmortem: string;
  proposal: string | null;
  knowledge: string | null;
}

export interface LearnOutput {
  sessionId: string;
  incidents: LearnedIncident[];
  unrelated: { command: string }[];
  missteps: { command: string }[];
  proposals: { path: string }[];
  knowledge: { path: string }[];
  postmortems: { path: string }[];
}

export interface CorpusRun {
  name: string;
  sessionId: string;
  projectDir: string;
  home: string;
  toolCalls: number;
  expected: Expected;
  learn: LearnOutput;
}

export function scenarioNames(): string[] {
  return fs
    .readdirSync(CORPUS_DIR)
    .filter((f) => f.endsWith('.json') && !f.endsWith('.expected.json'))
    .map((f) => f.replace(/\.json$/, ''))
    .sort();
}

/** Runs every scenario through Claude Code, imports them, learns each; the daemon must be running on `t`. */
export async function runCorpus(t: TempRbk, opts: { only?: string[]; concurrency?: number } = {}): Promise<CorpusRun[]> {
  const names = scenarioNames().filter((n) => !opts.only || opts.only.includes(n));
  // A filter that matches nothing would score 1.0 on nothing: refuse it.
  if (names.length === 0) throw new Error(`no corpus scenario named ${opts.only?.join(', ')}; have ${scenarioNames().join(', ')}`);
  const sessions = await pool(names, opts.concurrency ?? 2, async (name) => {
    const file = path.join(CORPUS_DIR, `${name}.json`);
    const scenario = JSON.parse(fs.readFileSync(file, 'utf8')) as { resumePrompt?: string };
    const home = path.join(t.root, 'homes', name);
    const project = path.join(t.root, 'work', name);
    const first = await runClaude({ scenario: file, home, project, timeoutMs: 240_000 });
    if (first.exitCode !== 0 || !first.sessionId)
      throw new Error(`claude (${name}) exited ${first.exitCode}:\n${first.stderr}\n${first.stdout.slice(0, 2000)}`);
    if (scenario.resumePrompt) {
      const second = await runClaude({ scenario: file, home, project, resume: first.sessionId, writeFiles: false, timeoutMs: 240_000 });
      if (second.exitCode !== 0) throw new Error(`claude --resume (${name}) exited ${second.exitCode}:\n${second.stderr}\n${second.stdout.slice(0, 2000)}`);
    }
    return { name, sessionId: first.sessionId, home, project };
  });
  for (const s of sessions) {
    const imp = await runCli(t, ['import', '--json', path.join(s.home, '.claude', 'projects')], { timeoutMs: 120_000 });
    if (imp.code !== 0) throw new Error(`rbk import (${s.name}) exited ${imp.code}: ${imp.stderr}`);
  }
  const runs: CorpusRun[] = [];
  for (const s of sessions) {
    const r = await runCli(t, ['learn', s.sessionId, '--json', '--out', path.join(t.root, 'out', s.name)], { timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`rbk learn (${s.name}) exited ${r.code}: ${r.stderr}`);
    const learn = JSON.parse(r.stdout) as LearnOutput;
    const show = JSON.parse((await runCli(t, ['sessions', 'show', s.sessionId, '--json'])).stdout) as { session: { counts: { toolCalls: number } } };
    runs.push({
      name: s.name,
      sessionId: s.sessionId,
      projectDir: fs.realpathSync(s.project),
      home: s.home,
      toolCalls: show.session.counts.toolCalls,
      expected: JSON.parse(fs.readFileSync(path.join(CORPUS_DIR, `${s.name}.expected.json`), 'utf8')) as Expected,
      learn,
    });
  }
  return runs;
}

export interface Score {
  sessions: number;
  incidentAccuracy: number;
  proposalPrecision: number;
  proposalRecall: number;
  fixShowsChange: number;
  failedAttemptRecall: number;
  /** The expected verifying checks found in the incident's verification. */
  verificationRecall: number;
  absolutePathLeaks: number;
  /** Per session: what did not match, for a reader to act on. */
  misses: { session: string; what: string }[];
  counts: Record<string, number>;
}

const read = (p: string | null) => (p && fs.existsSync(p) ? fs.readFileSync(p, 'utf8') : '');
const ratio = (n: number, d: number) => (d === 0 ? 1 : Math.round((n / d) * 10_000) / 10_000);

/** A learned incident matches an expected one: same first-symptom check and error, same status, named in the title. */
function matches(got: LearnedIncident, want: ExpectedIncident): string | null {
  if (got.firstSymptom.command.trim() !== want.check) return `first symptom is \`${got.firstSymptom.command}\`, expected \`${want.check}\``;
  if (!got.firstSymptom.error.includes(want.errorIncludes)) return `error "${got.firstSymptom.error}" lacks "${want.errorIncludes}"`;
  if (got.status !== want.status) return `status ${got.status}, expected ${want.status}`;
  for (const w of want.titleIncludes) if (!got.title.includes(w)) return `title "${got.title}" lacks "${w}"`;
  return null;
}

export function score(runs: CorpusRun[]): Score {
  const misses: { session: string; what: string }[] = [];
  let correct = 0;
  let incidentSlots = 0;
  let proposalsMade = 0;
  let proposalsRight = 0;
  let proposalsWanted = 0;
  let proposalsFound = 0;
  let fixWanted = 0;
  let fixShown = 0;
  let attemptsWanted = 0;
  let attemptsFound = 0;
  let verifyWanted = 0;
  let verifyFound = 0;
  let leaks = 0;
  for (const run of runs) {
    const miss = (what: string) => misses.push({ session: run.name, what });
    const got = run.learn.incidents;
    const want = run.expected.incidents;
    incidentSlots += Math.max(got.length, want.length);
    if (got.length !== want.length) miss(`${got.length} incidents found (${got.map((g) => g.title).join(' | ')}), expected ${want.length}`);
    const used = new Set<LearnedIncident>();
    for (const w of want) {
      const candidates = got.filter((g) => !used.has(g));
      const hit = candidates.find((g) => matches(g, w) === null);
      if (!hit) {
        miss(`expected incident \`${w.check}\` (${w.errorIncludes}): ${candidates.map((g) => matches(g, w)).join('; ') || 'not found'}`);
      } else {
        used.add(hit);
        correct++;
      }
      const inc = hit ?? candidates.find((g) => g.firstSymptom.command.trim() === w.check) ?? null;
      const runbook = inc ? read(inc.proposal) : '';
      const fixSection = runbook.split('### Fix')[1]?.split('### Verification')[0] ?? '';
      if (w.status === 'resolved') {
        proposalsWanted++;
        if (inc?.proposal) proposalsFound++;
      }
      if (w.fixIncludes.length > 0 && w.status === 'resolved') {
        fixWanted++;
        const missing = w.fixIncludes.filter((f) => !fixSection.includes(f));
        const wrong = w.fixExcludes.filter((f) => fixSection.includes(f));
        if (inc && missing.length === 0 && wrong.length === 0) fixShown++;
        else
          miss(
            `fix of \`${w.check}\` in the runbook: ${inc ? '' : 'no incident; '}${missing.length ? `missing ${missing.map((m) => JSON.stringify(m)).join(', ')}` : ''}${wrong.length ? ` has ${wrong.join(', ')}` : ''}`,
          );
      }
      const tried = runbook.split('### Tried, did not help')[1]?.split('### Fix')[0] ?? '';
      for (const a of w.failedAttempts) {
        attemptsWanted++;
        const inModel = inc?.failedAttempts.some((t) => t.command.includes(a) || t.change.includes(a)) ?? false;
        // In the runbook when there is one (resolved), else in the postmortem's What went poorly.
        const pm = inc ? read(inc.postmortem) : '';
        const poorly = pm.split('## What went poorly')[1]?.split('## Action items')[0] ?? '';
        const written = w.status === 'resolved' ? tried.includes(a) : poorly.includes(a);
        if (inModel && written) attemptsFound++;
        else miss(`failed attempt \`${a}\` ${inModel ? 'not written' : 'not found'}`);
      }
      if (w.findingsInclude && inc && !read(inc.postmortem).includes(w.findingsInclude)) miss(`subagent finding "${w.findingsInclude}" not in the postmortem`);
      for (const v of w.verification) {
        verifyWanted++;
        if (inc?.verification.some((x) => x.command.trim() === v)) verifyFound++;
        else miss(`verification \`${v}\` not found (got ${inc?.verification.map((x) => x.command).join(', ') || 'none'})`);
      }
    }
    for (const p of run.learn.proposals) {
      proposalsMade++;
      const inc = got.find((g) => g.proposal === p.path);
      const w = inc ? want.find((x) => matches(inc, x) === null) : undefined;
      if (w && w.status === 'resolved') proposalsRight++;
      else miss(`a proposal that should not exist: ${path.basename(p.path)}`);
    }
    for (const u of run.expected.unrelated)
      if (!run.learn.unrelated.some((x) => x.command.includes(u))) miss(`unrelated failure \`${u}\` not reported as such`);
    for (const m of run.expected.missteps) if (!run.learn.missteps.some((x) => x.command.includes(m))) miss(`misstep \`${m}\` not reported as such`);
    if (run.expected.minToolCalls && run.toolCalls < run.expected.minToolCalls)
      miss(`only ${run.toolCalls} tool calls, expected at least ${run.expected.minToolCalls}`);
    for (const f of [...run.learn.proposals.map((p) => p.path), ...run.learn.knowledge.map((k) => k.path)]) {
      const all = [...new Set([...machinePaths(read(f), run.projectDir), ...(read(f).includes(run.home) ? [run.home] : [])])];
      if (all.length > 0) {
        leaks += all.length;
        miss(`absolute paths in ${path.basename(f)}: ${all.slice(0, 3).join(', ')}`);
      }
    }
  }
  return {
    sessions: runs.length,
    incidentAccuracy: ratio(correct, incidentSlots),
    proposalPrecision: ratio(proposalsRight, proposalsMade),
    proposalRecall: ratio(proposalsFound, proposalsWanted),
    fixShowsChange: ratio(fixShown, fixWanted),
    failedAttemptRecall: ratio(attemptsFound, attemptsWanted),
    verificationRecall: ratio(verifyFound, verifyWanted),
    absolutePathLeaks: leaks,
    misses,
    counts: {
      incidents: incidentSlots,
      correct,
      proposalsMade,
      proposalsRight,
      proposalsWanted,
      fixWanted,
      fixShown,
      attemptsWanted,
      attemptsFound,
      verifyWanted,
      verifyFound,
    },
  };
}
