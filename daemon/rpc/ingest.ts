import path from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { z } from 'zod';
import { importTranscripts, transcriptRoots, type ImportProgress } from '../ingest/importer.js';
import { isSafeId } from '../../common/ids.js';
import type { DaemonContext } from '../context.js';
import { systemClock } from '../jobs/clock.js';
import { pastRetention } from '../maintenance/retention.js';
import { UserError } from '../errors.js';
import { toServiceError } from './errors.js';
import { unary } from './errors.js';
import { absentIfNull, forRequest } from '../../common/wire-schema.js';
import type { SubmitHookResponse } from '../../common/wire/rbk/v1/SubmitHookResponse.js';
import type { ImportRequest__Output } from '../../common/wire/rbk/v1/ImportRequest.js';
import type { SubmitHookRequest__Output } from '../../common/wire/rbk/v1/SubmitHookRequest.js';

const importRequest = forRequest<ImportRequest__Output>()(
  z.object({
    paths: z
      .array(
        z
          .string()
          .min(1)
          .max(4096)
          .refine((p) => path.isAbsolute(p) && !p.includes('\0'), 'paths must be absolute (the CLI resolves them)'),
      )
      .max(1000),
  }),
);

function progressToProto(p: ImportProgress, roots: string[]) {
  return {
    filesTotal: p.filesTotal,
    filesDone: p.filesDone,
    bytesTotal: p.bytesTotal,
    bytesDone: p.bytesDone,
    sessions: p.sessions,
    interactionsAdded: p.interactionsAdded,
    linesRead: p.linesRead,
    skipped: p.skipped,
    errors: p.errors.slice(0, 100),
    currentFile: p.currentFile,
    done: p.done,
    startedUnixMs: p.startedAt,
    roots,
    pastRetentionSessions: p.pastRetention?.sessions ?? 0,
    pastRetentionOldestUnixMs: p.pastRetention?.oldestUnixMs ?? 0,
    retentionDays: p.pastRetention?.days ?? 0,
    searchIndexPending: p.searchIndexPending ?? 0,
  };
}

const submitHook = forRequest<SubmitHookRequest__Output>()(
  z.object({
    eventId: z.string().refine(isSafeId, 'event_id must be 1-128 letters, digits, "-" or "_" (the hook sends a UUID)'),
    eventName: z.string().max(128),
    payload: z.instanceof(Buffer),
    hookStartedUnixMs: z.number().int().nonnegative(),
    sentUnixMs: z.number().int().nonnegative(),
    clientVersion: z.string().max(64),
  }),
);

export function ingestHandlers(ctx: DaemonContext) {
  return {
    SubmitHook: unary(submitHook, async (req) => {
      const result = await ctx.hookWriter.submit({
        eventId: req.eventId,
        eventName: req.eventName,
        payload: req.payload,
        hookStartedAt: req.hookStartedUnixMs || undefined,
        sentAt: req.sentUnixMs || undefined,
        via: 'direct',
        receivedAt: Date.now(),
      });
      return absentIfNull({ stored: result.stored, sessionId: result.sessionId, problem: result.problem }) satisfies SubmitHookResponse;
    }),
    // The daemon stays the only writer: the CLI asks, the daemon reads the files.
    Import: (call: grpc.ServerWritableStream<unknown, unknown>) => {
      let cancelled = false;
      call.on('cancelled', () => {
        cancelled = true;
      });
      (async () => {
        const req = importRequest.parse(call.request);
        const roots = req.paths.length > 0 ? req.paths.map((p) => path.normalize(p)) : transcriptRoots(ctx.config.ingest.transcriptRoots);
        if (roots.length === 0)
          throw new UserError(
            'found no transcripts folder (~/.claude/projects, ~/.config/claude/projects, $CLAUDE_CONFIG_DIR/projects, config ingest.transcriptRoots); pass the folder to import',
          );
        ctx.log.info('import started', { roots });
        const final = await importTranscripts(
          ctx.ingester,
          roots,
          (p) => call.write(progressToProto(p, roots)),
          () => cancelled,
          (ids) => ({ pastRetention: pastRetention(ctx.db, ctx.config, systemClock, ids) }),
        );
        ctx.log.info('import finished', { files: final.filesDone, sessions: final.sessions, interactions: final.interactionsAdded, skipped: final.skipped });
      })().then(
        () => call.end(),
        (err) => {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') err = new UserError(`no such file or folder: ${(err as NodeJS.ErrnoException).path}`);
          call.emit('error', toServiceError(err));
        },
      );
    },
  };
}
