// The documents learn writes besides the postmortem, from the incident model: a runbook entry
// for an incident fixed and verified in the session (Symptom, Diagnosis steps, Tried, did not
// help, Fix showing each change, Verification), and a knowledge doc for every incident (the fix;
// or, unresolved, what was ruled out). Missteps and unrelated failures never get either.
import { renderChange } from './change.js';
import { changeLine, describeCall, describeCheck, incidentTitle, oneLine } from './extractive.js';
import type { Incident } from './incident.js';
import type { KnowledgeDoc } from './render.js';
import type { RunbookEntry } from './runbooks.js';
import { marker } from './runbooks.js';
import type { PriorOccurrence, SessionModel } from './scan.js';
import { slugify } from './signature.js';

/** "1. Run:\n```sh\n…\n```" — a fix step with its change shown. */
function fixStep(c: Incident['fix'][number], m: Pick<SessionModel, 'scrub' | 'patches'>): string {
  const r = renderChange(c, m.scrub, m.patches.get(c.ref));
  return r.block ? `${r.summary}\n\n${r.block}` : r.summary;
}

function tried(t: Incident['failedAttempts'][number], m: Pick<SessionModel, 'scrub' | 'patches'>): string {
  const what = t.call.role === 'change' && t.call.toolName !== 'Bash' ? changeLine(t.call, m) : describeCall(t.call, m.scrub);
  const outcome = t.outcome.startsWith('failed: ') ? `failed: \`${oneLine(m.scrub(t.outcome.slice(8)), 160)}\`` : m.scrub(t.outcome);
  return `${what}: ${outcome}`;
}

function reproduce(inc: Incident, m: Pick<SessionModel, 'scrub'>): string {
  return describeCheck(inc.firstSymptom, m.scrub);
}

function diagnosisSteps(inc: Incident, m: Pick<SessionModel, 'scrub'>): string[] {
  const steps: string[] = [];
  const seen = new Set<string>();
  for (const d of inc.diagnostics) {
    const text = d.role === 'delegate' ? `Delegate: ${describeCall(d, m.scrub)}` : `${d.toolName === 'Bash' ? 'Run' : 'Use'} ${describeCall(d, m.scrub)}`;
    if (seen.has(text)) continue;
    seen.add(text);
    steps.push(`${text}.`);
    if (steps.length >= 6) break;
  }
  for (const f of inc.findings.slice(0, 2)) steps.push(`A subagent found: "${oneLine(m.scrub(f.text), 240).replace(/"/g, "'")}"`);
  return steps;
}

/** The runbook entry for an incident fixed and verified in the session; null for any other. */
export function runbookEntry(inc: Incident, m: Pick<SessionModel, 'scrub' | 'patches'>, sessionId: string): RunbookEntry | null {
  if (inc.status !== 'resolved' || inc.fix.length === 0 || inc.verification.length === 0) return null;
  const title = incidentTitle(inc, m.scrub);
  const lines = [
    `## ${title}`,
    marker(inc.signature.id),
    '',
    '### Symptom',
    '',
    `${reproduce(inc, m)} fails with:`,
    '',
    '```text',
    m.scrub(inc.signature.line),
    '```',
    '',
    '### Diagnosis steps',
    '',
    `1. Reproduce: ${reproduce(inc, m)}.`,
    ...diagnosisSteps(inc, m).map((s, i) => `${i + 2}. ${s}`),
    '',
  ];
  if (inc.failedAttempts.length > 0) lines.push('### Tried, did not help', '', ...inc.failedAttempts.map((t) => `- ${tried(t, m)}`), '');
  lines.push('### Fix', '');
  for (const [i, c] of inc.fix.entries()) lines.push(`${i + 1}. ${fixStep(c, m).replace(/\n(?!\n)/g, '\n   ')}`, '');
  lines.push(
    '### Verification',
    '',
    `${inc.verification.map((v) => describeCheck(v, m.scrub)).join(', then ')} ${inc.verification.length === 1 ? 'passes' : 'pass'}.`,
    '',
  );
  lines.push(
    `_Learned by rbk from session \`${sessionId}\` (interactions ${[inc.firstSymptom.ref, ...inc.fix.map((c) => c.ref), ...inc.verification.map((v) => v.ref)].map((x) => `\`${x}\``).join(', ')})._`,
    '',
  );
  return {
    signatureId: inc.signature.id,
    title,
    words: inc.signature.words,
    checkKey: inc.checks[0] ?? '',
    markdown: lines.join('\n'),
    slug: `${slugify(inc.signature.text.replace(/^[^:]*:\s*/, ''), 50)}-${inc.signature.id.slice(4, 10)}`,
  };
}

/** The knowledge doc of an incident: what fixes it (verified or not), or what was ruled out. */
export function knowledgeDoc(
  inc: Incident,
  m: Pick<SessionModel, 'scrub' | 'patches'>,
  ctx: { sessionId: string; project: string; others: PriorOccurrence[]; fix: string },
): KnowledgeDoc {
  const kind: KnowledgeDoc['kind'] = inc.status === 'resolved' ? 'fix' : inc.status === 'fixed-unverified' ? 'unverified' : 'ruled-out';
  const here = { id: ctx.sessionId, project: ctx.project, firstSeenUnixMs: inc.firstSymptom.unixMs, resolved: inc.status === 'resolved', fix: ctx.fix };
  const sessions = [
    ...ctx.others.map((o) => ({ id: o.sessionId, project: o.project, firstSeenUnixMs: o.firstSeenUnixMs, resolved: o.resolved, fix: o.fix })),
    here,
  ].sort((a, b) => a.firstSeenUnixMs - b.firstSeenUnixMs || a.id.localeCompare(b.id));
  const times = sessions.map((s) => s.firstSeenUnixMs).filter((t) => t > 0);
  const title = incidentTitle(inc, m.scrub);
  return {
    id: `lrn_${inc.signature.id.slice(4)}`,
    kind,
    signatureId: inc.signature.id,
    signature: inc.signature.text,
    title: kind === 'ruled-out' ? `Unresolved: ${title}` : kind === 'unverified' ? `${title} (fix not verified)` : title,
    symptom: m.scrub(inc.signature.line),
    failingCommand: reproduce(inc, m),
    fixSteps: inc.fix.map((c) => fixStep(c, m)),
    triedSteps: inc.failedAttempts.map((t) => tried(t, m)),
    diagnosis: diagnosisSteps(inc, m),
    verification:
      kind === 'fix'
        ? `${inc.verification.map((v) => describeCheck(v, m.scrub)).join(', then ')} ${inc.verification.length === 1 ? 'passes' : 'pass'}.`
        : kind === 'unverified'
          ? `Not verified: ${reproduce(inc, m)} was not run again after the fix.`
          : '',
    sessions,
    firstSeenUnixMs: times.length > 0 ? Math.min(...times) : 0,
    lastSeenUnixMs: Math.max(inc.failures.at(-1)!.unixMs, ...ctx.others.map((o) => o.lastSeenUnixMs)),
    refs: [
      ...new Set(
        [
          inc.firstSymptom.ref,
          inc.firstSymptom.resultRef,
          ...inc.failedAttempts.map((t) => t.call.ref),
          ...inc.fix.map((c) => c.ref),
          ...inc.verification.map((v) => v.ref),
        ].filter(Boolean),
      ),
    ],
    learnedFrom: ctx.sessionId,
  };
}
