// `rbk sessions tail [-f] [--session ID]`: the last events, and with -f every new hook event and
// interaction as the daemon stores it, until Ctrl-C (which exits 0).
import { closeClients, stream } from '../client.js';
import { CliError, EXIT } from '../errors.js';
import type { Io } from '../io.js';
import { liveEventView, terminalSafe } from '../views.js';
import type { WireLiveEvent } from '../wire.js';

const RED = '\x1b[31m';
const DIM = '\x1b[2m';
const CYAN = '\x1b[36m';
const RESET = '\x1b[0m';

export function renderLiveEvent(e: WireLiveEvent, color: boolean): string {
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

/** How often a follower whose daemon went away tries again. */
const RECONNECT_EVERY_MS = 1000;

export async function tailCommand(io: Io, opts: { follow: boolean; session?: string; last: number; json: boolean; all: boolean }): Promise<number> {
  const print = (e: WireLiveEvent) => {
    if (opts.json) process.stdout.write(`${JSON.stringify(liveEventView(e))}\n`);
    else io.out(renderLiveEvent(e, io.isTTY));
  };
  const request = (last: number) => ({ sessionId: opts.session ?? '', last, follow: opts.follow, includeHidden: opts.all });
  if (!opts.follow) {
    await stream<WireLiveEvent>('Query', 'Tail', request(opts.last), print).done;
    return EXIT.ok;
  }
  if (!opts.json && io.isTTY) io.err(`following ${opts.session ? `session ${opts.session}` : 'all sessions'}; Ctrl-C to stop`);
  // Ctrl-C (or a polite kill) ends the follow: exit 0. Anything else that ends the stream is the
  // daemon going away (a restart, an upgrade): say so, and follow again once it is back.
  let stopping = false;
  let current: { cancel: () => void } | undefined;
  let wake: (() => void) | undefined;
  const stop = () => {
    stopping = true;
    current?.cancel();
    wake?.();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const note = (text: string) => {
    if (opts.json) process.stderr.write(`${JSON.stringify({ notice: text, at: new Date().toISOString() })}\n`);
    else io.err(text);
  };
  try {
    let last = opts.last;
    let lost = false;
    while (!stopping) {
      let connected = false;
      const s = stream<WireLiveEvent>('Query', 'Tail', request(last), (e) => {
        if (!connected && lost) note('rbk: reconnected to rbkd; following again');
        connected = true;
        lost = false;
        print(e);
      });
      current = s;
      // The first message may be long in coming on a quiet machine: count an open stream as connected.
      const opened = setTimeout(() => {
        if (!connected && lost) note('rbk: reconnected to rbkd; following again');
        if (!connected) {
          connected = true;
          lost = false;
        }
      }, 1500);
      try {
        await s.done;
      } catch (err) {
        if (!(err instanceof CliError) || err.exitCode !== EXIT.unavailable) throw err;
      } finally {
        clearTimeout(opened);
      }
      if (stopping) break;
      if (!lost) note('rbk: rbkd went away (stopped or restarting); reconnecting… (Ctrl-C to stop)');
      lost = true;
      // Events before the gap are printed already; after it, only new ones.
      last = 0;
      closeClients();
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, RECONNECT_EVERY_MS);
      });
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  return EXIT.ok;
}
