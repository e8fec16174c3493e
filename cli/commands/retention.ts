// `rbk retention [--dry-run]`: which sessions retention expires (or, without --dry-run, expire them now).
import { call } from '../client.js';
import { CliError, EXIT } from '../errors.js';
import { iso, plural, shortTime, table } from '../format.js';
import type { Io } from '../io.js';
import type { Confirmation } from '../parse.js';
import { bytes, countsText, runView } from './jobs.js';
import type { WireRetentionResponse, WireRetentionRows, WireRetentionS3 } from '../wire.js';

/** The central copy's part: null when the retention job has no S3 step (retention.s3.days unset, or not s3). */
const s3View = (s: WireRetentionS3 | null | undefined) =>
  s
    ? {
        days: s.days,
        cutoffDay: s.cutoffDay,
        location: s.location,
        partitions: s.partitions ?? [],
        objects: Number(s.objects),
        bytes: Number(s.bytes),
        sessions: Number(s.sessions),
        pinnedKept: Number(s.pinnedKept),
        error: s.error ?? null,
      }
    : null;

const rowsView = (r: WireRetentionRows) => ({
  hookEvents: Number(r?.hookEvents ?? 0),
  interactions: Number(r?.interactions ?? 0),
  messageUsage: Number(r?.messageUsage ?? 0),
  subagents: Number(r?.subagents ?? 0),
  learnRows: Number(r?.learnRows ?? 0),
});
const sum = (r: ReturnType<typeof rowsView>) => r.hookEvents + r.interactions + r.messageUsage + r.subagents + r.learnRows;

interface RetentionView {
  dryRun: boolean;
  days: number;
  cutoff: string | null;
  sessions: { id: string; project: string | null; lastActivityAt: string | null; rows: ReturnType<typeof rowsView> }[];
  pinnedKept: number;
  orphans: { hookEvents: number; interactions: number; messageUsage: number };
  spoolRejected: string[];
  artifactDirs: string[];
  run: ReturnType<typeof runView> | null;
  s3: ReturnType<typeof s3View>;
}

async function fetchRetention(dryRun: boolean): Promise<{ res: WireRetentionResponse; view: RetentionView }> {
  let res: WireRetentionResponse;
  try {
    res = await call<WireRetentionResponse>('Jobs', 'Retention', { dryRun }, dryRun ? 60_000 : 3600_000);
  } catch (err) {
    if (err instanceof CliError && err.message.startsWith('FAILED_PRECONDITION: ')) throw new CliError(err.message.slice(21), EXIT.failure);
    throw err;
  }
  const sessions = res.sessions.map((s) => ({ id: s.id, project: s.project ?? null, lastActivityAt: iso(s.lastActivityUnixMs), rows: rowsView(s.rows) }));
  const orphans = rowsView(res.orphans);
  const view: RetentionView = {
    dryRun: res.dryRun,
    days: res.days,
    cutoff: iso(res.cutoffUnixMs),
    sessions,
    pinnedKept: Number(res.pinnedKept),
    orphans: { hookEvents: orphans.hookEvents, interactions: orphans.interactions, messageUsage: orphans.messageUsage },
    spoolRejected: res.spoolRejected,
    artifactDirs: res.artifactDirs,
    run: res.run ? runView(res.run) : null,
    s3: s3View(res.s3),
  };
  return { res, view };
}

/** Would this run delete anything at all? */
function deletesSomething(view: RetentionView): boolean {
  return (
    view.sessions.length > 0 ||
    sum({ ...view.orphans, subagents: 0, learnRows: 0 }) > 0 ||
    view.artifactDirs.length > 0 ||
    view.spoolRejected.length > 0 ||
    (view.s3 !== null && view.s3.objects > 0)
  );
}

function renderRetention(res: WireRetentionResponse, view: RetentionView, width: number): string {
  const sessions = view.sessions;
  const verb = res.dryRun ? 'would be deleted' : 'were deleted';
  const out: string[] = [];
  out.push(`Retention keeps ${plural(res.days, 'day')}: sessions idle since before ${shortTime(res.cutoffUnixMs)} lose their history (pinned ones stay).`);
  if (sessions.length === 0) {
    out.push(`No sessions ${verb}.`);
  } else {
    out.push(`${plural(sessions.length, 'session')} ${sessions.length === 1 ? verb.replace('were', 'was') : verb}:`);
    out.push(
      table(
        ['SESSION', 'PROJECT', 'LAST ACTIVITY', 'ROWS'],
        res.sessions.map((s, i) => [s.id, s.project ?? '-', shortTime(s.lastActivityUnixMs), String(sum(sessions[i]!.rows))]),
        { rightAlign: [3], keep: [0], width },
      ),
    );
  }
  const extra: string[] = [];
  if (view.pinnedKept > 0) extra.push(`${plural(view.pinnedKept, 'pinned session')} past the cutoff kept`);
  const orphanRows = sum({ ...view.orphans, subagents: 0, learnRows: 0 });
  if (orphanRows > 0) extra.push(`${plural(orphanRows, 'row')} of no session ${res.dryRun ? 'would go' : 'went'}`);
  if (view.artifactDirs.length > 0) extra.push(plural(view.artifactDirs.length, 'artifact directory', 'artifact directories'));
  if (view.spoolRejected.length > 0) extra.push(plural(view.spoolRejected.length, 'rejected spool file'));
  if (extra.length > 0) out.push(`Also: ${extra.join('; ')}.`);
  const s3 = view.s3;
  if (s3) {
    const where = `Central copy ${s3.location} (keeps ${plural(s3.days, 'day')}: partitions before ${s3.cutoffDay})`;
    const pinned = s3.pinnedKept > 0 ? `${plural(s3.pinnedKept, 'pinned session')} kept` : '';
    if (s3.error) out.push(`${where}: ${s3.error}`);
    else if (s3.objects === 0) out.push(`${where}: no objects ${verb}${pinned ? ` (${pinned})` : ''}.`);
    else {
      out.push(
        `${where}: ${plural(s3.objects, 'object')} (${bytes(s3.bytes)}) of ${plural(s3.sessions, 'session')} in ${plural(s3.partitions.length, 'partition')} ${s3.objects === 1 ? verb.replace('were', 'was') : verb} (${s3.partitions.length <= 4 ? s3.partitions.join(', ') : `${s3.partitions[0]} … ${s3.partitions.at(-1)}`})${pinned ? `; ${pinned}` : ''}.`,
      );
    }
  }
  if (view.run) {
    out.push(
      view.run.status === 'ok'
        ? `Run ${view.run.id} ok: ${countsText(view.run.counts)}`
        : `Run ${view.run.id} ${view.run.status}: ${view.run.error ?? ''}\n  counts so far: ${countsText(view.run.counts)}`,
    );
  } else if (res.dryRun && sessions.length > 0) {
    out.push('Nothing was changed. Keep a session with: rbk sessions pin <id>');
  }
  return out.join('\n');
}

/** What a run would delete, shown before `rbk retention` (or `rbk jobs run retention`) asks. */
export async function retentionPreview(io: Io): Promise<Confirmation> {
  const { res, view } = await fetchRetention(true);
  const text = renderRetention(res, view, io.columns).replace(/\nNothing was changed\..*$/, '');
  return {
    text,
    question: `Delete ${view.sessions.length > 0 ? `the history of ${plural(view.sessions.length, 'session')}` : 'these'} now? This cannot be undone.`,
    nothingToDo: !deletesSomething(view),
  };
}

export async function retentionCommand(io: Io, opts: { dryRun: boolean; json: boolean }): Promise<number> {
  const { res, view } = await fetchRetention(opts.dryRun);
  // A preview that could not list the bucket is incomplete: exit 1 (the local part is still shown).
  const failed = (view.run !== null && view.run.status !== 'ok') || (view.s3?.error ?? null) !== null;
  if (opts.json) {
    io.json(view);
    return failed ? EXIT.failure : EXIT.ok;
  }
  io.out(renderRetention(res, view, io.columns));
  return failed ? EXIT.failure : EXIT.ok;
}
