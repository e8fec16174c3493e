// `rbk stats`: totals, top tools with failure rates, busiest projects, capture health.
import { call } from '../client.js';
import { EXIT } from '../errors.js';
import { compactNumber, numberColumn, plural, shortTime, table, usd, usdColumn, wrap } from '../format.js';
import type { Io } from '../io.js';
import { statsView, terminalSafe } from '../views.js';
import type { WireStatsResponse } from '../wire.js';

const pct = (r: number) => `${(r * 100).toFixed(1)}%`;

export async function statsCommand(io: Io, opts: { json: boolean; top: number }): Promise<number> {
  const res = await call<WireStatsResponse>('Query', 'Stats', { top: opts.top });
  const v = statsView(res);
  if (opts.json) {
    io.json(v);
    return EXIT.ok;
  }
  const t = v.totals;
  const out: string[] = [
    `Captured ${plural(t.sessions, 'session')} (${t.activeSessions} active) from ${shortTime(res.totals.firstUnixMs)} to ${shortTime(res.totals.lastUnixMs)}`,
    `  prompts ${t.prompts}   tool calls ${t.toolCalls} (${t.toolFailures} failed, ${pct(t.toolFailureRate)})   subagents ${t.subagents}`,
    `  interactions ${t.interactions}   hook events ${t.hookEvents}`,
    `  tokens ${compactNumber(t.tokens.total)} (in ${compactNumber(t.tokens.input)}, out ${compactNumber(t.tokens.output)}, cache write ${compactNumber(t.tokens.cacheCreation)}, cache read ${compactNumber(t.tokens.cacheRead)})`,
    `  cost ${usd(t.costUsd)}${t.unpricedSessions ? ` (${plural(t.unpricedSessions, 'session')} with unpriced models: cost unknown)` : ''}`,
    '',
  ].map((l) => wrap(l, io.columns, 4));
  if (v.tools.length > 0) {
    out.push('Top tools');
    out.push(
      table(
        ['TOOL', 'CALLS', 'FAILED', 'FAIL RATE', 'SESSIONS'],
        v.tools.map((x) => [terminalSafe(x.toolName), String(x.calls), String(x.failures), pct(x.failureRate), String(x.sessions)]),
        { rightAlign: [1, 2, 3, 4], width: io.columns },
      ),
    );
    out.push('');
  }
  if (v.projects.length > 0) {
    const tokens = numberColumn(res.projects.map((p) => p.tokens));
    const costs = usdColumn(res.projects.map((p) => p.costUsd));
    out.push('Busiest projects');
    out.push(
      table(
        ['PROJECT', 'SESSIONS', 'PROMPTS', 'TOOLS', 'FAILED', 'TOKENS', 'COST', 'LAST ACTIVE'],
        res.projects.map((p, i) => [
          terminalSafe(p.project || '(unknown)'),
          String(p.sessions),
          String(p.prompts),
          String(p.toolCalls),
          String(p.toolFailures),
          tokens[i]!,
          costs[i]!,
          shortTime(p.lastActivityUnixMs),
        ]),
        { rightAlign: [1, 2, 3, 4, 5, 6], keep: [7], drop: [2, 7, 4], width: io.columns },
      ),
    );
    out.push('');
  }
  const h = v.health;
  out.push('Capture health');
  out.push(`  spool backlog        ${h.spoolBacklog}${h.spoolBacklog > 0 ? '  (hook events waiting for the daemon to drain them)' : ''}`);
  out.push(
    `  transcripts          ${h.transcripts} (${h.transcriptsWithErrors} with read errors; last read ${shortTime(res.health.lastTranscriptReadUnixMs)})`,
  );
  out.push(`  skipped lines        ${h.skippedLines}`);
  if (h.unattributedSidechainLines > 0)
    out.push(
      `  unattributed subagent lines ${h.unattributedSidechainLines}  (Claude Code <= 2.0.27 sidechains not matched to a Task call; counted on the main thread)`,
    );
  out.push(`  hook events          last at ${shortTime(res.health.lastHookUnixMs)}; ${h.hookEventsWithProblems} stored with problems`);
  for (const e of h.transcriptErrors.slice(0, 5)) out.push(`  ! ${e.path}: ${e.error}`);
  if (h.jobs.length === 0) out.push('  jobs                 none has run yet');
  for (const j of res.health.jobs) {
    const bad = j.lastStatus === 'failed' || j.lastStatus === 'interrupted';
    out.push(
      `  job ${j.job.padEnd(16)} ${bad ? '! ' : ''}${j.lastStatus} at ${shortTime(j.lastStartedUnixMs)}${j.failedRuns ? ` (${j.failedRuns} of ${plural(j.runs, 'run')} failed)` : ''}${j.lastError ? `: ${j.lastError.slice(0, 120)}` : ''}`,
    );
  }
  // Prose lines wrap at words with a hanging indent; tables (several lines) already fit.
  io.out(out.map((l) => (l.includes('\n') ? l : wrap(l, io.columns, 4))).join('\n'));
  return EXIT.ok;
}
