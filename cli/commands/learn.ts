// `rbk learn`, `rbk learnings [list|show <id>]` and `rbk incidents`: thin views of the Learn RPCs
// (docs/learn.md; JSON shapes in docs/cli-json.md).
import path from 'node:path';
import { call } from '../client.js';
import { EXIT } from '../errors.js';
import { iso, plural, table } from '../format.js';
import type { Io } from '../io.js';
import { terminalSafe } from '../views.js';
import type { WireIncident, WireLearnResult, WireLearning } from '../wire.js';

type WirePostmortemFile = WireLearnResult['postmortem'];

const sectionsView = (pm: WirePostmortemFile['postmortem']) => ({
  summary: pm.summary,
  impact: pm.impact,
  detection: pm.detection,
  rootCause: pm.rootCause,
  resolution: pm.resolution,
  wentWell: pm.wentWell,
  wentPoorly: pm.wentPoorly,
  actionItems: pm.actionItems,
  timeline: pm.timeline.map((t) => ({ at: iso(t.unixMs), text: t.text, refs: t.refs })),
});

const priorView = (p: WireLearnResult['signatures'][number]['seenBefore'][number]) => ({
  sessionId: p.sessionId,
  project: p.project,
  firstSeenAt: iso(p.firstSeenUnixMs),
  lastSeenAt: iso(p.lastSeenUnixMs),
  occurrences: p.occurrences,
  resolved: p.resolved,
  status: p.status,
  fix: p.fix,
  fixRefs: p.fixRefs,
  failureRefs: p.failureRefs,
});

/** `rbk learn --json` (docs/cli-json.md): the daemon's result with times as ISO strings. */
export function learnView(r: WireLearnResult) {
  return {
    runId: r.runId,
    sessionId: r.sessionId,
    incidentId: r.incidentId ?? null,
    query: r.query ?? null,
    focus: {
      entries: r.focus.entries,
      totalEntries: r.focus.totalEntries,
      from: iso(r.focus.fromUnixMs),
      to: iso(r.focus.toUnixMs),
      matchedRefs: r.focus.matchedRefs,
    },
    synthesizer: { requested: r.synthesizer.requested, used: r.synthesizer.used, fallbackReason: r.synthesizer.fallbackReason ?? null },
    outputDir: r.outputDir,
    outputDirReason: r.outputDirReason,
    runbookDir: r.runbookDir,
    incidents: r.incidents.map((i) => ({
      number: i.number,
      status: i.status,
      title: i.title,
      signatureId: i.signatureId,
      signature: i.signature,
      checks: i.checks,
      firstSymptom: {
        ref: i.firstSymptom.ref,
        resultRef: i.firstSymptom.resultRef,
        command: i.firstSymptom.command,
        error: i.firstSymptom.error,
        at: iso(i.firstSymptom.unixMs),
      },
      failures: i.failures,
      failedAttempts: i.failedAttempts,
      diagnostics: i.diagnostics,
      fix: i.fix,
      verification: i.verification,
      durationMs: i.durationMs ?? null,
      evidence: i.evidence,
      postmortem: i.postmortem,
      proposal: i.proposal ?? null,
      knowledge: i.knowledge ?? null,
      seenBefore: i.seenBefore.map(priorView),
    })),
    unrelated: r.unrelated,
    missteps: r.missteps.map((m) => ({ ref: m.ref, tool: m.tool, command: m.command, error: m.error, correctedBy: m.correctedBy ?? null })),
    postmortem: { path: r.postmortem.path, title: r.postmortem.title, sections: sectionsView(r.postmortem.postmortem) },
    postmortems: r.postmortems.map((p) => ({
      incident: p.incident ?? null,
      path: p.path,
      title: p.title,
      synthesizer: p.synthesizer,
      fallbackReason: p.fallbackReason ?? null,
      sections: sectionsView(p.postmortem),
    })),
    proposals: r.proposals,
    alreadyInRunbooks: r.alreadyInRunbooks,
    knowledge: r.knowledge,
    signatures: r.signatures.map((s) => ({ ...s, seenBefore: s.seenBefore.map(priorView) })),
    applied: r.applied ?? null,
  };
}

/** One step for a one-line summary: its first line, cut at 72 characters. */
function step(text: string): string {
  const first = text.split('\n')[0]!.trim();
  const cut = first.length > 72 ? `${first.slice(0, 71)}…` : first;
  return terminalSafe(text.includes('\n') && !cut.endsWith('…') ? `${cut} …` : cut);
}

/** Steps joined, with a run of the same step shown once with its count: "Edit a.ex (×6)". */
function steps(list: string[], sep: string): string {
  const out: string[] = [];
  for (let i = 0; i < list.length; ) {
    let j = i;
    while (j < list.length && list[j] === list[i]) j++;
    out.push(j - i > 1 ? `${list[i]} (×${j - i})` : list[i]!);
    i = j;
  }
  return out.join(sep);
}

const STATUS: Record<string, string> = { resolved: 'resolved and verified', 'fixed-unverified': 'fixed, not verified', unresolved: 'not resolved' };

export async function learnCommand(
  io: Io,
  opts: { session: string; incidentId?: string; query?: string; apply: boolean; outDir?: string; synthesizer?: string; json: boolean; progress: boolean },
): Promise<number> {
  const remote = opts.synthesizer === 'anthropic' || opts.synthesizer === 'openai';
  if (opts.progress && io.isTTY)
    io.err(`learning from session ${opts.session}${remote ? ` (asking the ${opts.synthesizer} model; this can take a minute)` : ''}…`);
  const res = await call<{ result: WireLearnResult }>(
    'Learn',
    'Learn',
    {
      sessionId: opts.session,
      incidentId: opts.incidentId ?? '',
      query: opts.query ?? '',
      applyRunbookUpdates: opts.apply,
      outDir: opts.outDir ? path.resolve(opts.outDir) : '',
      synthesizer: opts.synthesizer ?? '',
    },
    remote ? 15 * 60_000 : 5 * 60_000,
  );
  const r = res.result;
  const conflict = r.applied !== undefined && r.applied.conflicts.length > 0;
  if (opts.json) {
    io.json(learnView(r));
    return conflict ? EXIT.failure : EXIT.ok;
  }
  const rel = (p: string) => path.relative(r.outputDir, p);
  io.out(
    `session ${r.sessionId}${r.incidentId ? `, incident ${r.incidentId}` : ''}${r.query ? `, focused on "${r.query}" (${r.focus.entries} of ${r.focus.totalEntries} timeline entries)` : ''}`,
  );
  io.out(
    `synthesizer: ${r.synthesizer.used}${r.synthesizer.fallbackReason ? ` (fell back from ${r.synthesizer.requested}: ${r.synthesizer.fallbackReason})` : ''}`,
  );
  io.out(`output: ${r.outputDir} (${r.outputDirReason})`);
  if (r.incidents.length === 0) {
    io.out('');
    io.out('No incident found in this session (no failing check that the session then worked on).');
    io.out(`  postmortem  ${rel(r.postmortem.path)}`);
  }
  for (const i of r.incidents) {
    io.out('');
    io.out(`incident ${i.number}: ${terminalSafe(i.title)}`);
    io.out(
      `  status      ${STATUS[i.status] ?? i.status}${i.durationMs !== undefined ? ` (${Math.round(i.durationMs / 1000)} s from the first symptom to the verification)` : ''}`,
    );
    if (i.failedAttempts.length > 0)
      io.out(
        `  tried       ${steps(
          i.failedAttempts.map((t) => step(t.tool === 'Bash' ? t.command : `${t.tool} ${t.command}`)),
          '; ',
        )}`,
      );
    if (i.fix.length > 0)
      io.out(
        `  fix         ${steps(
          i.fix.map((f) => step(f.tool === 'Bash' ? f.change : `${f.tool} ${f.change}`)),
          '; ',
        )}`,
      );
    if (i.verification.length > 0)
      io.out(
        `  verified by ${steps(
          i.verification.map((v) => step(v.command)),
          ', then ',
        )}`,
      );
    io.out(`  postmortem  ${rel(i.postmortem)}`);
    if (i.proposal) io.out(`  proposal    ${rel(i.proposal)}`);
    if (i.knowledge) io.out(`  knowledge   ${rel(i.knowledge)}`);
    if (i.seenBefore.length > 0) {
      const fixed = i.seenBefore.filter((p) => p.resolved);
      io.out(
        `  seen before in ${plural(i.seenBefore.length, 'session')} (${i.seenBefore.map((p) => p.sessionId.slice(0, 8)).join(', ')})${fixed.length > 0 ? `; fixed by ${[...new Set(fixed.map((p) => p.fix))].join(' / ')}` : ''}`,
      );
    }
  }
  if (r.unrelated.length > 0 || r.missteps.length > 0) {
    io.out('');
    for (const u of r.unrelated) io.out(`not an incident: ${step(u.command)} failed (${u.why}): ${step(u.error)}`);
    for (const m of r.missteps) io.out(`misstep: ${step(m.tool === 'Bash' ? m.command : `${m.tool} ${m.command}`)}: ${step(m.error)}`);
  }
  for (const a of r.alreadyInRunbooks) io.out(`already in ${a.runbook} (${a.signatureId})`);
  if (r.applied) {
    io.out('');
    if (conflict) {
      io.err('runbook updates NOT applied (nothing was changed):');
      for (const c of r.applied.conflicts) io.err(`  ${c.file}: ${c.reason}`);
      return EXIT.failure;
    }
    if (r.applied.changed.length === 0) io.out(`runbook updates: nothing to apply; ${r.runbookDir} already has every fix from this session`);
    else for (const c of r.applied.changed) io.out(`applied: ${c.kind === 'new' ? 'created' : 'updated'} ${path.join(r.runbookDir, c.file)}`);
  }
  return EXIT.ok;
}

function learningView(l: WireLearning) {
  return {
    id: l.id,
    kind: l.kind,
    signatureId: l.signatureId ?? null,
    signature: l.signature ?? null,
    title: l.title,
    fix: l.fix,
    verification: l.verification,
    firstSeenAt: iso(l.firstSeenUnixMs),
    lastSeenAt: iso(l.lastSeenUnixMs),
    docPath: l.docPath ?? null,
    sessions: l.sessions,
    updatedAt: iso(l.updatedUnixMs),
  };
}

export async function learningsListCommand(io: Io, opts: { json: boolean; limit: number }): Promise<number> {
  const r = await call<{ learnings: WireLearning[] }>('Learn', 'ListLearnings', { limit: opts.limit });
  if (opts.json) {
    io.json({ learnings: r.learnings.map(learningView) });
    return EXIT.ok;
  }
  if (r.learnings.length === 0) {
    io.out('no learnings yet; learn from a session with: rbk learn <session-id>');
    return EXIT.ok;
  }
  io.out(
    table(
      ['ID', 'KIND', 'SESSIONS', 'LAST SEEN', 'TITLE'],
      r.learnings.map((l) => [l.id, l.kind, String(l.sessions), (iso(l.lastSeenUnixMs) ?? '-').slice(0, 16).replace('T', ' '), terminalSafe(l.title)]),
      { rightAlign: [2], keep: [0, 3], width: io.columns },
    ),
  );
  return EXIT.ok;
}

export async function learningsShowCommand(io: Io, opts: { id: string; json: boolean }): Promise<number> {
  const r = await call<{ learning: WireLearning; sources: { sessionId: string; runId: string; refs: string[]; createdUnixMs: number }[] }>(
    'Learn',
    'GetLearning',
    { id: opts.id },
  );
  const sources = r.sources.map((s) => ({ sessionId: s.sessionId, runId: s.runId, refs: s.refs, learnedAt: iso(s.createdUnixMs) }));
  if (opts.json) {
    io.json({ learning: learningView(r.learning), sources });
    return EXIT.ok;
  }
  const l = r.learning;
  io.out(`${l.id}  (${l.kind})  ${l.title}`);
  io.out(`  signature     ${l.signature ?? '-'} (${l.signatureId ?? 'none'})`);
  io.out(`  fix           ${l.fix}`);
  io.out(`  verification  ${l.verification}`);
  io.out(`  seen          ${iso(l.firstSeenUnixMs) ?? '-'} to ${iso(l.lastSeenUnixMs) ?? '-'} in ${plural(l.sessions, 'session')}`);
  if (l.docPath) io.out(`  doc           ${l.docPath}`);
  io.out('  provenance:');
  for (const s of sources) io.out(`    session ${s.sessionId} (run ${s.runId}, ${s.learnedAt}): interactions ${s.refs.join(', ')}`);
  return EXIT.ok;
}

export async function incidentsCommand(io: Io, opts: { json: boolean; minSessions: number; limit: number; progress: boolean }): Promise<number> {
  if (opts.progress && io.isTTY) io.err('clustering error signatures across sessions…');
  const r = await call<{ incidents: WireIncident[] }>('Learn', 'Incidents', { minSessions: opts.minSessions, limit: opts.limit }, 10 * 60_000);
  const incidents = r.incidents.map((i) => ({
    signatureId: i.signatureId,
    signature: i.signature,
    toolName: i.toolName,
    example: i.example,
    count: i.occurrences,
    sessions: i.sessions,
    firstSeenAt: iso(i.firstSeenUnixMs),
    lastSeenAt: iso(i.lastSeenUnixMs),
    resolved: i.resolvedSessions > 0,
    resolvedSessions: i.resolvedSessions,
    fixes: i.fixes,
  }));
  if (opts.json) {
    io.json({ incidents });
    return EXIT.ok;
  }
  if (incidents.length === 0) {
    io.out(
      opts.minSessions > 1
        ? `No failure was seen in ${opts.minSessions} or more sessions. \`rbk incidents --min-sessions 1\` lists one-off failures too.`
        : 'No failed tool calls in any stored session.',
    );
    return EXIT.ok;
  }
  io.out(
    table(
      ['SIGNATURE', 'COUNT', 'SESSIONS', 'FIRST SEEN', 'LAST SEEN', 'RESOLVED', 'ERROR'],
      incidents.map((i) => [
        i.signatureId,
        String(i.count),
        String(i.sessions.length),
        (i.firstSeenAt ?? '-').slice(0, 16).replace('T', ' '),
        (i.lastSeenAt ?? '-').slice(0, 16).replace('T', ' '),
        i.resolved ? `${i.resolvedSessions}/${i.sessions.length}: ${terminalSafe(i.fixes[0]?.fix ?? '')}` : 'no',
        terminalSafe(i.signature),
      ]),
      { rightAlign: [1, 2], keep: [0, 3, 4], drop: [3, 1], width: io.columns },
    ),
  );
  return EXIT.ok;
}
