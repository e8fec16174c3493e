import fs from 'node:fs';
import { z } from 'zod';
import { UserError } from '../errors.js';
import { PROTOCOL_VERSION, RBK_VERSION } from '../../common/version.js';
import type { DaemonContext } from '../context.js';
import type * as grpc from '@grpc/grpc-js';
import path from 'node:path';
import { forRequest } from '../../common/wire-schema.js';
import type { BackupRequest__Output } from '../../common/wire/rbk/v1/BackupRequest.js';
import type { UiLoginRequest__Output } from '../../common/wire/rbk/v1/UiLoginRequest.js';
import { configuredTarget, type BackupResult, type BackupTarget } from '../maintenance/backup.js';
import { toServiceError, unary } from './errors.js';

const backupRequest = forRequest<BackupRequest__Output>()(
  z.object({
    toDir: z
      .string()
      .max(4096)
      .refine((p) => path.isAbsolute(p) && !p.includes('\0'), 'to_dir must be an absolute path (the CLI resolves it)')
      .optional(),
    toCentralCopy: z.boolean(),
  }),
);

function resultToProto(r: BackupResult) {
  return { ...r, removed: r.removed };
}

const PROGRESS_EVERY_MS = 100;

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

const uiLoginRequest = forRequest<UiLoginRequest__Output>()(z.object({ next: z.string().max(2048) }));

export function adminHandlers(ctx: DaemonContext) {
  return {
    Backup: (call: grpc.ServerWritableStream<unknown, unknown>) => {
      let target: BackupTarget;
      try {
        const req = backupRequest.parse(call.request);
        if (req.toDir && req.toCentralCopy) throw new UserError('give a folder or the central copy, not both');
        target = req.toDir
          ? { kind: 'dir', dir: path.normalize(req.toDir) }
          : req.toCentralCopy
            ? { kind: 'central-copy' }
            : configuredTarget(ctx.config, ctx.paths);
      } catch (err) {
        call.emit('error', toServiceError(err));
        return;
      }
      let lastSent = 0;
      ctx.backups
        .run(target, (done, total) => {
          const now = Date.now();
          if (call.cancelled || (now - lastSent < PROGRESS_EVERY_MS && done < total)) return;
          lastSent = now;
          call.write({ pagesDone: done, pagesTotal: total, final: false });
        })
        .then(
          (r) => {
            call.write({ pagesDone: 0, pagesTotal: 0, final: true, result: resultToProto(r) });
            call.end();
          },
          (err) => call.emit('error', toServiceError(err)),
        );
    },
    Status: unary(z.object({}), () => {
      // A damaged file can fail these reads: status must still answer, and say why.
      let counts = { sessions: 0, hookEvents: 0, interactions: 0, transcripts: 0 };
      let unannounced = 0;
      let searchIndexPending = 0;
      let countsError: string | undefined;
      try {
        counts = ctx.sessions.counts();
        unannounced = ctx.sessions.unannounced(0).total;
        searchIndexPending = ctx.ingester.searchBacklog.pendingRows();
      } catch (err) {
        ctx.health.noteError(err, 'read');
        countsError = (err as Error).message;
      }
      const { damage, lastCheck } = ctx.health;
      return {
        daemonVersion: RBK_VERSION,
        protocolVersion: PROTOCOL_VERSION,
        pid: process.pid,
        startedUnixMs: ctx.startedAt,
        paths: {
          config: ctx.paths.config,
          dataDir: ctx.paths.dataDir,
          socket: ctx.paths.socket,
          db: ctx.paths.db,
          spoolDir: ctx.paths.spoolDir,
        },
        counts: {
          sessions: counts.sessions,
          hookEvents: counts.hookEvents,
          interactions: counts.interactions,
          transcripts: counts.transcripts,
          spoolBacklog: ctx.spool.backlog(),
          unannouncedSessions: unannounced,
          searchIndexPending,
        },
        countsError,
        store: {
          condition: damage ? 'damaged' : lastCheck ? 'ok' : 'unchecked',
          damage: damage?.detail,
          damagedSinceUnixMs: damage?.sinceUnixMs,
          foundBy: damage?.foundBy,
          lastCheck: lastCheck ?? undefined,
        },
        dbBytes: fileSize(ctx.paths.db) + fileSize(`${ctx.paths.db}-wal`),
        configSource: ctx.configSource,
        writeError: ctx.hookWriter.writeFailure?.message,
        writeErrorSinceUnixMs: ctx.hookWriter.writeFailure?.sinceUnixMs,
        startedBy: ctx.startedBy,
        logFile: ctx.startedBy === 'background' ? ctx.paths.logFile : '',
        ui: ctx.ui.status(),
        otel: { ...ctx.otlp.status(), events: ctx.telemetry.count() },
      };
    }),
    UiLogin: unary(uiLoginRequest, (req) => {
      const s = ctx.ui.status();
      if (!s.url) {
        throw new UserError(
          s.enabled
            ? `the web console is not serving (${s.error ?? 'unknown reason'}); fix ui.listen in the config and restart rbkd`
            : 'the web console is off (ui.enabled: false); turn it on in the config and restart rbkd',
          'precondition',
        );
      }
      return ctx.ui.login(req.next);
    }),
  };
}
