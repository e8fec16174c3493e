import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, get, setCsrfToken } from './api';
import { Ops } from './pages/ops';
import { Learn } from './pages/learn';
import { Live } from './pages/live';
import { Search } from './pages/search';
import { SessionPage } from './pages/session';
import { Sessions } from './pages/sessions';
import { Usage } from './pages/usage';
import { Link } from './link';
import { navigate, useLocation } from './router';

const NAV: [string, string][] = [
  ['/', 'Sessions'],
  ['/search', 'Search'],
  ['/usage', 'Usage'],
  ['/live', 'Live'],
  ['/learn', 'Incidents & learnings'],
  ['/ops', 'Central copy & jobs'],
];


type Theme = 'system' | 'light' | 'dark';

function applyTheme(t: Theme) {
  if (t === 'system') document.documentElement.removeAttribute('data-theme');
  else document.documentElement.setAttribute('data-theme', t);
}

function App() {
  const loc = useLocation();
  const [me, setMe] = useState<{ version: string } | null>(null);
  const [error, setError] = useState<ApiError | Error | null>(null);
  const [theme, setTheme] = useState<Theme>(() => (localStorage.getItem('rbk-theme') as Theme | null) ?? 'system');

  useEffect(() => {
    get<{ version: string; csrfToken: string }>('/me').then(
      (m) => {
        setCsrfToken(m.csrfToken);
        setMe(m);
      },
      (e: Error) => setError(e),
    );
  }, []);
  useEffect(() => {
    applyTheme(theme);
    localStorage.setItem('rbk-theme', theme);
  }, [theme]);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement;
      if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT')) {
        if (e.key === 'Escape') t.blur();
        return;
      }
      if (e.key === '/' && !e.ctrlKey && !e.metaKey) {
        e.preventDefault();
        const box = document.querySelector<HTMLInputElement>('input[data-search]');
        if (box) box.focus();
        else navigate('/search');
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  const section = loc.path === '/' || loc.path.startsWith('/sessions') ? '/' : `/${loc.path.split('/')[1]}`;
  let page: preact.ComponentChildren;
  if (error) {
    page = (
      <div class="notice error" data-testid="login-needed">
        {error instanceof ApiError && error.status === 401 ? (
          <>
            <strong>Not logged in.</strong> Run <code>rbk ui</code> in a terminal: it opens this console logged in (the link works once).
          </>
        ) : (
          <>Cannot reach rbkd: {error.message}</>
        )}
      </div>
    );
  } else if (!me) page = <div class="muted">loading…</div>;
  else if (loc.path.startsWith('/sessions/')) page = <SessionPage id={decodeURIComponent(loc.path.slice('/sessions/'.length))} query={loc.query} />;
  else if (loc.path === '/search') page = <Search query={loc.query} />;
  else if (loc.path === '/usage') page = <Usage query={loc.query} />;
  else if (loc.path === '/live') page = <Live />;
  else if (loc.path === '/learn') page = <Learn />;
  else if (loc.path === '/ops') page = <Ops />;
  else page = <Sessions query={loc.query} />;

  const fill = me && !error && (loc.path === '/' || loc.path.startsWith('/sessions/'));
  return (
    <>
      <header class="top">
        <span class="brand">rbk</span>
        <nav>
          {NAV.map(([href, label]) => (
            <Link key={href} href={href} class={section === href ? 'active' : ''}>
              {label}
            </Link>
          ))}
        </nav>
        <span class="muted" title="keyboard: j/k move, Enter opens, / searches, n next error">
          <span class="kbd">j</span> <span class="kbd">k</span> <span class="kbd">/</span>
        </span>
        <select aria-label="theme" value={theme} onChange={(e) => setTheme((e.target as HTMLSelectElement).value as Theme)}>
          <option value="system">system theme</option>
          <option value="light">light</option>
          <option value="dark">dark</option>
        </select>
        {me ? <span class="muted">{me.version}</span> : null}
      </header>
      <main class={fill ? 'fill' : ''}>{page}</main>
    </>
  );
}

render(<App />, document.getElementById('app') as HTMLElement);
