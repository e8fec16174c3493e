// Usage: cost per day stacked by model, tokens with cache reads and writes, per project, an
// hour × weekday heatmap and the 5-hour windows. The numbers are the daemon's usage report (the
// same as `rbk usage --json`), in this browser's time zone.
import { useEffect, useState } from 'preact/hooks';
import type { UsageResponse__Output as UsageResponse } from '../../../common/wire/rbk/v1/UsageResponse';
import type { ActivityReport } from '../../../common/console-api';
import { get } from '../api';
import { ChartBox, HBars, Heatmap, StackedBars } from '../charts';
import { fmtCost, fmtInt, fmtTime, fmtTokens } from '../format';
import { navigate } from '../router';

const round = (n: number) => Math.round(n * 1e6) / 1e6;

/** YYYY-MM-DD from first to last, at most 400 days (beyond that, only the days with data). */
function allDays(first: string | undefined, last: string | undefined): string[] {
  if (!first || !last) return [];
  const days: string[] = [];
  for (let t = Date.parse(`${first}T00:00:00Z`); t <= Date.parse(`${last}T00:00:00Z`) && days.length <= 400; t += 86_400_000) days.push(new Date(t).toISOString().slice(0, 10));
  return days.length > 400 ? [] : days;
}

export function Usage({ query }: { query: URLSearchParams }) {
  const days = query.get('days') ?? '30';
  const project = query.get('project') ?? '';
  const tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const [daily, setDaily] = useState<UsageResponse | null>(null);
  const [bySession, setBySession] = useState<UsageResponse | null>(null);
  const [act, setAct] = useState<ActivityReport | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const since = days === 'all' ? undefined : new Date(Date.now() - Number(days) * 86_400_000).toISOString().slice(0, 10);
    const q = { since, project, tz };
    Promise.all([get<UsageResponse>('/usage', { ...q, report: 'daily' }), get<UsageResponse>('/usage', { ...q, report: 'session' }), get<ActivityReport>('/activity', q)]).then(
      ([d, s, a]) => {
        setDaily(d);
        setBySession(s);
        setAct(a);
        setError(null);
      },
      (e: Error) => setError(e.message),
    );
  }, [days, project, tz]);

  const set = (k: string, v: string) => {
    const p = new URLSearchParams(query);
    if (v) p.set(k, v);
    else p.delete(k);
    navigate(`/usage?${p}`, true);
  };

  const models = daily ? [...new Set(daily.rows.flatMap((r) => r.models.map((m) => m.model)))].sort() : [];
  // The chart shows every day of the range, the quiet ones as gaps; the table lists the report's rows.
  const byDay = new Map((daily?.rows ?? []).map((r) => [r.period, r]));
  const span = allDays(daily?.rows[0]?.period, daily?.rows[daily.rows.length - 1]?.period);
  const labels = span.length > 0 ? span : (daily?.rows ?? []).map((r) => r.period);
  const costOf = (model: string) => labels.map((d) => byDay.get(d)?.models.find((m) => m.model === model)?.totals?.costUsd ?? 0);
  const tok = (k: 'inputTokens' | 'outputTokens' | 'cacheCreationTokens' | 'cacheReadTokens') => labels.map((d) => byDay.get(d)?.totals?.[k] ?? 0);

  const projects = new Map<string, { cost: number; tokens: number; sessions: number }>();
  for (const r of bySession?.rows ?? []) {
    const p = r.project ?? '(no project)';
    const cur = projects.get(p) ?? { cost: 0, tokens: 0, sessions: 0 };
    cur.cost += r.totals?.costUsd ?? 0;
    cur.tokens += r.totals?.totalTokens ?? 0;
    cur.sessions += 1;
    projects.set(p, cur);
  }
  const projectList = [...projects.entries()].sort((a, b) => b[1].cost - a[1].cost || b[1].tokens - a[1].tokens);
  const windows = (act?.windows ?? []).slice(-60);

  return (
    <>
      <div class="filters">
        <select value={days} onChange={(e) => set('days', (e.target as HTMLSelectElement).value)} aria-label="range">
          <option value="7">last 7 days</option>
          <option value="30">last 30 days</option>
          <option value="90">last 90 days</option>
          <option value="365">last year</option>
          <option value="all">all time</option>
        </select>
        <input placeholder="project" value={project} onChange={(e) => set('project', (e.target as HTMLInputElement).value)} aria-label="project" />
        <span class="muted">time zone {tz}</span>
      </div>
      {error ? <div class="notice error">{error}</div> : null}
      {daily ? (
        <div class="cards" data-testid="usage-totals">
          <div class="card">
            <div class="muted">cost</div>
            <div class="v">{fmtCost(daily.totals?.costUsd)}</div>
          </div>
          <div class="card">
            <div class="muted">tokens</div>
            <div class="v">{fmtTokens(daily.totals?.totalTokens)}</div>
          </div>
          <div class="card">
            <div class="muted">responses</div>
            <div class="v">{fmtInt(daily.totals?.messages)}</div>
          </div>
          {daily.unpricedModels.length ? (
            <div class="card">
              <div class="muted">no price known for</div>
              <div>{daily.unpricedModels.join(', ')}</div>
            </div>
          ) : null}
        </div>
      ) : null}
      <div class="split">
        <ChartBox
          testId="chart-daily-cost"
          title="Cost per day, by model"
          csvName="rbk-daily-cost.csv"
          header={['day', ...models, 'total']}
          rows={(daily?.rows ?? []).map((r) => [r.period, ...models.map((m) => round(r.models.find((x) => x.model === m)?.totals?.costUsd ?? 0)), r.totals?.costUsd === undefined ? null : round(r.totals.costUsd)])}
        >
          <StackedBars labels={labels} series={models.map((m) => ({ name: m, values: costOf(m) }))} format={fmtCost} />
        </ChartBox>
        <ChartBox
          testId="chart-daily-tokens"
          title="Tokens per day"
          csvName="rbk-daily-tokens.csv"
          header={['day', 'input', 'output', 'cache write', 'cache read', 'total']}
          rows={(daily?.rows ?? []).map((r) => [r.period, r.totals?.inputTokens ?? 0, r.totals?.outputTokens ?? 0, r.totals?.cacheCreationTokens ?? 0, r.totals?.cacheReadTokens ?? 0, r.totals?.totalTokens ?? 0])}
        >
          <StackedBars
            labels={labels}
            series={[
              { name: 'input', values: tok('inputTokens') },
              { name: 'output', values: tok('outputTokens') },
              { name: 'cache write', values: tok('cacheCreationTokens') },
              { name: 'cache read', values: tok('cacheReadTokens') },
            ]}
            format={fmtTokens}
          />
        </ChartBox>
        <ChartBox
          testId="chart-projects"
          title="Per project"
          csvName="rbk-projects.csv"
          header={['project', 'sessions', 'tokens', 'cost']}
          rows={projectList.map(([p, v]) => [p, v.sessions, v.tokens, round(v.cost)])}
        >
          <HBars items={projectList.slice(0, 20).map(([p, v]) => ({ label: p, value: v.cost }))} format={fmtCost} />
        </ChartBox>
        <ChartBox
          testId="chart-heatmap"
          title="Activity by hour and weekday (responses)"
          csvName="rbk-activity.csv"
          header={['weekday', 'hour', 'responses', 'tokens', 'cost']}
          rows={(act?.heatmap ?? []).filter((c) => c.messages > 0).map((c) => [['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][c.weekday] ?? '', c.hour, c.messages, c.tokens, round(c.costUsd)])}
        >
          <Heatmap cells={(act?.heatmap ?? []).map((c) => ({ weekday: c.weekday, hour: c.hour, value: c.messages }))} format={(n) => `${fmtInt(n)} responses`} />
        </ChartBox>
        <ChartBox
          testId="chart-windows"
          title="5-hour windows (latest 60)"
          csvName="rbk-5h-windows.csv"
          header={['window start', 'responses', 'tokens', 'cost', 'models']}
          rows={windows.map((w) => [new Date(w.startUnixMs).toISOString(), w.messages, w.tokens, round(w.costUsd), w.models.join(' ')])}
        >
          <StackedBars labels={windows.map((w) => fmtTime(w.startUnixMs))} series={[{ name: 'cost per window', values: windows.map((w) => w.costUsd) }]} format={fmtCost} />
        </ChartBox>
      </div>
    </>
  );
}
