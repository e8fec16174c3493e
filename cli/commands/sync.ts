// `rbk sync [--now] [--force]` (upload what is pending now) and `rbk sync status` (backlog, last
// success, last error, lag, where the copy goes). The work is in the daemon (daemon/sync).
import { call, stream } from '../client.js';
import { CliError, EXIT } from '../errors.js';
import { syncFailureCause } from '../../common/sync-failure.js';
import { duration, iso, plural, shortTime } from '../format.js';
import type { Io } from '../io.js';
import type { WireSyncProgress, WireSyncStatusResponse, WireSyncSummary } from '../wire.js';

function bytes(n: number): string {
  if (n >= 1024 * 1024 * 1024) return `${(n / 1024 / 1024 / 1024).toFixed(1)} GB`;
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} kB`;
  return `${n} B`;
}

/** `rbk sync --json` (docs/cli-json.md). */
export function summaryView(s: WireSyncSummary) {
  return {
    backend: s.backend,
    location: s.location,
    startedAt: iso(s.startedUnixMs),
    endedAt: iso(s.endedUnixMs),
    durationMs: s.endedUnixMs - s.startedUnixMs,
    sessions: {
      checked: Number(s.sessionsChecked),
      uploaded: Number(s.sessionsUploaded),
      unchanged: Number(s.sessionsUnchanged),
      failed: Number(s.sessionsFailed),
      deferred: Number(s.sessionsDeferred),
    },
    parts: Number(s.parts),
    manifests: Number(s.manifests),
    puts: Number(s.puts),
    bytes: Number(s.bytes),
    rows: { interactions: Number(s.interactions), hookEvents: Number(s.hookEvents) },
    backlogSessions: Number(s.backlogSessions),
    errors: (s.errors ?? []).map((e) => ({ sessionId: e.sessionId, error: e.error })),
  };
}

/** `rbk sync status --json` (docs/cli-json.md). */
export function statusView(s: WireSyncStatusResponse) {
  return {
    backend: s.backend,
    location: s.location,
    mirrorLocal: s.mirrorLocal,
    // The local copy is written only by `rbk sync` (sessionStorage.localExport: on-demand).
    onDemand: s.onDemand,
    backendError: s.backendError ?? null,
    backlog: { sessions: Number(s.backlogSessions), rows: Number(s.backlogRows), bytes: Number(s.backlogBytes), inBackoff: Number(s.sessionsInBackoff) },
    lastSuccessAt: iso(s.lastSuccessUnixMs),
    lastError: s.lastError ? { message: s.lastError, at: iso(s.lastErrorUnixMs), sessionId: s.lastErrorSessionId ?? null } : null,
    nextAttemptAt: iso(s.nextAttemptUnixMs),
    lagMs: Number(s.lagMs),
    synced: { sessions: Number(s.sessionsSynced), parts: Number(s.parts), bytes: Number(s.bytes) },
    running: s.running,
  };
}

export async function syncStatusCommand(io: Io, opts: { json: boolean }): Promise<number> {
  const view = statusView(await call<WireSyncStatusResponse>('Sync', 'Status', {}));
  if (opts.json) {
    io.json(view);
    return view.backendError ? EXIT.failure : EXIT.ok;
  }
  const lines = [
    `backend      ${view.backend}${view.location ? `  ${view.location}` : ''}${view.onDemand ? '  (written on demand: rbk sync)' : ''}`,
    `backlog      ${plural(view.backlog.sessions, 'session')}, ${plural(view.backlog.rows, 'row')}, ${bytes(view.backlog.bytes)}${view.backlog.inBackoff > 0 ? ` (${view.backlog.inBackoff} waiting to retry${view.nextAttemptAt ? ` from ${shortTime(Date.parse(view.nextAttemptAt))}` : ''})` : ''}`,
    `lag          ${view.lagMs > 0 ? duration(view.lagMs) : 'none'}`,
    `last success ${view.lastSuccessAt ? shortTime(Date.parse(view.lastSuccessAt)) : 'never'}`,
    `last error   ${view.lastError ? `${shortTime(Date.parse(view.lastError.at ?? ''))} ${view.lastError.sessionId ? `(session ${view.lastError.sessionId}) ` : ''}${view.lastError.message}` : 'none'}`,
    `uploaded     ${plural(view.synced.sessions, 'session')}, ${plural(view.synced.parts, 'part')}, ${bytes(view.synced.bytes)}${view.running ? '  (uploading now)' : ''}`,
  ];
  if (view.lastError && !view.backendError) lines.push(`fix          ${syncFailureCause(view.lastError.message).fix}`);
  if (view.backendError)
    lines.push(
      `\nrbk cannot upload: ${view.backendError}\nFix integrations.claude.sessionStorage in the config, then restart rbkd (rbk doctor checks the config).`,
    );
  else if (view.lastError && view.backlog.inBackoff > 0) lines.push('\nUploads are retried with backoff; `rbk sync --now` retries right away.');
  io.out(lines.join('\n'));
  return view.backendError ? EXIT.failure : EXIT.ok;
}

export async function syncCommand(io: Io, opts: { json: boolean; now: boolean; force: boolean; progress: boolean }): Promise<number> {
  let final: WireSyncSummary | undefined;
  const tty = opts.progress && Boolean(process.stderr.isTTY);
  const handle = stream<WireSyncProgress>('Sync', 'Sync', { now: opts.now, force: opts.force }, (p) => {
    if (p.final && p.summary) final = p.summary;
    else if (tty) process.stderr.write(`\r\x1b[2Ksync ${p.done}/${p.total} ${p.sessionId} ${p.message}`.slice(0, (process.stderr.columns || 100) - 1));
  });
  // Ctrl-C detaches: what has been uploaded stays uploaded; the rest stays in the backlog.
  const detach = () => {
    if (tty) process.stderr.write('\r\x1b[2K');
    process.stderr.write('rbk: detached; the sync run goes on in the daemon (see: rbk sync status)\n');
    process.exit(130);
  };
  process.once('SIGINT', detach);
  try {
    await handle.done;
  } catch (err) {
    if (err instanceof CliError && err.message.startsWith('FAILED_PRECONDITION: '))
      throw new CliError(err.message.slice('FAILED_PRECONDITION: '.length), EXIT.failure);
    throw err;
  } finally {
    process.off('SIGINT', detach);
    if (tty) process.stderr.write('\r\x1b[2K');
  }
  if (!final) throw new CliError('the daemon ended the sync run without a summary; see: rbk sync status', EXIT.failure);
  const view = summaryView(final);
  const failed = view.sessions.failed > 0;
  if (opts.json) {
    io.json(view);
    return failed ? EXIT.failure : EXIT.ok;
  }
  const lines = [
    `sync to ${view.location}: ${plural(view.sessions.uploaded, 'session')} uploaded (${plural(view.parts, 'part')}, ${plural(view.manifests, 'manifest')}, ${bytes(view.bytes)}; ${plural(view.rows.interactions, 'interaction')}, ${plural(view.rows.hookEvents, 'hook event')}) in ${duration(view.durationMs)}`,
  ];
  if (view.sessions.unchanged > 0) lines.push(`  ${view.sessions.unchanged} already up to date`);
  if (view.sessions.deferred > 0) lines.push(`  ${view.sessions.deferred} waiting to retry after a failure (rbk sync --now retries them now)`);
  if (failed) {
    lines.push(
      `  ${plural(view.sessions.failed, 'session')} failed; ${view.sessions.failed === 1 ? 'it stays' : 'they stay'} in the backlog and ${view.sessions.failed === 1 ? 'is' : 'are'} retried with backoff:`,
    );
    // One line per distinct error, with how many sessions hit it: the counts add up to the total.
    const groups = new Map<string, string[]>();
    for (const e of view.errors) groups.set(e.error, [...(groups.get(e.error) ?? []), e.sessionId]);
    const fixes = new Set<string>();
    for (const [error, ids] of groups) {
      const { cause, fix } = syncFailureCause(error);
      fixes.add(fix);
      lines.push(
        `    ${cause}: ${error} (${plural(ids.length, 'session')}: ${ids
          .slice(0, 3)
          .map((id) => id.slice(0, 8))
          .join(', ')}${ids.length > 3 ? ', …' : ''})`,
      );
    }
    const unlisted = view.sessions.failed - view.errors.length;
    if (unlisted > 0) lines.push(`    and ${plural(unlisted, 'more session')} (the daemon reports the first ${view.errors.length}; see its log)`);
    for (const f of fixes) lines.push(`  fix: ${f}`);
  }
  lines.push(`  backlog now: ${plural(view.backlogSessions, 'session')}`);
  io.out(lines.join('\n'));
  return failed ? EXIT.failure : EXIT.ok;
}
