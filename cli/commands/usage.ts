// `rbk usage daily|weekly|monthly|session`: tokens and cost by local day, week, month or session,
// with a per-model breakdown (the same reports as ccusage, from the deduplicated store).
import { call } from '../client.js';
import { EXIT } from '../errors.js';
import { plural, shortTime, table, usd, usdColumn } from '../format.js';
import type { Io } from '../io.js';
import { usageView } from '../views.js';
import type { WireUsageResponse, WireUsageTotals } from '../wire.js';

export type UsageReportName = 'daily' | 'weekly' | 'monthly' | 'session';

export interface UsageOptions {
  report: UsageReportName;
  sinceMs?: number;
  untilMs?: number;
  project?: string;
  agent?: string;
  timeZone: string;
  weekStart: 'monday' | 'sunday';
  breakdown: boolean;
  json: boolean;
}

const n = (x: number) => x.toLocaleString('en-US');

function cost(t: WireUsageTotals): string {
  return t.costUsd === undefined ? '?' : usd(t.costUsd);
}

/**
 * Claude Code's own bill (its telemetry) beside rbk's figure, and the part of it no transcript
 * shows: background requests (session titles, summaries, permission checks).
 */
function billedLine(b: NonNullable<WireUsageResponse['billed']>, totals: WireUsageTotals): string {
  const pct = (part: number, whole: number) => (whole > 0 ? `${((part / whole) * 100).toFixed(1)}%` : '0%');
  const bySource = b.auxiliaryBySource.map((s) => `${s.source} ${usd(s.costUsd)} (${plural(s.requests, 'request')})`).join(', ');
  return (
    `\nBilled by the agent itself (its telemetry, ${plural(b.requests, 'request')} in ${plural(b.sessions, 'session')}): ${b.costUsd === undefined ? '?' : usd(b.costUsd)}` +
    (totals.costUsd !== undefined ? `; rbk's figure from transcripts above: ${usd(totals.costUsd)}` : '') +
    `.\nAuxiliary (in no transcript): ${usd(b.auxiliaryCostUsd)}, ${plural(b.auxiliaryRequests, 'request')}, ${pct(b.auxiliaryCostUsd, b.costUsd ?? 0)} of the bill` +
    (bySource ? `: ${bySource}.` : '.')
  );
}

export async function usageCommand(io: Io, opts: UsageOptions): Promise<number> {
  const res = await call<WireUsageResponse>('Query', 'Usage', {
    report: opts.report,
    sinceUnixMs: opts.sinceMs ?? 0,
    untilUnixMs: opts.untilMs ?? 0,
    project: opts.project ?? '',
    timeZone: opts.timeZone,
    weekStart: opts.weekStart,
    agent: opts.agent ?? '',
  });
  if (opts.json) {
    io.json(
      usageView(res, {
        since: opts.sinceMs ?? 0,
        until: opts.untilMs ?? 0,
        project: opts.project ?? null,
        agent: opts.agent ?? null,
        weekStart: opts.weekStart,
      }),
    );
    return EXIT.ok;
  }
  if (res.rows.length === 0) {
    io.out('No usage in this range.');
    if (res.billed) io.out(billedLine(res.billed, res.totals));
    return EXIT.ok;
  }
  const first = { daily: 'DATE', weekly: 'WEEK OF', monthly: 'MONTH', session: 'SESSION' }[opts.report];
  const headers = [
    first,
    ...(opts.report === 'session' ? ['PROJECT', 'LAST ACTIVITY'] : []),
    'MODELS',
    'INPUT',
    'OUTPUT',
    'CACHE WRITE',
    'CACHE READ',
    'TOTAL',
    // Only when the range has any: most reports have none, and a column of zeros costs width.
    ...(res.totals.webSearchRequests > 0 ? ['SEARCHES'] : []),
    'COST',
  ];
  const lead = opts.report === 'session' ? 3 : 1;
  const rows: string[][] = [];
  const shortModel = (m: string) => m.replace(/^claude-/, '').replace(/-\d{8}$/, '');
  // Costs are formatted as one column (four decimals for all, when any is under a cent).
  const allTotals = [...res.rows.flatMap((r) => [r.totals, ...(opts.breakdown ? r.models.map((m) => m.totals) : [])]), res.totals];
  const costCells = usdColumn(allTotals.map((x) => x.costUsd));
  const costText = new Map(allTotals.map((t, i) => [t, costCells[i]!]));
  const nums = (t: WireUsageTotals) => [
    n(t.inputTokens),
    n(t.outputTokens),
    n(t.cacheCreationTokens),
    n(t.cacheReadTokens),
    n(t.totalTokens),
    ...(res.totals.webSearchRequests > 0 ? [n(t.webSearchRequests)] : []),
    costText.get(t) ?? cost(t),
  ];
  for (const r of res.rows) {
    const head = opts.report === 'session' ? [r.period.slice(0, 8), r.project || '-', shortTime(r.lastUnixMs)] : [r.period];
    rows.push([...head, r.models.map((m) => shortModel(m.model)).join(', '), ...nums(r.totals)]);
    if (opts.breakdown && r.models.length > 0) {
      for (const m of r.models) rows.push([...head.map(() => ''), `  └ ${shortModel(m.model)}`, ...nums(m.totals)]);
    }
  }
  rows.push(headers.map(() => ''));
  rows.push(['Total', ...Array<string>(lead - 1).fill(''), '', ...nums(res.totals)]);
  const right = headers.map((_, i) => i).filter((i) => i > lead);
  io.out(`Usage by ${{ daily: 'day', weekly: 'week', monthly: 'month', session: 'session' }[opts.report]} (time zone ${res.timeZone})`);
  // On a narrow terminal the cache columns go first (TOTAL still counts them), then the activity time.
  const drop = ['CACHE WRITE', 'CACHE READ', 'LAST ACTIVITY', 'OUTPUT'].map((h) => headers.indexOf(h)).filter((i) => i >= 0);
  io.out(table(headers, rows, { rightAlign: right, keep: [0], drop, width: io.columns }));
  if (res.unpricedModels.length > 0) {
    io.out(
      `\nCost "?" = unknown: ${plural(res.totals.unpricedMessages, 'response')} ${res.totals.unpricedMessages === 1 ? 'is' : 'are'} from models without a known price (${res.unpricedModels.join(', ')}).` +
        ' Add them under pricing.overrides in the config to price them.',
    );
  }
  if (res.billed) io.out(billedLine(res.billed, res.totals));
  if (res.undatedMessages > 0)
    io.out(
      `${plural(res.undatedMessages, 'response')} ${res.undatedMessages === 1 ? 'has' : 'have'} no timestamp: they count in the total, in no ${opts.report === 'monthly' ? 'month' : 'day'}.`,
    );
  return EXIT.ok;
}
