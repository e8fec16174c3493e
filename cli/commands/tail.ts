// `rbk sessions tail [-f] [--session ID]`: the last events, and with -f every new hook event and
// interaction as the daemon stores it, until Ctrl-C (which exits 0).
import { stream } from '../client.js';
import { EXIT } from '../errors.js';
import type { Io } from '../io.js';
import { liveEventView, terminalSafe, type ProtoLiveEvent } from '../views.js';

const RED = '\x1b[31m';
const DIM = '\x1b[2m';
const CYAN = '\x1b[36m';
const RESET = '\x1b[0m';

export function renderLiveEvent(e: ProtoLiveEvent, color: boolean): string {
  const paint = (code: string, s: string) => (color ? `${code}${s}${RESET}` : s);
  const t = e.unixMs ? new Date(e.unixMs).toISOString().slice(11, 19) : '--:--:--';
  const what = e.source === 'hook' ? paint(CYAN, `hook ${e.kind}`) : e.kind;
  const tool = e.toolName ? ` ${e.toolName}` : '';
  const agent = e.agentId ? ` [${e.agentId}]` : '';
  const line = `${t} ${(e.sessionId || '-').slice(0, 8)}${agent} ${e.isError ? '!' : ' '} ${what}${tool}${e.text ? `  ${terminalSafe(e.text.replace(/\s+/g, ' ')).slice(0, 200)}` : ''}`;
  if (e.isError) return paint(RED, line);
  if (e.kind === 'thinking') return paint(DIM, line);
  return line;
}

export async function tailCommand(io: Io, opts: { follow: boolean; session?: string; last: number; json: boolean; all: boolean }): Promise<number> {
  const print = (e: ProtoLiveEvent) => {
    if (opts.json) process.stdout.write(`${JSON.stringify(liveEventView(e))}\n`);
    else io.out(renderLiveEvent(e, io.isTTY));
  };
  const s = stream<ProtoLiveEvent>('Query', 'Tail', { sessionId: opts.session ?? '', last: opts.last, follow: opts.follow, includeHidden: opts.all }, print);
  if (!opts.follow) {
    await s.done;
    return EXIT.ok;
  }
  if (!opts.json && io.isTTY) io.err(`following ${opts.session ? `session ${opts.session}` : 'all sessions'}; Ctrl-C to stop`);
  // Ctrl-C (or a polite kill) ends the stream; the call then resolves as cancelled: exit 0.
  const stop = () => s.cancel();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await s.done;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  return EXIT.ok;
}
