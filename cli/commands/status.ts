import { PROTOCOL_VERSION, RBK_VERSION } from '../../common/version.js';
import { call } from '../client.js';
import { CliError, EXIT } from '../errors.js';
import { STARTED_BY_TEXT, type StartedBy } from '../daemon-control.js';
import { duration, iso, plural } from '../format.js';
import type { Io } from '../io.js';

interface StatusResponse {
  daemonVersion: string;
  protocolVersion: number;
  pid: number;
  startedUnixMs: number;
  paths: { config: string; dataDir: string; socket: string; db: string; spoolDir: string };
  counts: { sessions: number; hookEvents: number; interactions: number; transcripts: number; spoolBacklog: number };
  dbBytes: number;
  configSource: string;
  writeError: string;
  writeErrorSinceUnixMs: number;
  startedBy: string;
  logFile: string;
}

export async function statusCommand(io: Io, opts: { json: boolean }): Promise<number> {
  const s = await call<StatusResponse>('Admin', 'Status', {});
  if (s.protocolVersion !== PROTOCOL_VERSION) {
    throw new CliError(
      `rbkd speaks protocol ${s.protocolVersion} but this rbk speaks ${PROTOCOL_VERSION}; restart the daemon from the same rbk version`,
      EXIT.failure,
    );
  }
  if (opts.json) {
    io.json({
      running: true,
      daemonVersion: s.daemonVersion,
      cliVersion: RBK_VERSION,
      protocolVersion: s.protocolVersion,
      pid: s.pid,
      startedAt: iso(s.startedUnixMs),
      startedBy: s.startedBy || 'foreground',
      logFile: s.logFile || null,
      paths: s.paths,
      config: s.configSource,
      counts: s.counts,
      dbBytes: s.dbBytes,
      writeError: s.writeError ? { message: s.writeError, since: iso(Number(s.writeErrorSinceUnixMs)) } : null,
    });
    return EXIT.ok;
  }
  io.out(
    [
      `rbkd ${s.daemonVersion} running (pid ${s.pid}, up ${duration(Date.now() - s.startedUnixMs)}, protocol ${s.protocolVersion})`,
      `  started    ${STARTED_BY_TEXT[(s.startedBy || 'foreground') as StartedBy] ?? s.startedBy}${s.logFile ? `; log ${s.logFile}` : ''}`,
      `  socket     ${s.paths.socket}`,
      `  database   ${s.paths.db} (${(s.dbBytes / 1024 / 1024).toFixed(1)} MB)`,
      `  config     ${s.configSource}`,
      `  sessions   ${s.counts.sessions}`,
      `  stored     ${plural(Number(s.counts.hookEvents), 'hook event')}, ${plural(Number(s.counts.interactions), 'interaction')}, ${plural(Number(s.counts.transcripts), 'transcript')}`,
      `  spool      ${Number(s.counts.spoolBacklog) === 0 ? 'empty' : `${plural(Number(s.counts.spoolBacklog), 'event')} waiting`}`,
      ...(s.writeError ? [`  WRITES FAILING since ${iso(Number(s.writeErrorSinceUnixMs))}: ${s.writeError}`] : []),
    ].join('\n'),
  );
  return EXIT.ok;
}
