// `rbk start`, `rbk stop`, `rbk restart`: the daemon's lifecycle without having to know how it
// runs (service, background or terminal). The work is in cli/daemon-control.ts.
import { resolvePaths } from '../../common/paths.js';
import { rbkCommand, startDaemon, STARTED_BY_TEXT, stopDaemon, type StartResult, type StopResult } from '../daemon-control.js';
import { EXIT } from '../errors.js';
import type { Io } from '../io.js';

function startLine(r: StartResult, rbk: string): string {
  if (r.already) return `rbkd is already running (pid ${r.pid}, started ${STARTED_BY_TEXT[r.startedBy]}).`;
  const where = r.logFile ? `; its log is ${r.logFile}` : r.startedBy === 'systemd' ? '; its log: journalctl --user -u rbk' : '';
  return `rbkd started ${STARTED_BY_TEXT[r.startedBy]} (pid ${r.pid})${where}.\nStop it with: ${rbk} stop`;
}

function stopLine(r: StopResult): string {
  if (!r.wasRunning) return 'rbkd is not running.';
  return `rbkd stopped (pid ${r.pid}, it ran ${STARTED_BY_TEXT[r.startedBy!]}). Hook events spool until it runs again; nothing is lost.`;
}

export async function startCommand(io: Io, opts: { json: boolean; waitMs: number }): Promise<number> {
  const r = await startDaemon(resolvePaths(), opts.waitMs);
  if (opts.json) io.json({ started: !r.already, alreadyRunning: r.already, pid: r.pid, startedBy: r.startedBy, logFile: r.logFile });
  else io.out(startLine(r, rbkCommand()));
  return EXIT.ok;
}

export async function stopCommand(io: Io, opts: { json: boolean; waitMs: number }): Promise<number> {
  const r = await stopDaemon(resolvePaths(), opts.waitMs);
  if (opts.json) io.json({ stopped: r.wasRunning, wasRunning: r.wasRunning, pid: r.pid, startedBy: r.startedBy, via: r.how });
  else io.out(stopLine(r));
  return EXIT.ok;
}

export async function restartCommand(io: Io, opts: { json: boolean; waitMs: number }): Promise<number> {
  const paths = resolvePaths();
  const stopped = await stopDaemon(paths, opts.waitMs);
  // A daemon that ran under its service comes back under it; any other comes back in the background.
  const started = await startDaemon(paths, opts.waitMs);
  if (opts.json) {
    io.json({
      stopped: { wasRunning: stopped.wasRunning, pid: stopped.pid, startedBy: stopped.startedBy },
      started: { pid: started.pid, startedBy: started.startedBy, logFile: started.logFile },
    });
    return EXIT.ok;
  }
  io.out(stopLine(stopped));
  if (stopped.startedBy === 'foreground') io.out('It ran in a terminal; it runs in the background from now on.');
  io.out(startLine(started, rbkCommand()));
  return EXIT.ok;
}
