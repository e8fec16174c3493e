// rbk.v1.Sync: upload now with progress, and the central copy's status. The work is in daemon/sync.
import type * as grpc from '@grpc/grpc-js';
import { z } from 'zod';
import type { DaemonContext } from '../context.js';
import type { SyncService, SyncSummary } from '../sync/service.js';
import { toServiceError, unary } from './errors.js';
import { pullForDaemon, pullRequestSchema } from '../sync/pull.js';
import type { SyncSummary as SyncSummaryMessage } from '../../common/wire/rbk/v1/SyncSummary.js';
import { absentIfNull, forRequest } from '../../common/wire-schema.js';
import type { SyncStatusResponse } from '../../common/wire/rbk/v1/SyncStatusResponse.js';
import type { SyncRequest__Output } from '../../common/wire/rbk/v1/SyncRequest.js';

const syncRequest = forRequest<SyncRequest__Output>()(z.object({ now: z.boolean(), force: z.boolean() }));

/** How often progress is sent, at most. */
const PROGRESS_EVERY_MS = 100;

/** SyncSummary as the Sync RPC sends it (what `rbk sync` reads): the generated message type. */
export function summaryToProto(s: SyncSummary): SyncSummaryMessage {
  return {
    backend: s.backend,
    location: s.location,
    startedUnixMs: s.startedAt,
    endedUnixMs: s.endedAt,
    sessionsChecked: s.sessionsChecked,
    sessionsUploaded: s.sessionsUploaded,
    sessionsUnchanged: s.sessionsUnchanged,
    sessionsFailed: s.sessionsFailed,
    sessionsDeferred: s.sessionsDeferred,
    parts: s.parts,
    manifests: s.manifests,
    puts: s.puts,
    bytes: s.bytes,
    interactions: s.interactions,
    hookEvents: s.hookEvents,
    backlogSessions: s.backlogSessions,
    errors: s.errors,
  };
}

export function syncHandlers(ctx: DaemonContext) {
  return {
    Sync: (call: grpc.ServerWritableStream<unknown, unknown>) => {
      let sync: SyncService;
      let req: z.infer<typeof syncRequest>;
      try {
        req = syncRequest.parse(call.request);
        sync = ctx.sync;
      } catch (err) {
        call.emit('error', toServiceError(err));
        return;
      }
      let lastSent = 0;
      // A client that goes away does not stop the run: what it uploads stays uploaded.
      sync
        .run({
          now: req.now,
          force: req.force,
          onProgress: (p) => {
            const t = Date.now();
            if (call.cancelled || (t - lastSent < PROGRESS_EVERY_MS && p.done < p.total)) return;
            lastSent = t;
            call.write({ done: p.done, total: p.total, sessionId: p.sessionId, message: p.message });
          },
        })
        .then(
          (summary) => {
            if (call.cancelled) return;
            call.write({ final: true, done: summary.sessionsChecked, total: summary.sessionsChecked, summary: summaryToProto(summary) });
            call.end();
          },
          (err) => {
            if (!call.cancelled) call.emit('error', toServiceError(err));
          },
        );
    },

    Pull: (call: grpc.ServerWritableStream<unknown, unknown>) => {
      let req: z.infer<typeof pullRequestSchema>;
      try {
        req = pullRequestSchema.parse(call.request);
      } catch (err) {
        call.emit('error', toServiceError(err));
        return;
      }
      pullForDaemon(ctx, req, (p) => {
        if (!call.cancelled) call.write(p);
      }).then(
        (final) => {
          if (call.cancelled) return;
          call.write(final);
          call.end();
        },
        (err) => {
          if (!call.cancelled) call.emit('error', toServiceError(err));
        },
      );
    },

    Status: unary(z.object({}), () => {
      const s = ctx.sync.status();
      return absentIfNull({
        backend: s.backend,
        location: s.location,
        mirrorLocal: s.mirrorLocal,
        onDemand: s.onDemand,
        backlogSessions: s.backlogSessions,
        backlogBytes: s.backlogBytes,
        backlogRows: s.backlogRows,
        sessionsInBackoff: s.sessionsInBackoff,
        lastSuccessUnixMs: s.lastSuccessAt,
        lastError: s.lastError,
        lastErrorUnixMs: s.lastErrorAt,
        lastErrorSessionId: s.lastErrorSessionId,
        lagMs: s.lagMs,
        sessionsSynced: s.sessionsSynced,
        parts: s.parts,
        bytes: s.bytes,
        running: s.running,
        backendError: s.backendError,
        nextAttemptUnixMs: s.nextAttemptAt,
      }) satisfies SyncStatusResponse;
    }),
  };
}
