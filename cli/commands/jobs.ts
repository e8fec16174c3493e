// `rbk jobs` (the last runs and the schedule) and `rbk jobs run <name>` (one run now).
import { call, stream } from '../client.js';
import { CliError, EXIT } from '../errors.js';
import { duration, iso, shortTime, table } from '../format.js';
import type { Io } from '../io.js';
import type { WireJobInfo, WireJobProgress, WireJobRun } from '../wire.js';

const numbers = (counts: Record<string, number>) => Object.fromEntries(Object.entries(counts ?? {}).map(([k, v]) => [k, Number(v)]));

/** One run in --json output (docs/jobs.md). */
export function runView(r: WireJobRun) {
  return {
    id: Number(r.id),
    job: r.job,
    trigger: r.trigger,
    startedAt: iso(r.startedUnixMs),
    endedAt: iso(r.endedUnixMs),
    durationMs: r.endedUnixMs !== undefined ? r.endedUnixMs - r.startedUnixMs : null,
    status: r.status,
    counts: numbers(r.counts),
    error: r.error ?? null,
  };
}

export function bytes(n: number): string {
  const abs = Math.abs(n);
  if (abs >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)}MB`;
  if (abs >= 1024) return `${(n / 1024).toFixed(1)}kB`;
  return `${n}B`;
}

/** Non-zero counts as k=v; byte counts in kB/MB. */
export function countsText(counts: Record<string, number>): string {
  const parts = Object.entries(counts)
    .filter(([, v]) => Number(v) !== 0)
    .map(([k, v]) => `${k}=${/^bytes/.test(k) ? bytes(Number(v)) : String(v)}`);
  return parts.length > 0 ? parts.join(' ') : '-';
}

/** The daemon says FAILED_PRECONDITION for "already running": the message alone says it all. */
function plain(err: unknown): unknown {
  if (err instanceof CliError && err.message.startsWith('FAILED_PRECONDITION: '))
    return new CliError(err.message.slice('FAILED_PRECONDITION: '.length), EXIT.failure);
  return err;
}

export async function jobsListCommand(io: Io, opts: { json: boolean; limit: number; job?: string }): Promise<number> {
  const res = await call<{ runs: WireJobRun[]; jobs: WireJobInfo[] }>('Jobs', 'ListRuns', { limit: opts.limit, job: opts.job ?? '' });
  const jobs = res.jobs.map((j) => ({
    name: j.name,
    description: j.description ?? null,
    schedule: j.schedule ?? null,
    nextRunAt: iso(j.nextRunUnixMs),
    running: j.running,
    runningRunId: j.running ? Number(j.runningRunId) : null,
  }));
  const runs = res.runs.map(runView);
  if (opts.json) {
    io.json({ jobs, runs });
    return EXIT.ok;
  }
  const out: string[] = [];
  out.push(
    table(
      ['JOB', 'SCHEDULE', 'NEXT RUN', 'NOW', 'WHAT'],
      jobs.map((j) => [
        j.name,
        j.schedule ?? 'on request',
        j.nextRunAt ? shortTime(Date.parse(j.nextRunAt)) : '-',
        j.running ? `running (run ${j.runningRunId})` : '-',
        j.description ?? '',
      ]),
      { keep: [0, 1, 2], width: io.columns },
    ),
  );
  out.push('');
  if (runs.length === 0) {
    out.push('No runs yet. Run one now with: rbk jobs run <name>');
  } else {
    out.push(
      table(
        ['ID', 'JOB', 'TRIGGER', 'STARTED', 'DURATION', 'STATUS', 'COUNTS', 'ERROR'],
        res.runs.map((r) => [
          String(r.id),
          r.job,
          r.trigger,
          shortTime(r.startedUnixMs),
          r.endedUnixMs !== undefined ? duration(r.endedUnixMs - r.startedUnixMs) : `${duration(Date.now() - r.startedUnixMs)}…`,
          r.status,
          countsText(numbers(r.counts)),
          r.error ?? '',
        ]),
        { rightAlign: [0], keep: [1, 3], drop: [2, 4], width: io.columns },
      ),
    );
  }
  io.out(out.join('\n'));
  return EXIT.ok;
}

function progressLine(p: WireJobProgress, width = 20): string {
  const frac = p.total > 0 ? Math.min(p.done / p.total, 1) : 0;
  const filled = Math.round(frac * width);
  return `${p.job} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.done}/${p.total} ${p.message}`.slice(0, (process.stderr.columns || 100) - 1);
}

export async function jobsRunCommand(io: Io, opts: { name: string; json: boolean; progress: boolean }): Promise<number> {
  let final: WireJobProgress | undefined;
  const tty = opts.progress && Boolean(process.stderr.isTTY);
  let handle: ReturnType<typeof stream<WireJobProgress>>;
  try {
    handle = stream<WireJobProgress>('Jobs', 'Run', { name: opts.name }, (p) => {
      if (p.final) final = p;
      else if (tty) process.stderr.write(`\r\x1b[2K${progressLine(p)}`);
    });
  } catch (err) {
    throw plain(err);
  }
  // Ctrl-C detaches: the run goes on in the daemon, and `rbk jobs` shows how it ended.
  const detach = () => {
    if (tty) process.stderr.write('\r\x1b[2K');
    process.stderr.write(`rbk: detached; the ${opts.name} run goes on in the daemon (see: rbk jobs)\n`);
    process.exit(130);
  };
  process.once('SIGINT', detach);
  try {
    await handle.done;
  } catch (err) {
    throw plain(err);
  } finally {
    process.off('SIGINT', detach);
    if (tty) process.stderr.write('\r\x1b[2K');
  }
  if (!final) throw new CliError(`the daemon ended the ${opts.name} run without reporting how it went; see: rbk jobs`, EXIT.failure);
  const run = runView({
    id: final.runId,
    job: final.job,
    trigger: final.trigger,
    startedUnixMs: final.startedUnixMs,
    endedUnixMs: final.endedUnixMs,
    status: final.status,
    counts: final.counts,
    error: final.error,
  });
  if (opts.json) {
    io.json(run);
  } else {
    const took = duration(run.durationMs);
    io.out(
      run.status === 'ok'
        ? `${run.job} ok in ${took} (run ${run.id}): ${countsText(run.counts)}`
        : `${run.job} ${run.status} after ${took} (run ${run.id}): ${run.error ?? 'no error recorded'}\n  counts so far: ${countsText(run.counts)}`,
    );
  }
  return run.status === 'ok' ? EXIT.ok : EXIT.failure;
}
