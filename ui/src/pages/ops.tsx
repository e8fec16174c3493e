// The central copy's uploader (backlog, last error, lag) and the scheduled jobs' runs.
import { useEffect, useState } from 'preact/hooks';
import type { JobRun__Output as JobRun } from '../../../common/wire/rbk/v1/JobRun';
import type { SyncStatusResponse__Output as SyncStatus } from '../../../common/wire/rbk/v1/SyncStatusResponse';
import { get } from '../api';
import { fmtDuration, fmtInt, fmtTime } from '../format';

export function Ops() {
  const [sync, setSync] = useState<SyncStatus | null>(null);
  const [runs, setRuns] = useState<JobRun[]>([]);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const load = () => {
      get<SyncStatus>('/sync').then(setSync, (e: Error) => setError(e.message));
      get<{ runs: JobRun[] }>('/jobs', { limit: 100 }).then((r) => setRuns(r.runs), (e: Error) => setError(e.message));
    };
    load();
    const t = setInterval(load, 10_000);
    return () => clearInterval(t);
  }, []);
  return (
    <>
      {error ? <div class="notice error">{error}</div> : null}
      <h3 style={{ margin: 0 }}>Central copy</h3>
      {sync ? (
        <div class="cards" data-testid="sync-status">
          <div class="card">
            <div class="muted">backend</div>
            <div class="v">{sync.backend}</div>
            <div class="muted mono">{sync.location}</div>
          </div>
          <div class="card">
            <div class="muted">backlog</div>
            <div class="v">{fmtInt(sync.backlogSessions)} sessions</div>
            <div class="muted">{fmtInt(sync.backlogRows)} rows</div>
          </div>
          <div class="card">
            <div class="muted">lag</div>
            <div class="v">{fmtDuration(sync.lagMs) || '0'}</div>
            <div class="muted">last upload {fmtTime(sync.lastSuccessUnixMs) || 'never'}</div>
          </div>
          <div class="card">
            <div class="muted">synced</div>
            <div class="v">{fmtInt(sync.sessionsSynced)}</div>
            <div class="muted">{fmtInt(sync.parts)} parts</div>
          </div>
          <div class={`card${sync.lastError || sync.backendError ? ' err' : ''}`}>
            <div class="muted">last error</div>
            <div>{sync.backendError ?? sync.lastError ?? 'none'}</div>
            <div class="muted">{fmtTime(sync.lastErrorUnixMs)}</div>
          </div>
        </div>
      ) : null}
      <h3 style={{ margin: 0 }}>Job runs</h3>
      <table class="grid" data-testid="job-runs">
        <thead>
          <tr>
            <th>job</th>
            <th>trigger</th>
            <th>started</th>
            <th class="num">took</th>
            <th>status</th>
            <th>counts</th>
            <th>error</th>
          </tr>
        </thead>
        <tbody>
          {runs.map((r) => (
            <tr key={r.id}>
              <td>{r.job}</td>
              <td>{r.trigger}</td>
              <td>{fmtTime(r.startedUnixMs)}</td>
              <td class="num">{r.endedUnixMs ? fmtDuration(r.endedUnixMs - r.startedUnixMs) || '0 ms' : 'running'}</td>
              <td class={r.status === 'failed' ? 'err' : r.status === 'ok' ? 'ok' : ''}>{r.status}</td>
              <td class="mono">
                {Object.entries(r.counts)
                  .map(([k, v]) => `${k} ${v}`)
                  .join(', ')}
              </td>
              <td class="err" style={{ whiteSpace: 'normal' }}>
                {r.error ?? ''}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
