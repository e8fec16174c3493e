// `rbk sessions search "<query>"`: ranked full-text hits, each linked to its session and interaction.
import { call } from '../client.js';
import { EXIT } from '../errors.js';
import { shortTime } from '../format.js';
import type { Io } from '../io.js';
import { searchHitView, splitHighlights, terminalSafe } from '../views.js';
import type { WireSearchHit } from '../wire.js';

export interface SearchOptions {
  query: string;
  json: boolean;
  raw: boolean;
  tool?: string;
  errors: boolean;
  project?: string;
  session?: string;
  agent?: string;
  sinceMs?: number;
  untilMs?: number;
  limit: number;
}

const BOLD_YELLOW = '\x1b[1;33m';
const RED = '\x1b[31m';
const DIM = '\x1b[2m';
const RESET = '\x1b[0m';

function terminalSafeSameLength(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '\ufffd');
}

export async function searchCommand(io: Io, opts: SearchOptions): Promise<number> {
  const res = await call<{ hits: WireSearchHit[]; ftsQuery: string; rankedWindow: number }>('Query', 'Search', {
    query: opts.query,
    raw: opts.raw,
    tool: opts.tool ?? '',
    errorsOnly: opts.errors,
    project: opts.project ?? '',
    sinceUnixMs: opts.sinceMs ?? 0,
    untilUnixMs: opts.untilMs ?? 0,
    limit: opts.limit,
    sessionId: opts.session ?? '',
    agent: opts.agent ?? '',
  });
  if (opts.json) {
    io.json({ query: opts.query, ftsQuery: res.ftsQuery, rankedWindow: res.rankedWindow || null, hits: res.hits.map((h, i) => searchHitView(h, i + 1)) });
    return EXIT.ok;
  }
  if (res.hits.length === 0) {
    io.out(`No matches for ${JSON.stringify(opts.query)}.`);
    return EXIT.ok;
  }
  const color = io.isTTY;
  const paint = (code: string, s: string) => (color ? `${code}${s}${RESET}` : s);
  const blocks = res.hits.map((h, i) => {
    // Control characters are replaced one for one, so highlight offsets stay valid.
    const split = splitHighlights(h.snippet);
    const text = terminalSafeSameLength(split.text);
    const highlights = split.highlights;
    let shown = '';
    let at = 0;
    for (const [s, e] of highlights) {
      shown += text.slice(at, s) + (color ? `${BOLD_YELLOW}${text.slice(s, e)}${RESET}` : `**${text.slice(s, e)}**`);
      at = e;
    }
    shown += text.slice(at);
    const what = h.toolName ? `${h.kind} ${h.toolName}` : h.kind;
    const head = [
      `${String(i + 1).padStart(2)}.`,
      h.sessionId.slice(0, 8),
      shortTime(h.unixMs),
      terminalSafe(h.project || '-'),
      h.isError ? paint(RED, `${what} (failed)`) : what,
    ].join('  ');
    return `${head}\n    ${shown.replace(/\s+/g, ' ').trim()}\n    ${paint(DIM, `rbk sessions show ${h.sessionId.slice(0, 8)}   interaction ${h.uuid}${h.blockIndex ? `#${h.blockIndex}` : ''}`)}`;
  });
  io.out(blocks.join('\n\n'));
  if (res.rankedWindow) {
    io.out(
      paint(
        DIM,
        `\n(very common words: ranked the ${res.rankedWindow.toLocaleString('en-US')} most recent matches; add words or filters to narrow the search)`,
      ),
    );
  }
  return EXIT.ok;
}
