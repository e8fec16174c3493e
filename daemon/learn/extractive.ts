// The default synthesizer: deterministic, offline, no API key. Every sentence is built from
// evidence in the session (a prompt, a tool call and its output, an assistant statement) and
// cites it; where the session does not say, the section says "unknown".
import type { Claim, Narrative, Postmortem, TimelineItem } from './model.js';
import type { PriorOccurrence } from './scan.js';
import { describeCall, oneLine, type Signals, type SignatureGroup } from './signals.js';

export interface SynthesisInput {
  sessionId: string;
  project: string;
  title: string;
  signals: Signals;
  /** Other sessions with the same signature, by signature id. */
  priors: Map<string, PriorOccurrence[]>;
  /** File names of the proposals and knowledge docs, by signature id (for action items). */
  proposalFiles: Map<string, string>;
  query: string | null;
}

const IMPACT = /\b(users?|customers?|production|prod|outage|downtime|degraded|revenue|SLA|SLO|on-?call|incident|50[0-9]|latency)\b/i;
const TIMELINE_MAX = 80;

export function isoUtc(ms: number): string {
  return ms > 0 ? new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z') : 'unknown time';
}

function quote(s: string, max = 200): string {
  return `"${oneLine(s, max).replace(/"/g, "'")}"`;
}

function minutes(ms: number): string {
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 6000) / 10} min`;
  return `${Math.round(ms / 360_000) / 10} h`;
}

function uniq(refs: string[]): string[] {
  return [...new Set(refs.filter(Boolean))];
}

function failureRefs(g: SignatureGroup): string[] {
  return uniq(g.failures.flatMap((f) => [f.call.ref, f.call.resultRef]));
}

function fixRefs(g: SignatureGroup): string[] {
  const r = g.resolution;
  return r ? uniq([...r.steps.flatMap((s) => s.refs), r.passing.ref, r.passing.resultRef]) : [];
}

function priorText(priors: PriorOccurrence[]): string {
  const resolved = priors.filter((p) => p.resolved);
  const n = priors.length;
  const head = `seen before in ${n} other session${n === 1 ? '' : 's'} (${priors.map((p) => p.sessionId.slice(0, 8)).join(', ')})`;
  if (resolved.length === 0) return `${head}; not resolved there`;
  const fixes = [...new Set(resolved.map((p) => p.fix))];
  return `${head}; fixed by ${fixes.slice(0, 2).join(' / ')}`;
}

export function buildTimeline(s: Signals): TimelineItem[] {
  const items: (TimelineItem & { order: number; notable: boolean })[] = [];
  const push = (unixMs: number, order: number, text: string, refs: string[], notable = true) => items.push({ unixMs, order, text, refs: uniq(refs), notable });
  const failing = new Map(s.failures.map((f) => [f.call.ref, f]));
  const rejected = new Set(s.rejections.map((c) => c.ref));
  const passing = new Set(s.failures.map((f) => f.resolution?.passing.ref).filter(Boolean) as string[]);
  const fixSteps = new Set(s.failures.flatMap((f) => f.resolution?.steps.flatMap((x) => x.refs) ?? []));
  const few = s.calls.length <= 30;
  s.entries.forEach((e, order) => {
    if (e.kind === 'prompt' && e.text.trim()) push(e.unixMs, order, `Prompt: ${quote(e.text)}`, [e.ref]);
    else if (e.kind === 'subagent') push(e.unixMs, order, `Subagent started: ${oneLine(e.text, 160)}`, [e.ref]);
    else if (e.kind === 'compaction') push(e.unixMs, order, 'Conversation compacted', [e.ref]);
    else if (e.kind === 'error') push(e.unixMs, order, `API error: ${quote(e.text)}`, [e.ref]);
    else if (e.kind === 'system' && /interrupted/i.test(e.text)) push(e.unixMs, order, `Interrupted: ${quote(e.text, 120)}`, [e.ref]);
  });
  for (const c of s.calls) {
    const who = c.agentId ? ` (subagent ${c.agentId.slice(0, 8)})` : '';
    const f = failing.get(c.ref);
    if (f) push(c.unixMs, c.index, `${describeCall(c)} failed${who}: ${quote(f.signature.line)}`, [c.ref, c.resultRef]);
    else if (rejected.has(c.ref)) push(c.unixMs, c.index, `${describeCall(c)} was rejected by the user${who}`, [c.ref]);
    else if (passing.has(c.ref)) push(c.unixMs, c.index, `${describeCall(c)} passed${who}`, [c.ref, c.resultRef]);
    else if (fixSteps.has(c.ref)) push(c.unixMs, c.index, `Fix step: ${describeCall(c)}${who}`, [c.ref]);
    else if (few) push(c.unixMs, c.index, `${describeCall(c)} ${c.status === 'ok' ? 'ok' : c.status}${who}`, [c.ref], false);
  }
  for (const f of s.subagentFindings) push(f.unixMs, s.entries.findIndex((e) => e.ref === f.ref), `Subagent ${f.agentId.slice(0, 8)} reported: ${quote(f.text, 240)}`, [f.ref]);
  if (s.finalAnswer) push(s.finalAnswer.unixMs, s.entries.findIndex((e) => e.ref === s.finalAnswer!.ref), `Final answer: ${quote(s.finalAnswer.text, 240)}`, [s.finalAnswer.ref]);
  items.sort((a, b) => a.unixMs - b.unixMs || a.order - b.order);
  let kept = items;
  if (kept.length > TIMELINE_MAX) kept = kept.filter((i) => i.notable);
  if (kept.length > TIMELINE_MAX) kept = [...kept.slice(0, TIMELINE_MAX / 2), ...kept.slice(-TIMELINE_MAX / 2)];
  return kept.map(({ unixMs, text, refs }) => ({ unixMs, text, refs }));
}

export function extractiveNarrative(input: SynthesisInput): Narrative {
  const s = input.signals;
  const firstPrompt = s.prompts[0];
  const groups = s.groups;
  const resolved = groups.filter((g) => g.resolution);
  const unresolved = groups.filter((g) => !g.resolution);
  const firstFailure = s.failures[0];
  const c = (text: string, refs: string[] = []): Claim => ({ text, refs: uniq(refs) });

  // Summary
  const summary: Claim[] = [];
  if (firstPrompt) summary.push(c(`Asked: ${quote(firstPrompt.text, 300)}`, [firstPrompt.ref]));
  if (input.query) summary.push(c(`This postmortem covers the part of the session that matches ${quote(input.query, 120)}.`));
  if (firstFailure) {
    summary.push(c(`${describeCall(firstFailure.call)} failed with ${quote(firstFailure.signature.line)}.`, [firstFailure.call.ref, firstFailure.call.resultRef]));
    summary.push(
      c(
        `${s.failures.length} failed tool call${s.failures.length === 1 ? '' : 's'} in ${groups.length} distinct error signature${groups.length === 1 ? '' : 's'}; ${resolved.length} resolved in this session, ${unresolved.length} not.`,
        s.failures.map((f) => f.call.ref),
      ),
    );
    for (const g of resolved.slice(0, 3)) {
      const r = g.resolution!;
      summary.push(c(`Fixed by ${r.summary}; then ${describeCall(r.passing)} passed.`, fixRefs(g)));
    }
  } else {
    summary.push(c('No tool call failed in this session.', []));
  }
  if (s.finalAnswer) summary.push(c(`Outcome, in the assistant's final answer: ${quote(s.finalAnswer.text, 400)}`, [s.finalAnswer.ref]));

  // Impact
  const impact: Claim[] = [];
  const impactSaid = [...s.prompts, ...s.decisions, ...s.rootCauses].filter((x) => IMPACT.test(x.text)).slice(0, 2);
  if (impactSaid.length > 0) for (const x of impactSaid) impact.push(c(`The session says: ${quote(x.text, 240)}`, [x.ref]));
  else impact.push(c('User-facing impact: unknown (the session does not say who or what was affected).'));
  if (firstFailure) {
    const lastPass = resolved.map((g) => g.resolution!.passing).sort((a, b) => b.unixMs - a.unixMs)[0];
    if (unresolved.length === 0 && lastPass && lastPass.unixMs >= firstFailure.call.unixMs && firstFailure.call.unixMs > 0) {
      impact.push(c(`Duration: ${minutes(lastPass.unixMs - firstFailure.call.unixMs)} from the first failure (${isoUtc(firstFailure.call.unixMs)}) to the last passing check (${isoUtc(lastPass.unixMs)}).`, [firstFailure.call.ref, lastPass.ref]));
    } else impact.push(c('Duration: unknown (not every failure was resolved in this session).', unresolved.flatMap((g) => g.failures.map((f) => f.call.ref)).slice(0, 5)));
    impact.push(c(`${s.failures.length} of ${s.calls.length} tool calls failed.`, s.failures.map((f) => f.call.ref).slice(0, 20)));
  } else impact.push(c('Duration: unknown (no failure was observed).'));

  // Detection
  const detection: Claim[] = [];
  if (firstPrompt && (!firstFailure || firstPrompt.unixMs <= firstFailure.call.unixMs)) detection.push(c(`Reported by the user in the prompt: ${quote(firstPrompt.text, 240)}`, [firstPrompt.ref]));
  if (firstFailure) {
    const who = firstFailure.call.agentId ? ` by subagent ${firstFailure.call.agentId.slice(0, 8)}` : '';
    detection.push(c(`First failing check${who} at ${isoUtc(firstFailure.call.unixMs)}: ${describeCall(firstFailure.call)} → ${quote(firstFailure.signature.line)}`, [firstFailure.call.ref, firstFailure.call.resultRef]));
  }
  for (const f of s.subagentFindings.slice(0, 2)) detection.push(c(`Subagent ${f.agentId.slice(0, 8)} reported: ${quote(f.text, 300)}`, [f.ref]));
  if (detection.length === 0) detection.push(c('Detection: unknown (the session has no prompt or failure that shows how it started).'));

  // Root cause
  const rootCause: Claim[] = [];
  for (const r of s.rootCauses.slice(0, 3)) rootCause.push(c(`Stated by the assistant: ${quote(r.text, 300)}`, [r.ref]));
  if (rootCause.length === 0) {
    if (firstFailure) rootCause.push(c(`Unknown: the session states no root cause. The evidence is the error ${quote(firstFailure.signature.line)}.`, [firstFailure.call.resultRef || firstFailure.call.ref]));
    else rootCause.push(c('Unknown: no failure and no stated cause in the session.'));
  }
  for (const g of groups) {
    const priors = input.priors.get(g.signature.id) ?? [];
    if (priors.length > 0) rootCause.push(c(`The signature \`${g.signature.text}\` was ${priorText(priors)}.`, [g.failures[0]!.call.ref]));
  }

  // Resolution
  const resolution: Claim[] = [];
  for (const g of resolved) {
    const r = g.resolution!;
    resolution.push(c(`\`${g.signature.text}\`: fixed by ${r.summary}.`, fixRefs(g)));
    resolution.push(c(`Verified: ${describeCall(r.passing)} passed after the fix${r.passing.toolName === 'Bash' ? ` (the same check, \`${r.checkKey}\`)` : ''}.`, [r.passing.ref, r.passing.resultRef]));
  }
  for (const g of unresolved) resolution.push(c(`\`${g.signature.text}\`: not resolved in this session (last failure ${isoUtc(g.failures.at(-1)!.call.unixMs)}).`, failureRefs(g)));
  const listed = new Set(resolved.map((g) => g.resolution!.passing.ref));
  for (const v of s.verifications.filter((v) => !listed.has(v.ref)).slice(0, 5)) resolution.push(c(`Verification command run: ${describeCall(v)} (ok).`, [v.ref]));
  if (resolution.length === 0) resolution.push(c(s.finalAnswer ? `No failure to resolve; the session ended with: ${quote(s.finalAnswer.text, 300)}` : 'No failure to resolve.', s.finalAnswer ? [s.finalAnswer.ref] : []));

  // What went well
  const wentWell: Claim[] = [];
  for (const g of resolved) {
    const first = g.failures[0]!.call;
    const pass = g.resolution!.passing;
    const took = pass.unixMs >= first.unixMs && first.unixMs > 0 ? ` within ${minutes(pass.unixMs - first.unixMs)}` : '';
    wentWell.push(c(`The failing check was fixed and re-run${took}: ${describeCall(pass)} passed.`, [first.ref, pass.ref]));
  }
  const edited = s.files.filter((f) => f.action !== 'read');
  if (edited.length > 0) wentWell.push(c(`Changes were confined to ${edited.length} file${edited.length === 1 ? '' : 's'}: ${edited.slice(0, 6).map((f) => `\`${f.path}\``).join(', ')}.`, edited.flatMap((f) => f.refs).slice(0, 10)));
  for (const f of s.subagentFindings.slice(0, 2)) wentWell.push(c(`Work was delegated to a subagent, which reported back: ${quote(f.text, 200)}`, [f.ref]));
  if (!firstFailure && s.rejections.length === 0) wentWell.push(c(`No tool call failed or was rejected (${s.calls.length} calls).`, s.calls.map((x) => x.ref).slice(0, 10)));
  if (wentWell.length === 0) wentWell.push(c('Nothing in the evidence stands out as having gone well.'));

  // What went poorly
  const wentPoorly: Claim[] = [];
  for (const g of groups.filter((x) => x.failures.length > 1)) wentPoorly.push(c(`\`${g.signature.text}\` failed ${g.failures.length} times${g.resolution ? ' before it was fixed' : ''}.`, failureRefs(g).slice(0, 10)));
  for (const g of unresolved) wentPoorly.push(c(`\`${g.signature.text}\` was never resolved.`, failureRefs(g).slice(0, 4)));
  for (const r of s.rejections.slice(0, 3)) wentPoorly.push(c(`The user rejected ${describeCall(r)}.`, [r.ref]));
  for (const i of s.interruptions.slice(0, 2)) wentPoorly.push(c(`The user interrupted the work: ${quote(i.text, 120)}`, [i.ref]));
  for (const e of s.apiErrors.slice(0, 2)) wentPoorly.push(c(`An API error stopped a turn: ${quote(e.text, 160)}`, [e.ref]));
  for (const g of groups) {
    const priors = input.priors.get(g.signature.id) ?? [];
    if (priors.length > 0) wentPoorly.push(c(`This failure is a repeat: ${priorText(priors)}.`, [g.failures[0]!.call.ref]));
  }
  if (wentPoorly.length === 0 && groups.length > 0) {
    // Every failure was fixed on the first try: say so rather than claim nothing failed.
    const sigs = groups.map((g) => `\`${g.signature.text}\``).join(', ');
    wentPoorly.push(c(`Only the failure itself: ${sigs} failed once and was fixed in this session; no tool call was rejected or interrupted.`, groups.flatMap((g) => failureRefs(g).slice(0, 2))));
  }
  if (wentPoorly.length === 0) wentPoorly.push(c('Nothing went poorly in the evidence: no failed, rejected or interrupted tool call.'));

  // Action items
  const actionItems: Claim[] = [];
  for (const g of resolved) {
    const file = input.proposalFiles.get(g.signature.id);
    if (file) actionItems.push(c(`Review and apply the runbook update \`${file}\` for \`${g.signature.text}\` (rbk learn ${input.sessionId.slice(0, 8)} --apply-runbook-updates).`, fixRefs(g)));
    const priors = input.priors.get(g.signature.id) ?? [];
    if (priors.length > 0) actionItems.push(c(`Make the fix permanent so the failure stops recurring (${priors.length + 1} sessions so far): ${g.resolution!.summary}.`, fixRefs(g)));
  }
  for (const g of unresolved) {
    const f = g.failures.at(-1)!;
    actionItems.push(c(`Investigate \`${g.signature.text}\`: reproduce with ${describeCall(f.call)}.`, [f.call.ref]));
  }
  if (actionItems.length === 0) actionItems.push(c('None: no failure in this session needs follow-up.'));

  return { summary, impact, detection, rootCause, resolution, wentWell, wentPoorly, actionItems };
}

export function extractivePostmortem(input: SynthesisInput): Postmortem {
  return { title: postmortemTitle(input), timeline: buildTimeline(input.signals), ...extractiveNarrative(input) };
}

export function postmortemTitle(input: SynthesisInput): string {
  const g = input.signals.groups[0];
  const what = g ? g.signature.text : input.title || input.signals.prompts[0]?.text || 'session';
  return g ? `Postmortem: \`${oneLine(what, 120)}\`` : `Postmortem: ${oneLine(what, 120).replace(/[<>]/g, '')}`;
}
