// Markdown for postmortems and knowledge docs. Every claim ends with links to numbered evidence
// rows ([E3](#e3)); the Evidence section maps each number to the interaction id it came from.
import YAML from 'yaml';
import { describeCall, isoUtc, oneLine } from './extractive.js';
import type { Analysis } from './incident.js';
import { NARRATIVE_SECTIONS, type Claim, type Postmortem } from './model.js';

export interface EvidenceRow {
  ref: string;
  unixMs: number;
  what: string;
  excerpt: string;
}

/** Every id a claim may cite: timeline entries and the outputs of tool calls. */
export function evidenceIndex(a: Analysis, scrub: (s: string) => string = (s) => s): Map<string, EvidenceRow> {
  const index = new Map<string, EvidenceRow>();
  for (const e of a.entries) {
    if (!e.ref || index.has(e.ref)) continue;
    const what =
      e.kind === 'tool'
        ? `${e.source === 'hook' ? 'hook event' : 'tool_use'} ${e.toolName}${e.status ? ` (${e.status})` : ''}${e.agentId ? ` in subagent ${e.agentId.slice(0, 8)}` : ''}`
        : e.kind === 'subagent'
          ? 'subagent'
          : e.kind;
    index.set(e.ref, { ref: e.ref, unixMs: e.unixMs, what, excerpt: oneLine(scrub(e.text), 200) });
  }
  for (const c of a.calls) {
    if (!c.resultRef || index.has(c.resultRef)) continue;
    // A failed call's error lines: the last one that says what went wrong, not the first 200 characters.
    const errorLine = c.detail
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !/^\[… \d+ characters cut …\]$/.test(l))
      .find((l) => /\b(error|fail|exception|denied|not found|missing|cannot|refused|invalid|timed? ?out|fatal|unknown)\b/i.test(l));
    index.set(c.resultRef, {
      ref: c.resultRef,
      unixMs: c.unixMs,
      what: `tool_result ${c.toolName} (${c.status})`,
      excerpt: oneLine(scrub(errorLine ?? c.detail) || `output of ${describeCall(c, scrub)}`, 200),
    });
  }
  return index;
}

class Citations {
  private readonly numbers = new Map<string, number>();
  constructor(private readonly index: Map<string, EvidenceRow>) {}
  cite(refs: string[]): string {
    const links = refs
      .filter((r) => this.index.has(r))
      .map((r) => {
        let n = this.numbers.get(r);
        if (n === undefined) {
          n = this.numbers.size + 1;
          this.numbers.set(r, n);
        }
        return `[E${n}](#e${n})`;
      });
    return links.length > 0 ? ` ${links.join(' ')}` : '';
  }
  rows(): { n: number; row: EvidenceRow }[] {
    return [...this.numbers.entries()].map(([ref, n]) => ({ n, row: this.index.get(ref)! }));
  }
}

export interface PostmortemHeader {
  sessionId: string;
  project: string;
  cwd: string;
  incidentId: string | null;
  query: string | null;
  synthesizer: string;
  fallbackReason: string | null;
  startedUnixMs: number;
  endedUnixMs: number;
  /** Which incident of the session this postmortem is about; null when none was found. */
  incident: { number: number; of: number; status: 'resolved' | 'fixed-unverified' | 'unresolved' } | null;
}

const STATUS_TEXT = {
  resolved: 'resolved and verified in the session',
  'fixed-unverified': 'fixed, not verified',
  unresolved: 'not resolved in the session',
} as const;

export function renderPostmortem(pm: Postmortem, h: PostmortemHeader, evidence: Map<string, EvidenceRow>): string {
  const cite = new Citations(evidence);
  const out: string[] = [`# ${pm.title}`, ''];
  out.push(`- Session: \`${h.sessionId}\`${h.project ? ` (project ${h.project})` : ''}`);
  if (h.incidentId) out.push(`- Incident: \`${h.incidentId}\``);
  if (h.incident)
    out.push(`- Status: ${STATUS_TEXT[h.incident.status]}${h.incident.of > 1 ? ` (incident ${h.incident.number} of ${h.incident.of} in this session)` : ''}`);
  else out.push('- Status: no incident found in this session');
  if (h.query) out.push(`- Focus: the part of the session matching "${oneLine(h.query, 120)}"`);
  out.push(`- Session time (UTC): ${isoUtc(h.startedUnixMs)} to ${isoUtc(h.endedUnixMs)}`);
  out.push(`- Synthesizer: ${h.synthesizer}${h.fallbackReason ? ` (fell back to extractive: ${oneLine(h.fallbackReason, 300)})` : ''}`);
  out.push('');
  const claims = (list: Claim[]) => list.map((c) => `- ${c.text}${cite.cite(c.refs)}`);
  for (const { key, heading } of NARRATIVE_SECTIONS) {
    out.push(`## ${heading}`, '', ...claims(pm[key]), '');
    if (key === 'impact') {
      out.push('## Timeline', '', 'All times UTC, in the order they happened.', '');
      if (pm.timeline.length === 0) out.push('- (no events)');
      for (const t of pm.timeline) out.push(`- ${isoUtc(t.unixMs)} ${t.text}${cite.cite(t.refs)}`);
      out.push('');
    }
  }
  out.push('## Evidence', '', `Interaction ids from the rbk store (\`rbk sessions show ${h.sessionId.slice(0, 8)} --json\` lists them as \`ref\`).`, '');
  const rows = cite.rows();
  if (rows.length === 0) out.push('- (none cited)');
  for (const { n, row } of rows)
    out.push(`- <a id="e${n}"></a>**E${n}** \`${row.ref}\` ${isoUtc(row.unixMs)} ${row.what}: ${row.excerpt ? `"${row.excerpt.replace(/"/g, "'")}"` : ''}`);
  out.push('');
  return out.join('\n');
}

export interface KnowledgeDoc {
  id: string;
  /** fix: resolved and verified; unverified: fixed, not verified; ruled-out: unresolved, what did not help. */
  kind: 'fix' | 'unverified' | 'ruled-out';
  signatureId: string;
  signature: string;
  title: string;
  symptom: string;
  failingCommand: string;
  /** Markdown blocks: each fix step (summary + the change), or for ruled-out what was tried. */
  fixSteps: string[];
  triedSteps: string[];
  diagnosis: string[];
  verification: string;
  sessions: { id: string; project: string; firstSeenUnixMs: number; resolved: boolean; fix: string }[];
  firstSeenUnixMs: number;
  lastSeenUnixMs: number;
  refs: string[];
  learnedFrom: string;
}

export function renderKnowledge(k: KnowledgeDoc): string {
  const front = YAML.stringify({
    id: k.id,
    kind: k.kind,
    signature: k.signature,
    signature_id: k.signatureId,
    sessions: k.sessions.map((s) => s.id),
    first_seen: isoUtc(k.firstSeenUnixMs),
    last_seen: isoUtc(k.lastSeenUnixMs),
  }).trimEnd();
  const out = ['---', front, '---', '', `# ${k.title}`, '', '## Symptom', '', `${k.failingCommand} fails with:`, '', '```text', k.symptom, '```', ''];
  if (k.diagnosis.length > 0) out.push('## Diagnosis', '', ...k.diagnosis.map((d) => `- ${d}`), '');
  if (k.kind === 'ruled-out') {
    out.push('## Status', '', 'Not resolved. What was tried and ruled out:', '');
    if (k.triedSteps.length === 0) out.push('- nothing was tried beyond reproducing it');
    for (const t of k.triedSteps) out.push(`- ${t}`);
    out.push('');
  } else {
    if (k.triedSteps.length > 0) out.push('## Tried, did not help', '', ...k.triedSteps.map((t) => `- ${t}`), '');
    out.push('## Fix', '');
    for (const [i, s] of k.fixSteps.entries()) out.push(`${i + 1}. ${s.replace(/\n(?!\n)/g, '\n   ')}`);
    out.push('', '## Verification', '', k.verification, '');
  }
  out.push('## Seen in', '');
  for (const s of k.sessions)
    out.push(`- \`${s.id}\`${s.project ? ` (${s.project})` : ''}, ${isoUtc(s.firstSeenUnixMs)}: ${s.resolved ? `fixed by ${s.fix}` : 'not resolved'}`);
  out.push('', '## Evidence', '', `Learned from session \`${k.learnedFrom}\`, interactions: ${k.refs.map((r) => `\`${r}\``).join(', ')}`, '');
  return out.join('\n');
}
