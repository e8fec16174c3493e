// The sweep (daemon/ingest/sweep.ts) on the real daemon: transcripts no hook announced are read at
// start and by the `sweep` job; an unchanged archive is not re-read; a session whose hooks were on
// is not read twice and is not counted as unannounced; doctor names the sessions the hooks missed.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  makeDataDir,
  queryAll,
  queryOne,
  REPO_ROOT,
  runCli,
  runHook,
  hookPayload,
  startDaemon,
  waitFor,
  type DaemonProcess,
  type TempRbk,
} from '../support/rbk.js';

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'claude-code', 'transcripts');

function copyTree(from: string, to: string): void {
  fs.mkdirSync(to, { recursive: true });
  for (const e of fs.readdirSync(from, { withFileTypes: true })) {
    if (e.isDirectory()) copyTree(path.join(from, e.name), path.join(to, e.name));
    else if (e.name.endsWith('.jsonl')) fs.copyFileSync(path.join(from, e.name), path.join(to, e.name));
  }
}

interface RunJson {
  status: string;
  counts: Record<string, number>;
}

describe('sweep: sessions no hook announced', () => {
  let t: TempRbk;
  let d: DaemonProcess;
  let root: string;
  const project = () => path.join(root, '-home-dev-proj');

  beforeAll(async () => {
    t = makeDataDir();
    root = path.join(t.root, 'claude-projects');
    // Two sessions with UUID file names, one with a subagent folder: as Claude Code lays them out.
    copyTree(path.join(FIXTURES, 'spotter-v2.1.39-compaction'), project());
    copyTree(path.join(FIXTURES, 'sniffly-v1.0.17'), project());
    t.writeConfig(`ingest:\n  transcriptRoots: [${JSON.stringify(root)}]\n`);
    d = await startDaemon(t);
  });
  afterAll(async () => {
    await d?.stop();
    t?.cleanup();
  });

  it('reads every transcript under the roots at daemon start, and counts the sessions as unannounced', async () => {
    const run = await waitFor('the start sweep to finish', () =>
      queryOne<{ status: string; counts: string }>(t, `SELECT status, counts FROM job_runs WHERE job = 'sweep' AND status != 'running' ORDER BY id LIMIT 1`),
    );
    expect(run.status).toBe('ok');
    const counts = JSON.parse(run.counts) as Record<string, number>;
    expect(counts.files).toBe(4); // two mains, two subagent files
    expect(counts.read).toBe(4);
    expect(counts.newFiles).toBe(4);
    expect(counts.unannounced).toBe(2);
    const sessions = queryAll<{ id: string; interactions: number }>(t, 'SELECT id, interactions FROM sessions ORDER BY id');
    expect(sessions.map((s) => s.id)).toEqual(['ae4a77f8-aedd-4bc1-888f-c94edc91af04', 'fed8ce56-bc79-401f-a83e-af084253362f']);
    for (const s of sessions) expect(s.interactions).toBeGreaterThan(0);
    const sources = queryAll<{ source: string }>(t, 'SELECT DISTINCT source FROM transcripts');
    expect(sources).toEqual([{ source: 'sweep' }]);
  });

  it('does not re-read an unchanged archive, and reads only what a file added', async () => {
    const before = queryOne<{ n: number }>(t, 'SELECT count(*) AS n FROM interactions')!.n;
    const again = await runCli(t, ['jobs', 'run', 'sweep', '--json']);
    expect(again.code, again.stderr).toBe(0);
    const unchanged = JSON.parse(again.stdout) as RunJson;
    expect(unchanged.counts).toMatchObject({ files: 4, read: 0, newFiles: 0, interactions: 0, unannounced: 0 });
    expect(queryOne<{ n: number }>(t, 'SELECT count(*) AS n FROM interactions')!.n).toBe(before);

    // Claude Code appends to a session that is resumed without hooks.
    const file = path.join(project(), 'fed8ce56-bc79-401f-a83e-af084253362f.jsonl');
    const last = JSON.parse(fs.readFileSync(file, 'utf8').trim().split('\n').at(-1)!) as Record<string, unknown>;
    const added = {
      ...last,
      type: 'user',
      uuid: 'a0a0a0a0-0000-4000-8000-000000000001',
      parentUuid: last.uuid ?? null,
      timestamp: new Date().toISOString(),
      message: { role: 'user', content: 'one more prompt, typed with hooks off' },
    };
    fs.appendFileSync(file, `${JSON.stringify(added)}\n`);
    const grown = JSON.parse((await runCli(t, ['jobs', 'run', 'sweep', '--json'])).stdout) as RunJson;
    expect(grown.counts).toMatchObject({ files: 4, read: 1, newFiles: 0, unannounced: 0 });
    expect(grown.counts.interactions).toBe(1);
    expect(queryOne<{ n: number }>(t, 'SELECT count(*) AS n FROM interactions')!.n).toBe(before + 1);
  });

  it('does not count (or read twice) a session whose hooks were on', async () => {
    // A live session: its hook names the transcript, the daemon follows it, then the sweep passes.
    const id = '3f0c4d8e-1111-4222-8333-944455556666';
    const file = path.join(project(), `${id}.jsonl`);
    const line = (uuid: string, text: string) =>
      JSON.stringify({
        type: 'user',
        uuid,
        parentUuid: null,
        sessionId: id,
        timestamp: new Date().toISOString(),
        cwd: '/home/dev/proj',
        version: '2.1.40',
        message: { role: 'user', content: text },
      });
    fs.writeFileSync(file, `${line('b0b0b0b0-0000-4000-8000-000000000001', 'hello with hooks on')}\n`);
    const hook = await runHook(t, hookPayload('UserPromptSubmit', id, { transcript_path: file, prompt: 'hello with hooks on' }));
    expect(hook.code, hook.stderr).toBe(0);
    await waitFor('the hook-announced transcript to be read', () => queryOne(t, 'SELECT 1 AS ok FROM interactions WHERE session_id = ?', id));
    const run = JSON.parse((await runCli(t, ['jobs', 'run', 'sweep', '--json'])).stdout) as RunJson;
    expect(run.counts).toMatchObject({ files: 5, read: 0, unannounced: 0 });
    expect(queryOne<{ n: number }>(t, 'SELECT count(*) AS n FROM interactions WHERE session_id = ?', id)!.n).toBe(1);
    expect(queryOne<{ source: string }>(t, 'SELECT source FROM transcripts WHERE path = ?', file)!.source).toBe('hook');
  });

  it('doctor names the sessions only the sweep found, and says why hooks can miss them', async () => {
    const r = await runCli(t, ['doctor', '--json']);
    const check = (
      JSON.parse(r.stdout) as { checks: { id: string; status: string; summary: string; fix?: string; details?: { total: number } }[] }
    ).checks.find((c) => c.id === 'sweep')!;
    expect(check.status).toBe('warn');
    expect(check.details?.total).toBe(2);
    expect(check.summary).toContain('2 sessions reached rbk only through the sweep');
    expect(check.fix).toContain('disableAllHooks');
  });
});
