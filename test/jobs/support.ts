// Helpers for the job tests: a real SQLite file made by openDatabase (so every migration applies,
// the FTS triggers included), seeded with sessions of chosen ages, and a JobContext to run jobs
// directly under a FakeClock.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RbkPaths } from '../../common/paths.js';
import { configSchema, type RbkConfig } from '../../daemon/config/schema.js';
import { DAY_MS, FakeClock, type Clock } from '../../daemon/jobs/clock.js';
import type { JobContext, JobProgress } from '../../daemon/jobs/registry.js';
import { silentLogger } from '../../daemon/log.js';
import { openDatabase, type Db } from '../../daemon/store/db.js';

export { DAY_MS, FakeClock };

/** 2026-06-01T12:00Z: "now" for the seeded worlds. */
export const NOW = Date.UTC(2026, 5, 1, 12);

export interface TestDb {
  dir: string;
  file: string;
  db: Db;
  paths: RbkPaths;
  config: RbkConfig;
  clock: FakeClock;
  reopen(): Db;
  cleanup(): void;
}

export function pathsFor(dataDir: string): RbkPaths {
  return {
    config: path.join(dataDir, 'config.yaml'),
    dataDir,
    socket: path.join(dataDir, 'run', 'rbk.sock'),
    db: path.join(dataDir, 'rbk.db'),
    spoolDir: path.join(dataDir, 'spool'),
    fallbackSpoolDir: path.join(dataDir, 'spool-fallback'),
    lockFile: path.join(dataDir, 'rbkd.lock'),
    pidFile: path.join(dataDir, 'rbkd.pid'),
    logFile: path.join(dataDir, 'rbkd.log'),
    uiSecret: path.join(dataDir, 'ui-secret'),
    otlpToken: path.join(dataDir, 'otlp-token'),
  };
}

export function makeTestDb(config: unknown = {}): TestDb {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rbk-jobs-'));
  const paths = pathsFor(dir);
  const t: TestDb = {
    dir,
    file: paths.db,
    db: openDatabase(paths.db),
    paths,
    config: configSchema.parse(config),
    clock: new FakeClock(NOW),
    reopen: () => {
      t.db.close();
      t.db = openDatabase(paths.db);
      return t.db;
    },
    cleanup: () => {
      try {
        t.db.close();
      } catch {
        /* already closed */
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return t;
}

/** A JobContext for calling a job function directly. */
export function jobContext(
  t: { db: Db; config: RbkConfig; paths: RbkPaths; clock: Clock },
  opts: { signal?: AbortSignal; progress?: (p: JobProgress) => void; job?: string } = {},
): JobContext {
  return {
    db: t.db,
    config: t.config,
    paths: t.paths,
    clock: t.clock,
    log: silentLogger,
    signal: opts.signal ?? new AbortController().signal,
    progress: opts.progress ?? (() => {}),
    job: opts.job ?? 'test',
    runId: 0,
    trigger: 'manual',
  };
}

export interface SeedSession {
  id: string;
  /** Days before `now` of the last activity. */
  ageDays: number;
  project?: string;
  pinned?: boolean;
  hookEvents?: number;
  interactions?: number;
  usage?: number;
  subagents?: number;
  /** Bytes of raw per interaction (block 0 rows only). */
  rawBytes?: number;
  /** Leave last_activity_at NULL (started_at carries the age). */
  nullLastActivity?: boolean;
}

/** A word that appears only in this session's texts, for FTS checks. */
export function tokenOf(id: string): string {
  return `tok${id.replace(/[^a-z0-9]/gi, '').toLowerCase()}`;
}

let seq = 0;

/** Inserts a session with hook events, interactions, usage and subagents, all dated at its age. */
export function seedSession(db: Db, now: number, s: SeedSession): void {
  const last = now - s.ageDays * DAY_MS;
  const started = last - 3600_000;
  const project = s.project ?? 'proj';
  const nHook = s.hookEvents ?? 3;
  const nInt = s.interactions ?? 4;
  const nUsage = s.usage ?? 2;
  const nSub = s.subagents ?? 1;
  const tok = tokenOf(s.id);
  const tx = db.transaction(() => {
    db.prepare(
      `INSERT INTO sessions (id, cwd, project, started_at, last_activity_at, status, host, created_at, updated_at,
         hook_events, interactions, prompts, t_prompts, input_tokens, output_tokens, cost_usd, pinned)
       VALUES (@id, @cwd, @project, @started, @last, 'ended', 'testhost', @started, @started, @nHook, @nInt, 1, 1, 100, 50, 0.5, @pinned)`,
    ).run({ id: s.id, cwd: `/home/u/${project}`, project, started, last: s.nullLastActivity ? null : last, nHook, nInt, pinned: s.pinned ? 1 : 0 });
    const transcript = `/home/u/.claude/projects/-home-u-${project}/${s.id}.jsonl`;
    db.prepare(`INSERT INTO transcripts (path, session_id, source, byte_offset, size, registered_at) VALUES (?, ?, 'import', 12345, 12345, ?)`).run(
      transcript,
      s.id,
      started,
    );
    for (let i = 0; i < nHook; i++) {
      db.prepare(
        `INSERT INTO hook_events (event_id, session_id, event_name, tool_name, received_at, via, payload, payload_bytes)
         VALUES (?, ?, 'PostToolUse', 'Bash', ?, 'direct', ?, 10)`,
      ).run(`ev-${s.id}-${i}-${++seq}`, s.id, started + i * 1000, JSON.stringify({ session_id: s.id, tool_name: 'Bash', note: tok }));
    }
    const raw = s.rawBytes ? 'x'.repeat(s.rawBytes) : JSON.stringify({ type: 'user', sessionId: s.id });
    for (let i = 0; i < nInt; i++) {
      db.prepare(
        `INSERT INTO interactions (uuid, block_index, session_id, kind, ts, text, text_length, tool_input, source_path, raw, ingested_at)
         VALUES (?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        `u-${s.id}-${i}`,
        s.id,
        i % 2 === 0 ? 'user_prompt' : 'tool_use',
        started + i * 1000,
        `hello ${tok} number ${i}`,
        20,
        i % 2 === 0 ? null : JSON.stringify({ command: `echo ${tok}` }),
        transcript,
        raw,
        started + i * 1000,
      );
    }
    for (let i = 0; i < nUsage; i++) {
      db.prepare(
        `INSERT INTO message_usage (usage_key, message_id, session_id, model, ts, input_tokens, output_tokens, cache_creation_tokens,
           cache_creation_5m_tokens, cache_creation_1h_tokens, cache_read_tokens, cost_usd)
         VALUES (?, ?, ?, 'claude-sonnet-4-5', ?, 50, 25, 0, 0, 0, 0, 0.25)`,
      ).run(`k-${s.id}-${i}`, `m-${s.id}-${i}`, s.id, started + i * 1000);
    }
    for (let i = 0; i < nSub; i++) {
      db.prepare(`INSERT INTO subagents (session_id, agent_id, first_ts, last_ts) VALUES (?, ?, ?, ?)`).run(s.id, `a${i}${seq}`, started, last);
    }
  });
  tx();
}

export interface SessionState {
  hookEvents: number;
  interactions: number;
  messageUsage: number;
  subagents: number;
  fts: number;
  transcripts: number;
  expiredAt: number | null;
  row: boolean;
}

/** Everything stored for one session, the FTS index included (searched by the session's token). */
export function sessionState(db: Db, id: string): SessionState {
  const n = (sql: string, ...p: unknown[]) =>
    db
      .prepare(sql)
      .pluck()
      .get(...p) as number;
  const row = db.prepare('SELECT expired_at FROM sessions WHERE id = ?').get(id) as { expired_at: number | null } | undefined;
  return {
    hookEvents: n('SELECT count(*) FROM hook_events WHERE session_id = ?', id),
    interactions: n('SELECT count(*) FROM interactions WHERE session_id = ?', id),
    messageUsage: n('SELECT count(*) FROM message_usage WHERE session_id = ?', id),
    subagents: n('SELECT count(*) FROM subagents WHERE session_id = ?', id),
    fts: n('SELECT count(*) FROM interactions_fts WHERE interactions_fts MATCH ?', tokenOf(id)),
    transcripts: n('SELECT count(*) FROM transcripts WHERE session_id = ?', id),
    expiredAt: row?.expired_at ?? null,
    row: row !== undefined,
  };
}

export function isFullyGone(s: SessionState): boolean {
  return s.row && s.expiredAt !== null && s.hookEvents + s.interactions + s.messageUsage + s.subagents + s.fts === 0 && s.transcripts > 0;
}

export function isFullyPresent(s: SessionState, seeded: SeedSession): boolean {
  return (
    s.row &&
    s.expiredAt === null &&
    s.hookEvents === (seeded.hookEvents ?? 3) &&
    s.interactions === (seeded.interactions ?? 4) &&
    s.messageUsage === (seeded.usage ?? 2) &&
    s.subagents === (seeded.subagents ?? 1) &&
    s.fts === (seeded.interactions ?? 4)
  );
}

/** Row counts of every table retention touches. */
export function tableCounts(db: Db): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of ['sessions', 'hook_events', 'interactions', 'message_usage', 'subagents', 'transcripts']) {
    out[t] = db.prepare(`SELECT count(*) FROM ${t}`).pluck().get() as number;
  }
  out.expired = db.prepare('SELECT count(*) FROM sessions WHERE expired_at IS NOT NULL').pluck().get() as number;
  out.fts = db.prepare(`SELECT count(*) FROM interactions_fts WHERE interactions_fts MATCH 'hello'`).pluck().get() as number;
  return out;
}

export function fileBytes(file: string): number {
  let n = 0;
  for (const f of [file, `${file}-wal`]) {
    try {
      n += fs.statSync(f).size;
    } catch {
      /* none */
    }
  }
  return n;
}
