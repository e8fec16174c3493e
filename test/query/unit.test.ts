// In-process checks of the pure parts of the query side: time arguments and zones, query
// escaping, and the 0003 migration over rows stored before it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { search, toFtsQuery, SearchSyntaxError } from '../../daemon/query/search.js';
import { addDays, checkTimeZone, dateKey, dateKeyer, offsetMs, parseTimeArg, TimeArgError, weekKey, zonedToUtc } from '../../common/time.js';
import { migrate, readMigrations } from '../../daemon/store/migrate.js';

describe('time arguments', () => {
  const now = Date.parse('2026-05-15T10:20:30.000Z');
  const utc = { tz: 'UTC', now };

  it('reads dates as whole days: since = start, until = end (exclusive next midnight)', () => {
    expect(parseTimeArg('2026-05-01', { ...utc, bound: 'since' })).toBe(Date.parse('2026-05-01T00:00:00Z'));
    expect(parseTimeArg('2026-05-01', { ...utc, bound: 'until' })).toBe(Date.parse('2026-05-02T00:00:00Z'));
    expect(parseTimeArg('20260501', { ...utc, bound: 'since' })).toBe(Date.parse('2026-05-01T00:00:00Z'));
    expect(parseTimeArg('2026-05-01', { tz: 'Europe/Berlin', now, bound: 'since' })).toBe(Date.parse('2026-04-30T22:00:00Z'));
    expect(parseTimeArg('2026-01-01', { tz: 'America/New_York', now, bound: 'since' })).toBe(Date.parse('2026-01-01T05:00:00Z'));
  });

  it('reads date-times in the zone, ISO times with an offset as given, and relative times', () => {
    expect(parseTimeArg('2026-05-01T14:30', { tz: 'Asia/Kolkata', now, bound: 'since' })).toBe(Date.parse('2026-05-01T09:00:00Z'));
    expect(parseTimeArg('2026-05-01T14:30:15+02:00', { ...utc, bound: 'since' })).toBe(Date.parse('2026-05-01T12:30:15Z'));
    expect(parseTimeArg('2026-05-01T14:30:15Z', { tz: 'Asia/Tokyo', now, bound: 'since' })).toBe(Date.parse('2026-05-01T14:30:15Z'));
    expect(parseTimeArg('7d', { ...utc, bound: 'since' })).toBe(now - 7 * 86_400_000);
    expect(parseTimeArg('12h', { ...utc, bound: 'since' })).toBe(now - 12 * 3_600_000);
    expect(parseTimeArg('30m', { ...utc, bound: 'since' })).toBe(now - 30 * 60_000);
    expect(parseTimeArg('2w', { ...utc, bound: 'since' })).toBe(now - 14 * 86_400_000);
    expect(parseTimeArg('now', { ...utc, bound: 'until' })).toBe(now);
    expect(parseTimeArg('today', { ...utc, bound: 'since' })).toBe(Date.parse('2026-05-15T00:00:00Z'));
    expect(parseTimeArg('today', { ...utc, bound: 'until' })).toBe(Date.parse('2026-05-16T00:00:00Z'));
    expect(parseTimeArg('yesterday', { ...utc, bound: 'since' })).toBe(Date.parse('2026-05-14T00:00:00Z'));
    expect(parseTimeArg('yesterday', { tz: 'Pacific/Auckland', now, bound: 'since' })).toBe(Date.parse('2026-05-13T12:00:00Z')); // 22:20 on the 15th there
  });

  it('refuses what it cannot read, with the accepted forms in the message', () => {
    for (const bad of ['last week', '2026-02-30', '2026-13-01', '5 parsecs', '', 'T10:00']) {
      expect(() => parseTimeArg(bad, { ...utc, bound: 'since' }), bad).toThrow(TimeArgError);
    }
    expect(() => parseTimeArg('soon', { ...utc, bound: 'since' })).toThrow(/2026-05-01 or 20260501/);
    expect(() => checkTimeZone('Mars/Olympus')).toThrow(/unknown time zone/);
    expect(checkTimeZone('UTC')).toBe('UTC');
  });

  it('handles DST transitions and quarter-hour zones', () => {
    // Berlin springs forward on 2026-03-29 at 02:00 local: that day is 23 hours long.
    const start = zonedToUtc(2026, 3, 29, 0, 0, 0, 'Europe/Berlin');
    const next = zonedToUtc(2026, 3, 30, 0, 0, 0, 'Europe/Berlin');
    expect(next - start).toBe(23 * 3_600_000);
    expect(offsetMs(Date.parse('2026-07-01T00:00:00Z'), 'Europe/Berlin')).toBe(2 * 3_600_000);
    expect(offsetMs(Date.parse('2026-07-01T00:00:00Z'), 'Asia/Kathmandu')).toBe(5.75 * 3_600_000);
    expect(dateKey(Date.parse('2026-03-01T18:20:00Z'), 'Asia/Kathmandu')).toBe('2026-03-02');
    expect(dateKey(Date.parse('2026-03-01T18:10:00Z'), 'Asia/Kathmandu')).toBe('2026-03-01');
  });

  it('dateKeyer agrees with dateKey across DST transitions and odd offsets', () => {
    for (const tz of ['Europe/Berlin', 'America/New_York', 'Asia/Kathmandu', 'Australia/Lord_Howe', 'UTC', 'Pacific/Chatham']) {
      const keyer = dateKeyer(tz);
      // Every 15 minutes through March and October-November 2026 (transitions both ways).
      for (const [from, to] of [
        ['2026-03-01', '2026-04-10'],
        ['2026-09-25', '2026-11-10'],
      ]) {
        for (let t = Date.parse(`${from}T00:00:00Z`); t < Date.parse(`${to}T00:00:00Z`); t += 15 * 60_000) {
          if (keyer(t) !== dateKey(t, tz)) throw new Error(`${tz} ${new Date(t).toISOString()}: ${keyer(t)} != ${dateKey(t, tz)}`);
        }
      }
    }
  });

  it('computes week starts and day arithmetic', () => {
    expect(weekKey('2026-05-15', 1)).toBe('2026-05-11');
    expect(weekKey('2026-05-11', 1)).toBe('2026-05-11');
    expect(weekKey('2026-05-15', 0)).toBe('2026-05-10');
    expect(weekKey('2026-05-10', 0)).toBe('2026-05-10');
    expect(addDays('2026-02-28', 1)).toBe('2026-03-01');
    expect(addDays('2028-02-28', 1)).toBe('2028-02-29');
  });
});

describe('search query escaping', () => {
  it('quotes every word and phrase so FTS5 operators are plain words', () => {
    expect(toFtsQuery('build failed')).toBe('"build" "failed"');
    expect(toFtsQuery('"exit code" 2')).toBe('"exit code" "2"');
    expect(toFtsQuery('a AND b OR NOT c')).toBe('"a" "AND" "b" "OR" "NOT" "c"');
    expect(toFtsQuery('col:value NEAR(x y)')).toBe('"col:value" "NEAR(x" "y)"');
    expect(toFtsQuery('say "hi')).toBe('"say" "hi"');
    expect(toFtsQuery('zorbl*')).toBe('"zorbl"*');
    expect(toFtsQuery('it"s')).toBe('"it""s"');
    expect(() => toFtsQuery('*** -- ()')).toThrow(SearchSyntaxError);
    expect(() => toFtsQuery('')).toThrow(SearchSyntaxError);
  });
});

describe('migration 0003 over an existing database', () => {
  it('indexes the rows stored before it, then stays in sync through the triggers', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rbk-query-mig-'));
    const db = new Database(path.join(dir, 'rbk.db'));
    try {
      const all = readMigrations();
      const before = all.filter((m) => m.version < 3);
      migrate(db, before);
      const insert = db.prepare(
        `INSERT INTO interactions (uuid, block_index, session_id, kind, ts, text, tool_name, tool_use_id, tool_input, is_error, hidden, source_path, ingested_at)
         VALUES (@uuid, 0, 's1', @kind, 1, @text, @tool, @tid, @input, @err, @hidden, 'x.jsonl', 1)`,
      );
      const row = (uuid: string, kind: string, text: string, extra: Record<string, unknown> = {}) =>
        insert.run({ uuid, kind, text, tool: null, tid: null, input: null, err: null, hidden: 0, ...extra });
      db.prepare(`INSERT INTO sessions (id, host, created_at, updated_at, project) VALUES ('s1', 'h', 1, 1, 'proj')`).run();
      row('u1', 'user_prompt', 'please fix the wobbly turbine');
      row('u2', 'tool_use', '', { tool: 'Bash', tid: 't1', input: JSON.stringify({ command: 'make turbine' }) });
      row('u3', 'tool_result', 'turbine exploded', { tid: 't1', err: 1 });
      row('u4', 'user_prompt', 'Warmup turbine', { hidden: 1 });
      row('u5', 'meta', 'turbine caveat');
      expect(migrate(db, all).to).toBe(all.at(-1)!.version);

      const uuids = (q: string, extra: Partial<Parameters<typeof search>[1]> = {}) =>
        search(db, { query: q, limit: 10, ...extra })
          .hits.map((h) => h.uuid)
          .sort();
      expect(uuids('turbine')).toEqual(['u1', 'u2', 'u3']);
      expect(uuids('turbine', { errors: true })).toEqual(['u2', 'u3']);
      expect(uuids('turbine', { tool: 'bash' })).toEqual(['u2', 'u3']);
      expect(uuids('turbine', { project: 'PRO' })).toEqual(['u1', 'u2', 'u3']);
      expect(uuids('turbine', { project: 'other' })).toEqual([]);
      expect(search(db, { query: 'wobbly', limit: 1 }).hits[0]?.snippet).toBe('please fix the \u0002wobbly\u0003 turbine');

      row('u6', 'assistant_text', 'the turbine is fixed');
      expect(uuids('turbine')).toEqual(['u1', 'u2', 'u3', 'u6']);
      db.prepare(`UPDATE interactions SET text = 'the rotor is fixed' WHERE uuid = 'u6'`).run();
      expect(uuids('turbine')).toEqual(['u1', 'u2', 'u3']);
      expect(uuids('rotor')).toEqual(['u6']);
      // Becoming hidden takes a row out of search; a visible kind change brings one in.
      db.prepare(`UPDATE interactions SET hidden = 1 WHERE uuid = 'u1'`).run();
      db.prepare(`UPDATE interactions SET kind = 'assistant_text' WHERE uuid = 'u5'`).run();
      expect(uuids('turbine')).toEqual(['u2', 'u3', 'u5']);
      db.prepare(`DELETE FROM interactions WHERE uuid IN ('u2', 'u4', 'u5')`).run();
      expect(uuids('turbine')).toEqual(['u3']);
      expect(() => db.prepare(`INSERT INTO interactions_fts (interactions_fts, rank) VALUES ('integrity-check', 0)`).run()).not.toThrow();

      // Common words: only the newest `rankWindow` matches are ranked, and the result says so;
      // filters that leave too few hits widen the window.
      for (let k = 0; k < 30; k++) row(`w${k}`, 'assistant_text', `common word number ${k}${k === 3 ? ' rare' : ''}`);
      const every = search(db, { query: 'common', limit: 100 });
      expect(every.rankedWindow).toBe(0);
      expect(every.hits).toHaveLength(30);
      const windowed = search(db, { query: 'common', limit: 5, rankWindow: 10 });
      expect(windowed.rankedWindow).toBe(10);
      expect(windowed.hits.map((h) => Number(h.uuid.slice(1))).every((k) => k >= 20)).toBe(true);
      db.prepare(`INSERT INTO sessions (id, host, created_at, updated_at) VALUES ('s2', 'h', 1, 1)`).run();
      db.prepare(`UPDATE interactions SET session_id = 's2' WHERE uuid IN ('w0', 'w1', 'w2', 'w4', 'w5')`).run();
      const narrow = search(db, { query: 'common', limit: 5, rankWindow: 10, sessionId: 's2' });
      expect(narrow.hits.map((h) => h.uuid).sort()).toEqual(['w0', 'w1', 'w2', 'w4', 'w5']);
      expect(narrow.rankedWindow).toBe(0); // widened until every match was ranked
      const old = search(db, { query: 'common rare', limit: 5, rankWindow: 10 });
      expect(old.hits.map((h) => h.uuid)).toEqual(['w3']);
    } finally {
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
