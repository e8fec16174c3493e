// Sessions: filters and sorting run in the daemon (SQL), pages of 200 load as the list scrolls,
// and only the visible rows are in the DOM, so 100,000 sessions cost what 50 do.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { Session__Output as Session } from '../../../common/wire/rbk/v1/Session';
import { get } from '../api';
import { fmtCost, fmtInt, fmtTime, fmtTokens } from '../format';
import { navigate } from '../router';
import { VirtualList } from '../virtual';

const PAGE = 200;
const SORTS: [string, string][] = [
  ['recent', 'Last active'],
  ['project', 'Project'],
  ['prompts', 'Title / prompts'],
  ['tools', 'Tools'],
  ['errors', 'Errors'],
  ['tokens', 'Tokens'],
  ['cost', 'Cost'],
  ['started', 'Host / started'],
];

export function sessionTitle(s: Session): string {
  return s.title || s.project || s.cwd || s.id;
}

export function Sessions({ query }: { query: URLSearchParams }) {
  const filters = {
    project: query.get('project') ?? '',
    tool: query.get('tool') ?? '',
    host: query.get('host') ?? '',
    errors: query.get('errors') === 'true',
    since: query.get('since') ?? '',
    sort: query.get('sort') ?? 'recent',
    ascending: query.get('ascending') === 'true',
  };
  const [rows, setRows] = useState<Session[]>([]);
  const [done, setDone] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState(0);
  const [scrollSeq, setScrollSeq] = useState(0);
  const loading = useRef(false);
  const key = JSON.stringify(filters);

  const sinceMs = filters.since ? Date.now() - Number(filters.since) * 86_400_000 : undefined;
  const load = useCallback(
    async (reset: boolean, current: Session[]) => {
      if (loading.current) return;
      loading.current = true;
      try {
        const last = current[current.length - 1];
        const res = await get<{ sessions: Session[] }>('/sessions', {
          limit: PAGE,
          project: filters.project,
          tool: filters.tool,
          host: filters.host,
          errors: filters.errors,
          since: sinceMs,
          sort: filters.sort,
          ascending: filters.ascending,
          before: !reset && filters.sort === 'recent' && last ? last.lastActivityUnixMs : undefined,
          offset: !reset && filters.sort !== 'recent' ? current.length : undefined,
        });
        setRows(reset ? res.sessions : [...current, ...res.sessions]);
        setDone(res.sessions.length < PAGE);
        setError(null);
      } catch (e) {
        setError((e as Error).message);
      } finally {
        loading.current = false;
      }
    },
    // biome-ignore lint/correctness/useExhaustiveDependencies: the filters are in key
    [key],
  );

  useEffect(() => {
    setRows([]);
    setDone(false);
    setSelected(0);
    load(true, []);
  }, [load]);

  const setFilter = (k: string, v: string | boolean) => {
    const q = new URLSearchParams(query);
    if (v === '' || v === false) q.delete(k);
    else q.set(k, String(v));
    navigate(`/?${q}`, true);
  };

  // The key handler reads the latest rows and selection through refs: keys pressed faster than
  // Preact re-renders (j then Enter) must act on what was just selected.
  const live = useRef({ rows, selected });
  live.current = { rows, selected };
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement;
      if (t && (t.tagName === 'INPUT' || t.tagName === 'SELECT' || (t.tagName === 'BUTTON' && e.key === 'Enter'))) return;
      const { rows: list, selected: at } = live.current;
      let next = at;
      if (e.key === 'j' || e.key === 'ArrowDown') next = Math.min(list.length - 1, at + 1);
      else if (e.key === 'k' || e.key === 'ArrowUp') next = Math.max(0, at - 1);
      else if (e.key === 'Enter' && list[at]) {
        e.preventDefault();
        navigate(`/sessions/${encodeURIComponent((list[at] as Session).id)}`);
        return;
      } else return;
      e.preventDefault();
      live.current.selected = next;
      setSelected(next);
      setScrollSeq((n) => n + 1);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  const sortBy = (s: string) => {
    const q = new URLSearchParams(query);
    if (filters.sort === s) q.set('ascending', String(!filters.ascending));
    else {
      q.set('sort', s);
      q.delete('ascending');
    }
    navigate(`/?${q}`, true);
  };

  const header = (
    <div class="srow head" role="row">
      {SORTS.map(([s, label]) => (
        <button type="button" key={s} class={s === 'tools' || s === 'errors' || s === 'tokens' || s === 'cost' ? 'num' : ''} onClick={() => sortBy(s)} data-sort={s}>
          {label}
          {filters.sort === s ? (filters.ascending !== (s === 'project') ? ' ▲' : ' ▼') : ''}
        </button>
      ))}
    </div>
  );

  return (
    <>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <input placeholder="project or path" value={filters.project} onChange={(e) => setFilter('project', (e.target as HTMLInputElement).value)} aria-label="project" />
        <input placeholder="tool (Bash)" value={filters.tool} onChange={(e) => setFilter('tool', (e.target as HTMLInputElement).value)} aria-label="tool" size={10} />
        <input placeholder="host" value={filters.host} onChange={(e) => setFilter('host', (e.target as HTMLInputElement).value)} aria-label="host" size={10} />
        <select value={filters.since} onChange={(e) => setFilter('since', (e.target as HTMLSelectElement).value)} aria-label="active since">
          <option value="">any time</option>
          <option value="1">last day</option>
          <option value="7">last 7 days</option>
          <option value="30">last 30 days</option>
        </select>
        <label>
          <input type="checkbox" checked={filters.errors} onChange={(e) => setFilter('errors', (e.target as HTMLInputElement).checked)} data-testid="errors-only" /> with errors
        </label>
        <span class="muted" data-testid="session-count">
          {fmtInt(rows.length)}
          {done ? '' : '+'} sessions
        </span>
      </form>
      {error ? <div class="notice error">{error}</div> : null}
      <VirtualList
        testId="sessions"
        items={rows}
        header={header}
        keyOf={(s) => s.id}
        estimate={() => 34}
        scrollTo={{ index: selected, seq: scrollSeq }}
        onNearEnd={() => {
          if (!done && rows.length > 0) load(false, rows);
        }}
        render={(s, i) => {
          const tokens = s.tokens ? s.tokens.input + s.tokens.output + s.tokens.cacheCreation + s.tokens.cacheRead : 0;
          const errors = s.counts?.toolFailures ?? 0;
          return (
            <div
              class={`srow${i === selected ? ' selected' : ''}`}
              role="row"
              data-session={s.id}
              onClick={() => navigate(`/sessions/${encodeURIComponent(s.id)}`)}
              title={s.cwd ?? ''}
            >
              <span>{fmtTime(s.lastActivityUnixMs)}</span>
              <span>{s.project ?? s.cwd ?? ''}</span>
              <span>
                {s.agent && s.agent !== 'claude-code' ? <span class="muted">{s.agent} · </span> : null}
                {sessionTitle(s)} <span class="muted">· {fmtInt(s.counts?.prompts)} prompts</span>
              </span>
              <span class="num">{fmtInt(s.counts?.toolCalls)}</span>
              <span class={`num${errors > 0 ? ' err' : ''}`}>{fmtInt(errors)}</span>
              <span class="num">{fmtTokens(tokens)}</span>
              <span class="num">{fmtCost(s.costUsd)}</span>
              <span class="muted">{s.host ?? ''}</span>
            </div>
          );
        }}
      />
    </>
  );
}
