// `rbk learn`: the stored session → timeline → incident model (incident.ts) → cross-session
// retrieval → synthesizer → rendered postmortems, runbook update proposals and knowledge docs,
// written under the session's project .runbook/ (or the data dir, or --out), and learnings
// stored with their provenance.
//
// One postmortem per incident. A session with several incidents (two prompts on two problems)
// gets one file each, `<name>-1.md`, `<name>-2.md`; `--incident-id N` (or `inc-N`) learns only
// incident N, `--query TEXT` only the part of the session that matches. Any other
// `--incident-id` (a tracker's id: INC-2041, INC-7) names the files. A session with no incident gets one postmortem that
// says so, and no proposal or knowledge doc.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { DaemonContext } from '../context.js';
import { search, SearchSyntaxError } from '../query/search.js';
import { buildTimeline, type TimelineEntry } from '../query/timeline.js';
import { UserError } from '../errors.js';
import { NotFoundError } from '../store/sessions.js';
import { knowledgeDoc, runbookEntry } from './docs.js';
import {
  changeLine,
  describeCall,
  extractiveNarrative,
  extractivePostmortem,
  fixSummary,
  incidentTitle,
  postmortemTitle,
  type SynthesisInput,
} from './extractive.js';
import type { Incident } from './incident.js';
import { llmNarrative } from './llm.js';
import type { Postmortem } from './model.js';
import { evidenceIndex, renderKnowledge, renderPostmortem } from './render.js';
import { applyProposals, proposeRunbookUpdates, readRunbooks, type ApplyReport, type Proposal, type RunbookEntry } from './runbooks.js';
import { incidentRecord, retrieve, sessionModel, type PriorOccurrence } from './scan.js';
import { slugify } from './signature.js';
import { otherSessionsWith, recordRun, saveSignatures, upsertLearning } from '../store/learnings.js';

export const INCIDENT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/**
 * `--incident-id 2` or `inc-2` (the ids rbk prints): pick the session's second incident. Case
 * matters: `INC-2` is a tracker's id, and names the files rather than picking.
 */
const PICK = /^(?:inc-)?(\d{1,3})$/;

export type SynthesizerName = 'extractive' | 'anthropic' | 'openai';

export interface LearnOptions {
  session: string;
  incidentId?: string;
  query?: string;
  applyRunbookUpdates?: boolean;
  /** Absolute. */
  outDir?: string;
  synthesizer?: SynthesizerName;
}

export interface LearnedIncident {
  number: number;
  status: Incident['status'];
  title: string;
  signatureId: string;
  signature: string;
  checks: string[];
  firstSymptom: { ref: string; resultRef: string; unixMs: number; command: string; error: string };
  failures: string[];
  /** `command`: the shell command or the file; `change`: what it changed (an edit's old → new). */
  failedAttempts: { ref: string; tool: string; command: string; change: string; outcome: string }[];
  diagnostics: { ref: string; command: string }[];
  fix: { ref: string; tool: string; change: string }[];
  verification: { ref: string; command: string }[];
  durationMs: number | null;
  evidence: string[];
  postmortem: string;
  proposal: string | null;
  knowledge: string | null;
  seenBefore: PriorOccurrence[];
}

export interface LearnResult {
  runId: string;
  sessionId: string;
  incidentId: string | null;
  query: string | null;
  focus: { entries: number; totalEntries: number; fromUnixMs: number; toUnixMs: number; matchedRefs: string[] };
  synthesizer: { requested: string; used: string; fallbackReason: string | null };
  outputDir: string;
  outputDirReason: string;
  runbookDir: string;
  /** The first postmortem (for one-incident sessions, the postmortem). */
  postmortem: { path: string; title: string; postmortem: Postmortem };
  postmortems: { incident: number | null; path: string; title: string; synthesizer: string; fallbackReason: string | null; postmortem: Postmortem }[];
  incidents: LearnedIncident[];
  unrelated: { ref: string; command: string; error: string; why: string }[];
  missteps: { ref: string; tool: string; command: string; error: string; correctedBy: string | null }[];
  proposals: { path: string; runbook: string; kind: 'update' | 'new'; signatureIds: string[] }[];
  alreadyInRunbooks: { signatureId: string; runbook: string }[];
  knowledge: { path: string; learningId: string; signatureId: string; kind: string }[];
  signatures: {
    id: string;
    text: string;
    occurrences: number;
    resolved: boolean;
    status: Incident['status'];
    fix: string;
    failureRefs: string[];
    fixRefs: string[];
    seenBefore: PriorOccurrence[];
  }[];
  applied: ApplyReport | null;
}

/** Narrows a long session to the part that matches the query (see docs/learn.md). */
export function focusEntries(entries: TimelineEntry[], matched: Set<string>): { from: number; to: number } {
  const hits = entries.map((e, i) => (matched.has(e.ref) ? i : -1)).filter((i) => i >= 0);
  if (hits.length === 0) return { from: 0, to: entries.length - 1 };
  const first = hits[0]!;
  const last = hits.at(-1)!;
  // Back to the prompt that started this part, forward to the next prompt: the work on one ask.
  let from = first;
  while (from > 0 && entries[from]!.kind !== 'prompt' && first - from < 200) from--;
  if (entries[from]!.kind !== 'prompt') from = Math.max(0, first - 10);
  let to = last;
  while (to + 1 < entries.length && !(entries[to + 1]!.kind === 'prompt' && !entries[to + 1]!.agentId) && to - last < 2000) to++;
  return { from, to };
}

function matchQuery(ctx: DaemonContext, sessionId: string, query: string): Set<string> {
  const run = (q: string) => search(ctx.db, { query: q, sessionId, limit: 200 }).hits.map((h) => h.uuid);
  try {
    let hits = run(query);
    if (hits.length === 0) {
      // Every word in one interaction is strict for "the 502 on checkout": fall back to any word.
      const words = query.match(/[\p{L}\p{N}_]{3,}/gu) ?? [];
      if (words.length > 1)
        hits = search(ctx.db, { query: words.map((w) => `"${w.replace(/"/g, '')}"`).join(' OR '), raw: true, sessionId, limit: 200 }).hits.map((h) => h.uuid);
    }
    return new Set(hits);
  } catch (err) {
    if (err instanceof SearchSyntaxError) throw new UserError(`--query: ${err.message}`);
    throw err;
  }
}

function canWrite(dir: string): boolean {
  try {
    if (fs.existsSync(dir)) {
      fs.accessSync(dir, fs.constants.W_OK);
      return fs.statSync(dir).isDirectory();
    }
    const parent = path.dirname(dir);
    fs.accessSync(parent, fs.constants.W_OK);
    return fs.statSync(parent).isDirectory();
  } catch {
    return false;
  }
}

function outputDir(ctx: DaemonContext, cwd: string, opts: LearnOptions): { dir: string; reason: string } {
  if (opts.outDir) return { dir: opts.outDir, reason: '--out' };
  if (cwd && path.isAbsolute(cwd)) {
    const dir = path.join(cwd, '.runbook');
    if (canWrite(dir)) return { dir, reason: "the session's project" };
    return { dir: path.join(ctx.paths.dataDir, 'runbook'), reason: `${dir} is not writable (or the project is gone), so the data dir` };
  }
  return { dir: path.join(ctx.paths.dataDir, 'runbook'), reason: 'the session has no project directory, so the data dir' };
}

function runbookDir(ctx: DaemonContext, cwd: string, out: string): string {
  const configured = ctx.config.learning.runbookDir;
  if (!configured) return path.join(out, 'runbooks');
  if (path.isAbsolute(configured)) return configured;
  return path.resolve(cwd && path.isAbsolute(cwd) ? cwd : out, configured);
}

/** Writes beside the target and renames: a reader never sees half a file. */
function writeAtomic(file: string, content: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.rbk-${process.pid}-${crypto.randomBytes(4).toString('hex')}.tmp`;
  fs.writeFileSync(tmp, content, { mode: 0o644 });
  fs.renameSync(tmp, file);
}

export async function learn(ctx: DaemonContext, opts: LearnOptions, onProgress?: (step: string) => void): Promise<LearnResult> {
  const sessionId = ctx.sessions.resolveId(opts.session);
  const session = ctx.sessions.get(sessionId);
  if (opts.incidentId !== undefined && !INCIDENT_ID.test(opts.incidentId)) {
    throw new UserError('--incident-id must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit (e.g. INC-2041)');
  }
  const redact = (s: string) => ctx.redaction.redactor.redactText(s).text;
  onProgress?.('timeline');
  const all = buildTimeline(ctx.db, sessionId, { inputs: true });
  if (all.length === 0)
    throw new NotFoundError(
      `session ${sessionId} has nothing stored to learn from yet (no interactions or hook events); import its transcript with: rbk import`,
    );
  let entries = all;
  let matched: string[] = [];
  if (opts.query) {
    const set = matchQuery(ctx, sessionId, opts.query);
    if (set.size === 0)
      throw new NotFoundError(
        `nothing in session ${sessionId.slice(0, 8)} matches --query "${opts.query.slice(0, 80)}"; try other words, or see what matches with: rbk sessions search "<words>"`,
      );
    const { from, to } = focusEntries(all, set);
    entries = all.slice(from, to + 1);
    matched = all.filter((e) => set.has(e.ref)).map((e) => e.ref);
  }
  onProgress?.('incidents');
  const cwd = session.cwd ?? '';
  const model = sessionModel(ctx.db, sessionId, entries);
  const a = model.analysis;
  // The whole session's incidents go in the cross-session index, whatever the focus.
  const whole = opts.query ? sessionModel(ctx.db, sessionId, all) : model;
  saveSignatures(
    ctx.db,
    sessionId,
    whole.analysis.incidents.map((i) => incidentRecord(i, whole)),
  );

  // Which incidents: all, or the one --incident-id picks.
  let chosen = a.incidents;
  let label = opts.incidentId ?? null;
  const pick = opts.incidentId ? PICK.exec(opts.incidentId) : null;
  if (pick) {
    const n = Number(pick[1]);
    const found = a.incidents.find((i) => i.number === n);
    if (!found) {
      const list = a.incidents.map((i) => `${i.number}: ${incidentTitle(i, model.scrub)}`).join('; ');
      throw new NotFoundError(
        `session ${sessionId.slice(0, 8)} has no incident ${n}${a.incidents.length > 0 ? `; its incidents are ${list}` : '; no incident was found in it'}`,
      );
    }
    chosen = [found];
    label = null;
  }

  onProgress?.('retrieval');
  const priors = new Map<Incident, PriorOccurrence[]>(chosen.map((i) => [i, retrieve(ctx.db, sessionId, i)]));

  const out = outputDir(ctx, cwd, opts);
  const rbDir = runbookDir(ctx, cwd, out.dir);
  const base = label ?? (pick ? `${slugify(sessionId, 64)}-${chosen[0]!.number}` : slugify(sessionId, 64));
  const docName = (inc: Incident | null) => (chosen.length > 1 && inc ? `${base}-${inc.number}` : base);
  const runId = `lrun_${crypto.randomBytes(6).toString('hex')}`;

  // Runbook proposals: incidents fixed and verified in the session, and nothing else.
  const entriesByIncident = new Map<Incident, RunbookEntry>();
  for (const inc of chosen) {
    const e = runbookEntry(inc, model, sessionId);
    if (e) entriesByIncident.set(inc, e);
  }
  const { proposals, alreadyPresent } = proposeRunbookUpdates([...entriesByIncident.values()], readRunbooks(rbDir));
  const incidentOf = (sigId: string) => chosen.find((i) => i.signature.id === sigId) ?? null;
  const proposalPath = (p: Proposal) => {
    const inc = incidentOf(p.signatureIds[0]!);
    return path.join(
      out.dir,
      'proposals',
      `${docName(inc)}-${p.kind === 'new' ? p.file.replace(/\.md$/, '') : slugify(p.file.replace(/\.md$/, ''), 50)}.patch`,
    );
  };
  const proposalFiles = new Map<string, string>();
  for (const p of proposals) for (const id of p.signatureIds) proposalFiles.set(id, path.relative(out.dir, proposalPath(p)));

  onProgress?.('synthesis');
  const requested: SynthesizerName = opts.synthesizer ?? ctx.config.learning.synthesizer;
  const docs: (Incident | null)[] = chosen.length > 0 ? chosen : [null];
  const evidence = evidenceIndex(a, model.scrub);
  // The timeline keeps the output of failed calls only; cited passing outputs are read here.
  const outputText = ctx.db
    .prepare(`SELECT substr(rbk_text(text), 1, 400) FROM interactions WHERE uuid = ? AND kind = 'tool_result' ORDER BY block_index LIMIT 1`)
    .pluck();
  for (const row of evidence.values()) {
    if (!row.what.startsWith('tool_result') || row.what.endsWith('(error)')) continue;
    const text = outputText.get(row.ref);
    if (typeof text === 'string' && text.trim()) row.excerpt = model.scrub(text).replace(/\s+/g, ' ').trim().slice(0, 200);
  }
  const files: string[] = [];
  const postmortems: LearnResult['postmortems'] = [];
  for (const inc of docs) {
    const input: SynthesisInput = {
      sessionId,
      project: session.project ?? '',
      analysis: a,
      incident: inc,
      priors: inc ? (priors.get(inc) ?? []) : [],
      proposalFile: inc ? (proposalFiles.get(inc.signature.id) ?? null) : null,
      query: opts.query ?? null,
      scrub: model.scrub,
      patches: model.patches,
    };
    let used: SynthesizerName = 'extractive';
    let fallbackReason: string | null = null;
    let postmortem = extractivePostmortem(input);
    if (requested !== 'extractive') {
      try {
        const { narrative, dropped } = await llmNarrative(requested, input, ctx.config.learning, redact);
        postmortem = { ...postmortem, ...narrative };
        used = requested;
        if (dropped > 0) ctx.log.info('llm claims without existing evidence dropped', { session: sessionId, dropped });
      } catch (err) {
        fallbackReason = (err as Error).message;
        ctx.log.warn(`${requested} synthesizer failed; using extractive`, { session: sessionId, reason: fallbackReason });
        postmortem = { title: postmortemTitle(input), timeline: postmortem.timeline, ...extractiveNarrative(input) };
      }
    }
    const pmPath = path.join(out.dir, 'postmortems', `${docName(inc)}.md`);
    const markdown = renderPostmortem(
      postmortem,
      {
        sessionId,
        project: session.project ?? '',
        cwd,
        incidentId: label,
        query: opts.query ?? null,
        synthesizer: used,
        fallbackReason,
        startedUnixMs: session.started_at ?? entries[0]?.unixMs ?? 0,
        endedUnixMs: session.ended_at ?? session.last_activity_at ?? entries.at(-1)?.unixMs ?? 0,
        incident: inc ? { number: inc.number, of: a.incidents.length, status: inc.status } : null,
      },
      evidence,
    );
    writeAtomic(pmPath, redact(markdown));
    files.push(pmPath);
    postmortems.push({ incident: inc?.number ?? null, path: pmPath, title: postmortem.title, synthesizer: used, fallbackReason, postmortem });
  }

  onProgress?.('writing');
  const proposalResults: LearnResult['proposals'] = [];
  for (const p of proposals) {
    const file = proposalPath(p);
    // Where to apply it, relative to the proposal's own folder: no path of this machine in the file.
    const where = path.relative(path.dirname(file), rbDir) || '.';
    const header = `rbk runbook update proposal (${p.kind === 'new' ? 'new runbook' : 'update'}) from session ${sessionId}${label ? `, incident ${label}` : ''}\nRunbook dir: ${where} (relative to this file)\nApply: rbk learn ${sessionId.slice(0, 8)} --apply-runbook-updates, or cd into the runbook dir and run git apply <this file>\n\n`;
    writeAtomic(file, redact(header + p.patch));
    files.push(file);
    proposalResults.push({ path: file, runbook: path.join(rbDir, p.file), kind: p.kind, signatureIds: p.signatureIds });
  }

  // Knowledge: one doc per incident (its fix, or what was ruled out), merged across sessions.
  const knowledge: LearnResult['knowledge'] = [];
  const knowledgeOf = new Map<Incident, string>();
  const now = Date.now();
  for (const inc of chosen) {
    const fix = inc.status === 'unresolved' ? '' : fixSummary(inc, model);
    const others = otherSessionsWith(ctx.db, inc.signature.id, sessionId).map((o) => ({
      sessionId: o.session_id,
      project: o.project ?? '',
      cwd: o.cwd ?? '',
      firstSeenUnixMs: o.first_ts ?? 0,
      lastSeenUnixMs: o.last_ts ?? 0,
      occurrences: o.occurrences,
      resolved: o.resolved === 1,
      status: o.status,
      fix: o.fix,
      fixRefs: [],
      failureRefs: [],
    }));
    const doc = knowledgeDoc(inc, model, { sessionId, project: session.project ?? '', others, fix });
    const docPath = path.join(out.dir, 'knowledge', `${slugify(inc.signature.text.replace(/^[^:]*:\s*/, ''), 50)}-${inc.signature.id.slice(4, 10)}.md`);
    writeAtomic(docPath, redact(renderKnowledge(doc)));
    files.push(docPath);
    knowledgeOf.set(inc, docPath);
    knowledge.push({ path: docPath, learningId: doc.id, signatureId: inc.signature.id, kind: doc.kind });
    upsertLearning(
      ctx.db,
      {
        id: doc.id,
        kind: doc.kind,
        signatureId: inc.signature.id,
        signature: redact(inc.signature.text),
        title: redact(doc.title),
        fix: redact(fix),
        verification: redact(doc.verification),
        firstSeen: doc.firstSeenUnixMs || null,
        lastSeen: doc.lastSeenUnixMs || null,
        docPath,
        sessionId,
        refs: doc.refs,
      },
      runId,
      now,
    );
  }

  let applied: ApplyReport | null = null;
  if (opts.applyRunbookUpdates) {
    onProgress?.('applying runbook updates');
    applied = applyProposals(rbDir, proposals);
  }
  const first = postmortems[0]!;
  recordRun(
    ctx.db,
    {
      id: runId,
      sessionId,
      incidentId: label,
      query: opts.query ?? null,
      synthesizer: first.synthesizer,
      fallbackReason: first.fallbackReason,
      outputDir: out.dir,
      files,
    },
    now,
  );

  const s = model.scrub;
  const result: LearnResult = {
    runId,
    sessionId,
    incidentId: label,
    query: opts.query ?? null,
    focus: {
      entries: entries.length,
      totalEntries: all.length,
      fromUnixMs: entries[0]?.unixMs ?? 0,
      toUnixMs: entries.at(-1)?.unixMs ?? 0,
      matchedRefs: matched,
    },
    synthesizer: { requested, used: first.synthesizer, fallbackReason: first.fallbackReason },
    outputDir: out.dir,
    outputDirReason: out.reason,
    runbookDir: rbDir,
    postmortem: { path: first.path, title: first.title, postmortem: first.postmortem },
    postmortems,
    incidents: chosen.map((inc) => {
      const lastVerify = inc.verification.at(-1);
      return {
        number: inc.number,
        status: inc.status,
        title: incidentTitle(inc, s),
        signatureId: inc.signature.id,
        signature: inc.signature.text,
        checks: inc.checks,
        firstSymptom: {
          ref: inc.firstSymptom.ref,
          resultRef: inc.firstSymptom.resultRef,
          unixMs: inc.firstSymptom.unixMs,
          command: s(inc.firstSymptom.text),
          error: s(inc.signature.line),
        },
        failures: inc.failures.map((f) => f.ref),
        failedAttempts: inc.failedAttempts.map((t) => ({
          ref: t.call.ref,
          tool: t.call.toolName,
          command: s(t.call.text),
          change: t.call.role === 'change' ? changeLine(t.call, model) : '',
          outcome: s(t.outcome),
        })),
        diagnostics: inc.diagnostics.map((d) => ({ ref: d.ref, command: s(describeCall(d)) })),
        fix: inc.fix.map((c) => ({ ref: c.ref, tool: c.toolName, change: s(c.toolName === 'Bash' ? c.changes.join(' && ') || c.text : c.text) })),
        verification: inc.verification.map((v) => ({ ref: v.ref, command: s(v.text) })),
        durationMs: lastVerify ? lastVerify.unixMs - inc.firstSymptom.unixMs : null,
        evidence: inc.evidence,
        postmortem: postmortems.find((p) => p.incident === inc.number)!.path,
        proposal: proposalResults.find((p) => p.signatureIds.includes(inc.signature.id))?.path ?? null,
        knowledge: knowledgeOf.get(inc) ?? null,
        seenBefore: priors.get(inc) ?? [],
      };
    }),
    unrelated: a.unrelated.map((u) => ({ ref: u.call.ref, command: s(u.call.text), error: s(u.signature.line), why: u.why })),
    missteps: a.missteps.map((m) => ({
      ref: m.call.ref,
      tool: m.call.toolName,
      command: s(m.call.text),
      error: s(m.signature.line),
      correctedBy: m.correctedBy ? s(m.correctedBy.text) : null,
    })),
    proposals: proposalResults,
    alreadyInRunbooks: alreadyPresent.map((x) => ({ signatureId: x.signatureId, runbook: path.join(rbDir, x.file) })),
    knowledge,
    signatures: chosen.map((inc) => ({
      id: inc.signature.id,
      text: inc.signature.text,
      occurrences: inc.failures.length,
      resolved: inc.status === 'resolved',
      status: inc.status,
      fix: inc.status === 'unresolved' ? '' : fixSummary(inc, model),
      failureRefs: inc.failures.map((f) => f.ref),
      fixRefs: [...new Set([...inc.fix.map((c) => c.ref), ...inc.verification.map((c) => c.ref)])],
      seenBefore: priors.get(inc) ?? [],
    })),
    applied,
  };
  // Stored rows are redacted at ingest by default; this also covers redaction.mode: cron.
  return ctx.redaction.redactValue(result).value;
}
