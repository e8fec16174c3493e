import { call, stream } from '../client.js';
import { EXIT } from '../errors.js';
import { compactNumber, duration, shortTime, table, usd } from '../format.js';
import type { Io } from '../io.js';
import { hookEventView, renderTimeline, sessionView, timelineView, type ProtoHookEvent, type ProtoSession, type ProtoTimelineEntry } from '../views.js';

export async function sessionsListCommand(io: Io, opts: { json: boolean; limit: number }): Promise<number> {
  const res = await call<{ sessions: ProtoSession[] }>('Query', 'ListSessions', { limit: opts.limit, beforeUnixMs: 0 });
  const sessions = res.sessions.map(sessionView);
  if (opts.json) {
    io.json(sessions);
    return EXIT.ok;
  }
  if (sessions.length === 0) {
    io.out('No sessions yet. Register `rbk hook` in ~/.claude/settings.json (see README) and use Claude Code.');
    return EXIT.ok;
  }
  const rows = res.sessions.map((s) => {
    const end = s.endedUnixMs || s.lastActivityUnixMs;
    const tokens = s.tokens.input + s.tokens.output + s.tokens.cacheCreation + s.tokens.cacheRead;
    return [
      s.id.slice(0, 8),
      s.project || '-',
      shortTime(s.startedUnixMs),
      s.startedUnixMs ? duration(end - s.startedUnixMs) : '-',
      s.status,
      String(s.counts.prompts),
      String(s.counts.toolCalls),
      String(s.counts.toolFailures),
      String(s.counts.subagents),
      compactNumber(tokens),
      usd(s.costUsd),
    ];
  });
  io.out(table(['ID', 'PROJECT', 'START', 'DURATION', 'STATUS', 'PROMPTS', 'TOOLS', 'FAILED', 'AGENTS', 'TOKENS', 'COST'], rows, { rightAlign: [5, 6, 7, 8, 9, 10] }));
  return EXIT.ok;
}

export async function sessionsShowCommand(io: Io, opts: { id: string; json: boolean; payloads: boolean }): Promise<number> {
  const res = await call<{ session: ProtoSession; hookEvents: ProtoHookEvent[] }>('Query', 'GetSession', { id: opts.id, includePayloads: opts.payloads });
  const session = sessionView(res.session);
  const hookEvents = res.hookEvents.map((e) => hookEventView(e, opts.payloads));
  const timeline: ProtoTimelineEntry[] = [];
  await stream<ProtoTimelineEntry>('Query', 'GetTimeline', { id: res.session.id, includePayloads: false }, (e) => timeline.push(e)).done;
  if (opts.json) {
    io.json({ session, hookEvents, timeline: timeline.map(timelineView) });
    return EXIT.ok;
  }
  const s = res.session;
  io.out(
    [
      `Session ${s.id}  (${s.status}${s.endReason ? `: ${s.endReason}` : ''})`,
      `  project   ${s.project || '-'}   cwd ${s.cwd || '-'}`,
      `  started   ${shortTime(s.startedUnixMs)}   ended ${shortTime(s.endedUnixMs)}   last activity ${shortTime(s.lastActivityUnixMs)}`,
      `  model     ${s.model || '-'}   claude code ${s.ccVersion || '-'}   branch ${s.gitBranch || '-'}   host ${s.host}`,
      `  counts    ${s.counts.prompts} prompts, ${s.counts.toolCalls} tool calls (${s.counts.toolFailures} failed), ${s.counts.subagents} subagents, ${s.counts.hookEvents} hook events`,
      `  tokens    in ${s.tokens.input}  out ${s.tokens.output}  cache write ${s.tokens.cacheCreation}  cache read ${s.tokens.cacheRead}   cost ${usd(s.costUsd)}`,
      `  transcript ${s.transcriptPath || '-'}`,
      '',
    ].join('\n'),
  );
  io.out(renderTimeline(timeline, io.isTTY));
  const spooled = res.hookEvents.filter((e) => e.via === 'spool').length;
  const problems = res.hookEvents.filter((e) => e.problem);
  io.out(`\n${res.hookEvents.length} hook events (${spooled} delivered via the spool)${problems.length ? `, ${problems.length} with problems: ${problems[0]!.problem}` : ''}`);
  return EXIT.ok;
}
