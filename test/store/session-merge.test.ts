// The session row's merge rules (daemon/store/session-store.ts), through the real ingest path on a
// real SQLite file: a session's hooks and its transcript give the same row whichever arrives
// first, and the row's cwd is where the session was launched, not where a CwdChanged moved it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HookEventIngest } from '../../daemon/ingest/hook-events.js';
import { projectOf } from '../../daemon/ingest/project.js';
import { TranscriptIngester } from '../../daemon/ingest/transcript-ingester.js';
import { silentLogger } from '../../daemon/log.js';
import { type Db, openDatabase } from '../../daemon/store/db.js';

const SESSION = '6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b';
const T0 = Date.parse('2026-12-01T10:00:00Z');
const LAUNCH = '/work/shop';
const MOVED = '/work/shop/services/billing';
const ELSEWHERE = '/work/other-repo';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function world(): { db: Db; transcript: string; hooks: HookEventIngest; ingester: TranscriptIngester } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rbk-session-merge-'));
  dirs.push(dir);
  const db = openDatabase(path.join(dir, 'rbk.db'));
  const transcript = path.join(dir, 'projects', '-work-shop', `${SESSION}.jsonl`);
  fs.mkdirSync(path.dirname(transcript), { recursive: true });
  const at = (s: number) => new Date(T0 + s * 1000).toISOString();
  const base = { sessionId: SESSION, version: '2.1.197', gitBranch: 'main', userType: 'external', isSidechain: false };
  const lines = [
    // Written before the first line with a cwd, out of time order, as resumed sessions do.
    { ...base, cwd: MOVED, type: 'user', uuid: 'm-u2', parentUuid: 'm-a1', timestamp: at(30), message: { role: 'user', content: 'now the billing service' } },
    { ...base, cwd: LAUNCH, type: 'user', uuid: 'm-u1', parentUuid: null, timestamp: at(1), message: { role: 'user', content: 'fix the build' } },
    {
      ...base,
      cwd: LAUNCH,
      type: 'assistant',
      uuid: 'm-a1',
      parentUuid: 'm-u1',
      timestamp: at(2),
      requestId: 'req_m1',
      message: { id: 'msg_m1', role: 'assistant', model: 'claude-sonnet-4-5-20250929', content: [{ type: 'text', text: 'on it' }] },
    },
  ];
  fs.writeFileSync(transcript, lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
  return { db, transcript, hooks: new HookEventIngest(db, null), ingester: new TranscriptIngester(db, silentLogger, {}) };
}

function hook(w: ReturnType<typeof world>, n: number, name: string, cwd: string, seconds: number, extra: Record<string, unknown> = {}): void {
  const payload = Buffer.from(JSON.stringify({ session_id: SESSION, hook_event_name: name, cwd, transcript_path: w.transcript, ...extra }));
  const at = T0 + seconds * 1000;
  w.db.transaction(() => w.hooks.store({ eventId: `ev-${n}`, eventName: name, payload, hookStartedAt: at, via: 'direct', receivedAt: at + 3 }))();
}

async function feedHooks(w: ReturnType<typeof world>): Promise<void> {
  hook(w, 1, 'SessionStart', LAUNCH, 0, { source: 'startup' });
  hook(w, 2, 'UserPromptSubmit', LAUNCH, 1, { prompt: 'fix the build' });
  // Claude Code moved into a subdirectory, then another repository.
  hook(w, 3, 'CwdChanged', MOVED, 25);
  hook(w, 4, 'UserPromptSubmit', ELSEWHERE, 40, { prompt: 'and the other repo' });
}

function sessionRow(db: Db): Record<string, unknown> {
  const row = db.prepare('SELECT * FROM sessions WHERE id = ?').get(SESSION) as Record<string, unknown>;
  // When this machine wrote the row, not what it says.
  const { created_at: _c, updated_at: _u, ...rest } = row;
  return rest;
}

describe('the session row merge rules', () => {
  it('gives the same row whether hooks or the transcript arrive first, with the launch directory as cwd', async () => {
    const hooksFirst = world();
    await feedHooks(hooksFirst);
    await hooksFirst.ingester.ingestFile(hooksFirst.transcript, 'import');

    const transcriptFirst = world();
    await transcriptFirst.ingester.ingestFile(transcriptFirst.transcript, 'import');
    const onlyTranscript = sessionRow(transcriptFirst.db);
    await feedHooks(transcriptFirst);

    const a = sessionRow(hooksFirst.db);
    const b = sessionRow(transcriptFirst.db);
    expect(a).toMatchObject({ cwd: LAUNCH, project: projectOf(LAUNCH), cwd_at: T0, started_at: T0, status: 'active' });
    // The transcript alone: its earliest line with a cwd, not its first line in the file.
    expect(onlyTranscript).toMatchObject({ cwd: LAUNCH, cwd_at: T0 + 1000 });
    expect(b).toEqual({ ...a, transcript_path: b.transcript_path });
    expect(a.prompts).toBe(2);
    expect(a.t_prompts).toBe(2);
  });

  it('a session whose first hook comes late still takes the earlier cwd its transcript reports', async () => {
    const w = world();
    hook(w, 1, 'UserPromptSubmit', ELSEWHERE, 40, { prompt: 'and the other repo' });
    expect(sessionRow(w.db)).toMatchObject({ cwd: ELSEWHERE, cwd_at: T0 + 40_000 });
    await w.ingester.ingestFile(w.transcript, 'import');
    expect(sessionRow(w.db)).toMatchObject({ cwd: LAUNCH, project: projectOf(LAUNCH), cwd_at: T0 + 1000, started_at: T0 + 1000 });
  });
});
