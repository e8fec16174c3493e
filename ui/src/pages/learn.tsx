// Incidents (failure signatures seen across sessions), learnings, and learn on one session: its
// postmortem rendered, its runbook proposals as diffs, and Apply (what `rbk learn
// --apply-runbook-updates` does), only after confirmation.
import { useEffect, useState } from 'preact/hooks';
import type { Incident__Output as Incident } from '../../../common/wire/rbk/v1/Incident';
import type { LearnResult__Output as LearnResult } from '../../../common/wire/rbk/v1/LearnResult';
import type { Learning__Output as Learning } from '../../../common/wire/rbk/v1/Learning';
import { get, post } from '../api';
import { PatchView } from '../diff';
import { fmtTime } from '../format';
import { Link } from '../link';
import { Markdown } from '../markdown';

interface LearnResponse {
  result: LearnResult;
  files: Record<string, string>;
}

export function LearnPanel({ sessionId }: { sessionId: string }) {
  const [res, setRes] = useState<LearnResponse | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const run = async (apply: boolean) => {
    if (apply && !window.confirm(`Apply ${res?.result.proposals.length ?? 0} runbook change(s) to ${res?.result.runbookDir || 'the runbook folder'}? The files are written now.`)) return;
    setBusy(true);
    try {
      setRes(await post<LearnResponse>(`/sessions/${encodeURIComponent(sessionId)}/learn`, { applyRunbookUpdates: apply }));
      setError(null);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const r = res?.result;
  return (
    <section class="chart" data-testid="learn-panel" style={{ maxHeight: '45vh', overflow: 'auto' }}>
      <h3>
        Learn
        <span class="actions">
          <button type="button" class="primary" disabled={busy} onClick={() => run(false)} data-testid="learn-run">
            {busy ? 'working…' : r ? 'run again' : 'run learn'}
          </button>
          {r && r.proposals.length > 0 && !r.applied ? (
            <button type="button" disabled={busy} onClick={() => run(true)} data-testid="learn-apply">
              apply runbook updates…
            </button>
          ) : null}
        </span>
      </h3>
      {error ? <div class="notice error">{error}</div> : null}
      {r ? (
        <>
          <div class="muted">
            {r.incidents.length} incident(s) · {r.proposals.length} runbook proposal(s) · output in <code>{r.outputDir}</code>
          </div>
          {r.applied ? (
            <div class={`notice${r.applied.conflicts.length ? ' error' : ''}`} data-testid="learn-applied">
              {r.applied.changed.length ? `Applied: ${r.applied.changed.map((c) => `${c.file} (${c.kind})`).join(', ')}` : 'Nothing applied.'}
              {r.applied.conflicts.map((c) => (
                <div key={c.file}>
                  {c.file}: {c.reason}
                </div>
              ))}
            </div>
          ) : null}
          {r.postmortems.map((p) => (
            <div key={p.path} data-testid="postmortem">
              {res?.files[p.path] !== undefined ? (
                <Markdown text={res.files[p.path] as string} />
              ) : (
                <div class="muted">
                  {p.title}: {p.path}
                </div>
              )}
            </div>
          ))}
          {r.proposals.map((p) => (
            <div key={p.path} data-testid="proposal">
              <h4>
                {p.kind === 'new' ? 'New runbook' : 'Update'} {p.runbook}
              </h4>
              {res?.files[p.path] !== undefined ? <PatchView patch={res.files[p.path] as string} /> : <div class="muted">{p.path}</div>}
            </div>
          ))}
        </>
      ) : (
        <div class="muted">Turns this session into a postmortem, runbook update proposals and knowledge docs (the synthesizer in your config).</div>
      )}
    </section>
  );
}

export function Learn() {
  const [incidents, setIncidents] = useState<Incident[] | null>(null);
  const [learnings, setLearnings] = useState<Learning[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    get<{ incidents: Incident[] }>('/incidents', { limit: 200 }).then((r) => setIncidents(r.incidents), (e: Error) => setError(e.message));
    get<{ learnings: Learning[] }>('/learnings', { limit: 500 }).then((r) => setLearnings(r.learnings), (e: Error) => setError(e.message));
  }, []);
  return (
    <>
      {error ? <div class="notice error">{error}</div> : null}
      <h3 style={{ margin: 0 }}>Incidents: failures seen across sessions</h3>
      <table class="grid" data-testid="incidents">
        <thead>
          <tr>
            <th>signature</th>
            <th>tool</th>
            <th class="num">times</th>
            <th class="num">sessions</th>
            <th class="num">resolved in</th>
            <th>last seen</th>
            <th>fixes</th>
          </tr>
        </thead>
        <tbody>
          {(incidents ?? []).map((i) => (
            <tr key={i.signatureId}>
              <td style={{ whiteSpace: 'normal' }} title={i.example}>
                <code>{i.signature}</code>
              </td>
              <td>{i.toolName}</td>
              <td class="num">{i.occurrences}</td>
              <td class="num">
                {i.sessions.slice(0, 3).map((s) => (
                  <span key={s}>
                    <Link href={`/sessions/${encodeURIComponent(s)}`}>{s.slice(0, 8)}</Link>{' '}
                  </span>
                ))}
                {i.sessions.length > 3 ? `+${i.sessions.length - 3}` : ''}
              </td>
              <td class="num">{i.resolvedSessions}</td>
              <td>{fmtTime(i.lastSeenUnixMs)}</td>
              <td style={{ whiteSpace: 'normal' }}>{i.fixes.map((f) => f.fix).join(' · ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3 style={{ margin: 0 }}>Learnings</h3>
      <table class="grid" data-testid="learnings">
        <thead>
          <tr>
            <th>title</th>
            <th>kind</th>
            <th>fix</th>
            <th class="num">sessions</th>
            <th>updated</th>
          </tr>
        </thead>
        <tbody>
          {(learnings ?? []).map((l) => (
            <tr key={l.id}>
              <td style={{ whiteSpace: 'normal' }}>{l.title}</td>
              <td>{l.kind}</td>
              <td style={{ whiteSpace: 'normal' }}>{l.fix}</td>
              <td class="num">{l.sessions}</td>
              <td>{fmtTime(l.updatedUnixMs)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
