// What is running now: hook events and new interactions as the daemon stores them (server-sent
// events from the same feed as `rbk sessions tail`), and the sessions active in the last hour.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { LiveEvent__Output as LiveEvent } from '../../../common/wire/rbk/v1/LiveEvent';
import type { Session__Output as Session } from '../../../common/wire/rbk/v1/Session';
import { get } from '../api';
import { fmtClock, fmtTime } from '../format';
import { Link } from '../link';
import { sessionTitle } from './sessions';

const KEEP = 500;

export function Live() {
  const [events, setEvents] = useState<LiveEvent[]>([]);
  const [state, setState] = useState<'connecting' | 'live' | 'reconnecting'>('connecting');
  const [active, setActive] = useState<Session[]>([]);
  const fresh = useRef(new Set<string>());

  useEffect(() => {
    const src = new EventSource('/api/v1/live');
    let ready = false;
    const on = (m: MessageEvent) => {
      const e = JSON.parse(m.data as string) as LiveEvent;
      if (ready) fresh.current.add(`${e.source}:${e.seq}`);
      setEvents((list) => [e, ...list].slice(0, KEEP));
    };
    src.addEventListener('hook', on as EventListener);
    src.addEventListener('interaction', on as EventListener);
    src.addEventListener('ready', () => {
      ready = true;
      setState('live');
    });
    src.onerror = () => setState('reconnecting');
    src.onopen = () => setEvents([]);
    return () => src.close();
  }, []);

  useEffect(() => {
    const load = () => get<{ sessions: Session[] }>('/sessions', { since: Date.now() - 3_600_000, limit: 50 }).then((r) => setActive(r.sessions), () => {});
    load();
    const t = setInterval(load, 5000);
    return () => clearInterval(t);
  }, []);

  return (
    <>
      <h3 style={{ margin: 0 }}>
        Active in the last hour <span class="muted">({active.length})</span>
      </h3>
      <div class="cards" data-testid="active-sessions">
        {active.map((s) => (
          <div class="card" key={s.id}>
            <Link href={`/sessions/${encodeURIComponent(s.id)}`}>{sessionTitle(s)}</Link>
            <div class="muted">
              {s.project} · {s.status} · {fmtTime(s.lastActivityUnixMs)}
            </div>
          </div>
        ))}
      </div>
      <h3 style={{ margin: 0 }}>
        Events <span class={state === 'live' ? 'ok' : 'muted'} data-testid="live-state">{state}</span>
      </h3>
      <div class="live-list" data-testid="live-events">
        {events.map((e) => (
          <div key={`${e.source}:${e.seq}`} class={`ev${fresh.current.has(`${e.source}:${e.seq}`) ? ' fresh' : ''}`} data-kind={e.kind}>
            <span class="muted">{fmtClock(e.unixMs)}</span>
            <span>{e.sessionId ? <Link href={`/sessions/${encodeURIComponent(e.sessionId)}`}>{e.sessionId.slice(0, 8)}</Link> : '—'}</span>
            <span class={e.isError ? 'err' : ''}>{e.toolName ? `${e.kind} ${e.toolName}` : e.kind}</span>
            <span>{e.text}</span>
          </div>
        ))}
      </div>
    </>
  );
}
