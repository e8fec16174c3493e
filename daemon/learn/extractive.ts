// The default synthesizer: deterministic, offline, no API key. It writes the postmortem of one
// incident from the incident model (incident.ts); every sentence is built from evidence in the
// session (a prompt, a tool call and its output, an assistant statement) and cites it; where the
// session does not say, the section says "unknown".
import { renderChange, type PatchHunk } from './change.js';
import type { Analysis, Call, Incident, Statement } from './incident.js';
import type { Claim, Narrative, Postmortem, TimelineItem } from './model.js';
import type { PriorOccurrence } from './scan.js';
import { signatureOf } from './signature.js';

export interface SynthesisInput {
  sessionId: string;
  project: string;
  analysis: Analysis;
  /** The incident this postmortem is about; null for a session in which none was found. */
  incident: Incident | null;
  /** Other sessions with the same incident signature. */
  priors: PriorOccurrence[];
  /** The runbook proposal written for it (a path relative to the output dir), if any. */
  proposalFile: string | null;
  query: string | null;
  /** Makes the session machine's paths portable (change.ts). */
  scrub: (s: string) => string;
  /** structuredPatch hunks of Edit results, by the tool_use's ref. */
  patches: Map<string, PatchHunk[]>;
}

// Who or what was affected, as people say it: customers, production, an outage, users who cannot.
const IMPACT =
  /\b(customers?|production|prod\b|outage|downtime|degraded|revenue|SLA|SLO|on-?call|paged|pager|5\d\d (errors?|responses?)|users? (can(no|')t|cannot|are|were|see|got|get|report(ed)?|lost)|checkout)\b/i;
const TIMELINE_MAX = 80;

export function isoUtc(ms: number): string {
  return ms > 0 ? new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z') : 'unknown time';
}

export function oneLine(s: string, max = 200): string {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

function quote(s: string, max = 200): string {
  return `"${oneLine(s, max).replace(/"/g, "'")}"`;
}

export function minutes(ms: number): string {
  if (ms < 60_000) return `${Math.max(0, Math.round(ms / 1000))} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 6000) / 10} min`;
  return `${Math.round(ms / 360_000) / 10} h`;
}

function uniq(refs: string[]): string[] {
  return [...new Set(refs.filter(Boolean))];
}

/** `cmd` for a shell call, `Tool path` otherwise, scrubbed of machine paths. */
export function describeCall(c: Call, scrub: (s: string) => string = (s) => s): string {
  if (c.toolName === 'Bash') return `\`${oneLine(scrub(c.text), 160)}\``;
  if ((c.toolName === 'Grep' || c.toolName === 'Glob') && typeof c.input?.pattern === 'string') {
    const where = typeof c.input.path === 'string' ? scrub(c.input.path) : '';
    return `${c.toolName} \`${oneLine(c.input.pattern, 120)}\`${where && where !== '.' ? ` in \`${where}\`` : ''}`;
  }
  if (c.toolName === 'Edit' || c.toolName === 'MultiEdit' || c.toolName === 'Write' || c.toolName === 'Read' || c.toolName === 'NotebookEdit')
    return `${c.toolName} \`${scrub(c.text)}\``;
  return `${c.toolName}${c.text ? ` \`${oneLine(scrub(c.text), 120)}\`` : ''}`;
}

/**
 * The check a call ran, as a person names it: for `cat config/build.env && sh scripts/build.sh`,
 * `sh scripts/build.sh`; the whole command when it is nothing but the check (or no check at all).
 */
export function describeCheck(c: Call, scrub: (s: string) => string = (s) => s): string {
  if (c.toolName !== 'Bash') return describeCall(c, scrub);
  const text = oneLine(scrub(c.checkSegments.length > 0 ? c.checkSegments.join(' && ') : c.text), 400);
  // A long command (a commit with its whole message) is named by what it runs: `git commit …`.
  if (text.length > 80 && c.checkKeys.length > 0) return `\`${c.checkKeys.join(' && ')} …\``;
  return `\`${text}\``;
}

/**
 * A fix step on one line: what changed, not only which tool ran. `noun`: "Edit `a.yaml`: `x` →
 * `y`", "Create `config.json`", "`sed -i …`"; `gerund`: "editing `a.yaml`: …", "running `sed -i …`".
 */
export function changeLine(c: Call, input: Pick<SynthesisInput, 'scrub' | 'patches'>, form: 'noun' | 'gerund' = 'noun'): string {
  const r = renderChange(c, input.scrub, input.patches.get(c.ref));
  const verb = (noun: string, gerund: string) => (form === 'noun' ? noun : gerund);
  if (r.lang === 'diff') {
    const lines = r.block.split('\n');
    // The first line that really changed on each side (blank lines and moved lines aside).
    const minusLines = lines.filter((l) => l.startsWith('-') && !l.startsWith('---') && l.slice(1).trim());
    const plusLines = lines.filter((l) => l.startsWith('+') && !l.startsWith('+++') && l.slice(1).trim());
    const plusSet = new Set(plusLines.map((l) => l.slice(1).trim()));
    const minusSet = new Set(minusLines.map((l) => l.slice(1).trim()));
    const minus = minusLines.find((l) => !plusSet.has(l.slice(1).trim())) ?? minusLines[0];
    const plus = plusLines.find((l) => !minusSet.has(l.slice(1).trim())) ?? plusLines[0];
    const what =
      minus && plus
        ? `\`${oneLine(minus.slice(1), 80)}\` → \`${oneLine(plus.slice(1), 80)}\``
        : minus
          ? `removed \`${oneLine(minus.slice(1), 80)}\``
          : plus
            ? `added \`${oneLine(plus.slice(1), 80)}\``
            : 'changed blank lines';
    return `${verb('Edit', 'editing')} ${r.summary.replace(/^Edit /, '').replace(/:$/, '')}: ${what}`;
  }
  if (r.lang === 'text' && c.toolName === 'Write') return `${verb('Create', 'creating')} ${r.summary.replace(/^Create /, '').replace(/ with:$/, '')}`;
  if (r.lang === 'sh') return `${verb('', 'running ')}\`${oneLine(r.block.split('\n').slice(1, -1).join(' && '), 200)}\``;
  return r.summary;
}

export function errorLineOf(inc: Incident): string {
  return inc.signature.line;
}

/** "`./deploy.sh` fails: migration … already exists": the incident, named. */
export function incidentTitle(inc: Incident, scrub: (s: string) => string): string {
  return `${describeCheck(inc.firstSymptom, scrub)} fails: ${oneLine(scrub(errorLineOf(inc)), 140)}`;
}

function priorText(priors: PriorOccurrence[]): string {
  const resolved = priors.filter((p) => p.resolved);
  const n = priors.length;
  const head = `seen before in ${n} other session${n === 1 ? '' : 's'} (${priors.map((p) => p.sessionId.slice(0, 8)).join(', ')})`;
  if (resolved.length === 0) return `${head}; not resolved there`;
  const fixes = [...new Set(resolved.map((p) => p.fix))];
  return `${head}; fixed by ${fixes.slice(0, 2).join(' / ')}`;
}

/** One line of what fixed it: "ran `sed -i …`, then Edit `a.yaml`: `x` → `y`". */
export function fixSummary(inc: Incident, input: Pick<SynthesisInput, 'scrub' | 'patches'>): string {
  if (inc.fix.length === 0) return inc.verification.length > 0 ? 'nothing changed: the same check passed on a later run (flaky?)' : 'no change';
  const shown = inc.fix.slice(-3).map((c) => changeLine(c, input, 'gerund'));
  return `${inc.fix.length > 3 ? `${inc.fix.length - 3} earlier step${inc.fix.length === 4 ? '' : 's'}, then ` : ''}${shown.join(', then ')}`;
}

function refsOf(calls: Call[]): string[] {
  return uniq(calls.flatMap((c) => [c.ref, c.resultRef]));
}

function timelineFor(input: SynthesisInput): TimelineItem[] {
  const { analysis: a, incident: inc, scrub } = input;
  const items: (TimelineItem & { order: number; notable: boolean })[] = [];
  const push = (unixMs: number, order: number, text: string, refs: string[], notable = true) => items.push({ unixMs, order, text, refs: uniq(refs), notable });
  const from = inc ? a.entries.findIndex((e) => e.ref === inc.report?.ref) : 0;
  const start = inc ? Math.min(from >= 0 ? from : inc.firstSymptom.index, inc.firstSymptom.index) : 0;
  const endCall = inc ? (inc.verification.at(-1) ?? inc.fix.at(-1) ?? inc.failures.at(-1)!) : null;
  let end = endCall ? endCall.index : a.entries.length - 1;
  // Through the assistant's answer that follows.
  while (end + 1 < a.entries.length && a.entries[end + 1]!.kind !== 'prompt' && a.entries[end + 1]!.kind !== 'tool') end++;
  if (inc && inc.status !== 'resolved') end = a.entries.length - 1;
  const role = new Map<Call, string>();
  if (inc) {
    for (const c of inc.failures) role.set(c, 'failed');
    for (const f of inc.failedAttempts) role.set(f.call, 'attempt');
    for (const c of inc.fix) role.set(c, 'fix');
    for (const c of inc.verification) role.set(c, 'verify');
    for (const c of inc.diagnostics) if (!role.has(c)) role.set(c, 'diagnostic');
  }
  const unrelated = new Set(a.unrelated.map((u) => u.call));
  const missteps = new Set(a.missteps.map((m) => m.call));
  const rejected = new Set(a.rejections);
  const few = a.calls.filter((c) => c.index >= start && c.index <= end).length <= 30;
  for (let i = start; i <= end && i < a.entries.length; i++) {
    const e = a.entries[i]!;
    if (e.kind === 'prompt' && !e.agentId && e.text.trim()) push(e.unixMs, i, `Prompt: ${quote(e.text)}`, [e.ref]);
    else if (e.kind === 'subagent') push(e.unixMs, i, `Subagent started: ${oneLine(e.text, 160)}`, [e.ref]);
    else if (e.kind === 'compaction') push(e.unixMs, i, 'Conversation compacted', [e.ref]);
    else if (e.kind === 'error') push(e.unixMs, i, `API error: ${quote(e.text)}`, [e.ref]);
    else if (e.kind === 'system' && /interrupted/i.test(e.text)) push(e.unixMs, i, `Interrupted: ${quote(e.text, 120)}`, [e.ref]);
  }
  for (const c of a.calls) {
    if (c.index < start || c.index > end) continue;
    const who = c.agentId ? ` (subagent ${c.agentId.slice(0, 8)})` : '';
    const r = role.get(c);
    const desc = describeCall(c, scrub);
    if (rejected.has(c)) push(c.unixMs, c.index, `${desc} was rejected by the user${who}`, [c.ref], true);
    else if (r === 'failed')
      push(
        c.unixMs,
        c.index,
        `${desc} failed${who}: ${quote(scrub(c === inc!.firstSymptom ? inc!.signature.line : (c.detail.split('\n').find((l) => l.trim()) ?? '')))}`,
        [c.ref, c.resultRef],
      );
    else if (r === 'attempt')
      push(
        c.unixMs,
        c.index,
        `Tried ${c.role === 'change' ? changeLine(c, input) : desc}${who}: it did not help${c.status === 'error' ? ` (failed: ${quote(scrub(signatureOf(c.toolName, c.detail).line), 120)})` : ''}`,
        [c.ref, c.resultRef],
      );
    else if (r === 'fix') push(c.unixMs, c.index, `Fix: ${changeLine(c, input)}${who}`, [c.ref]);
    else if (r === 'verify') push(c.unixMs, c.index, `${desc} passed${who}`, [c.ref, c.resultRef]);
    else if (unrelated.has(c)) push(c.unixMs, c.index, `${desc} failed${who} (unrelated to the incident)`, [c.ref, c.resultRef]);
    else if (missteps.has(c)) push(c.unixMs, c.index, `${desc} failed${who}: a wrong command, corrected`, [c.ref, c.resultRef]);
    else if (r === 'diagnostic') push(c.unixMs, c.index, `Looked at: ${desc}${who}`, [c.ref], few);
    else if (few && c.role !== 'bookkeeping') push(c.unixMs, c.index, `${desc} ${c.status === 'ok' ? 'ok' : c.status}${who}`, [c.ref], false);
  }
  const findings = inc ? inc.findings : a.subagentFindings;
  for (const f of findings)
    push(
      f.unixMs,
      a.entries.findIndex((e) => e.ref === f.ref),
      `Subagent ${f.agentId.slice(0, 8)} reported: ${quote(scrub(f.text), 240)}`,
      [f.ref],
    );
  for (let i = end; i >= start && i >= 0; i--) {
    const e = a.entries[i]!;
    if (e.kind === 'assistant' && !e.agentId && e.text.trim()) {
      push(e.unixMs, i, `${inc && i < a.entries.length - 1 && e.ref !== a.finalAnswer?.ref ? 'Answer' : 'Final answer'}: ${quote(scrub(e.text), 240)}`, [
        e.ref,
      ]);
      break;
    }
  }
  items.sort((x, y) => x.unixMs - y.unixMs || x.order - y.order);
  let kept = items;
  if (kept.length > TIMELINE_MAX) kept = kept.filter((i) => i.notable);
  if (kept.length > TIMELINE_MAX) kept = [...kept.slice(0, TIMELINE_MAX / 2), ...kept.slice(-TIMELINE_MAX / 2)];
  return kept.map(({ unixMs, text, refs }) => ({ unixMs, text, refs }));
}

function statementRefs(s: Statement | null): string[] {
  return s ? [s.ref] : [];
}

function noIncidentNarrative(input: SynthesisInput): Narrative {
  const a = input.analysis;
  const c = (text: string, refs: string[] = []): Claim => ({ text, refs: uniq(refs) });
  const first = a.prompts[0] ?? null;
  const summary = [
    c(first ? `Asked: ${quote(input.scrub(first.text), 300)}` : 'The session has no prompt.', statementRefs(first)),
    c('No incident: no check failed for a reason the session then worked on.'),
  ];
  // What subagents found is most of what an investigation session has to show.
  for (const f of a.subagentFindings.slice(0, 3))
    summary.push(c(`Work was delegated to a subagent, which reported back: ${quote(input.scrub(f.text), 300)}`, [f.ref]));
  if (a.finalAnswer) summary.push(c(`Outcome, in the assistant's final answer: ${quote(input.scrub(a.finalAnswer.text), 400)}`, [a.finalAnswer.ref]));
  const poorly: Claim[] = [];
  for (const m of a.missteps.slice(0, 5))
    poorly.push(
      c(
        `${describeCall(m.call, input.scrub)} failed (${quote(input.scrub(m.signature.line), 140)}): a wrong command${m.correctedBy ? `, followed by ${describeCall(m.correctedBy, input.scrub)}` : ''}.`,
        [m.call.ref, m.call.resultRef],
      ),
    );
  for (const u of a.unrelated.slice(0, 5))
    poorly.push(
      c(
        `${describeCall(u.call, input.scrub)} failed (${quote(input.scrub(u.signature.line), 140)})${u.why === 'called unrelated' ? ', and the assistant called it unrelated' : ', and nothing in the session fixed it'}.`,
        [u.call.ref, u.call.resultRef, ...statementRefs(u.statement)],
      ),
    );
  for (const r of a.rejections.slice(0, 3)) poorly.push(c(`The user rejected ${describeCall(r, input.scrub)}.`, [r.ref]));
  for (const i of a.interruptions.slice(0, 2)) poorly.push(c(`The user interrupted the work: ${quote(i.text, 120)}`, [i.ref]));
  if (poorly.length === 0) poorly.push(c('Nothing went poorly in the evidence: no failed, rejected or interrupted tool call.'));
  const ok = a.calls.filter((x) => x.status === 'ok');
  return {
    summary,
    impact: [c('User-facing impact: none shown (no incident in this session).')],
    detection: [c('Not applicable: no incident.')],
    rootCause: [c('Not applicable: no incident.')],
    resolution: [
      c(
        a.finalAnswer ? `Nothing to resolve; the session ended with: ${quote(input.scrub(a.finalAnswer.text), 300)}` : 'Nothing to resolve.',
        statementRefs(a.finalAnswer),
      ),
    ],
    wentWell: [
      ok.length > 0
        ? c(
            `${ok.length} of ${a.calls.length} tool calls succeeded.`,
            ok.slice(0, 5).map((x) => x.ref),
          )
        : c('Nothing in the evidence stands out as having gone well.'),
    ],
    wentPoorly: poorly,
    actionItems: [c('None: no incident needs follow-up.')],
  };
}

export function extractiveNarrative(input: SynthesisInput): Narrative {
  const inc = input.incident;
  if (!inc) return noIncidentNarrative(input);
  const a = input.analysis;
  const s = input.scrub;
  const c = (text: string, refs: string[] = []): Claim => ({ text, refs: uniq(refs) });
  const first = inc.firstSymptom;
  const symptomRefs = [first.ref, first.resultRef];
  const check = describeCheck(first, s);
  const error = quote(s(inc.signature.line), 220);
  const verified = inc.verification.map((v) => describeCheck(v, s));
  const lastVerify = inc.verification.at(-1) ?? null;
  const fixRefs = refsOf(inc.fix).filter((r) => inc.fix.some((f) => f.ref === r));

  // Summary
  const summary: Claim[] = [];
  if (inc.report) summary.push(c(`Reported: ${quote(s(inc.report.text), 300)}`, [inc.report.ref]));
  if (input.query) summary.push(c(`This postmortem covers the part of the session that matches ${quote(input.query, 120)}.`));
  summary.push(c(`Incident: ${check} failed with ${error}${inc.failures.length > 1 ? ` (${inc.failures.length} failing runs)` : ''}.`, symptomRefs));
  if (inc.status === 'resolved')
    summary.push(c(`Fixed by ${fixSummary(inc, input)}; verified by ${verified.join(', then ')} passing.`, [...fixRefs, ...refsOf(inc.verification)]));
  else if (inc.status === 'fixed-unverified')
    summary.push(
      c(`Fixed, not verified: ${fixSummary(inc, input)}, and the assistant says it is fixed, but ${check} was not run again.`, [
        ...fixRefs,
        ...inc.claims.map((x) => x.ref),
      ]),
    );
  else
    summary.push(
      c(
        `Not resolved in this session${inc.failedAttempts.length > 0 ? ` (${inc.failedAttempts.length} attempt${inc.failedAttempts.length === 1 ? '' : 's'} did not help)` : ''}.`,
        refsOf(inc.failedAttempts.map((f) => f.call)),
      ),
    );
  const answer = a.finalAnswer;
  if (answer && answer.unixMs >= first.unixMs) summary.push(c(`Outcome, in the assistant's words: ${quote(s(answer.text), 400)}`, [answer.ref]));

  // Impact
  const impact: Claim[] = [];
  const said = [inc.report].filter((x): x is Statement => x !== null && IMPACT.test(x.text));
  if (said.length > 0) for (const x of said) impact.push(c(`The session says: ${quote(s(x.text), 240)}`, [x.ref]));
  else impact.push(c('User-facing impact: unknown (the session does not say who or what was affected).'));
  if (inc.status === 'resolved' && lastVerify && first.unixMs > 0 && lastVerify.unixMs >= first.unixMs) {
    impact.push(
      c(
        `Duration: ${minutes(lastVerify.unixMs - first.unixMs)} from the first symptom (${isoUtc(first.unixMs)}) to the verification (${isoUtc(lastVerify.unixMs)}).`,
        [first.ref, lastVerify.ref],
      ),
    );
  } else if (inc.status === 'fixed-unverified' && inc.fix.length > 0) {
    const f = inc.fix.at(-1)!;
    impact.push(
      c(
        `Duration: at least ${minutes(f.unixMs - first.unixMs)} from the first symptom (${isoUtc(first.unixMs)}) to the fix (${isoUtc(f.unixMs)}); the fix was not verified.`,
        [first.ref, f.ref],
      ),
    );
  } else {
    const lastMs = a.entries.at(-1)?.unixMs ?? first.unixMs;
    impact.push(
      c(`Duration: still open when the session ended, ${minutes(lastMs - first.unixMs)} after the first symptom (${isoUtc(first.unixMs)}).`, [first.ref]),
    );
  }
  impact.push(
    c(
      `${check} failed ${inc.failures.length} time${inc.failures.length === 1 ? '' : 's'}${inc.failedAttempts.length > 0 ? `; ${inc.failedAttempts.length} attempt${inc.failedAttempts.length === 1 ? '' : 's'} did not help` : ''}.`,
      refsOf(inc.failures).slice(0, 10),
    ),
  );

  // Detection
  const detection: Claim[] = [];
  detection.push(
    c(`First symptom at ${isoUtc(first.unixMs)}${first.agentId ? ` (in subagent ${first.agentId.slice(0, 8)})` : ''}: ${check} → ${error}.`, symptomRefs),
  );
  if (inc.report && inc.report.unixMs <= first.unixMs)
    detection.push(c(`Reported by the user before that: ${quote(s(inc.report.text), 240)}`, [inc.report.ref]));

  // Root cause
  const rootCause: Claim[] = [];
  for (const r of inc.rootCause.slice(0, 3)) rootCause.push(c(`Stated by the assistant: ${quote(s(r.text), 300)}`, [r.ref]));
  for (const f of inc.findings.slice(0, 2)) rootCause.push(c(`Reported by subagent ${f.agentId.slice(0, 8)}: ${quote(s(f.text), 300)}`, [f.ref]));
  if (rootCause.length === 0)
    rootCause.push(
      c(
        `Unknown: the session states no cause. The evidence is the error ${error}${inc.fix.length > 0 ? ` and what fixed it (${fixSummary(inc, input)})` : ''}.`,
        [first.resultRef || first.ref, ...fixRefs],
      ),
    );
  if (input.priors.length > 0) rootCause.push(c(`The same failure was ${priorText(input.priors)}.`, [first.ref]));

  // Resolution
  const resolution: Claim[] = [];
  for (const f of inc.fix) resolution.push(c(`Fix: ${changeLine(f, input)}.`, [f.ref]));
  if (inc.status === 'resolved') {
    for (const v of inc.verification) resolution.push(c(`Verified: ${describeCheck(v, s)} passed.`, [v.ref, v.resultRef]));
    if (inc.fix.length === 0)
      resolution.push(c(`Nothing was changed: ${describeCheck(inc.verification[0]!, s)} passed on a later run (flaky?).`, [inc.verification[0]!.ref]));
  } else if (inc.status === 'fixed-unverified')
    resolution.push(c(`Not verified: ${check} was not run again after the fix.`, [...fixRefs, ...inc.claims.map((x) => x.ref)]));
  else resolution.push(c(`Not resolved in this session (last failure ${isoUtc(inc.failures.at(-1)!.unixMs)}).`, refsOf(inc.failures.slice(-2))));

  // What went well
  const wentWell: Claim[] = [];
  if (inc.status === 'resolved' && lastVerify)
    wentWell.push(
      c(
        `The fix was verified: ${verified.join(' and ')} passed${first.unixMs > 0 ? `, ${minutes(lastVerify.unixMs - first.unixMs)} after the first symptom` : ''}.`,
        refsOf(inc.verification),
      ),
    );
  const diag = inc.diagnostics.filter((d) => d.role === 'read').slice(0, 4);
  if (diag.length > 0)
    wentWell.push(
      c(
        `The cause was looked for before changing anything: ${diag.map((d) => describeCall(d, s)).join(', ')}.`,
        diag.map((d) => d.ref),
      ),
    );
  for (const f of inc.findings.slice(0, 1)) wentWell.push(c(`A subagent investigated and reported back: ${quote(s(f.text), 200)}`, [f.ref]));
  const files = [...new Set(inc.fix.flatMap((f) => f.files.map(s)))];
  if (files.length > 0)
    wentWell.push(
      c(
        `The change was confined to ${files.length} file${files.length === 1 ? '' : 's'}: ${files
          .slice(0, 6)
          .map((f) => `\`${f}\``)
          .join(', ')}.`,
        fixRefs,
      ),
    );
  if (wentWell.length === 0) wentWell.push(c('Nothing in the evidence stands out as having gone well.'));

  // What went poorly
  const wentPoorly: Claim[] = [];
  for (const f of inc.failedAttempts)
    wentPoorly.push(
      c(
        `Tried ${f.call.role === 'change' ? changeLine(f.call, input) : describeCall(f.call, s)}; it did not help (${f.outcome.startsWith('failed: ') ? `failed: ${quote(s(f.outcome.slice(8)), 160)}` : s(f.outcome)}).`,
        [f.call.ref, f.call.resultRef],
      ),
    );
  if (inc.failures.length > 1)
    wentPoorly.push(
      c(
        `${check} failed ${inc.failures.length} times before ${inc.status === 'resolved' ? 'it passed' : 'the session ended'}.`,
        refsOf(inc.failures).slice(0, 10),
      ),
    );
  const segEnd = lastVerify?.index ?? a.entries.length;
  for (const m of a.missteps.filter((m) => m.call.index <= segEnd).slice(0, 3)) {
    wentPoorly.push(
      c(
        `${describeCall(m.call, s)} was a wrong command (${quote(s(m.signature.line), 140)})${m.correctedBy ? `; ${describeCall(m.correctedBy, s)} ran instead` : ''}.`,
        [m.call.ref, m.call.resultRef],
      ),
    );
  }
  for (const u of a.unrelated.filter((u) => u.call.index <= segEnd).slice(0, 3)) {
    const cost = u.costMs >= 1000 ? ` and cost ${minutes(u.costMs)}` : '';
    wentPoorly.push(
      c(
        `${describeCall(u.call, s)} failed (${quote(s(u.signature.line), 140)}), unrelated to the incident${u.why === 'called unrelated' ? ' as the assistant said' : ''}${cost}.`,
        [u.call.ref, u.call.resultRef, ...statementRefs(u.statement)],
      ),
    );
  }
  for (const r of a.rejections.slice(0, 3)) wentPoorly.push(c(`The user rejected ${describeCall(r, s)}.`, [r.ref]));
  for (const i of a.interruptions.slice(0, 2)) wentPoorly.push(c(`The user interrupted the work: ${quote(i.text, 120)}`, [i.ref]));
  for (const e of a.apiErrors.slice(0, 2)) wentPoorly.push(c(`An API error stopped a turn: ${quote(e.text, 160)}`, [e.ref]));
  if (input.priors.length > 0) wentPoorly.push(c(`This failure is a repeat: ${priorText(input.priors)}.`, [first.ref]));
  if (wentPoorly.length === 0)
    wentPoorly.push(c(`Little: ${check} failed once and the first change fixed it; no attempt failed and no command was wrong.`, [first.ref, ...fixRefs]));

  // Action items
  const actionItems: Claim[] = [];
  if (input.proposalFile)
    actionItems.push(
      c(`Review and apply the runbook update \`${input.proposalFile}\` (rbk learn ${input.sessionId.slice(0, 8)} --apply-runbook-updates).`, fixRefs),
    );
  if (inc.status === 'fixed-unverified') actionItems.push(c(`Verify the fix: run ${check} again.`, [first.ref]));
  if (inc.status === 'unresolved') actionItems.push(c(`Investigate ${check} further; it still fails with ${error}.`, [inc.failures.at(-1)!.ref]));
  if (input.priors.length > 0 && inc.status === 'resolved')
    actionItems.push(
      c(`Make the fix permanent so the failure stops recurring (${input.priors.length + 1} sessions so far): ${fixSummary(inc, input)}.`, fixRefs),
    );
  if (actionItems.length === 0) actionItems.push(c('None: the incident was fixed and verified in this session.'));

  return { summary, impact, detection, rootCause, resolution, wentWell, wentPoorly, actionItems };
}

export function postmortemTitle(input: SynthesisInput): string {
  if (input.incident) return `Postmortem: ${incidentTitle(input.incident, input.scrub)}`;
  const what = input.analysis.prompts[0]?.text;
  return `Postmortem: no incident in ${what ? quote(input.scrub(what), 100) : `session ${input.sessionId.slice(0, 8)}`}`;
}

export function extractivePostmortem(input: SynthesisInput): Postmortem {
  return { title: postmortemTitle(input), timeline: timelineFor(input), ...extractiveNarrative(input) };
}

export function timelineOf(input: SynthesisInput): TimelineItem[] {
  return timelineFor(input);
}
