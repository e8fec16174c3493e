// The daemon is down for 1,000 hook events: every one is spooled by the real hook code (0600
// files in a 0700 spool, nothing lost, nothing slow). The daemon then starts and is kill -9'd
// twice in the middle of draining them (at the first committed batch and about half way); after
// each crash every event is either stored or still spooled, never both lost and never stored
// twice, and a clean start stores the rest: 1,000 rows, one per event id, exact session counters.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  assertBuilt,
  hookEventRows,
  makeDataDir,
  mode,
  queryAll,
  spawnDaemon,
  spoolFiles,
  startDaemon,
  status,
  waitFor,
  type DaemonProcess,
  type TempRbk,
} from '../support/rbk.js';
import { duplicates, integrityCheck, runHookClient } from './support/faults.js';

beforeAll(() => assertBuilt());

const CLIENTS = 8;
const PER_CLIENT = 125;
const TOTAL = CLIENTS * PER_CLIENT;

const daemons: DaemonProcess[] = [];
const dirs: TempRbk[] = [];
afterEach(async () => {
  await Promise.all(daemons.splice(0).map((d) => d.kill9()));
  for (const t of dirs.splice(0)) t.cleanup();
});

describe('daemon down for 1,000 hook events', () => {
  it('all are spooled; a drain interrupted by kill -9 twice still stores each exactly once', async () => {
    const t = makeDataDir({ config: 'metrics:\n  enabled: false\ningest:\n  spoolDrainIntervalMs: 600000\n' });
    dirs.push(t);

    // 1. No daemon: 8 concurrent clients, every delivery spooled at once.
    const reports = await Promise.all(Array.from({ length: CLIENTS }, (_, c) => runHookClient(t, c, PER_CLIENT, 0)));
    const all = reports.flatMap((r) => r.ids).sort();
    expect(all).toHaveLength(TOTAL);
    expect(duplicates(all)).toEqual([]);
    for (const r of reports) {
      expect(r.outcomes).toEqual({ direct: 0, spooled: PER_CLIENT, lost: 0 });
      // No socket at all: the client fails fast, it does not wait for a timeout.
      expect(Object.keys(r.spoolReasons)).toEqual(['ENOENT']);
      expect(r.slowestMs).toBeLessThan(1000);
    }
    expect(spoolFiles(t).map((f) => f.slice(0, -'.json'.length))).toEqual(all);
    expect(mode(t.spoolDir)).toBe(0o700);
    for (const f of spoolFiles(t)) expect(mode(path.join(t.spoolDir, f)), f).toBe(0o600);
    expect(fs.readdirSync(t.spoolDir).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
    expect(fs.existsSync(t.db)).toBe(false);

    /** Every event is stored or still spooled (or both, between commit and unlink), none stored twice. */
    const checkNothingLost = (): { stored: number; spooled: number } => {
      const stored = fs.existsSync(t.db) ? hookEventRows(t).map((r) => r.event_id) : [];
      expect(duplicates(stored)).toEqual([]);
      const spooled = spoolFiles(t).map((n) => n.slice(0, -'.json'.length));
      expect([...new Set([...stored, ...spooled])].sort()).toEqual(all);
      return { stored: stored.length, spooled: spooled.length };
    };

    // 2. Killed as soon as the first batch is committed (its files start to disappear).
    const first = spawnDaemon(t);
    daemons.push(first);
    await waitFor('the drain to begin', () => spoolFiles(t).length < TOTAL || !first.isRunning(), 30_000, 1);
    expect(await first.kill9(), first.log()).toEqual({ code: null, signal: 'SIGKILL' });
    const afterFirst = checkNothingLost();
    expect(afterFirst.stored).toBeGreaterThan(0);
    expect(afterFirst.stored).toBeLessThan(TOTAL);

    // 3. Killed again about half way through what is left.
    const second = spawnDaemon(t);
    daemons.push(second);
    const target = Math.floor(afterFirst.spooled / 2);
    await waitFor('half of the rest drained', () => spoolFiles(t).length <= target || !second.isRunning(), 30_000, 1);
    expect(await second.kill9(), second.log()).toEqual({ code: null, signal: 'SIGKILL' });
    const afterSecond = checkNothingLost();
    expect(afterSecond.stored).toBeGreaterThan(afterFirst.stored);

    // 4. A clean start drains the rest; each event stored once, through the spool.
    const last = await startDaemon(t);
    daemons.push(last);
    expect(spoolFiles(t)).toEqual([]);
    const rows = hookEventRows(t);
    expect(rows.map((r) => r.event_id).sort()).toEqual(all);
    expect(rows.every((r) => r.via === 'spool' && r.problem === null)).toBe(true);
    const counters = queryAll<{ id: string; hook_events: number }>(t, 'SELECT id, hook_events FROM sessions ORDER BY id');
    expect(counters).toEqual(Array.from({ length: CLIENTS }, (_, c) => ({ id: `storm-session-${c}`, hook_events: PER_CLIENT })));
    expect((await status(t)).counts).toMatchObject({ hookEvents: TOTAL, spoolBacklog: 0 });
    // Whatever the crashes left behind was recognised as already stored, not stored again.
    const drained = /"msg":"spool drained".*?"drained":(\d+),"duplicates":(\d+)/.exec(last.log());
    expect(drained, last.log()).not.toBeNull();
    expect(Number(drained![1]) + afterSecond.stored).toBe(TOTAL);
    expect(fs.existsSync(path.join(t.spoolDir, 'rejected'))).toBe(false);

    expect(await last.stop()).toEqual({ code: 0, signal: null });
    expect(integrityCheck(t.db)).toBe('ok');
    console.log(
      `spool outage: ${TOTAL} spooled; stored ${afterFirst.stored} before the first kill, ${afterSecond.stored} before the second; the last start drained ${drained![1]} and skipped ${drained![2]} duplicates`,
    );
  }, 180_000);
});
