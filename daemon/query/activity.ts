// When the work happens: an hour × weekday heatmap and Claude's 5-hour usage windows, both read
// from usage_rollup (15-minute UTC slots, kept exact by triggers) rather than from every response.
// A 15-minute slot lies inside one local hour in every time zone in use (all are whole quarter
// hours off UTC), and a 5-hour window starts on a whole UTC hour, so neither is approximated.
import { SESSION_PROJECT_MATCH } from '../store/sessions.js';
import type { ActivityCell, ActivityReport, UsageWindow } from '../../common/console-api.js';
import type { Db } from '../store/db.js';
import { offsetMs } from '../../common/time.js';

const SLOT_MS = 15 * 60_000;
const HOUR_MS = 3_600_000;
/** Claude's rate-limit window: it opens at the hour of the first request after the last one closed. */
export const WINDOW_MS = 5 * HOUR_MS;

interface SlotRow {
  slot: number;
  model: string;
  messages: number;
  priced: number;
  tokens: number;
  cost_usd: number;
}

export function activity(db: Db, f: { sinceMs?: number; untilMs?: number; project?: string; timeZone: string }): ActivityReport {
  const where = ['r.slot >= 0'];
  const params: Record<string, unknown> = {};
  if (f.sinceMs) {
    where.push('r.slot >= @since');
    params.since = Math.floor(f.sinceMs / SLOT_MS);
  }
  if (f.untilMs) {
    where.push('r.slot < @until');
    params.until = Math.ceil(f.untilMs / SLOT_MS);
  }
  let join = '';
  if (f.project) {
    join = 'JOIN sessions s ON s.id = r.session_id';
    where.push(SESSION_PROJECT_MATCH);
    params.project = f.project.toLowerCase();
  }
  const rows = db
    .prepare(
      `SELECT r.slot, r.model, SUM(r.messages) AS messages, SUM(r.priced) AS priced,
              SUM(r.input_tokens + r.output_tokens + r.cache_creation_tokens + r.cache_read_tokens) AS tokens, SUM(r.cost_usd) AS cost_usd
       FROM usage_rollup r ${join} WHERE ${where.join(' AND ')} GROUP BY r.slot, r.model ORDER BY r.slot`,
    )
    .all(params) as SlotRow[];

  const heatmap: ActivityCell[] = [];
  for (let weekday = 0; weekday < 7; weekday++) for (let hour = 0; hour < 24; hour++) heatmap.push({ weekday, hour, messages: 0, tokens: 0, costUsd: 0 });
  // The zone's offset changes at most twice a year: look it up once per UTC day.
  const offsets = new Map<number, number>();
  const localOf = (ms: number) => {
    const day = Math.floor(ms / 86_400_000);
    let off = offsets.get(day);
    if (off === undefined) offsets.set(day, (off = offsetMs(ms, f.timeZone)));
    const t = new Date(ms + off);
    return { weekday: t.getUTCDay(), hour: t.getUTCHours() };
  };

  const windows: (UsageWindow & { modelSet: Set<string> })[] = [];
  let open: (UsageWindow & { modelSet: Set<string> }) | undefined;
  for (const r of rows) {
    const start = r.slot * SLOT_MS;
    const { weekday, hour } = localOf(start);
    const cell = heatmap[weekday * 24 + hour];
    if (cell) {
      cell.messages += r.messages;
      cell.tokens += r.tokens;
      cell.costUsd += r.cost_usd;
    }
    if (!open || start >= open.endUnixMs) {
      const opens = Math.floor(start / HOUR_MS) * HOUR_MS;
      open = {
        startUnixMs: opens,
        endUnixMs: opens + WINDOW_MS,
        lastUnixMs: start,
        messages: 0,
        tokens: 0,
        costUsd: 0,
        costIncomplete: false,
        models: [],
        modelSet: new Set(),
      };
      windows.push(open);
    }
    open.lastUnixMs = start + SLOT_MS - 1;
    open.messages += r.messages;
    open.tokens += r.tokens;
    open.costUsd += r.cost_usd;
    if (r.priced < r.messages) open.costIncomplete = true;
    open.modelSet.add(r.model);
  }
  return {
    timeZone: f.timeZone,
    heatmap,
    windows: windows.map(({ modelSet, ...w }) => ({ ...w, models: [...modelSet].sort() })),
  };
}
