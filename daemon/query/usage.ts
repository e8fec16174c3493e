// Token and cost reports (`rbk usage daily|weekly|monthly|session`), from message_usage: one row
// per API response, already deduplicated across split lines, resumes and forks, each with its
// own cost (NULL when its model has no known price).
//
// Day boundaries follow the asked time zone. Reports read usage_rollup (migrations/0003): the
// responses summed per 15-minute UTC slot, session and model, kept in step by triggers. Every
// time zone in use is a whole number of quarter hours off UTC, so each slot lies in one local day
// and is mapped to it once; a year of usage is tens of thousands of rows and Intl look-ups,
// however many responses it holds. Only a --since/--until that falls inside a slot reads the
// responses of that one slot.
import { SESSION_PROJECT_MATCH } from '../store/sessions.js';
import type { Db } from '../store/db.js';
import { PRICING_VERSION } from '../pricing/pricing.js';
import { dateKeyer, weekKey } from '../../common/time.js';

export type UsageReport = 'daily' | 'weekly' | 'monthly' | 'session';

export interface UsageFilter {
  report: UsageReport;
  sinceMs?: number;
  untilMs?: number;
  /** Case-insensitive substring of the session's project or cwd. */
  project?: string;
  timeZone: string;
  /** 0 = Sunday, 1 = Monday (default). */
  weekStart?: number;
  /** Only sessions of this agent (claude-code, codex, otel:<service.name>). */
  agent?: string;
}

export interface Totals {
  inputTokens: number;
  outputTokens: number;
  cacheCreationTokens: number;
  cacheReadTokens: number;
  totalTokens: number;
  /** USD; null when any response in the group is of a model without a known price. */
  costUsd: number | null;
  messages: number;
  unpricedMessages: number;
  /** Server-side web searches (billed per request; their cost is in costUsd). */
  webSearchRequests: number;
}

export interface ModelUsage {
  model: string;
  totals: Totals;
}

export interface UsageRow {
  /** daily: YYYY-MM-DD; weekly: the week's first day; monthly: YYYY-MM; session: the session id. */
  period: string;
  /** Session reports only. */
  sessionId: string | null;
  /** Session reports only: the session's project (or cwd); null when it has neither. */
  project: string | null;
  firstUnixMs: number;
  lastUnixMs: number;
  sessions: number;
  totals: Totals;
  models: ModelUsage[];
}

export interface UsageResult {
  report: UsageReport;
  timeZone: string;
  rows: UsageRow[];
  totals: Totals;
  models: ModelUsage[];
  unpricedModels: string[];
  pricingVersion: string;
  /** Responses without a timestamp: in the totals and session report, in no day. */
  undatedMessages: number;
}

const SLOT_MS = 15 * 60_000;

class Acc {
  i = 0;
  o = 0;
  cc = 0;
  cr = 0;
  cost = 0;
  n = 0;
  unpriced = 0;
  ws = 0;
  add(i: number, o: number, cc: number, cr: number, cost: number | null, n: number, priced: number, ws: number): void {
    this.ws += ws;
    this.i += i;
    this.o += o;
    this.cc += cc;
    this.cr += cr;
    this.cost += cost ?? 0;
    this.n += n;
    this.unpriced += n - priced;
  }
  merge(a: Acc): void {
    this.i += a.i;
    this.o += a.o;
    this.cc += a.cc;
    this.cr += a.cr;
    this.cost += a.cost;
    this.n += a.n;
    this.unpriced += a.unpriced;
    this.ws += a.ws;
  }
  totals(): Totals {
    return {
      inputTokens: this.i,
      outputTokens: this.o,
      cacheCreationTokens: this.cc,
      cacheReadTokens: this.cr,
      totalTokens: this.i + this.o + this.cc + this.cr,
      // Rounded to a millionth of a cent: sums of float products otherwise print as 1.2000000000000002.
      costUsd: this.unpriced > 0 ? null : Math.round(this.cost * 1e8) / 1e8,
      messages: this.n,
      unpricedMessages: this.unpriced,
      webSearchRequests: this.ws,
    };
  }
}

class Group {
  readonly all = new Acc();
  readonly byModel = new Map<string, Acc>();
  readonly sessions = new Set<string>();
  first = Infinity;
  last = -Infinity;
  add(model: string, i: number, o: number, cc: number, cr: number, cost: number | null, n: number, priced: number, ws: number): void {
    this.all.add(i, o, cc, cr, cost, n, priced, ws);
    let m = this.byModel.get(model);
    if (!m) {
      m = new Acc();
      this.byModel.set(model, m);
    }
    m.add(i, o, cc, cr, cost, n, priced, ws);
  }
  models(): ModelUsage[] {
    return [...this.byModel.entries()]
      .map(([model, a]) => ({ model, totals: a.totals() }))
      .sort(
        (a, b) =>
          (b.totals.costUsd ?? Infinity) - (a.totals.costUsd ?? Infinity) || b.totals.totalTokens - a.totals.totalTokens || a.model.localeCompare(b.model),
      );
  }
}

type SlotRow = [
  slot: number | null,
  sessionId: string | null,
  model: string,
  n: number,
  priced: number,
  i: number,
  o: number,
  cc: number,
  cr: number,
  cost: number | null,
  first: number | null,
  last: number | null,
  webSearches: number,
];

export function usageReport(db: Db, f: UsageFilter): UsageResult {
  const rows = slotRows(db, f);
  const groups = new Map<string, Group>();
  const overall = new Group();
  const periodOfSlot = new Map<number, string>();
  const weekStart = f.weekStart ?? 1;
  const dayOf = dateKeyer(f.timeZone);
  const periodOf = (slot: number): string => {
    let p = periodOfSlot.get(slot);
    if (p === undefined) {
      const day = dayOf(slot * SLOT_MS);
      p = f.report === 'daily' ? day : f.report === 'weekly' ? weekKey(day, weekStart) : day.slice(0, 7);
      periodOfSlot.set(slot, p);
    }
    return p;
  };
  let undated = 0;
  for (const [slot, sessionId, model, n, priced, i, o, cc, cr, cost, first, last, ws] of rows) {
    overall.add(model, i, o, cc, cr, cost, n, priced, ws);
    let key: string;
    if (f.report === 'session') key = sessionId ?? '';
    else if (slot === null || slot < 0) {
      undated += n;
      continue;
    } else key = periodOf(slot);
    let g = groups.get(key);
    if (!g) {
      g = new Group();
      groups.set(key, g);
    }
    g.add(model, i, o, cc, cr, cost, n, priced, ws);
    if (sessionId) g.sessions.add(sessionId);
    if (first !== null && first < g.first) g.first = first;
    if (last !== null && last > g.last) g.last = last;
  }

  let projects = new Map<string, string>();
  if (f.report === 'session' && groups.size > 0) {
    projects = new Map(
      db
        .prepare(`SELECT id, COALESCE(project, cwd, '') AS p FROM sessions WHERE id IN (SELECT value FROM json_each(?))`)
        .raw()
        .all(JSON.stringify([...groups.keys()])) as [string, string][],
    );
  }
  const out: UsageRow[] = [...groups.entries()].map(([key, g]) => ({
    period: key,
    sessionId: f.report === 'session' ? key : null,
    project: f.report === 'session' ? projects.get(key) || null : null,
    firstUnixMs: Number.isFinite(g.first) ? g.first : 0,
    lastUnixMs: Number.isFinite(g.last) ? g.last : 0,
    sessions: g.sessions.size,
    totals: g.all.totals(),
    models: g.models(),
  }));
  if (f.report === 'session') out.sort((a, b) => a.lastUnixMs - b.lastUnixMs || a.period.localeCompare(b.period));
  else out.sort((a, b) => a.period.localeCompare(b.period));

  const models = overall.models();
  return {
    report: f.report,
    timeZone: f.timeZone,
    rows: out,
    totals: overall.all.totals(),
    models,
    unpricedModels: models.filter((m) => m.totals.unpricedMessages > 0).map((m) => m.model),
    pricingVersion: PRICING_VERSION,
    undatedMessages: undated,
  };
}

/**
 * Usage summed per (slot, session, model) over [since, until): whole slots from usage_rollup,
 * and the partial slots at either end (a bound that is not on a quarter hour, such as "7d")
 * from message_usage itself.
 */
function slotRows(db: Db, f: UsageFilter): SlotRow[] {
  const since = f.sinceMs && f.sinceMs > 0 ? f.sinceMs : undefined;
  const until = f.untilMs && f.untilMs > 0 ? f.untilMs : undefined;
  const sessionConds: string[] = [];
  const params: Record<string, unknown> = {};
  if (f.project) {
    sessionConds.push(SESSION_PROJECT_MATCH);
    params.project = f.project.toLowerCase();
  }
  if (f.agent) {
    sessionConds.push('s.agent = @agent');
    params.agent = f.agent;
  }
  const joinSessions = sessionConds.length > 0;

  const where: string[] = [`r.model <> '<synthetic>'`];
  // Undated responses (slot -1) belong to no time range.
  if (since !== undefined || until !== undefined) where.push('r.slot >= 0');
  const firstWhole = since !== undefined ? Math.ceil(since / SLOT_MS) : undefined;
  const endWhole = until !== undefined ? Math.floor(until / SLOT_MS) : undefined;
  if (firstWhole !== undefined) {
    where.push('r.slot >= @firstWhole');
    params.firstWhole = firstWhole;
  }
  if (endWhole !== undefined) {
    where.push('r.slot < @endWhole');
    params.endWhole = endWhole;
  }
  where.push(...sessionConds);
  const rows = db
    .prepare(
      `SELECT r.slot, r.session_id, r.model, r.messages, r.priced, r.input_tokens, r.output_tokens, r.cache_creation_tokens,
              r.cache_read_tokens, CASE WHEN r.priced > 0 THEN r.cost_usd END, r.first_ts, r.last_ts, r.web_search_requests
       FROM usage_rollup r ${joinSessions ? 'JOIN sessions s ON s.id = r.session_id' : ''}
       WHERE ${where.join(' AND ')} AND r.messages > 0`,
    )
    .raw()
    .all(params) as SlotRow[];

  // Partial slots at the edges, straight from the responses (a few at most).
  const edges: [number, number][] = [];
  if (since !== undefined && until !== undefined && (endWhole as number) < (firstWhole as number)) edges.push([since, until]);
  else {
    if (since !== undefined && since < (firstWhole as number) * SLOT_MS) edges.push([since, Math.min((firstWhole as number) * SLOT_MS, until ?? Infinity)]);
    if (until !== undefined && until > (endWhole as number) * SLOT_MS) edges.push([Math.max((endWhole as number) * SLOT_MS, since ?? -Infinity), until]);
  }
  if (edges.length > 0) {
    const stmt = db
      .prepare(
        `SELECT m.ts / ${SLOT_MS}, COALESCE(m.session_id, ''), m.model, count(*), count(m.cost_usd), SUM(m.input_tokens), SUM(m.output_tokens),
                SUM(m.cache_creation_tokens), SUM(m.cache_read_tokens), SUM(m.cost_usd), MIN(m.ts), MAX(m.ts),
                SUM(m.web_search_requests)
         FROM message_usage m ${joinSessions ? 'JOIN sessions s ON s.id = m.session_id' : ''}
         WHERE m.ts >= @from AND m.ts < @to AND m.model <> '<synthetic>' ${sessionConds.map((c) => `AND ${c}`).join(' ')}
         GROUP BY 1, 2, 3`,
      )
      .raw();
    for (const [from, to] of edges) if (from < to) rows.push(...(stmt.all({ ...params, from, to }) as SlotRow[]));
  }
  return rows;
}
