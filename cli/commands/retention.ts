// `rbk retention [--dry-run]`: which sessions retention expires (or, without --dry-run, expire them now).
import { call } from '../client.js';
import { CliError, EXIT } from '../errors.js';
import { iso, shortTime, table } from '../format.js';
import type { S3RetentionPreview } from '../../daemon/sync/s3-retention.js';
import type { Io } from '../io.js';
import { bytes, countsText, runView, type ProtoJobRun } from './jobs.js';

interface ProtoRows {
  hookEvents: number;
  interactions: number;
  messageUsage: number;
  subagents: number;
  learnRows?: number;
}

interface ProtoRetention {
  dryRun: boolean;
  days: number;
  cutoffUnixMs: number;
  sessions: { id: string; project: string; lastActivityUnixMs: number; rows: ProtoRows }[];
  pinnedKept: number;
  orphans: ProtoRows;
  spoolRejected: string[];
  artifactDirs: string[];
  run?: ProtoJobRun | null;
  s3?: ProtoRetentionS3 | null;
}

/** On the wire a missing error is '' rather than null. */
type ProtoRetentionS3 = Omit<S3RetentionPreview, 'error'> & { error: string };

/** The central copy's part: null when the retention job has no S3 step (retention.s3.days unset, or not s3). */
const s3View = (s: ProtoRetentionS3 | null | undefined) =>
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
        error: s.error || null,
      }
    : null;

const rowsView = (r: ProtoRows) => ({
  hookEvents: Number(r?.hookEvents ?? 0),
  interactions: Number(r?.interactions ?? 0),
  messageUsage: Number(r?.messageUsage ?? 0),
  subagents: Number(r?.subagents ?? 0),
  learnRows: Number(r?.learnRows ?? 0),
});
const sum = (r: ReturnType<typeof rowsView>) => r.hookEvents + r.interactions + r.messageUsage + r.subagents + r.learnRows;

export async function retentionCommand(io: Io, opts: { dryRun: boolean; json: boolean }): Promise<number> {
  let res: ProtoRetention;
  try {
    res = await call<ProtoRetention>('Jobs', 'Retention', { dryRun: opts.dryRun }, opts.dryRun ? 60_000 : 3600_000);
  } catch (err) {
    if (err instanceof CliError && err.message.startsWith('FAILED_PRECONDITION: ')) throw new CliError(err.message.slice(21), EXIT.failure);
    throw err;
  }
  const sessions = res.sessions.map((s) => ({ id: s.id, project: s.project || null, lastActivityAt: iso(s.lastActivityUnixMs), rows: rowsView(s.rows) }));
  const orphans = rowsView(res.orphans);
  const view = {
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
  // A preview that could not list the bucket is incomplete: exit 1 (the local part is still shown).
  const failed = (view.run !== null && view.run.status !== 'ok') || (view.s3?.error ?? null) !== null;
  if (opts.json) {
    io.json(view);
    return failed ? EXIT.failure : EXIT.ok;
  }
  const verb = res.dryRun ? 'would be deleted' : 'were deleted';
  const out: string[] = [];
  out.push(`Retention keeps ${res.days} days: sessions idle since before ${shortTime(res.cutoffUnixMs)} lose their history (pinned ones stay).`);
  if (sessions.length === 0) {
    out.push(`No sessions ${verb}.`);
  } else {
    out.push(`${sessions.length} session${sessions.length === 1 ? '' : 's'} ${verb}:`);
    out.push(
      table(
        ['SESSION', 'PROJECT', 'LAST ACTIVITY', 'ROWS'],
        res.sessions.map((s, i) => [s.id, s.project || '-', shortTime(s.lastActivityUnixMs), String(sum(sessions[i]!.rows))]),
        { rightAlign: [3] },
      ),
    );
  }
  const extra: string[] = [];
  if (view.pinnedKept > 0) extra.push(`${view.pinnedKept} pinned session${view.pinnedKept === 1 ? '' : 's'} past the cutoff kept`);
  const orphanRows = sum(orphans);
  if (orphanRows > 0) extra.push(`${orphanRows} rows of no session ${res.dryRun ? 'would go' : 'went'}`);
  if (view.artifactDirs.length > 0) extra.push(`${view.artifactDirs.length} artifact director${view.artifactDirs.length === 1 ? 'y' : 'ies'}`);
  if (view.spoolRejected.length > 0) extra.push(`${view.spoolRejected.length} rejected spool file${view.spoolRejected.length === 1 ? '' : 's'}`);
  if (extra.length > 0) out.push(`Also: ${extra.join('; ')}.`);
  const s3 = view.s3;
  if (s3) {
    const where = `Central copy ${s3.location} (keeps ${s3.days} days: partitions before ${s3.cutoffDay})`;
    if (s3.error) out.push(`${where}: ${s3.error}`);
    else if (s3.objects === 0) out.push(`${where}: no objects ${verb}${s3.pinnedKept > 0 ? ` (${s3.pinnedKept} pinned session${s3.pinnedKept === 1 ? '' : 's'} kept)` : ''}.`);
    else {
      const pinned = s3.pinnedKept > 0 ? `; ${s3.pinnedKept} pinned session${s3.pinnedKept === 1 ? '' : 's'} kept` : '';
      out.push(
        `${where}: ${s3.objects} object${s3.objects === 1 ? '' : 's'} (${bytes(s3.bytes)}) of ${s3.sessions} session${s3.sessions === 1 ? '' : 's'} in ${s3.partitions.length} partition${s3.partitions.length === 1 ? '' : 's'} ${verb} (${s3.partitions.length <= 4 ? s3.partitions.join(', ') : `${s3.partitions[0]} … ${s3.partitions.at(-1)}`})${pinned}.`,
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
  io.out(out.join('\n'));
  return failed ? EXIT.failure : EXIT.ok;
}
