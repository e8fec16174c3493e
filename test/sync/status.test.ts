// What people and Prometheus see of the central copy: `rbk sync status`, `rbk doctor`'s storage
// check and the rbk_sync_* metrics (checked by promtool), while S3 is down and after it is back;
// and the automatic triggers: Stop (debounced) with the default local backend, and the cron job.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { hookPayload, makeDataDir, runCli, runHook, startDaemon, waitFor, type DaemonProcess, type TempRbk } from '../support/rbk.js';
import { ndjsonRecords, readLocalObjects, S3_ENV, s3ConfigYaml, sessionIdFor, startS3rver, writeSyntheticTranscript, type S3Server } from './support.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const ls = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => ls[k] === v)) return Number(m[3]);
  }
  return undefined;
}

async function json(t: TempRbk, args: string[], env: Record<string, string> = S3_ENV): Promise<{ code: number | null; body: any }> {
  const r = await runCli(t, [...args, '--json'], { env, timeoutMs: 60_000 });
  return { code: r.code, body: JSON.parse(r.stdout) };
}

async function start(t: TempRbk): Promise<DaemonProcess> {
  const d = await startDaemon(t, { env: S3_ENV });
  cleanups.push(() => d.stop());
  return d;
}

describe('sync status, doctor and metrics', () => {
  let s3: S3Server | undefined;
  afterAll(async () => s3?.dispose());

  it('S3 down: status shows the backlog and the error, doctor warns with the fix, metrics count the failures; back up: all clear', async () => {
    s3 = await startS3rver({ bucket: 'rbk-status' });
    await s3.stop();
    const port = await freePort();
    const t = makeDataDir({
      config: s3ConfigYaml(s3, {
        extra: [
          'sync:',
          '  automatic: false',
          '  backoffBaseMs: 60000',
          '  backoffCapMs: 120000',
          'jobs:',
          '  sync: "0 0 1 1 *"',
          'metrics:',
          '  enabled: true',
          `  listen: 127.0.0.1:${port}`,
        ].join('\n'),
      }).replace('metrics: { enabled: false }\n', ''),
    });
    cleanups.push(() => t.cleanup());
    const dir = path.join(t.root, 'transcripts');
    writeSyntheticTranscript(dir, sessionIdFor(7), 2);
    writeSyntheticTranscript(dir, sessionIdFor(8), 2);
    // Without the switch that silences the AWS SDK's Node-version warning: it must land in the log as JSON.
    const d = await startDaemon(t, { env: { ...S3_ENV, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: undefined } });
    cleanups.push(() => d.stop());
    expect((await runCli(t, ['import', dir, '--json'])).code).toBe(0);

    const failed = await json(t, ['sync']);
    expect(failed.code).toBe(1);
    expect(failed.body.sessions).toMatchObject({ checked: 2, failed: 2, uploaded: 0 });
    expect(failed.body.errors).toHaveLength(2);
    // The daemon log stays JSON: the AWS SDK's multi-line Node-version warning (it is emitted on
    // Node < 22) becomes one JSON line, once.
    const logLines = d.log().trim().split('\n');
    for (const line of logLines) expect(() => JSON.parse(line), line).not.toThrow();
    const warnings = logLines.filter((l) => l.includes('NodeVersionSupportWarning'));
    if (Number(process.versions.node.split('.')[0]) < 22) expect(warnings).toHaveLength(1);
    for (const w of warnings) expect(JSON.parse(w)).toMatchObject({ level: 'warn', msg: 'process warning' });

    const status = await json(t, ['sync', 'status']);
    expect(status.body).toMatchObject({ backend: 's3', location: 's3://rbk-status/rbk/', backlog: { sessions: 2, inBackoff: 2 }, lastSuccessAt: null });
    expect(status.body.backlog.rows).toBe(8);
    expect(status.body.lastError.message).toMatch(/ECONNREFUSED|connect/);
    expect(status.body.lagMs).toBeGreaterThan(0);
    const human = await runCli(t, ['sync', 'status'], { env: S3_ENV });
    expect(human.stdout).toMatch(/backlog\s+2 sessions, 8 rows/);
    expect(human.stdout).toContain('rbk sync --now');

    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'rbk-home-'));
    cleanups.push(() => fs.rmSync(home, { recursive: true, force: true }));
    const doctor = async () => {
      const r = await runCli(t, ['doctor', '--json'], { env: { ...S3_ENV, HOME: home } });
      return (JSON.parse(r.stdout).checks as { id: string; status: string; summary: string; fix?: string }[]).find((c) => c.id === 'storage')!;
    };
    const sick = await doctor();
    expect(sick.status).toBe('warn');
    expect(sick.summary).toContain('uploads failing, 2 sessions waiting');
    expect(sick.fix).toContain('rbk sync --now');
    // The store refuses connections: the cause named is the endpoint, not the credentials.
    expect(sick.fix).toMatch(/^endpoint: the store could not be reached/);

    let text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(sample(text, 'rbk_sync_backlog_sessions')).toBe(2);
    expect(sample(text, 'rbk_sync_sessions_in_backoff')).toBe(2);
    expect(sample(text, 'rbk_sync_session_failures_total', { backend: 's3' })).toBe(2);
    expect(sample(text, 'rbk_sync_puts_total', { backend: 's3', kind: 'part', outcome: 'error' })).toBe(2);
    expect(sample(text, 'rbk_sync_lag_seconds')).toBeGreaterThan(0);
    expect(sample(text, 'rbk_sync_last_success_timestamp_seconds')).toBe(0);

    // The text names the cause once per distinct error, the counts add up, and the fix follows.
    const syncText = await runCli(t, ['sync', '--now'], { env: S3_ENV, timeoutMs: 60_000 });
    expect(syncText.stdout).toContain('2 sessions failed; they stay in the backlog and are retried with backoff:');
    expect(syncText.stdout).toMatch(/^ {4}endpoint: .*ECONNREFUSED.* \(2 sessions: [0-9a-f]{8}, [0-9a-f]{8}\)$/m);
    expect(syncText.stdout).toMatch(/^ {2}fix: the store could not be reached/m);
    await s3.start();
    const ok = await json(t, ['sync', '--now']);
    expect(ok.code).toBe(0);
    expect(ok.body).toMatchObject({ sessions: { uploaded: 2, failed: 0 }, parts: 2, manifests: 2, backlogSessions: 0 });
    const healthy = await doctor();
    expect(healthy).toMatchObject({ status: 'pass', summary: expect.stringContaining('2 sessions uploaded, 0 pending') });

    // The metrics cache their status read for 5 s.
    await new Promise((r) => setTimeout(r, 5200));
    text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    if (spawnSync('sh', ['-c', 'command -v promtool']).status !== 0) throw new Error('promtool is missing: apt-get install -y prometheus (this test needs it)');
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(`${check.stdout}${check.stderr}`.trim()).toBe('');
    expect(check.status).toBe(0);
    expect(sample(text, 'rbk_sync_backlog_sessions')).toBe(0);
    expect(sample(text, 'rbk_sync_lag_seconds')).toBe(0);
    expect(sample(text, 'rbk_sync_puts_total', { backend: 's3', kind: 'part', outcome: 'ok' })).toBe(2);
    expect(sample(text, 'rbk_sync_puts_total', { backend: 's3', kind: 'manifest', outcome: 'ok' })).toBe(2);
    expect(sample(text, 'rbk_sync_uploaded_bytes_total', { backend: 's3' })).toBeGreaterThan(0);
    expect(sample(text, 'rbk_sync_last_success_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 120);
  }, 90_000);
});

describe('the default local backend (no cloud account)', () => {
  it('is written on demand: nothing is exported on its own, rbk sync exports what is pending', async () => {
    const t = makeDataDir({ config: ['metrics: { enabled: false }', 'sync:', '  debounceMs: 100', '  minIntervalMs: 0'].join('\n') });
    cleanups.push(() => t.cleanup());
    await start(t);
    const base = path.join(t.dataDir, 'artifacts');
    const id = 'on-demand-session';
    for (const e of ['SessionStart', 'UserPromptSubmit', 'Stop']) expect((await runHook(t, hookPayload(e, id, { prompt: 'hi' }))).code).toBe(0);
    // Well past the debounce: a Stop does not export to the local copy (it would double the archive on disk).
    await new Promise((r) => setTimeout(r, 1500));
    expect(readLocalObjects(base).size).toBe(0);
    const before = await json(t, ['sync', 'status'], {});
    expect(before.body).toMatchObject({ backend: 'local', onDemand: true, backlog: { sessions: 1 }, synced: { sessions: 0 } });
    const doctor = await runCli(t, ['doctor', '--json']);
    const storage = (JSON.parse(doctor.stdout) as { checks: { id: string; status: string; summary: string }[] }).checks.find((c) => c.id === 'storage');
    expect(storage).toMatchObject({ status: 'pass', summary: expect.stringContaining('written on demand') });
    // Asked for, it is written.
    const sync = await runCli(t, ['sync', '--json']);
    expect(sync.code, sync.stderr).toBe(0);
    expect([...readLocalObjects(base).keys()].filter((k) => k.includes(`session=${id}/`)).length).toBe(2);
    expect((await json(t, ['sync', 'status'], {})).body).toMatchObject({ onDemand: true, backlog: { sessions: 0 }, synced: { sessions: 1 } });
  });

  it('with localExport: continuous, Stop uploads the session after the debounce; the sync cron job uploads what is pending', async () => {
    const t = makeDataDir({
      config: [
        'metrics: { enabled: false }',
        'sync:',
        '  debounceMs: 300',
        '  minIntervalMs: 0',
        'jobs:',
        '  sync: "0 0 1 1 *"',
        'integrations:',
        '  claude:',
        '    sessionStorage:',
        '      localExport: continuous',
      ].join('\n'),
    });
    cleanups.push(() => t.cleanup());
    await start(t);
    const base = path.join(t.dataDir, 'artifacts');
    const id = 'stop-trigger-session';
    for (const e of ['SessionStart', 'UserPromptSubmit', 'Stop']) expect((await runHook(t, hookPayload(e, id, { prompt: 'hi' }))).code).toBe(0);
    const objects = await waitFor(
      'the Stop trigger uploaded the session',
      () => {
        const o = readLocalObjects(base);
        return [...o.keys()].some((k) => k.endsWith('session.json')) ? o : null;
      },
      15_000,
      100,
    );
    const part = [...objects.entries()].find(([k]) => k.startsWith('v1/hook_events/') && k.includes(`session=${id}/`));
    expect(ndjsonRecords(part![1]).map((r) => r.event_name)).toEqual(['SessionStart', 'UserPromptSubmit', 'Stop']);
    expect(fs.statSync(path.join(base, ...part![0].split('/'))).mode & 0o777).toBe(0o600);

    // Events without Stop/SessionEnd wait for idle, cron or rbk sync: here, the cron job run by hand.
    expect((await runHook(t, hookPayload('UserPromptSubmit', 'cron-session', { prompt: 'x' }))).code).toBe(0);
    await new Promise((r) => setTimeout(r, 600));
    expect([...readLocalObjects(base).keys()].some((k) => k.includes('session=cron-session/'))).toBe(false);
    const run = await runCli(t, ['jobs', 'run', 'sync', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ job: 'sync', status: 'ok', counts: { sessions: 1, uploaded: 1, failed: 0, puts: 2, backlog: 0 } });
    expect([...readLocalObjects(base).keys()].filter((k) => k.includes('session=cron-session/')).length).toBe(2);
    const status = await json(t, ['sync', 'status'], {});
    expect(status.body).toMatchObject({ backend: 'local', location: base, onDemand: false, backlog: { sessions: 0 }, synced: { sessions: 2 } });
  });
});
