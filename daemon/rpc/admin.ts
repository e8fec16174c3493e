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
      const counts = ctx.sessions.counts();
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
