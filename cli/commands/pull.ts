// `rbk pull [--since T] [--host H] [--json]`: copies other machines' sessions from the central copy
// into this index. They are read-only here; running it again adds only what is new.
import { localTimeZone, parseTimeArg, TimeArgError } from '../../common/time.js';
import { stream } from '../client.js';
import { CliError, EXIT } from '../errors.js';
import { plural } from '../format.js';
import type { Io } from '../io.js';
import type { WirePullProgress } from '../wire.js';

const mb = (b: number) => (b / 1024 / 1024).toFixed(1);

function bar(p: WirePullProgress, width = 24): string {
  if (p.phase === 'listing') return 'listing manifests…';
  const total = Number(p.manifestsTotal);
  const frac = total > 0 ? Number(p.manifestsDone) / total : 1;
  const filled = Math.round(frac * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.manifestsDone}/${total} sessions  ${mb(Number(p.bytesFetched))} MB  +${p.interactionsAdded} interactions  +${p.hookEventsAdded} hook events`;
}

export function parseSince(value: string | undefined): number {
  if (value === undefined) return 0;
  try {
    return Math.max(0, parseTimeArg(value, { tz: localTimeZone(), bound: 'since' }));
  } catch (err) {
    if (err instanceof TimeArgError) throw new CliError(`--since: ${err.message}`, EXIT.usage);
    throw err;
  }
}

export async function pullCommand(io: Io, opts: { since?: string; host?: string; json: boolean; progress: boolean; restoreOwn?: boolean }): Promise<number> {
  const request = { sinceUnixMs: parseSince(opts.since), host: opts.host ?? '', restoreOwn: opts.restoreOwn ?? false };
  let last: WirePullProgress | undefined;
  const tty = opts.progress && process.stderr.isTTY;
  const { done } = stream<WirePullProgress>('Sync', 'Pull', request, (p) => {
    last = p;
    if (tty && p.phase !== 'done') process.stderr.write(`\r\x1b[2K${bar(p)}`);
  });
  const cancel = () => process.exit(130);
  process.once('SIGINT', cancel);
  try {
    await done;
  } catch (err) {
    if (err instanceof CliError && err.message.startsWith('FAILED_PRECONDITION: ')) throw new CliError(err.message.slice(21), EXIT.failure);
    throw err;
  } finally {
    process.off('SIGINT', cancel);
    if (tty) process.stderr.write('\r\x1b[2K');
  }
  if (last?.phase !== 'done') throw new CliError('the daemon ended the pull without a summary; see its log (rbk doctor shows where)', EXIT.failure);
  const skipped = Object.fromEntries(Object.entries(last.skipped ?? {}).map(([k, v]) => [k, Number(v)]));
  const summary = {
    backend: last.backend,
    location: last.location,
    since: request.sinceUnixMs > 0 ? new Date(request.sinceUnixMs).toISOString() : null,
    host: opts.host ?? null,
    hosts: last.hosts,
    manifests: Number(last.manifestsTotal),
    sessionsAdded: Number(last.sessionsAdded),
    sessionsUpdated: Number(last.sessionsUpdated),
    sessionsUnchanged: Number(last.sessionsUnchanged),
    partsFetched: Number(last.partsFetched),
    bytesFetched: Number(last.bytesFetched),
    interactionsAdded: Number(last.interactionsAdded),
    hookEventsAdded: Number(last.hookEventsAdded),
    usageRows: Number(last.usageRows),
    skipped,
    problems: last.problems,
    seconds: Number(((Date.now() - Number(last.startedUnixMs)) / 1000).toFixed(2)),
  };
  // Skips that are not the person's problem: their own sessions and ones they already have here.
  const benign = new Set(['own-host', 'local-session', 'expired-locally']);
  const bad = Object.entries(skipped).filter(([k]) => !benign.has(k));
  if (opts.json) {
    io.json(summary);
    return bad.length > 0 ? EXIT.failure : EXIT.ok;
  }
  const lines = [
    `${opts.restoreOwn ? "Restored this machine's sessions" : 'Pulled'} from ${summary.location} (${summary.backend})${summary.hosts.length > 0 ? `, hosts ${summary.hosts.join(', ')}` : ''} in ${summary.seconds}s`,
    `  sessions        ${summary.sessionsAdded} new, ${summary.sessionsUpdated} updated, ${summary.sessionsUnchanged} unchanged (of ${summary.manifests} manifests)`,
    `  rows added      ${plural(summary.interactionsAdded, 'interaction')}, ${plural(summary.hookEventsAdded, 'hook event')} (${plural(summary.partsFetched, 'part')}, ${mb(summary.bytesFetched)} MB)`,
    `  skipped         ${
      Object.keys(skipped).length === 0
        ? 'none'
        : Object.entries(skipped)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')
    }`,
    ...summary.problems.map((p) => `  problem  ${p.reason}  ${p.key}: ${p.detail}`),
  ];
  if (bad.length > 0) lines.push('Objects that failed are retried by the next `rbk pull`; the daemon log has each one.');
  else if (summary.manifests === 0 && summary.sessionsAdded === 0)
    lines.push(
      opts.restoreOwn
        ? `Nothing to restore: the central copy holds no session of host ${opts.host ?? 'this machine'}${opts.since ? ' in that range' : ''} (rbk sessions --host shows host names).`
        : 'Nothing to pull: no other host has uploaded sessions in that range.',
    );
  else if (opts.restoreOwn) lines.push("They are this machine's own again (not read-only); running it again resumes or adds nothing.");
  io.out(lines.join('\n'));
  return bad.length > 0 ? EXIT.failure : EXIT.ok;
}
