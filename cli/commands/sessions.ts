import { call, stream } from '../client.js';
import { EXIT } from '../errors.js';
import { duration, numberColumn, plural, shortTime, table, usd, usdColumn } from '../format.js';
import type { Io } from '../io.js';
import { hookEventView, renderTimeline, terminalSafe, sessionView, timelineView } from '../views.js';
import type { WireHookEvent, WireSession, WireTimelineEntry } from '../wire.js';

export interface SessionsListOptions {
  json: boolean;
  limit: number;
  project?: string;
  sinceMs?: number;
  untilMs?: number;
  tool?: string;
  errors?: boolean;
  host?: string;
  agent?: string;
}

export async function sessionsListCommand(io: Io, opts: SessionsListOptions): Promise<number> {
  const res = await call<{ sessions: WireSession[] }>('Query', 'ListSessions', {
    limit: opts.limit,
    beforeUnixMs: 0,
    project: opts.project ?? '',
    sinceUnixMs: opts.sinceMs ?? 0,
    untilUnixMs: opts.untilMs ?? 0,
    tool: opts.tool ?? '',
    errorsOnly: opts.errors ?? false,
    host: opts.host ?? '',
    agent: opts.agent ?? '',
  });
  const filtered = Boolean(opts.project || opts.sinceMs || opts.untilMs || opts.tool || opts.errors || opts.host || opts.agent);
  const sessions = res.sessions.map(sessionView);
  if (opts.json) {
    io.json(sessions);
    return EXIT.ok;
  }
  if (sessions.length === 0) {
    io.out(filtered ? 'No sessions match these filters.' : 'No sessions yet. Register `rbk hook` in ~/.claude/settings.json (see README) and use Claude Code.');
    return EXIT.ok;
  }
  const tokens = numberColumn(res.sessions.map((s) => s.tokens.input + s.tokens.output + s.tokens.cacheCreation + s.tokens.cacheRead));
  const costs = usdColumn(res.sessions.map((s) => s.costUsd));
  // The agent column only when it says something: more than one agent listed, or one asked for.
  const showAgent = Boolean(opts.agent) || new Set(res.sessions.map((s) => s.agent)).size > 1;
  const rows = res.sessions.map((s, i) => {
    const end = s.endedUnixMs ?? s.lastActivityUnixMs;
    return [
      s.id.slice(0, 8),
      ...(showAgent ? [terminalSafe(s.agent)] : []),
      terminalSafe(s.project || '-'),
      shortTime(s.startedUnixMs),
      s.startedUnixMs !== undefined && end !== undefined ? duration(end - s.startedUnixMs) : '-',
      s.status,
      String(s.counts.prompts),
      String(s.counts.toolCalls),
      String(s.counts.toolFailures),
      String(s.counts.subagents),
      tokens[i]!,
      costs[i]!,
    ];
  });
  const shift = (cols: number[]) => cols.map((c) => (showAgent && c >= 1 ? c + 1 : c));
  io.out(
    table(
      ['ID', ...(showAgent ? ['AGENT'] : []), 'PROJECT', 'START', 'DURATION', 'STATUS', 'PROMPTS', 'TOOLS', 'FAILED', 'SUBAGENTS', 'TOKENS', 'COST'],
      rows,
      {
        rightAlign: shift([5, 6, 7, 8, 9, 10]),
        keep: shift([0, 2]),
        drop: shift([8, 4, 3, 6, 10]),
        width: io.columns,
      },
    ),
  );
  return EXIT.ok;
}

export async function sessionsShowCommand(io: Io, opts: { id: string; json: boolean; payloads: boolean; pager?: boolean }): Promise<number> {
  const res = await call<{ session: WireSession; hookEvents: WireHookEvent[] }>('Query', 'GetSession', { id: opts.id, includePayloads: opts.payloads });
  const session = sessionView(res.session);
  const hookEvents = res.hookEvents.map((e) => hookEventView(e, opts.payloads));
  const timeline: WireTimelineEntry[] = [];
  await stream<{ entries: WireTimelineEntry[] }>('Query', 'GetTimelinePages', { id: res.session.id, includePayloads: opts.payloads }, (p) =>
    timeline.push(...p.entries),
  ).done;
  if (opts.json) {
    io.json({ session, hookEvents, timeline: timeline.map(timelineView) });
    return EXIT.ok;
  }
  const s = res.session;
  if (s.expiredUnixMs !== undefined) {
    io.out(
      `Session ${s.id} expired: retention deleted its history on ${shortTime(s.expiredUnixMs)} (last activity ${shortTime(s.lastActivityUnixMs)}).\n` +
        'Only its id is kept. To keep sessions longer, raise retention.local.days in the config, or pin them: rbk sessions pin <id>.',
    );
    return EXIT.ok;
  }
  const lines: string[] = [];
  const print = (t: string) => lines.push(t);
  print(
    [
      `Session ${s.id}  (${s.status}${s.endReason ? `: ${s.endReason}` : ''})`,
      `  project   ${s.project || '-'}   cwd ${s.cwd || '-'}`,
      `  started   ${shortTime(s.startedUnixMs)}   ended ${shortTime(s.endedUnixMs)}   last activity ${shortTime(s.lastActivityUnixMs)}`,
      `  model     ${s.model || '-'}   ${s.agent === 'claude-code' ? 'claude code' : `agent ${terminalSafe(s.agent)}`} ${s.ccVersion || '-'}   branch ${s.gitBranch || '-'}   host ${s.host}`,
      `  counts    ${plural(s.counts.prompts, 'prompt')}, ${plural(s.counts.toolCalls, 'tool call')} (${s.counts.toolFailures} failed), ${plural(s.counts.subagents, 'subagent')}, ${plural(s.counts.hookEvents, 'hook event')}`,
      `  tokens    in ${s.tokens.input}  out ${s.tokens.output}  cache write ${s.tokens.cacheCreation}  cache read ${s.tokens.cacheRead}   cost ${usd(s.costUsd)}`,
      `  transcript ${s.transcriptPath || '-'}`,
      '',
    ].join('\n'),
  );
  print(renderTimeline(timeline, io.isTTY, { payloads: opts.payloads }));
  const spooled = res.hookEvents.filter((e) => e.via === 'spool').length;
  const problems = res.hookEvents.filter((e) => e.problem);
  const failed = timeline.filter((e) => e.status === 'error' || e.kind === 'error').length;
  print(
    `\n${plural(res.hookEvents.length, 'hook event')} (${spooled} delivered via the spool)${problems.length ? `, ${problems.length} with problems: ${problems[0]!.problem}` : ''}` +
      (failed ? `; ${failed} failure${failed === 1 ? '' : 's'} marked "!"` : ''),
  );
  await page(io, lines.join('\n'), opts.pager !== false);
  return EXIT.ok;
}

/**
 * Prints `text`, through $PAGER (default `less -R`) when stdout is a terminal and the text is
 * taller than it. Falls back to plain printing when the pager cannot start.
 */
export async function page(io: Io, text: string, allowed = true): Promise<void> {
  const out = process.stdout;
  const pagerCmd = process.env.PAGER ?? 'less -R';
  if (!allowed || !io.isTTY || !out.isTTY || pagerCmd.trim() === '' || pagerCmd.trim() === 'cat') {
    io.out(text);
    return;
  }
  const rows = out.rows || 24;
  const cols = out.columns || 80;
  let height = 0;
  // eslint-disable-next-line no-control-regex
  for (const line of text.split('\n')) height += Math.max(1, Math.ceil(line.replace(/\x1b\[[0-9;]*m/g, '').length / cols));
  if (height < rows) {
    io.out(text);
    return;
  }
  const { spawn } = await import('node:child_process');
  const ok = await new Promise<boolean>((resolve) => {
    const child = spawn('/bin/sh', ['-c', pagerCmd], { stdio: ['pipe', 'inherit', 'inherit'], env: { ...process.env, LESS: process.env.LESS ?? 'FRX' } });
    child.on('error', () => resolve(false));
    child.on('close', (code) => resolve(code !== 127));
    child.stdin.on('error', () => {});
    child.stdin.end(`${text}\n`);
  });
  if (!ok) io.out(text);
}
