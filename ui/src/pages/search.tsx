// Full-text search (the daemon's FTS5 index): snippets with the matches marked, filters, and each
// hit opens its session at that interaction.
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { SearchHit__Output as Hit } from '../../../common/wire/rbk/v1/SearchHit';
import { get } from '../api';
import { fmtTime } from '../format';
import { Link } from '../link';
import { navigate } from '../router';

/** The daemon marks matches with U+0002 … U+0003: they become <mark> elements, the rest text. */
function Snippet({ text }: { text: string }) {
  const parts: ComponentChildren[] = [];
  const re = /\u0002([^\u0003]*)\u0003/g;
  let last = 0;
  let m: RegExpExecArray | null = re.exec(text);
  while (m) {
    if (m.index > last) parts.push(text.slice(last, m.index));
    parts.push(<mark key={m.index}>{m[1]}</mark>);
    last = m.index + m[0].length;
    m = re.exec(text);
  }
  parts.push(text.slice(last));
  return <span>{parts}</span>;
}

export function hitHref(h: Hit): string {
  const q = new URLSearchParams({ at: h.uuid });
  if (h.toolUseId) q.set('tool', h.toolUseId);
  return `/sessions/${encodeURIComponent(h.sessionId)}?${q}`;
}

export function Search({ query }: { query: URLSearchParams }) {
  const q = query.get('q') ?? '';
  const project = query.get('project') ?? '';
  const tool = query.get('tool') ?? '';
  const errors = query.get('errors') === 'true';
  const [text, setText] = useState(q);
  const [hits, setHits] = useState<Hit[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState(0);

  // The box follows the URL when the URL changes (back, a link), not on the first render: what
  // was typed before the page settled must survive.
  const shownQ = useRef(q);
  useEffect(() => {
    if (shownQ.current !== q) {
      shownQ.current = q;
      setText(q);
    }
    if (!q.trim()) {
      setHits(null);
      return;
    }
    const ac = new AbortController();
    get<{ hits: Hit[] }>('/search', { q, project, tool, errors, limit: 100 }, ac.signal).then(
      (r) => {
        setHits(r.hits);
        setSelected(0);
        setError(null);
      },
      (e: Error) => e.name !== 'AbortError' && setError(e.message),
    );
    return () => ac.abort();
  }, [q, project, tool, errors]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement;
      if (!hits || (t && t.tagName === 'INPUT')) return;
      if (e.key === 'j') setSelected((s) => Math.min(hits.length - 1, s + 1));
      else if (e.key === 'k') setSelected((s) => Math.max(0, s - 1));
      else if (e.key === 'Enter' && hits[selected]) navigate(hitHref(hits[selected] as Hit));
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [hits, selected]);

  const set = (k: string, v: string | boolean) => {
    const p = new URLSearchParams(query);
    if (v === '' || v === false) p.delete(k);
    else p.set(k, String(v));
    navigate(`/search?${p}`, true);
  };

  return (
    <>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          set('q', text);
        }}
      >
        <input data-search autoFocus placeholder="search every session (/ to focus)" value={text} size={50} onInput={(e) => setText((e.target as HTMLInputElement).value)} aria-label="search" />
        <button type="submit" class="primary">
          search
        </button>
        <input placeholder="project" value={project} onChange={(e) => set('project', (e.target as HTMLInputElement).value)} aria-label="project" />
        <input placeholder="tool" value={tool} onChange={(e) => set('tool', (e.target as HTMLInputElement).value)} aria-label="tool" size={10} />
        <label>
          <input type="checkbox" checked={errors} onChange={(e) => set('errors', (e.target as HTMLInputElement).checked)} /> errors only
        </label>
      </form>
      {error ? <div class="notice error">{error}</div> : null}
      {hits === null ? (
        <div class="muted">Type words to find (all must match); "quoted phrases" and prefix* work.</div>
      ) : hits.length === 0 ? (
        <div class="muted">No matches.</div>
      ) : (
        <table class="grid" data-testid="search-results">
          <tbody>
            {hits.map((h, i) => (
              <tr key={`${h.uuid}:${h.blockIndex}`} class={i === selected ? 'srow selected' : ''} style={{ display: 'table-row', height: 'auto' }}>
                <td class="muted">{fmtTime(h.unixMs)}</td>
                <td>
                  <Link href={hitHref(h)} class={h.isError ? 'err' : ''}>
                    {h.sessionTitle || h.project || h.sessionId}
                  </Link>
                  <div class="muted">
                    {h.kind}
                    {h.toolName ? ` · ${h.toolName}` : ''}
                    {h.isError ? ' · error' : ''}
                  </div>
                </td>
                <td style={{ whiteSpace: 'normal' }}>
                  <Snippet text={h.snippet} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
