// rbk.v1.Jobs: job runs, running a job now, retention preview, pinning. The work is in daemon/jobs.
import type * as grpc from '@grpc/grpc-js';
import { z } from 'zod';
import type { DaemonContext } from '../context.js';
import { setPinned } from '../maintenance/pin.js';
import { scanStored } from '../redact/job.js';
import { planRetention, type RetentionRows } from '../maintenance/retention.js';
import { previewCentralCopyRetention } from '../sync/retention.js';
import type { JobRun } from '../jobs/runs.js';
import type { Scheduler } from '../jobs/scheduler.js';
import { toServiceError, unary } from './errors.js';
import { absentIfNull, forRequest } from '../../common/wire-schema.js';
import type { JobInfo as JobInfoMessage } from '../../common/wire/rbk/v1/JobInfo.js';
import type { JobProgress as JobProgressMessage } from '../../common/wire/rbk/v1/JobProgress.js';
import type { JobRun as JobRunMessage } from '../../common/wire/rbk/v1/JobRun.js';
import type { PinResponse as PinResponseMessage } from '../../common/wire/rbk/v1/PinResponse.js';
import type { RetentionSession as RetentionSessionMessage } from '../../common/wire/rbk/v1/RetentionSession.js';
import type { ListRunsRequest__Output } from '../../common/wire/rbk/v1/ListRunsRequest.js';
import type { PinRequest__Output } from '../../common/wire/rbk/v1/PinRequest.js';
import type { RedactScanRequest__Output } from '../../common/wire/rbk/v1/RedactScanRequest.js';
import type { RetentionRequest__Output } from '../../common/wire/rbk/v1/RetentionRequest.js';
import type { RunJobRequest__Output } from '../../common/wire/rbk/v1/RunJobRequest.js';

const listRuns = forRequest<ListRunsRequest__Output>()(z.object({ limit: z.number().int().min(0).max(10_000), job: z.string().max(64) }));
const runJob = forRequest<RunJobRequest__Output>()(z.object({ name: z.string().min(1, 'give a job name, e.g. retention').max(64) }));
const retention = forRequest<RetentionRequest__Output>()(z.object({ dryRun: z.boolean() }));
const redactScan = forRequest<RedactScanRequest__Output>()(z.object({ sessionId: z.string().max(128) }));
const pin = forRequest<PinRequest__Output>()(
  z.object({ sessionId: z.string().min(1, 'give a session id or a unique prefix of one').max(128), pinned: z.boolean() }),
);

/** How often a running job's progress is sent, at most. */
const PROGRESS_EVERY_MS = 100;

function runToProto(r: JobRun): JobRunMessage {
  return absentIfNull({
    id: r.id,
    job: r.job,
    trigger: r.trigger,
    startedUnixMs: r.startedAt,
    endedUnixMs: r.endedAt,
    status: r.status,
    counts: r.counts,
    error: r.error,
  });
}

function rowsToProto(r: RetentionRows) {
  return { hookEvents: r.hookEvents, interactions: r.interactions, messageUsage: r.messageUsage, subagents: r.subagents, learnRows: r.learnRows };
}

export function jobsHandlers(ctx: DaemonContext) {
  return {
    ListRuns: unary(listRuns, (req) => {
      const s = ctx.scheduler;
      return {
        runs: s.runs.list({ limit: req.limit || 20, job: req.job || undefined }).map(runToProto),
        jobs: s.jobs().map(
          (j): JobInfoMessage => ({
            name: j.name,
            description: j.description ?? undefined,
            schedule: j.schedule ?? undefined,
            nextRunUnixMs: j.nextRunAt ?? undefined,
            running: j.running !== null,
            runningRunId: j.running?.runId,
          }),
        ),
      };
    }),

    Run: (call: grpc.ServerWritableStream<unknown, unknown>) => {
      let handle: ReturnType<Scheduler['run']>;
      try {
        const req = runJob.parse(call.request);
        handle = ctx.scheduler.run(req.name, 'manual');
      } catch (err) {
        call.emit('error', toServiceError(err));
        return;
      }
      const base = { runId: handle.runId, job: handle.job, trigger: handle.trigger, startedUnixMs: handle.startedAt };
      let lastSent = 0;
      const stop = handle.onProgress((p) => {
        const now = Date.now();
        if (call.cancelled || (now - lastSent < PROGRESS_EVERY_MS && p.done < p.total)) return;
        lastSent = now;
        call.write({
          ...base,
          done: p.done,
          total: p.total,
          message: p.message ?? undefined,
          counts: p.counts ?? {},
          status: 'running',
        } satisfies JobProgressMessage);
      });
      // A client that goes away does not stop the run: it goes on, and `rbk jobs` shows how it ended.
      call.on('cancelled', stop);
      void handle.done.then((run) => {
        stop();
        if (call.cancelled) return;
        call.write(
          absentIfNull({
            ...base,
            final: true,
            status: run.status,
            counts: run.counts,
            error: run.error,
            endedUnixMs: run.endedAt,
            done: 1,
            total: 1,
            message: run.status,
          }) satisfies JobProgressMessage,
        );
        call.end();
      });
    },

    Retention: unary(retention, async (req) => {
      const s = ctx.scheduler;
      const plan = planRetention({ db: ctx.db, config: ctx.config, paths: ctx.paths, clock: s.clock });
      const s3 = await previewCentralCopyRetention({
        db: ctx.db,
        config: ctx.config,
        now: s.clock.now(),
        backend: ctx.storage,
        backendError: ctx.sync.engine.backendError,
      });
      const response = {
        dryRun: req.dryRun,
        days: plan.days,
        cutoffUnixMs: plan.cutoff,
        pinnedKept: plan.pinnedKept,
        orphans: {
          hookEvents: plan.orphans.hookEvents,
          interactions: plan.orphans.interactions,
          messageUsage: plan.orphans.messageUsage,
          subagents: 0,
          learnRows: 0,
        },
        spoolRejected: plan.spoolRejected,
        artifactDirs: plan.artifactDirs,
        s3: s3 && absentIfNull(s3),
      };
      const toProto = (list: typeof plan.sessions) =>
        list.map(
          (x): RetentionSessionMessage => absentIfNull({ id: x.id, project: x.project, lastActivityUnixMs: x.lastActivityAt, rows: rowsToProto(x.rows) }),
        );
      if (req.dryRun) return { ...response, sessions: toProto(plan.sessions) };
      const run: JobRun = await s.run('retention', 'manual').done;
      // What went: the planned sessions this run expired.
      const expiredAt = ctx.db.prepare('SELECT expired_at FROM sessions WHERE id = ?').pluck();
      const went = plan.sessions.filter((x) => {
        const at = expiredAt.get(x.id) as number | null | undefined;
        return typeof at === 'number' && at >= run.startedAt;
      });
      // What the run's S3 step deleted: its counts (the listing above was before the run).
      const c = run.counts;
      const s3Went = s3 && {
        ...absentIfNull(s3),
        objects: c.s3ObjectsDeleted ?? 0,
        bytes: c.s3BytesDeleted ?? 0,
        sessions: c.s3SessionsDeleted ?? 0,
        pinnedKept: c.s3PinnedKept ?? 0,
        partitions: (c.s3Partitions ?? 0) > 0 ? s3.partitions : [],
      };
      return { ...response, s3: s3Went, sessions: toProto(went), run: runToProto(run) };
    }),

    Pin: unary(pin, (req) => {
      const r = setPinned(ctx.db, ctx.sessions, req.sessionId, req.pinned, ctx.scheduler.clock.now());
      return absentIfNull({ sessionId: r.sessionId, pinned: r.pinned, changed: r.changed, expiredUnixMs: r.expiredAt }) satisfies PinResponseMessage;
    }),

    RedactScan: unary(redactScan, (req) => {
      const sessionId = req.sessionId ? ctx.sessions.resolveId(req.sessionId) : null;
      const r = scanStored(ctx.db, ctx.redaction, sessionId);
      return { ...r, mode: ctx.config.redaction.mode };
    }),
  };
}
