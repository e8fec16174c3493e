// The incident model: what an on-call engineer reading the session would say happened, built from
// the timeline before anything is rendered. For each incident:
// - the trigger: the user's report, and the first symptom that matches it;
// - the incident failure: the failure chain that the fix resolves (one check, or several that
//   fail the same way: a deploy and the migration runner it calls);
// - diagnostics: reads, searches, listings, log views, and what subagents reported;
// - failed attempts: changes or commands tried against it that did not make the check pass;
// - the fix: the state-changing steps after which the failing check passes;
// - the verification: that check (or a broader one) passing;
// and, apart from the incidents, unrelated failures (the assistant called them unrelated, or
// nothing in a fix touches them) and missteps (a wrong command corrected at once).
//
// The chain is decided from evidence, never from "the first error" alone: which check passes after
// which change, the words shared by the prompt, the error and the final answer, the assistant's
// own statements ("root cause: …", "unrelated", "that didn't work"), and the files the fix touched.
// Everything here is linear in the number of calls (maps keyed by check), so a session of
// thousands of tool calls stays fast.
import type { TimelineEntry } from '../query/timeline.js';
import {
  AGENT_TOOLS,
  BOOKKEEPING_TOOLS,
  checkKeyOf,
  commandParts,
  commandWords,
  EDIT_TOOLS,
  READ_TOOLS,
  redirectTarget,
  shellSegments,
  WRONG_COMMAND,
} from './commands.js';
import { signatureOf, type ErrorSignature } from './signature.js';

export interface Call {
  /** Position in the timeline. */
  index: number;
  /** Interaction uuid of the tool_use (or a hook event id). */
  ref: string;
  /** Interaction uuid of the tool_result, when known. */
  resultRef: string;
  unixMs: number;
  durationMs: number;
  toolName: string;
  /** The command, file or pattern. */
  text: string;
  /** The whole input, parsed (Edit's old and new strings, Write's content), when it was loaded. */
  input: Record<string, unknown> | null;
  status: TimelineEntry['status'];
  /** Failed calls: the error lines of the output. */
  detail: string;
  agentId: string;
  role: 'read' | 'change' | 'check' | 'delegate' | 'bookkeeping' | 'other';
  /** Shell commands: the simple commands that change state, quoted whole. */
  changes: string[];
  /** The checks this call runs (keys; see commands.ts). */
  checkKeys: string[];
  /** Shell commands: the simple commands that are checks, as written (`sh scripts/build.sh` of `cat x && sh scripts/build.sh`). */
  checkSegments: string[];
  /** Files this call changes (Edit/Write paths, sed -i targets, redirections). */
  files: string[];
}

export interface Statement {
  text: string;
  ref: string;
  unixMs: number;
  agentId: string;
}

export interface FailedAttempt {
  call: Call;
  /** Why it counts as tried and not helping: "failed: <error>", or "the check still failed after it". */
  outcome: string;
}

export type IncidentStatus = 'resolved' | 'fixed-unverified' | 'unresolved';

export interface Incident {
  /** 1-based, in the order the incidents started. */
  number: number;
  status: IncidentStatus;
  /** The user's report that the incident answers, when there is one. */
  report: Statement | null;
  /** The first failing call of the incident. */
  firstSymptom: Call;
  signature: ErrorSignature;
  /** Every failing run of the incident's checks (attempts with a wrong flag aside). */
  failures: Call[];
  /** The checks that failed: keys such as `run-migrations.sh`, `npm test`, `edit config.yaml`. */
  checks: string[];
  diagnostics: Call[];
  findings: Statement[];
  failedAttempts: FailedAttempt[];
  /** The state-changing steps between the last failure and the pass (or, unverified, after the last failure). */
  fix: Call[];
  /** The passing runs: the incident's check first, then broader checks that passed after it. */
  verification: Call[];
  rootCause: Statement[];
  /** Assistant statements that the work is done ("fixed", "now passes"). */
  claims: Statement[];
  /** Words that characterize the incident (checks, error, files), for matching. */
  terms: Set<string>;
  /** Why this chain was taken for the incident (evidence, for --json and debugging). */
  evidence: string[];
  score: number;
}

export interface UnrelatedFailure {
  call: Call;
  signature: ErrorSignature;
  why: 'called unrelated' | 'untouched by any fix';
  /** The assistant's statement, when it called it unrelated. */
  statement: Statement | null;
  /** Failed runs of it and their time, for "it cost". */
  runs: number;
  costMs: number;
}

export interface Misstep {
  call: Call;
  signature: ErrorSignature;
  /** The call right after that ran instead, when there is one. */
  correctedBy: Call | null;
}

export interface Analysis {
  entries: TimelineEntry[];
  calls: Call[];
  prompts: Statement[];
  incidents: Incident[];
  unrelated: UnrelatedFailure[];
  missteps: Misstep[];
  rejections: Call[];
  interruptions: Statement[];
  apiErrors: Statement[];
  compactions: Statement[];
  subagentFindings: Statement[];
  finalAnswer: Statement | null;
  cwd: string;
}

const REJECTED = /doesn't want to (proceed|take this action)|tool use was rejected|user (rejected|denied|declined)/i;
// The assistant saying a failure is not the problem at hand (not "ignore this false positive",
// which is a decision about the incident itself).
const UNRELATED =
  /\b(unrelated|not related|isn'?t related|aren'?t related|pre-?existing|already (there|existing|present) before|can (safely )?be ignored|(I'?m|I am|I'?ll|I will|we can|let'?s|safe to) (safely )?ignor(e|ing) (these|them|those|the (warnings?|errors?|failures?))|separate issue|not (the|our) (problem|issue|cause)|(these|those|the) (warnings?|errors?|failures?) (are|is) (harmless|cosmetic|expected|fine|unrelated)|(only|just) (a few |some )?(style |lint |whitespace )?warnings|not what (you|the user) asked|won'?t (fix|touch) (that|those|it))\b/i;
const ROOT_CAUSE =
  /\b(root cause|caused by|because|the (issue|problem|cause|error|culprit|bug) (is|was)|fails? (because|when)|exits? with|turns out|the reason)\b/i;
const FIXED_CLAIM =
  /\b(fixed|resolved|(should|will) (now )?(work|pass|succeed)|now (works|passes|succeeds)|the fix (is|was)|is working( now)?|has been (fixed|resolved|corrected|updated))\b/i;
const NOT_FIXED =
  /\b(not (been )?(fixed|resolved)|couldn'?t|could not|unable to|can'?t fix|cannot fix|still (fails|failing|broken)|needs? (someone|root|sudo|network|access)|blocked|didn'?t (work|help))\b/i;
const VERIFY_KEY =
  /\b(test|tests|spec|build|lint|check|verify|tsc|pytest|jest|vitest|mocha|cargo|make|gradle|mvn|deploy|migrat\w*|health\w*|smoke|rollout|status|curl|start|run)\b/i;

const STOP = new Set([
  'the',
  'and',
  'for',
  'with',
  'from',
  'this',
  'that',
  'was',
  'are',
  'not',
  'but',
  'have',
  'has',
  'you',
  'your',
  'into',
  'run',
  'use',
  'please',
  'can',
  'could',
  'would',
  'should',
  'fix',
  'fixed',
  'fails',
  'failing',
  'failed',
  'fail',
  'error',
  'errors',
  'broken',
  'issue',
  'problem',
  'help',
  'make',
  'let',
  'see',
  'now',
  'again',
  'just',
  'some',
  'still',
  'when',
  'what',
  'why',
  'how',
  'all',
  'our',
  'its',
  'it',
  'out',
  'get',
  'got',
  'also',
  'there',
  'here',
  'then',
  'than',
  'them',
  'they',
  'will',
  'exit',
  'code',
  'line',
  'file',
  'files',
  'true',
  'false',
  'null',
  'undefined',
  'sh',
  'bash',
  'echo',
  'cat',
  'npm',
  'node',
  'tmp',
  'home',
  'users',
  'user',
  'src',
  'one',
  'two',
  'ok',
  'done',
  'yes',
  'been',
  'being',
  'does',
  'did',
  'doing',
  'need',
  'needs',
  'want',
  'look',
  'looks',
  'check',
  'checks',
  'test',
  'tests',
  'after',
  'before',
  'which',
  'where',
  'while',
  'only',
  'more',
  'most',
  'other',
  'same',
  'each',
  'every',
  'into',
  'onto',
  'over',
  'under',
  'about',
]);

/** Words that characterize something: 3+ letters, not stop words or numbers; path parts split. */
export function termsOf(text: string): Set<string> {
  const out = new Set<string>();
  for (const raw of text.toLowerCase().split(/[^\p{L}\p{N}_]+/u)) {
    for (const w of [raw, ...raw.split('_')]) {
      if (w.length < 3 || STOP.has(w) || /^\d+$/.test(w) || /^[0-9a-f]{8,}$/.test(w)) continue;
      out.add(w);
      // Plurals and -ing forms meet their stem: "migrations" and "migration".
      if (w.length > 4 && w.endsWith('s')) out.add(w.slice(0, -1));
      if (w.length > 5 && w.endsWith('ing')) out.add(w.slice(0, -3));
    }
  }
  return out;
}

function overlap(a: Set<string>, b: Set<string>): number {
  let n = 0;
  for (const x of a) if (b.has(x)) n++;
  return n;
}

function parseInput(raw: string | undefined): Record<string, unknown> | null {
  if (!raw) return null;
  try {
    const v = JSON.parse(raw) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Files a shell command changes: sed -i / perl -i targets, redirections, mv/cp/rm/touch operands. */
function shellFiles(changes: string[]): string[] {
  const files: string[] = [];
  for (const seg of changes) {
    const target = redirectTarget(seg);
    if (target) files.push(target);
    const words = commandWords(seg);
    const prog = (words[0] ?? '').replace(/^.*\//, '');
    if (['sed', 'perl', 'mv', 'cp', 'rm', 'touch', 'chmod', 'chown', 'ln', 'truncate', 'mkdir', 'tee', 'patch'].includes(prog)) {
      // Operands: words that look like paths (not flags, not the sed/perl script).
      const operands = words
        .slice(1)
        .filter(
          (w, i) =>
            !w.startsWith('-') && !(i === 0 && (prog === 'sed' || prog === 'perl') && /^s.|^\//.test(w)) && /[./\w]/.test(w) && !/^s[/|#].*[/|#]/.test(w),
        );
      files.push(...operands.filter((w) => /\.|\//.test(w)));
    }
  }
  return files;
}

export function toCalls(entries: TimelineEntry[], resultRefs?: Map<string, string>): Call[] {
  const calls: Call[] = [];
  entries.forEach((e, index) => {
    if (e.kind !== 'tool') return;
    const input = parseInput(e.input);
    let role: Call['role'] = 'other';
    let changes: string[] = [];
    let checkKeys: string[] = [];
    let checkSegments: string[] = [];
    let files: string[] = [];
    if (e.toolName === 'Bash') {
      const parts = commandParts(e.text);
      changes = parts.changes;
      checkKeys = [...new Set(parts.checks.map((c) => c.key))];
      checkSegments = parts.checks.map((c) => c.segment);
      files = shellFiles(changes);
      role = parts.viewOnly ? 'read' : changes.length > 0 && checkKeys.length === 0 ? 'change' : changes.length > 0 ? 'change' : 'check';
      // A command that only changes things (`git add -A && git commit`) checks that the change can be
      // made; a failing view (`cat missing.txt`) checks that the thing is there: keys to group them by.
      if (checkKeys.length === 0) checkKeys = [...new Set((changes.length > 0 ? changes : shellSegments(e.text)).map((s) => checkKeyOf(s)).filter(Boolean))];
    } else if (EDIT_TOOLS.has(e.toolName)) {
      role = 'change';
      files = e.text ? [e.text] : [];
      checkKeys = [`edit ${e.text}`];
    } else if (READ_TOOLS.has(e.toolName)) {
      role = 'read';
      checkKeys = [`${e.toolName.toLowerCase()} ${e.text}`.trim()];
    } else if (AGENT_TOOLS.has(e.toolName)) {
      role = 'delegate';
      checkKeys = ['agent'];
    } else if (BOOKKEEPING_TOOLS.has(e.toolName)) {
      role = 'bookkeeping';
    } else {
      checkKeys = [e.toolName];
    }
    calls.push({
      index,
      ref: e.ref,
      resultRef: (e.toolUseId && resultRefs?.get(e.toolUseId)) || '',
      unixMs: e.unixMs,
      durationMs: e.durationMs,
      toolName: e.toolName,
      text: e.text,
      input,
      status: e.status,
      detail: e.detail,
      agentId: e.agentId,
      role,
      changes,
      checkKeys,
      checkSegments,
      files,
    });
  });
  return calls;
}

function statement(e: TimelineEntry, text = e.text): Statement {
  return { text, ref: e.ref, unixMs: e.unixMs, agentId: e.agentId };
}

function oneLine(s: string, max = 300): string {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

function sentences(text: string): string[] {
  return text
    .split(/(?<=[.!?])\s+(?=[A-Z`(])|\n+/)
    .map((s) => oneLine(s, 400))
    .filter((s) => s.length > 8);
}

/** A chain of runs of one check: from its first failure to the pass that closes it (if any). */
interface Episode {
  key: string;
  failures: Call[];
  pass: Call | null;
  /** Failing runs whose error is about the command itself (an unknown flag): attempts, not symptoms. */
  wrongRuns: Call[];
  signature: ErrorSignature;
}

/** The key a failing call's failure belongs to, when it runs several checks: the one its error names. */
function failingKey(call: Call): string {
  if (call.checkKeys.length <= 1) return call.checkKeys[0] ?? call.toolName;
  const detail = call.detail.toLowerCase();
  const named = call.checkKeys.filter((k) => k.split(' ').some((w) => w.length > 2 && detail.includes(w.replace(/^.*\//, '').toLowerCase())));
  return named.at(-1) ?? call.checkKeys.at(-1)!;
}

function isWrongCommand(call: Call): boolean {
  return WRONG_COMMAND.test(call.detail);
}

/** An error that only says "this command is wrong here", for a check that never ran right. */
function episodesOf(calls: Call[], failing: Set<Call>): Episode[] {
  const open = new Map<string, Episode>();
  const done: Episode[] = [];
  for (const c of calls) {
    if (c.role === 'bookkeeping') continue;
    if (failing.has(c)) {
      const key = failingKey(c);
      let ep = open.get(key);
      if (!ep) {
        ep = { key, failures: [], pass: null, wrongRuns: [], signature: signatureOf(c.toolName, c.detail || 'failed with no output') };
        open.set(key, ep);
        done.push(ep);
      }
      ep.failures.push(c);
      continue;
    }
    if (c.status !== 'ok') continue;
    for (const key of c.checkKeys) {
      const ep = open.get(key);
      if (ep) {
        ep.pass = c;
        open.delete(key);
      }
    }
  }
  // Runs that failed only because the command was wrong (an unknown flag on the right check) are
  // attempts; the episode's symptom is its first run that failed for a real reason.
  for (const ep of done) {
    const real = ep.failures.filter((f) => !isWrongCommand(f));
    if (real.length > 0 && real.length < ep.failures.length) {
      ep.wrongRuns = ep.failures.filter((f) => isWrongCommand(f));
      ep.failures = real;
      ep.signature = signatureOf(real[0]!.toolName, real[0]!.detail || 'failed with no output');
    }
  }
  return done;
}

function distinctive(text: string): Set<string> {
  const GENERIC = new Set([
    'failed',
    'failure',
    'cannot',
    'could',
    'unable',
    'missing',
    'invalid',
    'found',
    'expected',
    'received',
    'warning',
    'warnings',
    'exited',
    'status',
    'command',
    'script',
    'error',
    'errors',
    'exception',
    'running',
    'process',
    'returned',
    'value',
    'type',
    'undefined',
    'null',
    'directory',
    'such',
  ]);
  return new Set([...termsOf(text)].filter((w) => w.length >= 4 && !GENERIC.has(w)));
}

function callTerms(c: Call, cwd: string): Set<string> {
  const rel = (p: string) => (cwd && p.startsWith(`${cwd}/`) ? p.slice(cwd.length + 1) : p);
  return termsOf([c.checkKeys.join(' '), c.toolName === 'Bash' ? c.text : rel(c.text), c.files.map(rel).join(' ')].join(' '));
}

interface Segment {
  start: number;
  end: number;
  prompt: Statement | null;
  /** The last main-thread assistant text of the segment. */
  answer: Statement | null;
}

function segmentsOf(entries: TimelineEntry[]): Segment[] {
  if (entries.length === 0) return [];
  const starts = entries.map((e, i) => (e.kind === 'prompt' && !e.agentId && e.text.trim() ? i : -1)).filter((i) => i >= 0);
  if (starts[0] !== 0) starts.unshift(0);
  return starts.map((start, k) => {
    const end = (starts[k + 1] ?? entries.length) - 1;
    const p = entries[start]!;
    let answer: Statement | null = null;
    for (let i = end; i >= start; i--) {
      const e = entries[i]!;
      if (e.kind === 'assistant' && !e.agentId && e.text.trim()) {
        answer = statement(e, e.text.trim());
        break;
      }
    }
    return { start, end, prompt: p.kind === 'prompt' && !p.agentId ? statement(p, oneLine(p.text, 600)) : null, answer };
  });
}

function segmentOf(segments: Segment[], index: number): Segment {
  let lo = 0;
  let hi = segments.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (segments[mid]!.start <= index) lo = mid;
    else hi = mid - 1;
  }
  return segments[lo]!;
}

/** Main-thread assistant texts right after a timeline position (before the next tool call). */
function commentsAfter(entries: TimelineEntry[], index: number, span = 6): Statement[] {
  const out: Statement[] = [];
  for (let i = index + 1; i < entries.length && i <= index + span; i++) {
    const e = entries[i]!;
    if (e.kind === 'assistant' && !e.agentId && e.text.trim()) out.push(statement(e));
    if (e.kind === 'prompt' && !e.agentId) break;
  }
  return out;
}

export function analyze(entries: TimelineEntry[], opts: { cwd: string; resultRefs?: Map<string, string> }): Analysis {
  const cwd = opts.cwd;
  // Words of the project's own path (its name, its worktree) are in every command: they say nothing.
  const projectTerms = termsOf(cwd);
  const calls = toCalls(entries, opts.resultRefs);
  const segments = segmentsOf(entries);
  const rejections = calls.filter((c) => c.status === 'error' && REJECTED.test(c.detail));
  const failing = new Set(calls.filter((c) => c.status === 'error' && !REJECTED.test(c.detail)));
  const episodes = episodesOf(calls, failing);
  const terms = new Map<Call, Set<string>>();
  const termsFor = (c: Call) => {
    let t = terms.get(c);
    if (!t) terms.set(c, (t = callTerms(c, cwd)));
    return t;
  };

  // A wrong command corrected at once: the very next call (nothing changed between) runs the same
  // thing another way and passes (`source x.sh && f` → `bash -c 'source x.sh; f'`, `npm run tset`
  // → `npm run test`). Judged per failure: the same typo made in three asks is three slips.
  const correctedAtOnce = (f: Call): boolean => {
    const next = calls.find((c) => c.index > f.index && c.agentId === f.agentId && c.role !== 'bookkeeping');
    // Reading the script to find out why is diagnosis, not the corrected command.
    if (next?.status !== 'ok' || next.role === 'change' || next.role === 'read') return false;
    const ft = termsFor(f);
    return ft.size > 0 && overlap(ft, termsFor(next)) / ft.size >= 0.5;
  };
  const corrected = new Set(episodes.filter((ep) => !ep.pass && ep.failures.every((f) => correctedAtOnce(f))));
  // Candidates: episodes whose failures are about the thing checked, not a wrong command.
  const candidates = episodes.filter((ep) => ep.failures.some((f) => !isWrongCommand(f)) && !corrected.has(ep));
  const wrong = episodes.filter((ep) => !candidates.includes(ep));

  // Chains that fail the same way in overlapping windows are one incident (a deploy and the
  // migration runner it calls both report the same migration error).
  const groups: Episode[][] = [];
  const errorTerms = new Map<Episode, Set<string>>(
    candidates.map((ep) => [
      ep,
      distinctive(
        ep.failures
          .map((f) => f.detail)
          .join('\n')
          .slice(0, 4000),
      ),
    ]),
  );
  for (const ep of candidates) {
    const start = ep.failures[0]!.index;
    const home = groups.find((g) =>
      g.some((other) => {
        const otherStart = other.failures[0]!.index;
        // The same failure again is the same incident while it is open (never passed, or not yet);
        // after it passed, a recurrence under another prompt is an incident of its own.
        if (other.signature.id === ep.signature.id)
          return !other.pass || start <= other.pass.index || segmentOf(segments, otherStart) === segmentOf(segments, start);
        // Another failure while this one is open (up to its pass, or the end of its ask) is the same
        // incident only if it fails the same way: the same error words, not just a shared path.
        const end = other.pass?.index ?? segmentOf(segments, other.failures.at(-1)!.index).end;
        if (start < otherStart || start > end) return false;
        const sameLine = overlap(distinctive(other.signature.line), distinctive(ep.signature.line));
        return sameLine >= 2 || overlap(errorTerms.get(other)!, errorTerms.get(ep)!) >= 3;
      }),
    );
    if (home) home.push(ep);
    else groups.push([ep]);
  }

  const incidents: Incident[] = [];
  const claimedFailures = new Set<Call>();
  for (const group of groups) {
    const failures = group.flatMap((ep) => ep.failures).sort((a, b) => a.index - b.index);
    const first = failures[0]!;
    const last = failures.at(-1)!;
    const checks = [...new Set(group.map((ep) => ep.key))];
    const segment = segmentOf(segments, first.index);
    const primary = group.find((ep) => ep.failures.includes(first))!;
    // The pass that closes the incident: the first pass of one of its checks after its last failure.
    const passes = group
      .map((ep) => ep.pass)
      .filter((p): p is Call => p !== null && p.index > last.index)
      .sort((a, b) => a.index - b.index);
    const pass = passes[0] ?? null;
    const iTerms = new Set<string>();
    for (const f of failures) for (const t of termsFor(f)) iTerms.add(t);
    for (const t of distinctive(
      failures
        .map((f) => f.detail)
        .join('\n')
        .slice(0, 4000),
    ))
      iTerms.add(t);

    // Changes after the last failure: before the pass when there is one, else to the segment's end.
    const windowEnd = pass ? pass.index : segmentOf(segments, last.index).end;
    const after = calls.filter((c) => c.index > last.index && c.index < windowEnd && c.role === 'change' && c.status === 'ok');
    // The passing command's own changes count (`mkdir -p generated && sh build.sh`), unless they are
    // the check's ritual, already in the failing command (`git add -A` before `git commit`).
    const failingKeys = new Set(failures.flatMap((f) => shellSegments(f.text).map((x) => checkKeyOf(x))));
    const passChanges = pass?.changes.some((x) => !failingKeys.has(checkKeyOf(x)) && !checks.includes(checkKeyOf(x))) ? [pass] : [];
    let fix = [...after, ...passChanges];
    // No edit and no state-changing command: the step that made the difference is another check run
    // in between (`npm run build` before `npm start` passes, `./codegen.sh`, `make migrate`).
    if (fix.length === 0 && pass) {
      fix = calls.filter(
        (c) =>
          c.index > last.index &&
          c.index < pass.index &&
          c.role === 'check' &&
          c.status === 'ok' &&
          c.agentId === pass.agentId &&
          !c.checkKeys.some((k) => checks.includes(k)),
      );
    }
    const related = fix.filter((c) => overlap(termsFor(c), iTerms) > 0 || c.files.some((f) => [...iTerms].some((t) => f.toLowerCase().includes(t))));
    if (related.length > 0 && related.length < fix.length) fix = related;
    for (const c of fix) for (const t of termsFor(c)) iTerms.add(t);

    const lastSegment = segmentOf(segments, (pass ?? last).index);
    const claims =
      lastSegment.answer && lastSegment.answer.unixMs >= last.unixMs
        ? sentences(lastSegment.answer.text).filter((s) => FIXED_CLAIM.test(s) && !NOT_FIXED.test(s))
        : [];
    const status: IncidentStatus = pass ? 'resolved' : fix.length > 0 && claims.length > 0 ? 'fixed-unverified' : 'unresolved';
    if (status === 'unresolved') fix = [];

    // Evidence for this chain being the incident, and against.
    const evidence: string[] = [];
    let score = 0;
    if (status === 'resolved' && fix.length > 0) {
      score += 3;
      evidence.push('a change made its failing check pass');
    } else if (status === 'resolved') {
      score += 1;
      evidence.push('its check passed on a later run');
    } else if (status === 'fixed-unverified') {
      score += 2;
      evidence.push('changed after its failure and called fixed, not re-run');
    }
    const promptTerms = segment.prompt ? new Set([...termsOf(segment.prompt.text)].filter((w) => !projectTerms.has(w))) : new Set<string>();
    const promptShared = overlap(promptTerms, iTerms);
    if (promptShared > 0) {
      score += Math.min(3, 1 + promptShared);
      evidence.push(`shares ${promptShared} word${promptShared === 1 ? '' : 's'} with the prompt`);
    }
    const answer = lastSegment.answer;
    const answerTerms = answer ? new Set([...termsOf(answer.text)].filter((w) => !projectTerms.has(w))) : new Set<string>();
    if (answer && overlap(answerTerms, iTerms) > 0 && !UNRELATED.test(answer.text.split(/(?<=[.!?])\s+/).find((s) => overlap(termsOf(s), iTerms) > 0) ?? '')) {
      score += 2;
      evidence.push('the final answer is about it');
    }
    const comments = failures.flatMap((f) => commentsAfter(entries, f.index));
    const calledUnrelated = comments.find((s) => sentences(s.text).some((x) => UNRELATED.test(x) && (overlap(termsOf(x), iTerms) > 0 || comments.length <= 2)));
    if (calledUnrelated) {
      score -= 6;
      evidence.push('the assistant called it unrelated');
    }
    const rootCause: Statement[] = [];
    for (let i = first.index; i <= lastSegment.end; i++) {
      const e = entries[i]!;
      if (e.kind !== 'assistant' || !e.text.trim()) continue;
      for (const s of sentences(e.text)) if (ROOT_CAUSE.test(s) && overlap(termsOf(s), iTerms) > 0 && !UNRELATED.test(s)) rootCause.push(statement(e, s));
    }
    if (rootCause.length > 0) {
      score += 1;
      evidence.push('the assistant named its cause');
    }
    if (failures.every((f) => f.agentId)) {
      score -= 1;
      evidence.push('only a subagent hit it');
    }

    // Verification: filled in below, once the failed attempts (whose checks count too) are known.
    const verification: Call[] = pass ? [pass] : [];

    // Diagnostics: what was looked at from the first symptom up to the fix (and subagents' reports).
    const fixStart = fix[0]?.index ?? pass?.index ?? lastSegment.end + 1;
    const diagnostics = calls.filter((c) => c.index > first.index && c.index < fixStart && (c.role === 'read' || c.role === 'delegate') && c.status === 'ok');
    const findings: Statement[] = [];
    const lastByAgent = new Map<string, TimelineEntry>();
    for (let i = first.index; i < fixStart && i < entries.length; i++) {
      const e = entries[i]!;
      if (e.kind === 'assistant' && e.agentId && e.text.trim()) lastByAgent.set(e.agentId, e);
    }
    for (const e of lastByAgent.values()) findings.push(statement(e, oneLine(e.text, 800)));

    // Tried, did not help: wrong-flag runs of the check, changes the check still failed after,
    // and other commands aimed at it that failed.
    const failedAttempts: FailedAttempt[] = [];
    for (const ep of group) for (const w of ep.wrongRuns) failedAttempts.push({ call: w, outcome: `failed: ${signatureOf(w.toolName, w.detail).line}` });
    // The check run another way (other flags, other arguments, another environment) and still failing.
    const norm = (t: string) => t.replace(/\s+/g, ' ').trim();
    for (const f of failures) {
      if (f === first || f.toolName !== 'Bash' || norm(f.text) === norm(first.text)) continue;
      failedAttempts.push({ call: f, outcome: `failed: ${signatureOf(f.toolName, f.detail).line}` });
    }
    for (const c of calls) {
      if (c.index <= first.index || c.index >= last.index || c.role !== 'change' || c.status !== 'ok') continue;
      if (overlap(termsFor(c), iTerms) === 0 && fix.length > 0) continue;
      failedAttempts.push({ call: c, outcome: 'the check still failed after it' });
    }
    incidents.push({
      number: 0,
      status,
      report: segment.prompt,
      firstSymptom: first,
      signature: primary.signature,
      failures,
      checks,
      diagnostics,
      findings,
      failedAttempts,
      fix,
      verification,
      rootCause: rootCause.slice(0, 4),
      claims: status === 'fixed-unverified' && lastSegment.answer ? claims.map((t) => ({ ...lastSegment.answer!, text: t })) : [],
      terms: iTerms,
      evidence,
      score,
    });
  }

  // Which candidates are incidents: per prompt, the best-supported one, and any other as strong.
  const chosen = new Set<Incident>();
  const bySegment = new Map<Segment, Incident[]>();
  for (const inc of incidents) {
    const seg = segmentOf(segments, inc.firstSymptom.index);
    bySegment.set(seg, [...(bySegment.get(seg) ?? []), inc]);
  }
  for (const list of bySegment.values()) {
    const ranked = [...list].sort((a, b) => b.score - a.score || a.firstSymptom.index - b.firstSymptom.index);
    const top = ranked[0]!;
    if (top.score >= 2) chosen.add(top);
    // Another in the same ask only on strong evidence: fixed by its own change and verified, and
    // named by the prompt, the answer or the assistant's cause.
    for (const other of ranked.slice(1))
      if (other.score >= 4 && other.status === 'resolved' && other.fix.length > 0 && !other.fix.every((c) => top.fix.includes(c))) chosen.add(other);
  }
  const picked = incidents.filter((i) => chosen.has(i)).sort((a, b) => a.firstSymptom.index - b.firstSymptom.index);
  for (const [i, inc] of picked.entries()) inc.number = i + 1;
  for (const inc of picked) for (const f of inc.failures) claimedFailures.add(f);

  // Wrong commands aimed at an incident, while it was open, are attempts at it; the rest are missteps.
  const missteps: Misstep[] = [];
  for (const ep of wrong) {
    for (const f of ep.failures) {
      // A read that failed (a file that is not there) is a slip while looking, and a typo fixed by
      // the very next call is a slip too: never an attempt.
      const target =
        f.role === 'read' || (isWrongCommand(f) && correctedAtOnce(f))
          ? undefined
          : picked.find((inc) => {
              const end = inc.fix[0]?.index ?? inc.verification[0]?.index ?? Infinity;
              return f.index > inc.firstSymptom.index && f.index < end && (overlap(termsFor(f), inc.terms) > 0 || inc.checks.includes(ep.key));
            });
      if (target) {
        target.failedAttempts.push({ call: f, outcome: `failed: ${signatureOf(f.toolName, f.detail).line}` });
        continue;
      }
      const next = calls.find((c) => c.index > f.index && c.agentId === f.agentId && c.role !== 'bookkeeping') ?? null;
      missteps.push({
        call: f,
        signature: signatureOf(f.toolName, f.detail || 'failed with no output'),
        correctedBy: next && next.status === 'ok' ? next : next,
      });
    }
  }
  for (const inc of picked) inc.failedAttempts.sort((a, b) => a.call.index - b.call.index);

  // Failures of chains that are not an incident: an attempt at an incident (aimed at it, while it
  // was open), or unrelated (the assistant called them so, or no fix touches them).
  const unrelated: UnrelatedFailure[] = [];
  for (const inc of incidents) {
    if (chosen.has(inc)) continue;
    const f = inc.firstSymptom;
    const target = picked.find((p) => {
      const end = p.fix[0]?.index ?? p.verification[0]?.index ?? Infinity;
      return (
        f.index > p.firstSymptom.index && f.index < end && overlap(termsFor(f), p.terms) > 0 && !inc.evidence.includes('the assistant called it unrelated')
      );
    });
    if (target) {
      for (const x of inc.failures) target.failedAttempts.push({ call: x, outcome: `failed: ${signatureOf(x.toolName, x.detail).line}` });
      target.failedAttempts.sort((a, b) => a.call.index - b.call.index);
      continue;
    }
    const comments = inc.failures.flatMap((f) => commentsAfter(entries, f.index));
    const said = comments.find((s) => UNRELATED.test(s.text)) ?? null;
    unrelated.push({
      call: inc.firstSymptom,
      signature: inc.signature,
      why: said ? 'called unrelated' : 'untouched by any fix',
      statement: said,
      runs: inc.failures.length,
      costMs: inc.failures.reduce((n, f) => n + (f.durationMs || 0), 0),
    });
  }

  // Verification: after the fix, the incident's checks passing, the checks of its failed attempts
  // (the migration runner a deploy calls, run again without the bad flag), and broader checks
  // (tests, builds, deploys) that ran after the first pass.
  for (const inc of picked) {
    const pass = inc.verification[0];
    if (!pass) continue;
    const keys = new Set([...inc.checks, ...inc.failedAttempts.flatMap((t) => t.call.checkKeys)]);
    const from = inc.fix[0]?.index ?? inc.failures.at(-1)!.index;
    const end = segmentOf(segments, pass.index).end;
    const verification: Call[] = [];
    let after = 0;
    for (const c of calls) {
      if (verification.length >= 4 || c.index > end) break;
      if (c.index <= from || c.agentId !== pass.agentId || c.role === 'bookkeeping') continue;
      if (c.index > pass.index) {
        // Broader checks right after the pass, until something fails.
        if (c.status !== 'ok' || ++after > 5) break;
        if (c.role === 'check' && c.checkKeys.some((k) => VERIFY_KEY.test(k))) verification.push(c);
        continue;
      }
      if (c.status !== 'ok') continue;
      if (c === pass || (c.toolName === 'Bash' && c.checkKeys.some((k) => keys.has(k)))) verification.push(c);
    }
    if (!verification.includes(pass)) verification.push(pass);
    inc.verification = verification.sort((a, b) => a.index - b.index);
  }

  const prompts: Statement[] = [];
  const interruptions: Statement[] = [];
  const apiErrors: Statement[] = [];
  const compactions: Statement[] = [];
  const lastByAgent = new Map<string, TimelineEntry>();
  let finalAnswer: Statement | null = null;
  for (const e of entries) {
    if (e.kind === 'prompt' && !e.agentId && e.text.trim()) prompts.push(statement(e, oneLine(e.text, 600)));
    else if (e.kind === 'system' && /interrupted/i.test(e.text)) interruptions.push(statement(e, oneLine(e.text)));
    else if (e.kind === 'error') apiErrors.push(statement(e, oneLine(e.text)));
    else if (e.kind === 'compaction') compactions.push(statement(e, oneLine(e.text, 300)));
    else if (e.kind === 'assistant' && e.text.trim()) {
      if (e.agentId) lastByAgent.set(e.agentId, e);
      else finalAnswer = statement(e, e.text.trim());
    }
  }
  return {
    entries,
    calls,
    prompts,
    incidents: picked,
    unrelated,
    missteps,
    rejections,
    interruptions,
    apiErrors,
    compactions,
    subagentFindings: [...lastByAgent.values()].map((e) => statement(e, oneLine(e.text, 800))),
    finalAnswer,
    cwd,
  };
}
