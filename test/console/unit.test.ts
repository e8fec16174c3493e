// Units of the console: login tokens, cookies and CSRF (daemon/http/auth.ts), the activity
// heatmap and 5-hour windows (daemon/query/activity.ts) over a real SQLite store, and the
// session orders (daemon/query/sessions.ts).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOGIN_TTL_MS, sessionCookie, UiAuth } from '../../daemon/http/auth.js';
import { activity } from '../../daemon/query/activity.js';
import { listSessions } from '../../daemon/query/sessions.js';
import { type Db, openDatabase } from '../../daemon/store/db.js';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rbk-console-unit-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('UiAuth', () => {
  it('makes the secret once, 0600, and two instances over it agree', () => {
    const file = path.join(dir, 'secret-a');
    const a = new UiAuth(file, 86_400_000);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const b = new UiAuth(file, 86_400_000);
    expect(b.checkSession(a.issueSession())).toBe(true);
    const other = new UiAuth(path.join(dir, 'secret-b'), 86_400_000);
    expect(other.checkSession(a.issueSession())).toBe(false);
  });

  it('a login token works once, and not after its 5 minutes', () => {
    let now = 1_800_000_000_000;
    const auth = new UiAuth(path.join(dir, 'secret-c'), 86_400_000, () => now);
    const token = auth.mintLogin();
    expect(auth.redeemLogin(token)).toBe(true);
    expect(auth.redeemLogin(token)).toBe(false);
    const late = auth.mintLogin();
    now += LOGIN_TTL_MS + 1;
    expect(auth.redeemLogin(late)).toBe(false);
    // A token whose expiry was moved forward no longer matches its MAC.
    const fresh = auth.mintLogin();
    const [nonce, exp, mac] = fresh.split('.');
    expect(auth.redeemLogin(`${nonce}.${Number(exp) + 60_000}.${mac}`)).toBe(false);
    expect(auth.redeemLogin('')).toBe(false);
    expect(auth.redeemLogin('../../x')).toBe(false);
  });

  it('a session cookie lasts loginDays, and its CSRF token is bound to it', () => {
    let now = 1_800_000_000_000;
    const auth = new UiAuth(path.join(dir, 'secret-d'), 3 * 86_400_000, () => now);
    const s1 = auth.issueSession();
    now += 1000;
    const s2 = auth.issueSession();
    expect(auth.checkSession(s1)).toBe(true);
    expect(auth.checkCsrf(s1, auth.csrfFor(s1))).toBe(true);
    expect(auth.checkCsrf(s1, auth.csrfFor(s2))).toBe(false);
    expect(auth.checkCsrf(s1, undefined)).toBe(false);
    now += 3 * 86_400_000;
    expect(auth.checkSession(s1)).toBe(false);
    expect(auth.checkSession(undefined)).toBe(false);
  });

  it('refuses a secret file that is not one, and says what to do', () => {
    const file = path.join(dir, 'secret-e');
    fs.writeFileSync(file, 'not hex\n', { mode: 0o600 });
    expect(() => new UiAuth(file, 1000)).toThrow(/delete it and restart rbkd/);
  });

  it('reads its cookie among others', () => {
    expect(sessionCookie('a=1; rbk_console=s1.x.y; b=2')).toBe('s1.x.y');
    expect(sessionCookie('rbk_consolex=1')).toBeUndefined();
    expect(sessionCookie(undefined)).toBeUndefined();
  });
});

describe('activity', () => {
  let db: Db;
  const H = 3_600_000;
  // Monday 2026-11-30 10:20 UTC.
  const t0 = Date.parse('2026-11-30T10:20:00Z');
  beforeAll(() => {
    db = openDatabase(path.join(dir, 'activity.db'));
    db.prepare(
      `INSERT INTO sessions (id, host, project, cwd, started_at, last_activity_at, created_at, updated_at) VALUES ('s1', 'h', 'shop', '/w/shop', ?, ?, ?, ?)`,
    ).run(t0, t0 + 10 * H, t0, t0);
    db.prepare(
      `INSERT INTO sessions (id, host, project, cwd, started_at, last_activity_at, created_at, updated_at) VALUES ('s2', 'h', 'blog', '/w/blog', ?, ?, ?, ?)`,
    ).run(t0, t0 + 9 * H, t0, t0);
    const add = (key: string, session: string, ts: number, cost: number | null, model = 'claude-sonnet-4-5') =>
      db
        .prepare(
          `INSERT INTO message_usage (usage_key, message_id, session_id, model, ts, input_tokens, output_tokens, cache_creation_tokens,
             cache_creation_5m_tokens, cache_creation_1h_tokens, cache_read_tokens, cost_usd) VALUES (?, ?, ?, ?, ?, 10, 5, 0, 0, 0, 100, ?)`,
        )
        .run(key, key, session, model, ts, cost);
    add('a', 's1', t0, 0.5); // 10:20 → window 10:00–15:00
    add('b', 's1', t0 + 1.5 * H, 0.25); // 11:50, same window
    add('c', 's2', t0 + 4.6 * H, null, 'mystery-model'); // 14:56, same window, unpriced
    add('d', 's1', t0 + 4.8 * H, 1); // 15:08 → a new window at 15:00
    add('e', 's1', t0 + 30 * H, 2); // Tuesday 16:20
  });
  afterAll(() => db.close());

  it('opens a 5-hour window at the whole hour of the first response after the last one closed', () => {
    const r = activity(db, { timeZone: 'UTC' });
    expect(r.windows.map((w) => [new Date(w.startUnixMs).toISOString(), w.messages, w.costUsd, w.costIncomplete, w.models])).toEqual([
      ['2026-11-30T10:00:00.000Z', 3, 0.75, true, ['claude-sonnet-4-5', 'mystery-model']],
      ['2026-11-30T15:00:00.000Z', 1, 1, false, ['claude-sonnet-4-5']],
      ['2026-12-01T16:00:00.000Z', 1, 2, false, ['claude-sonnet-4-5']],
    ]);
    expect(r.windows[0]!.endUnixMs - r.windows[0]!.startUnixMs).toBe(5 * H);
  });

  it('puts each response in its local hour and weekday', () => {
    const cells = (tz: string, project?: string) =>
      activity(db, { timeZone: tz, project })
        .heatmap.filter((c) => c.messages > 0)
        .map((c) => [c.weekday, c.hour, c.messages, c.tokens]);
    expect(cells('UTC')).toEqual([
      [1, 10, 1, 115],
      [1, 11, 1, 115],
      [1, 14, 1, 115],
      [1, 15, 1, 115],
      [2, 16, 1, 115],
    ]);
    // New York is UTC-5 in December; Kolkata is UTC+5:30 (a half-hour zone).
    expect(cells('America/New_York')).toEqual([
      [1, 5, 1, 115],
      [1, 6, 1, 115],
      [1, 9, 1, 115],
      [1, 10, 1, 115],
      [2, 11, 1, 115],
    ]);
    // 14:56 and 15:08 UTC are 20:26 and 20:38 there: one cell.
    expect(cells('Asia/Kolkata').map((c) => c.slice(0, 3))).toEqual([
      [1, 15, 1],
      [1, 17, 1],
      [1, 20, 2],
      [2, 21, 1],
    ]);
    expect(cells('UTC', 'blog')).toEqual([[1, 14, 1, 115]]);
    expect(activity(db, { timeZone: 'UTC', sinceMs: t0 + 24 * H }).windows).toHaveLength(1);
  });

  it('sorts sessions by cost with an unknown cost last, in either direction', () => {
    db.prepare(`UPDATE sessions SET cost_usd = 3, cost_complete = 1 WHERE id = 's1'`).run();
    db.prepare(`UPDATE sessions SET cost_usd = 0, cost_complete = 0 WHERE id = 's2'`).run();
    db.prepare(
      `INSERT INTO sessions (id, host, project, cwd, started_at, last_activity_at, cost_usd, cost_complete, created_at, updated_at) VALUES ('s3', 'h', 'api', '/w/api', ?, ?, 1, 1, ?, ?)`,
    ).run(t0, t0, t0, t0);
    const ids = (o: Parameters<typeof listSessions>[1]) => listSessions(db, o).map((s) => s.id);
    expect(ids({ limit: 10, sort: 'cost' })).toEqual(['s1', 's3', 's2']);
    expect(ids({ limit: 10, sort: 'cost', ascending: true })).toEqual(['s3', 's1', 's2']);
    expect(ids({ limit: 10, sort: 'project' })).toEqual(['s3', 's2', 's1']);
    expect(ids({ limit: 1, sort: 'cost', offset: 1 })).toEqual(['s3']);
  });
});

describe('session orders at scale', () => {
  it('each default order walks its index (migration 0013) instead of sorting every session', () => {
    const db = openDatabase(path.join(dir, 'orders.db'));
    try {
      for (const sort of ['started', 'cost', 'tokens', 'errors', 'tools', 'prompts', 'project'] as const) {
        const plan: string[] = [];
        const explain = db.prepare.bind(db);
        // The statement listSessions runs, planned by SQLite.
        const spy = {
          ...db,
          prepare: (sql: string) =>
            sql.startsWith('SELECT s.*')
              ? (plan.push(...(explain(`EXPLAIN QUERY PLAN ${sql}`).all({ limit: 50, offset: 0 }) as { detail: string }[]).map((r) => r.detail)), explain(sql))
              : explain(sql),
        } as unknown as Db;
        listSessions(spy, { limit: 50, sort });
        expect(plan.join(' | '), sort).toContain(`USING INDEX sessions_order_${sort}`);
        expect(plan.join(' | '), sort).not.toContain('TEMP B-TREE');
      }
    } finally {
      db.close();
    }
  });
});
