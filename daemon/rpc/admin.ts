import fs from 'node:fs';
import { z } from 'zod';
import { PROTOCOL_VERSION, RBK_VERSION } from '../../common/version.js';
import type { DaemonContext } from '../context.js';
import { unary } from './errors.js';

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

export function adminHandlers(ctx: DaemonContext) {
  return {
    Status: unary(z.object({}), () => {
      // A damaged file can fail these reads: status must still answer, and say why.
      let counts = { sessions: 0, hookEvents: 0, interactions: 0, transcripts: 0 };
      let unannounced = 0;
      let countsError: string | undefined;
      try {
        counts = ctx.sessions.counts();
        unannounced = ctx.sessions.unannounced(0).total;
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
        writeError: ctx.hookWriter.writeFailure?.message ?? '',
        writeErrorSinceUnixMs: ctx.hookWriter.writeFailure?.sinceUnixMs ?? 0,
        startedBy: ctx.startedBy,
        logFile: ctx.startedBy === 'background' ? ctx.paths.logFile : '',
      };
    }),
  };
}
