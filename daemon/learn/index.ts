// `rbk learn`: the stored session → timeline → signals → cross-session retrieval → synthesizer →
// rendered postmortem, runbook update proposals and knowledge docs, written under the session's
// project .runbook/ (or the data dir, or --out), and learnings stored with their provenance.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { DaemonContext } from '../context.js';
import { search, SearchSyntaxError } from '../query/search.js';
import { buildTimeline, type TimelineEntry } from '../query/timeline.js';
import { UserError } from '../rpc/errors.js';
import { NotFoundError } from '../store/sessions.js';
import { anthropicNarrative } from './anthropic.js';
import { extractiveNarrative, extractivePostmortem, postmortemTitle, type SynthesisInput } from './extractive.js';
import type { Postmortem } from './model.js';
import { evidenceIndex, renderKnowledge, renderPostmortem, type KnowledgeDoc } from './render.js';
import { applyProposals, marker, proposeRunbookUpdates, readRunbooks, type ApplyReport, type Proposal, type RunbookEntry } from './runbooks.js';
import { resultRefs, retrieve, type PriorOccurrence } from './scan.js';
import { describeCall, extractSignals, oneLine, segmentKey, shellSegments, type SignatureGroup, type Signals } from './signals.js';

/** "running `x`" → "Run `x`" for runbook steps. */
function imperative(step: string): string {
  const s = step.replace(/^running /, 'run ').replace(/^using /, 'use ').replace(/^re-running /, 're-run ');
  return `${s.charAt(0).toUpperCase()}${s.slice(1)}`;
}
import { slugify } from './signature.js';
import { otherSessionsWith, recordRun, saveSignatures, upsertLearning } from './store.js';

export const INCIDENT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export interface LearnOptions {
  session: string;
  incidentId?: string;
  query?: string;
  applyRunbookUpdates?: boolean;
  /** Absolute. */
  outDir?: string;
  synthesizer?: 'extractive' | 'anthropic';
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
  postmortem: { path: string; title: string; postmortem: Postmortem };
  proposals: { path: string; runbook: string; kind: 'update' | 'new'; signatureIds: string[] }[];
  alreadyInRunbooks: { signatureId: string; runbook: string }[];
  knowledge: { path: string; learningId: string; signatureId: string; kind: string }[];
  signatures: {
    id: string;
    text: string;
    occurrences: number;
    resolved: boolean;
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
  while (from > 0 && entries[from]!.kind !== 'prompt' && first - from < 50) from--;
  if (entries[from]!.kind !== 'prompt') from = Math.max(0, first - 10);
  let to = last;
  while (to + 1 < entries.length && entries[to + 1]!.kind !== 'prompt' && to - last < 100) to++;
  return { from, to };
}

function matchQuery(ctx: DaemonContext, sessionId: string, query: string): Set<string> {
  const run = (q: string) => search(ctx.db, { query: q, sessionId, limit: 200 }).hits.map((h) => h.uuid);
  try {
    let hits = run(query);
    if (hits.length === 0) {
      // Every word in one interaction is strict for "the 502 on checkout": fall back to any word.
      const words = query.match(/[\p{L}\p{N}_]{3,}/gu) ?? [];
      if (words.length > 1) hits = search(ctx.db, { query: words.map((w) => `"${w.replace(/"/g, '')}"`).join(' OR '), raw: true, sessionId, limit: 200 }).hits.map((h) => h.uuid);
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

function runbookEntry(g: SignatureGroup, signals: Signals, sessionId: string): RunbookEntry {
  const r = g.resolution!;
  const first = g.failures[0]!;
  const last = g.failures.at(-1)!;
  const checkSegments = first.call.toolName === 'Bash' ? shellSegments(first.call.text).filter((s) => segmentKey(s) === r.checkKey) : [];
  const reproduce = checkSegments.length > 0 ? `\`${oneLine(checkSegments.join(' && '), 160)}\`` : describeCall(first.call);
  const diagnosis = signals.calls.filter((c) => c.index > last.call.index && c.index < r.passing.index && c.agentId === last.call.agentId && c.status === 'ok' && !r.steps.some((s) => s.refs.includes(c.ref)));
  const lines = [
    `## \`${g.signature.text}\``,
    marker(g.signature.id),
    '',
    '### Symptom',
    '',
    `${describeCall(first.call)} fails${reproduce !== describeCall(first.call) ? ` (the failing check: ${reproduce})` : ''} with:`,
    '',
    '```text',
    g.signature.line,
    '```',
    '',
    '### Diagnosis steps',
    '',
    `1. Reproduce: ${reproduce}.`,
    ...diagnosis.slice(0, 5).map((c, i) => `${i + 2}. ${c.toolName === 'Bash' ? 'Run' : 'Use'} ${describeCall(c)}.`),
    '',
    '### Fix',
    '',
    ...(r.steps.length > 0 ? r.steps.map((s, i) => `${i + 1}. ${imperative(s.text)}.`) : ['1. Re-run the check: it passed with nothing changed (flaky).']),
    '',
    '### Verification',
    '',
    `${describeCall(r.passing)} passes${r.passing.toolName === 'Bash' ? ` (the same check, \`${r.checkKey}\`)` : ''}.`,
    '',
    `_Learned by rbk from session \`${sessionId}\` (interactions ${[...new Set([first.call.ref, ...r.steps.flatMap((s) => s.refs), r.passing.ref])].map((x) => `\`${x}\``).join(', ')})._`,
    '',
  ];
  return { signatureId: g.signature.id, title: g.signature.text, words: g.signature.words, checkKey: r.checkKey, markdown: lines.join('\n'), slug: `${slugify(g.signature.text.replace(/^[^:]*:\s*/, ''), 50)}-${g.signature.id.slice(4, 10)}` };
}

export async function learn(ctx: DaemonContext, opts: LearnOptions, onProgress?: (step: string) => void): Promise<LearnResult> {
  const sessionId = ctx.sessions.resolveId(opts.session);
  const session = ctx.sessions.get(sessionId);
  if (opts.incidentId !== undefined && !INCIDENT_ID.test(opts.incidentId)) {
    throw new UserError('--incident-id must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit (e.g. INC-2041)');
  }
  const redact = (s: string) => ctx.redaction.redactor.redactText(s).text;
  onProgress?.('timeline');
  const all = buildTimeline(ctx.db, sessionId);
  if (all.length === 0) throw new NotFoundError(`session ${sessionId} has nothing stored to learn from yet (no interactions or hook events); import its transcript with: rbk import`);
  let entries = all;
  let matched: string[] = [];
  if (opts.query) {
    const set = matchQuery(ctx, sessionId, opts.query);
    if (set.size === 0) throw new NotFoundError(`nothing in session ${sessionId.slice(0, 8)} matches --query "${oneLine(opts.query, 80)}"; try other words, or see what matches with: rbk sessions search "<words>"`);
    const { from, to } = focusEntries(all, set);
    entries = all.slice(from, to + 1);
    matched = all.filter((e) => set.has(e.ref)).map((e) => e.ref);
  }
  onProgress?.('signals');
  const cwd = session.cwd ?? '';
  const refs = resultRefs(ctx.db, sessionId);
  const signals = extractSignals(entries, { cwd, resultRefs: refs });
  // The whole session's signatures go in the index, whatever the focus.
  saveSignatures(ctx.db, sessionId, opts.query ? extractSignals(all, { cwd, resultRefs: refs }).groups : signals.groups);

  onProgress?.('retrieval');
  const priors = new Map<string, PriorOccurrence[]>();
  for (const g of signals.groups) {
    const found = retrieve(ctx.db, sessionId, g);
    if (found.length > 0) priors.set(g.signature.id, found);
  }

  const out = outputDir(ctx, cwd, opts);
  const rbDir = runbookDir(ctx, cwd, out.dir);
  const base = opts.incidentId ?? slugify(sessionId, 64);
  const runId = `lrun_${crypto.randomBytes(6).toString('hex')}`;

  // Runbook proposals: resolved shell failures (a command to run, a fix, a check that passed).
  const resolved = signals.groups.filter((g) => g.resolution);
  const entriesForRunbooks = resolved.filter((g) => g.failures[0]!.call.toolName === 'Bash').map((g) => runbookEntry(g, signals, sessionId));
  const { proposals, alreadyPresent } = proposeRunbookUpdates(entriesForRunbooks, readRunbooks(rbDir));
  const proposalPath = (p: Proposal) => path.join(out.dir, 'proposals', `${base}-${p.kind === 'new' ? p.file.replace(/\.md$/, '') : slugify(p.file.replace(/\.md$/, ''), 50)}.patch`);
  const proposalFiles = new Map<string, string>();
  for (const p of proposals) for (const id of p.signatureIds) proposalFiles.set(id, path.relative(out.dir, proposalPath(p)));

  onProgress?.('synthesis');
  const input: SynthesisInput = { sessionId, project: session.project ?? '', title: session.title ?? '', signals, priors, proposalFiles, query: opts.query ?? null };
  const requested = opts.synthesizer ?? ctx.config.learning.synthesizer;
  let used = 'extractive';
  let fallbackReason: string | null = null;
  let postmortem = extractivePostmortem(input);
  if (requested === 'anthropic') {
    try {
      postmortem = { ...postmortem, ...(await anthropicNarrative(input, ctx.config.learning, redact)) };
      used = 'anthropic';
    } catch (err) {
      fallbackReason = (err as Error).message;
      ctx.log.warn('anthropic synthesizer failed; using extractive', { session: sessionId, reason: fallbackReason });
      postmortem = { title: postmortemTitle(input), timeline: postmortem.timeline, ...extractiveNarrative(input) };
    }
  }

  onProgress?.('writing');
  const evidence = evidenceIndex(signals);
  // The timeline keeps the output of failed calls only; cited passing outputs are read here.
  const outputText = ctx.db.prepare(`SELECT substr(text, 1, 400) FROM interactions WHERE uuid = ? AND kind = 'tool_result' ORDER BY block_index LIMIT 1`).pluck();
  for (const row of evidence.values()) {
    if (!row.what.startsWith('tool_result') || row.what.endsWith('(error)')) continue;
    const text = outputText.get(row.ref);
    if (typeof text === 'string' && text.trim()) row.excerpt = oneLine(text, 200);
  }
  const files: string[] = [];
  const pmPath = path.join(out.dir, 'postmortems', `${base}.md`);
  const markdown = renderPostmortem(
    postmortem,
    {
      sessionId,
      project: session.project ?? '',
      cwd,
      incidentId: opts.incidentId ?? null,
      query: opts.query ?? null,
      synthesizer: used,
      fallbackReason,
      startedUnixMs: session.started_at ?? entries[0]?.unixMs ?? 0,
      endedUnixMs: session.ended_at ?? session.last_activity_at ?? entries.at(-1)?.unixMs ?? 0,
    },
    evidence,
  );
  writeAtomic(pmPath, redact(markdown));
  files.push(pmPath);
  const proposalResults: LearnResult['proposals'] = [];
  for (const p of proposals) {
    const file = proposalPath(p);
    const header = `rbk runbook update proposal (${p.kind === 'new' ? 'new runbook' : 'update'}) from session ${sessionId}${opts.incidentId ? `, incident ${opts.incidentId}` : ''}\nRunbook dir: ${rbDir}\nApply: rbk learn ${sessionId.slice(0, 8)} --apply-runbook-updates, or cd into the runbook dir and run git apply <this file>\n\n`;
    writeAtomic(file, redact(header + p.patch));
    files.push(file);
    proposalResults.push({ path: file, runbook: path.join(rbDir, p.file), kind: p.kind, signatureIds: p.signatureIds });
  }

  // Knowledge: one doc per distinct fact (a resolved signature), merged across sessions.
  const knowledge: LearnResult['knowledge'] = [];
  const now = Date.now();
  for (const g of resolved) {
    const r = g.resolution!;
    const kind = g.failures[0]!.call.toolName === 'Bash' ? 'fix' : 'gotcha';
    const learningId = `lrn_${g.signature.id.slice(4)}`;
    const here = { id: sessionId, project: session.project ?? '', firstSeenUnixMs: g.failures[0]!.call.unixMs, resolved: true, fix: r.summary };
    const others = otherSessionsWith(ctx.db, g.signature.id, sessionId).map((o) => ({ id: o.session_id, project: o.project ?? '', firstSeenUnixMs: o.first_ts ?? 0, resolved: o.resolved === 1, fix: o.fix }));
    const sessions = [...others, here].sort((a, b) => a.firstSeenUnixMs - b.firstSeenUnixMs || a.id.localeCompare(b.id));
    const times = sessions.map((s) => s.firstSeenUnixMs).filter((t) => t > 0);
    const lastSeen = Math.max(g.failures.at(-1)!.call.unixMs, ...otherSessionsWith(ctx.db, g.signature.id, sessionId).map((o) => o.last_ts ?? 0));
    const slug = `${slugify(g.signature.text.replace(/^[^:]*:\s*/, ''), 50)}-${g.signature.id.slice(4, 10)}`;
    const docPath = path.join(out.dir, 'knowledge', `${slug}.md`);
    const refsUsed = [...new Set([g.failures[0]!.call.ref, g.failures[0]!.call.resultRef, ...r.steps.flatMap((s) => s.refs), r.passing.ref].filter(Boolean))];
    const doc: KnowledgeDoc = {
      id: learningId,
      kind,
      signatureId: g.signature.id,
      signature: g.signature.text,
      title: kind === 'gotcha' ? `${g.failures[0]!.call.toolName} gotcha: \`${g.signature.text.replace(/^[^:]*:\s*/, '')}\`` : `\`${g.signature.text}\``,
      symptom: g.signature.line,
      failingCommand: describeCall(g.failures[0]!.call),
      fixSteps: r.steps.length > 0 ? r.steps.map((s) => imperative(s.text)) : ['Re-run the check (it passed with nothing changed)'],
      verification: `${describeCall(r.passing)} passes.`,
      sessions,
      firstSeenUnixMs: times.length > 0 ? Math.min(...times) : 0,
      lastSeenUnixMs: lastSeen,
      refs: refsUsed,
      learnedFrom: sessionId,
    };
    writeAtomic(docPath, redact(renderKnowledge(doc)));
    files.push(docPath);
    knowledge.push({ path: docPath, learningId, signatureId: g.signature.id, kind });
    upsertLearning(
      ctx.db,
      {
        id: learningId,
        kind,
        signatureId: g.signature.id,
        signature: redact(g.signature.text),
        title: redact(doc.title),
        fix: redact(r.summary),
        verification: redact(doc.verification),
        firstSeen: doc.firstSeenUnixMs || null,
        lastSeen: doc.lastSeenUnixMs || null,
        docPath,
        sessionId,
        refs: refsUsed,
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
  recordRun(ctx.db, { id: runId, sessionId, incidentId: opts.incidentId ?? null, query: opts.query ?? null, synthesizer: used, fallbackReason, outputDir: out.dir, files }, now);

  const result: LearnResult = {
    runId,
    sessionId,
    incidentId: opts.incidentId ?? null,
    query: opts.query ?? null,
    focus: { entries: entries.length, totalEntries: all.length, fromUnixMs: entries[0]?.unixMs ?? 0, toUnixMs: entries.at(-1)?.unixMs ?? 0, matchedRefs: matched },
    synthesizer: { requested, used, fallbackReason },
    outputDir: out.dir,
    outputDirReason: out.reason,
    runbookDir: rbDir,
    postmortem: { path: pmPath, title: postmortem.title, postmortem },
    proposals: proposalResults,
    alreadyInRunbooks: alreadyPresent.map((a) => ({ signatureId: a.signatureId, runbook: path.join(rbDir, a.file) })),
    knowledge,
    signatures: signals.groups.map((g) => ({
      id: g.signature.id,
      text: g.signature.text,
      occurrences: g.failures.length,
      resolved: g.resolution !== null,
      fix: g.resolution?.summary ?? '',
      failureRefs: g.failures.map((f) => f.call.ref),
      fixRefs: g.resolution ? [...new Set([...g.resolution.steps.flatMap((s) => s.refs), g.resolution.passing.ref])] : [],
      seenBefore: priors.get(g.signature.id) ?? [],
    })),
    applied,
  };
  // Stored rows are redacted at ingest by default; this also covers redaction.mode: cron.
  return ctx.redaction.redactValue(result).value;
}

