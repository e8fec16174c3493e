// Retention over a real, migrated SQLite file, driven by a FakeClock: what goes, what stays,
// dry runs, pinning, artifacts and spool leftovers, and interrupted runs that finish on re-run.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { setPinned } from '../../daemon/maintenance/pin.js';
import { recordRun, saveSignatures, upsertLearning } from '../../daemon/store/learnings.js';
import { JobRegistry } from '../../daemon/jobs/registry.js';
import { planRetention, runRetention } from '../../daemon/maintenance/retention.js';
import { Scheduler } from '../../daemon/jobs/scheduler.js';
import { silentLogger } from '../../daemon/log.js';
import { openDatabase } from '../../daemon/store/db.js';
import { SessionQueries } from '../../daemon/store/sessions.js';
import {
  DAY_MS,
  type FakeClock,
  NOW,
  isFullyGone,
  isFullyPresent,
  jobContext,
  makeTestDb,
  seedSession,
  sessionState,
  tokenOf,
  tableCounts,
  type SeedSession,
  type TestDb,
} from './support.js';

let t: TestDb;

beforeEach(() => {
  t = makeTestDb({ retention: { local: { days: 365 } } });
});
afterEach(() => t.cleanup());

const WORLD: SeedSession[] = [
  { id: 'old-a', ageDays: 400, project: 'alpha' },
  { id: 'old-b', ageDays: 366, project: 'beta', hookEvents: 5, interactions: 6 },
  { id: 'old-pinned', ageDays: 500, pinned: true },
  { id: 'old-nulllast', ageDays: 700, nullLastActivity: true },
  { id: 'edge-young', ageDays: 364 },
  { id: 'new-a', ageDays: 1 },
  { id: 'new-b', ageDays: 100, project: 'beta' },
];

function seed(list = WORLD): void {
  for (const s of list) seedSession(t.db, NOW, s);
}

/**
 * What `rbk learn <id>` stores for a session, through learn's own store: a signature scan, two
 * error signatures, a learn run, and its share of one learning that every seeded session taught.
 */
function seedLearn(id: string): void {
  const at = NOW - 400 * DAY_MS;
  saveSignatures(t.db, id, [], at);
  const sig = t.db.prepare(`INSERT INTO error_signatures (session_id, signature_id, signature, occurrences, example) VALUES (?, ?, 'Bash: build error', 1, ?)`);
  sig.run(id, 'sig_000000000001', `build error in ${tokenOf(id)}`);
  sig.run(id, 'sig_000000000002', 'other');
  const runId = `lrun_${id}`;
  recordRun(
    t.db,
    {
      id: runId,
      sessionId: id,
      incidentId: null,
      query: `why did ${id} fail`,
      synthesizer: 'extractive',
      fallbackReason: null,
      outputDir: '/out',
      files: ['/out/pm.md'],
    },
    at,
  );
  upsertLearning(
    t.db,
    {
      id: 'lrn_000000000001',
      kind: 'fix',
      signatureId: 'sig_000000000001',
      signature: 'Bash: build error',
      title: 't',
      fix: 'mkdir -p generated',
      verification: 'v',
      firstSeen: at,
      lastSeen: at,
      docPath: '/out/k.md',
      sessionId: id,
      refs: [`u-${id}-1`],
    },
    runId,
    at,
  );
}

/** The session's rows in learn's tables (learnings themselves are shared, counted apart). */
function learnState(id: string): Record<string, number> {
  const n = (table: string) => t.db.prepare(`SELECT count(*) FROM ${table} WHERE session_id = ?`).pluck().get(id) as number;
  return {
    error_signatures: n('error_signatures'),
    signature_scans: n('signature_scans'),
    learn_runs: n('learn_runs'),
    learning_sources: n('learning_sources'),
  };
}
const LEARNED = { error_signatures: 2, signature_scans: 1, learn_runs: 1, learning_sources: 1 };

describe('retention', () => {
  it('expires old unpinned sessions completely (FTS included) and leaves everything else untouched', async () => {
    seed();
    for (const id of ['old-a', 'old-b', 'old-pinned', 'new-a']) seedLearn(id);
    const beforeKept = Object.fromEntries(['old-pinned', 'edge-young', 'new-a', 'new-b'].map((id) => [id, sessionState(t.db, id)]));
    const counts = await runRetention(jobContext(t));
    expect(counts).toMatchObject({
      sessions: 3,
      hookEvents: 3 + 5 + 3,
      interactions: 4 + 6 + 4,
      messageUsage: 6,
      subagents: 3,
      learnRows: 2 * 4,
      pinnedKept: 1,
      skipped: 0,
    });
    // Learn rows: the expired sessions' signatures, scans and runs are gone; the learning (the
    // distilled fact) and its provenance by id stay on purpose (docs/jobs.md).
    for (const id of ['old-a', 'old-b']) expect(learnState(id), id).toEqual({ error_signatures: 0, signature_scans: 0, learn_runs: 0, learning_sources: 1 });
    for (const id of ['old-pinned', 'new-a']) expect(learnState(id), id).toEqual(LEARNED);
    expect(t.db.prepare(`SELECT id, fix FROM learnings`).all()).toEqual([{ id: 'lrn_000000000001', fix: 'mkdir -p generated' }]);
    expect(
      t.db
        .prepare(`SELECT count(*) FROM error_signatures WHERE example LIKE 'build error in tokolda%' OR example LIKE 'build error in tokoldb%'`)
        .pluck()
        .get(),
    ).toBe(0);
    for (const id of ['old-a', 'old-b', 'old-nulllast']) {
      const s = sessionState(t.db, id);
      expect(isFullyGone(s), `${id}: ${JSON.stringify(s)}`).toBe(true);
      expect(s.expiredAt).toBe(NOW);
      // Tombstone: counts, tokens and cost zeroed; transcripts row and its offset kept.
      expect(t.db.prepare('SELECT hook_events, interactions, prompts, t_prompts, input_tokens, cost_usd FROM sessions WHERE id = ?').get(id)).toEqual({
        hook_events: 0,
        interactions: 0,
        prompts: 0,
        t_prompts: 0,
        input_tokens: 0,
        cost_usd: 0,
      });
      expect(t.db.prepare('SELECT byte_offset FROM transcripts WHERE session_id = ?').pluck().get(id)).toBe(12345);
    }
    for (const [id, before] of Object.entries(beforeKept)) {
      expect(sessionState(t.db, id), id).toEqual(before);
      expect(isFullyPresent(before, WORLD.find((w) => w.id === id)!)).toBe(true);
    }
    // A second run has nothing left to do.
    expect(await runRetention(jobContext(t))).toMatchObject({ sessions: 0, hookEvents: 0, interactions: 0 });
  });

  it('the dry run lists exactly what a run deletes, with row counts, and changes nothing', async () => {
    seed();
    seedLearn('old-b');
    const before = tableCounts(t.db);
    const plan = planRetention(t);
    expect(tableCounts(t.db)).toEqual(before);
    expect(plan.days).toBe(365);
    expect(plan.cutoff).toBe(NOW - 365 * DAY_MS);
    expect(plan.pinnedKept).toBe(1);
    expect(plan.sessions.map((s) => s.id)).toEqual(['old-nulllast', 'old-a', 'old-b']);
    expect(plan.sessions.find((s) => s.id === 'old-b')).toEqual({
      id: 'old-b',
      project: 'beta',
      lastActivityAt: NOW - 366 * DAY_MS,
      rows: { hookEvents: 5, interactions: 6, messageUsage: 2, subagents: 1, learnRows: 4, telemetryEvents: 0 },
    });
    expect(learnState('old-b')).toEqual(LEARNED);
    const counts = await runRetention(jobContext(t));
    expect(counts.sessions).toBe(plan.sessions.length);
    expect(counts.learnRows).toBe(4);
    expect(counts.interactions).toBe(plan.sessions.reduce((n, s) => n + s.rows.interactions, 0));
  });

  it("a session's learn rows go in its own transaction: a failure there keeps the whole session", async () => {
    seed([WORLD[0]!, WORLD[1]!]);
    seedLearn('old-a');
    seedLearn('old-b');
    t.db.exec(`CREATE TEMP TRIGGER boom BEFORE DELETE ON learn_runs WHEN old.session_id = 'old-b' BEGIN SELECT RAISE(ABORT, 'injected failure'); END;`);
    await expect(runRetention(jobContext(t))).rejects.toThrow('injected failure');
    // old-a (older, first) went whole; old-b is whole: hook events, interactions, FTS and learn rows.
    expect(isFullyGone(sessionState(t.db, 'old-a'))).toBe(true);
    expect(learnState('old-a')).toMatchObject({ error_signatures: 0, signature_scans: 0, learn_runs: 0 });
    expect(isFullyPresent(sessionState(t.db, 'old-b'), WORLD[1]!)).toBe(true);
    expect(learnState('old-b')).toEqual(LEARNED);
    t.db.exec('DROP TRIGGER temp.boom');
    expect(await runRetention(jobContext(t))).toMatchObject({ sessions: 1, learnRows: 4 });
    expect(learnState('old-b')).toEqual({ error_signatures: 0, signature_scans: 0, learn_runs: 0, learning_sources: 1 });
  });

  it("an expired session's telemetry goes with it, and old telemetry of no session; the rest stays", async () => {
    seed();
    const ins = t.db.prepare(
      `INSERT INTO telemetry_events (event_key, signal, agent, service, name, session_id, ts, detail, received_at) VALUES (?, 'log', 'claude-code', 'claude-code', 'api_request', ?, ?, '{}', ?)`,
    );
    ins.run(Buffer.from('k-old-b'), 'old-b', NOW - 366 * DAY_MS, NOW - 366 * DAY_MS);
    ins.run(Buffer.from('k-orphan-old'), null, NOW - 400 * DAY_MS, NOW - 400 * DAY_MS);
    ins.run(Buffer.from('k-orphan-new'), null, NOW - DAY_MS, NOW - DAY_MS);
    const plan = planRetention(t);
    expect(plan.sessions.find((x) => x.id === 'old-b')?.rows.telemetryEvents).toBe(1);
    const counts = await runRetention(jobContext(t));
    expect(counts).toMatchObject({ telemetryEvents: 1, orphanTelemetryEvents: 1 });
    expect(t.db.prepare('SELECT event_key FROM telemetry_events').pluck().all()).toEqual([Buffer.from('k-orphan-new')]);
  });

  it('moves through days: sessions expire as they age, pinned ones never, until unpinned', async () => {
    seed();
    await runRetention(jobContext(t));
    t.clock.advanceDays(2); // edge-young is now 366 days old
    expect(await runRetention(jobContext(t))).toMatchObject({ sessions: 1 });
    expect(isFullyGone(sessionState(t.db, 'edge-young'))).toBe(true);
    t.clock.advanceDays(300); // new-b: 402 days
    expect(await runRetention(jobContext(t))).toMatchObject({ sessions: 1, pinnedKept: 1 });
    expect(isFullyGone(sessionState(t.db, 'new-b'))).toBe(true);
    expect(isFullyPresent(sessionState(t.db, 'new-a'), WORLD[5]!)).toBe(true);
    expect(isFullyPresent(sessionState(t.db, 'old-pinned'), WORLD[2]!)).toBe(true);

    const sessions = new SessionQueries(t.db);
    expect(setPinned(t.db, sessions, 'old-pin', false, t.clock.now())).toEqual({ sessionId: 'old-pinned', pinned: false, changed: true, expiredAt: null });
    expect(setPinned(t.db, sessions, 'old-pinned', false, t.clock.now()).changed).toBe(false);
    expect(await runRetention(jobContext(t))).toMatchObject({ sessions: 1, pinnedKept: 0 });
    expect(isFullyGone(sessionState(t.db, 'old-pinned'))).toBe(true);
    // Pinning an expired session is allowed and says so.
    expect(setPinned(t.db, sessions, 'old-a', true, t.clock.now())).toMatchObject({ pinned: true, changed: true, expiredAt: NOW });
  });

  it('a tombstone that receives rows again (late events) is expired again; one that came back to life is not', async () => {
    seed([WORLD[0]!, WORLD[1]!]);
    await runRetention(jobContext(t));
    // A late, old hook event for old-a (a spool drained late): old, so it goes on the next run.
    t.db
      .prepare(
        `INSERT INTO hook_events (event_id, session_id, event_name, received_at, via, payload, payload_bytes) VALUES ('late', 'old-a', 'Stop', ?, 'spool', '{}', 2)`,
      )
      .run(NOW - 390 * DAY_MS);
    // old-b resumed today: its last activity moves forward.
    t.db
      .prepare(
        `INSERT INTO hook_events (event_id, session_id, event_name, received_at, via, payload, payload_bytes) VALUES ('fresh', 'old-b', 'UserPromptSubmit', ?, 'direct', '{}', 2)`,
      )
      .run(NOW);
    t.db.prepare('UPDATE sessions SET last_activity_at = ? WHERE id = ?').run(NOW, 'old-b');
    expect(planRetention(t).sessions.map((s) => s.id)).toEqual(['old-a']);
    expect(await runRetention(jobContext(t))).toMatchObject({ sessions: 1, hookEvents: 1 });
    expect(sessionState(t.db, 'old-b').hookEvents).toBe(1);
  });

  it('removes rows of no session, artifacts of expired sessions and old rejected spool files', async () => {
    seed();
    const base = path.join(t.paths.dataDir, 'artifacts');
    const dir = (id: string) => path.join(base, 'project=p', 'date=2025-01-01', `session=${id}`);
    for (const id of ['old-a', 'new-a', 'old-pinned', 'unknown-id']) {
      fs.mkdirSync(dir(id), { recursive: true });
      fs.writeFileSync(path.join(dir(id), 'transcript.jsonl.gz'), 'x');
    }
    fs.mkdirSync(path.join(base, 'session=..'), { recursive: true }); // not a safe id: ignored
    const rejected = path.join(t.paths.spoolDir, 'rejected');
    fs.mkdirSync(rejected, { recursive: true });
    fs.writeFileSync(path.join(rejected, 'old.json'), '{');
    fs.writeFileSync(path.join(rejected, 'new.json'), '{');
    const oldTime = new Date(NOW - 400 * DAY_MS);
    fs.utimesSync(path.join(rejected, 'old.json'), oldTime, oldTime);
    fs.utimesSync(path.join(rejected, 'new.json'), new Date(NOW), new Date(NOW));
    t.db
      .prepare(
        `INSERT INTO hook_events (event_id, session_id, event_name, received_at, via, payload, payload_bytes) VALUES ('o1', NULL, 'x', ?, 'direct', 'x', 1), ('o2', NULL, 'x', ?, 'direct', 'x', 1)`,
      )
      .run(NOW - 400 * DAY_MS, NOW);
    t.db
      .prepare(
        `INSERT INTO interactions (uuid, block_index, session_id, kind, ts, text, source_path, ingested_at) VALUES ('oi', 0, NULL, 'user_prompt', ?, 'orphan hello', '/x.jsonl', ?)`,
      )
      .run(NOW - 400 * DAY_MS, NOW - 400 * DAY_MS);

    const plan = planRetention(t);
    expect(plan.artifactDirs).toEqual([dir('old-a')]);
    expect(plan.spoolRejected).toEqual([path.join(rejected, 'old.json')]);
    expect(plan.orphans).toEqual({ hookEvents: 1, interactions: 1, messageUsage: 0 });

    const counts = await runRetention(jobContext(t));
    expect(counts).toMatchObject({ artifactDirs: 1, spoolRejected: 1, orphanHookEvents: 1, orphanInteractions: 1 });
    expect(fs.existsSync(dir('old-a'))).toBe(false);
    for (const id of ['new-a', 'old-pinned', 'unknown-id']) expect(fs.existsSync(dir(id))).toBe(true);
    expect(fs.readdirSync(rejected)).toEqual(['new.json']);
    expect(t.db.prepare(`SELECT event_id FROM hook_events WHERE session_id IS NULL`).pluck().all()).toEqual(['o2']);
  });

  it('sweeps artifacts left by an earlier run that stopped after the database part', async () => {
    seed([WORLD[0]!]);
    await runRetention(jobContext(t));
    const leftover = path.join(t.paths.dataDir, 'artifacts', 'session=old-a');
    fs.mkdirSync(leftover, { recursive: true });
    expect(await runRetention(jobContext(t))).toMatchObject({ sessions: 0, artifactDirs: 1 });
    expect(fs.existsSync(leftover)).toBe(false);
  });
});

describe('interrupted retention', () => {
  const MANY: SeedSession[] = Array.from({ length: 10 }, (_, i) => ({
    id: `s${String(i).padStart(2, '0')}`,
    ageDays: 400 + i,
    hookEvents: 2 + i,
    interactions: 3 + i,
  }));
  const KEEP: SeedSession[] = [
    { id: 'keep-1', ageDays: 3 },
    { id: 'keep-pinned', ageDays: 900, pinned: true },
  ];

  function scheduler(db = t.db, clock: FakeClock = t.clock): { s: Scheduler; registry: JobRegistry } {
    const registry = new JobRegistry();
    registry.register('retention', runRetention);
    const s = new Scheduler({ db, config: t.config, paths: t.paths, log: silentLogger, clock, registry, cron: false });
    s.start();
    return { s, registry };
  }

  function assertConsistent(): void {
    for (const seeded of [...MANY, ...KEEP]) {
      const st = sessionState(t.db, seeded.id);
      expect(isFullyGone(st) || isFullyPresent(st, seeded), `${seeded.id} is half-expired: ${JSON.stringify(st)}`).toBe(true);
    }
  }

  /** The same world, run once without interruption, in a separate file. */
  async function uninterrupted(): Promise<{ counts: Record<string, number>; tables: Record<string, number>; expired: string[] }> {
    const copy = makeTestDb(t.config);
    try {
      for (const s of [...MANY, ...KEEP]) seedSession(copy.db, NOW, s);
      const counts = await runRetention(jobContext(copy));
      return {
        counts,
        tables: tableCounts(copy.db),
        expired: copy.db.prepare('SELECT id FROM sessions WHERE expired_at IS NOT NULL ORDER BY id').pluck().all() as string[],
      };
    } finally {
      copy.cleanup();
    }
  }

  it('aborted after 4 sessions: every session fully present or fully gone; a re-run ends like an uninterrupted run', async () => {
    for (const s of [...MANY, ...KEEP]) seedSession(t.db, NOW, s);
    const { s } = scheduler();
    const h = s.run('retention');
    h.onProgress((p) => {
      if ((p.counts?.sessions ?? 0) >= 4) s.cancel('retention', 'test abort');
    });
    const first = await h.done;
    expect(first.status).toBe('interrupted');
    expect(first.counts.sessions).toBe(4);
    assertConsistent();
    expect(t.db.prepare('SELECT count(*) FROM sessions WHERE expired_at IS NOT NULL').pluck().get()).toBe(4);

    const second = await s.run('retention').done;
    expect(second.status).toBe('ok');
    assertConsistent();
    await s.stop();

    const want = await uninterrupted();
    expect(tableCounts(t.db)).toEqual(want.tables);
    expect(t.db.prepare('SELECT id FROM sessions WHERE expired_at IS NOT NULL ORDER BY id').pluck().all()).toEqual(want.expired);
    for (const k of ['sessions', 'hookEvents', 'interactions', 'messageUsage', 'subagents']) {
      expect((first.counts[k] ?? 0) + (second.counts[k] ?? 0), k).toBe(want.counts[k]);
    }
  });

  it('a failure inside one session rolls that session back whole; the run fails; a re-run finishes', async () => {
    for (const s of [...MANY, ...KEEP]) seedSession(t.db, NOW, s);
    // Sessions go oldest first: s09 (409 days) ... s00. Make the 5th one, s05, fail at its last delete.
    t.db.exec(`CREATE TEMP TRIGGER boom BEFORE DELETE ON subagents WHEN old.session_id = 's05' BEGIN SELECT RAISE(ABORT, 'injected failure'); END;`);
    const { s } = scheduler();
    const first = await s.run('retention').done;
    expect(first).toMatchObject({ status: 'failed', error: 'injected failure' });
    expect(first.counts.sessions).toBe(4);
    assertConsistent();
    expect(isFullyPresent(sessionState(t.db, 's05'), MANY[5]!)).toBe(true);
    for (const id of ['s09', 's08', 's07', 's06']) expect(isFullyGone(sessionState(t.db, id)), id).toBe(true);
    t.db.exec('DROP TRIGGER temp.boom');
    expect(await s.run('retention').done).toMatchObject({ status: 'ok', counts: { sessions: 6 } });
    await s.stop();
    expect(tableCounts(t.db)).toEqual((await uninterrupted()).tables);
  });

  it('a process killed mid-run leaves a consistent file: reopened, the run is marked interrupted and a re-run finishes', async () => {
    for (const s of [...MANY, ...KEEP]) seedSession(t.db, NOW, s);
    const { s } = scheduler();
    const h = s.run('retention');
    // Simulate the kill: close the connection under the job after 3 sessions (SQLite rolls back
    // whatever is not committed, exactly as after kill -9).
    h.onProgress((p) => {
      if ((p.counts?.sessions ?? 0) === 3) t.db.close();
    });
    const first = await h.done;
    expect(first.status).toBe('failed');
    const db = t.reopen();
    expect(db.prepare('SELECT status FROM job_runs WHERE id = ?').pluck().get(first.id)).toBe('running');
    const { s: s2 } = scheduler(db);
    expect(s2.runs.get(first.id)?.status).toBe('interrupted');
    assertConsistent();
    expect(await s2.run('retention').done).toMatchObject({ status: 'ok', counts: { sessions: 7 } });
    await s2.stop();
    expect(tableCounts(db)).toEqual((await uninterrupted()).tables);
  });
});

describe('database file', () => {
  it('openDatabase applies the jobs migration (job_runs, pinned, expired_at, redaction_version)', () => {
    const cols = (table: string) => (t.db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name);
    expect(cols('job_runs')).toEqual(['id', 'job', 'trigger', 'started_at', 'ended_at', 'status', 'counts', 'error']);
    expect(cols('sessions')).toEqual(expect.arrayContaining(['pinned', 'expired_at']));
    expect(cols('hook_events')).toContain('redaction_version');
    expect(cols('interactions')).toContain('redaction_version');
    // The FTS triggers retention relies on.
    const triggers = t.db.prepare(`SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name`).pluck().all();
    expect(triggers).toEqual(expect.arrayContaining(['interactions_fts_delete', 'interactions_fts_insert', 'interactions_fts_update']));
    t.db.close();
    t.db = openDatabase(t.file); // reopening migrates nothing twice
  });
});
